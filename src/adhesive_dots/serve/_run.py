"""Running the server: checks of the address and the token, then uvicorn."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from adhesive_dots.catalog.store import Catalog
from adhesive_dots.errors import AdhesiveError, DataError
from adhesive_dots.serve._app import LOOPBACK_HOSTS, create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{8,}")
"""A token travels in a header, a URL and a cookie: characters none of them needs to escape."""


class ServeError(AdhesiveError, RuntimeError):
    """The server cannot start as asked (e.g. a network address without a token)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) means this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_binding(host: str, port: int, token: str | None) -> None:
    """Refuse a network (non-loopback) address without a token, and a port out of range."""
    if not 0 < port < 65536:
        raise DataError(f"--port must lie in 1..65535, got {port}")
    if token is not None and not TOKEN_PATTERN.fullmatch(token):
        raise DataError(
            "--token must be at least 8 characters long, of letters, digits and . _ ~ - only "
            "(e.g. `openssl rand -hex 16`)"
        )
    if not is_loopback(host) and not token:
        raise ServeError(
            f"--host {host} is not a loopback address: the catalog would be readable by anyone who can reach this "
            "machine; pass --token TOKEN (or set ADOTS_TOKEN), then every request must carry it"
        )


def serve_catalog(
    catalog: Catalog | str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve ``catalog`` over HTTP until interrupted (see :func:`create_app`).

    The catalog's first snapshot is taken before the socket opens, so a file that is not a
    catalog stops here with :class:`~adhesive_dots.catalog.CatalogError`. ``on_ready`` gets the
    URL to open.
    """
    import uvicorn

    check_binding(host, port, token)
    loopback = is_loopback(host)
    app = create_app(catalog, token=token, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if on_ready is not None:
        on_ready(url)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False)


class ServerThread:
    """An application served by uvicorn in a background thread (tests, benchmarks, notebooks).

    Examples
    --------
    >>> with ServerThread(create_app("adhesive.duckdb")) as server:  # doctest: +SKIP
    ...     print(server.url)
    """

    def __init__(self, app: Any, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        import uvicorn

        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="adots-serve", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
