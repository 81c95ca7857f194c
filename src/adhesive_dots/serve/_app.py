"""The web application: FastAPI (on Starlette) with jinja2 pages and a JSON API over one live catalog.

:func:`create_app` builds it; the request path is

1. :class:`Guard` (pure ASGI): the Host header must name this machine when the server listens
   on a loopback address (no DNS rebinding); with a token set, every request must carry it
   (``Authorization: Bearer TOKEN``, the ``adots_token`` cookie, or ``?token=TOKEN`` once,
   which sets the cookie); the request is given the current catalog view; every response
   gets a strict Content-Security-Policy (scripts, styles and images from this server only,
   no inline script) and ``no-store`` caching;
2. the pages (:mod:`adhesive_dots.serve._pages`) and the API (:mod:`adhesive_dots.serve._api`),
   read-only: no route writes to the catalog or to the file system;
3. errors: an unknown parameter value answers 422 with the allowed values, an unknown dot or
   path 404, as JSON under ``/api/`` and as a page elsewhere.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import http.cookies
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import anyio
import anyio.to_thread
import jinja2
import markupsafe
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adhesive_dots import __version__
from adhesive_dots.catalog.store import Catalog
from adhesive_dots.serve._data import (
    ComparisonFailed,
    Figures,
    Fingerprints,
    NotFound,
    carry_quality,
    dot_ids,
    overview,
)
from adhesive_dots.serve._live import DEFAULT_MIN_INTERVAL_S, DEFAULT_POLL_S, CatalogView, LiveCatalog, Memo
from adhesive_dots.serve._params import InvalidParameter, allowed_values

DEFAULT_THREADS = 3
"""Requests answered at once. Python runs one thread at a time (the GIL), so more threads only take turns:
with 40 (the usual default) a 10 ms request takes 20 times longer under 20 concurrent clients, with 3 the
requests queue and each runs almost alone (measured on 10,000 dots: 1.5x the requests per second, and
a p95 of the dot page halved; ``benchmarks/bench_serve.py``)."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Host names a loopback server answers to (anything else may be a DNS-rebinding page)."""
TOKEN_COOKIE = "adots_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
STATIC_FILES = {
    "report.css": ("adhesive_dots.report", "templates/report.css", "text/css; charset=utf-8"),
    "serve.css": ("adhesive_dots.serve", "static/serve.css", "text/css; charset=utf-8"),
    "serve.js": ("adhesive_dots.serve", "static/serve.js", "text/javascript; charset=utf-8"),
    "favicon.svg": ("adhesive_dots.serve", "static/favicon.svg", "image/svg+xml"),
}
"""Every file the server sends besides figures, fingerprints and manifests: the reports' style, its own style,
script and icon."""


@dataclass
class ServerState:
    """What the routes share (``app.state.adots``)."""

    live: LiveCatalog
    token: str | None = None
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    fingerprints: Fingerprints = field(default_factory=Fingerprints)
    figures: Figures = field(default_factory=Figures)
    comparisons: Memo = field(default_factory=lambda: Memo(size=64))
    static: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    templates: jinja2.Environment | None = None
    heavy: anyio.CapacityLimiter | None = None  # the lane of figures, comparisons, manifests (set at start)


async def in_heavy_lane(request: Request, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a worker thread of the heavy lane (one at a time), so that drawing a figure or
    comparing two dots never holds every thread that answers the light requests."""
    state: ServerState = request.app.state.adots
    return await anyio.to_thread.run_sync(functools.partial(function, *args), limiter=state.heavy)


def _host_name(host: str) -> str:
    """The host part of a Host header (without port; IPv6 without brackets), lower-case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Host check, token check, the request's catalog view, and security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope.get("path", "")
        allowed = self.state.allowed_hosts
        if allowed is not None and _host_name(headers.get("host", "")) not in allowed:
            await _plain(400, "invalid Host header: this server answers to its loopback address only", path)(
                scope, receive, send
            )
            return
        set_cookie = False
        if self.state.token is not None:
            given, set_cookie = _given_token(scope, headers)
            if given is None or not hmac.compare_digest(given.encode(), self.state.token.encode()):
                why = "missing" if given is None else "wrong"
                message = (
                    f"{why} token: this server needs the token it was started with "
                    "(Authorization: Bearer TOKEN, or open the page once with ?token=TOKEN)"
                )
                await _plain(401, message, path, extra={"www-authenticate": "Bearer"})(scope, receive, send)
                return
        scope.setdefault("state", {})["view"] = self.state.live.view

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                out += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ]
                if set_cookie:
                    cookie = f"{TOKEN_COOKIE}={self.state.token}; HttpOnly; SameSite=Strict; Path=/"
                    out.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _given_token(scope: Scope, headers: Headers) -> tuple[str | None, bool]:
    """The token a request carries and whether it came in the query (then a cookie keeps it)."""
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip(), False
    query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    cookies = http.cookies.SimpleCookie()
    with contextlib.suppress(http.cookies.CookieError):
        cookies.load(headers.get("cookie", ""))
    if TOKEN_COOKIE in cookies:
        return cookies[TOKEN_COOKIE].value, False
    return None, False


def _plain(status: int, message: str, path: str, *, extra: dict[str, str] | None = None) -> Response:
    if path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status, headers=extra)
    body = f"<!DOCTYPE html><title>{status}</title><p>{_escape(message)}</p>"
    return HTMLResponse(body, status_code=status, headers=extra)


def _escape(text: str) -> str:
    return str(markupsafe.escape(text))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _load_static() -> dict[str, tuple[bytes, str]]:
    out = {}
    for name, (package, path, media) in STATIC_FILES.items():
        out[name] = (resources.files(package).joinpath(path).read_bytes(), media)
    return out


@functools.lru_cache(maxsize=4096)
def _quote_path(value: Any) -> str:
    """``value`` as one URL path segment (every reserved character escaped, ``/`` too)."""
    return urllib.parse.quote(str(value), safe="")


def _environment() -> jinja2.Environment:
    from adhesive_dots.report import format_value

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("adhesive_dots.serve", "templates"),
                jinja2.PackageLoader("adhesive_dots.report", "templates"),  # the reports' macros
            ]
        ),
        autoescape=True,  # every metadata string is HTML-escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = format_value
    env.filters["path"] = _quote_path
    env.filters["query"] = lambda pairs: urllib.parse.urlencode(list(pairs))
    return env


def redirect_to_dot(request: Request, base: str, dot_id: str) -> RedirectResponse:
    """A temporary redirect to ``base + dot_id``, keeping the query (temporary: the catalog may change)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{base}{urllib.parse.quote(dot_id, safe='')}{query}", status_code=307)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: ``template`` with the context every page shares (the catalog view, version, navigation)."""
    state: ServerState = request.app.state.adots
    view: CatalogView = request.state.view
    info = overview(view)
    context.setdefault("title", "adhesive-dots catalog")
    html = state.templates.get_template(template).render(
        version=__version__,
        catalog_name=view.snapshot.path.name,
        n_dots=info.n_dots,
        snapshot_time=view.snapshot.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        view_version=view.version,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


async def once_per_view(request: Request, build: Callable[[], Response], *, one_dot: bool = False) -> Response:
    """The response to this URL, built once per catalog view (a view never changes; errors are not kept).

    A response already built is answered at once, on the event loop; only a new one takes a worker thread.
    Responses about ``one_dot`` are kept apart from lists, so that visits to many dots do not push the
    lists out.
    """
    view: CatalogView = request.state.view
    memo = view.dot_responses if one_dot else view.responses
    key = (request.url.path, request.url.query)
    kept = memo.peek(key)
    if kept is None:

        def frozen() -> tuple[bytes, int, str | None, str | None]:
            response = build()
            return bytes(response.body), response.status_code, response.media_type, response.headers.get("location")

        kept = await anyio.to_thread.run_sync(lambda: memo.get(key, frozen))
    body, status, media, location = kept
    return Response(body, status_code=status, media_type=media, headers={"location": location} if location else None)


def json_response(payload: Any) -> JSONResponse:
    """``payload`` (JSON-ready: no NaN) as a JSON response."""
    return JSONResponse(payload)


def _error_page(request: Request, status: int, message: str, problems: Sequence[dict[str, Any]] = ()) -> Response:
    if _wants_json(request):
        detail: Any = list(problems) if problems else message
        return JSONResponse({"detail": detail}, status_code=status)
    return render(
        request, "error.html.j2", status_code=status, title=f"Error {status}", message=message, problems=list(problems)
    )


def create_app(
    catalog: Catalog | str,
    *,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    poll_s: float = DEFAULT_POLL_S,
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
    threads: int = DEFAULT_THREADS,
) -> FastAPI:
    """The web application over ``catalog`` (read-only; follows the file while it runs).

    Parameters
    ----------
    catalog : Catalog or path
        The catalog file; its first snapshot is taken here, so a missing file, a file that is
        not a catalog, or a newer schema raise :class:`~adhesive_dots.catalog.CatalogError` now.
    token : str, optional
        Required on every request when given.
    allowed_hosts : sequence of str, optional
        Host header names answered (default: the loopback names); ``None`` answers any (a server
        on a network address, protected by its token).
    poll_s, min_interval_s : float
        How often the file is checked for changes, and the least time between two snapshots.
    threads : int
        Threads answering requests at once (see :data:`DEFAULT_THREADS`); drawing figures, comparing
        dots and building manifests run one at a time in a lane of their own.

    Returns
    -------
    FastAPI
        An ASGI application; its lifespan starts and stops following the catalog file.
    """
    from adhesive_dots.serve import _api, _pages

    catalog = catalog if isinstance(catalog, Catalog) else Catalog(catalog)
    live = LiveCatalog(catalog, poll_s=poll_s, min_interval_s=min_interval_s, prepare=_prepare)
    state = ServerState(
        live=live,
        token=token,
        allowed_hosts=None if allowed_hosts is None else tuple(h.lower() for h in allowed_hosts),
        static=_load_static(),
        templates=_environment(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        state.heavy = anyio.CapacityLimiter(1)
        live.start()
        try:
            yield
        finally:
            live.stop()

    app = FastAPI(
        title="adhesive-dots catalog",
        version=__version__,
        description=(
            "Read-only JSON API over a catalog of adhesive dots (resting-state baselines). Field names are "
            "those of `adots search --json`. Unknown filter values are answered with 422 and the allowed values."
        ),
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: not here
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.adots = state
    app.add_middleware(Guard, state=state)
    app.include_router(_api.router)
    app.include_router(_pages.router)

    @app.exception_handler(InvalidParameter)
    async def invalid_parameter(request: Request, err: InvalidParameter) -> Response:
        return _error_page(request, 422, str(err), [err.to_dict()])

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> Response:
        problems = [
            {
                "parameter": str(e.get("loc", ["?"])[-1]),
                "value": e.get("input"),
                "message": e.get("msg", ""),
                "allowed": None,
            }
            for e in err.errors()
        ]
        return _error_page(request, 422, "; ".join(f"{p['parameter']}: {p['message']}" for p in problems), problems)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, err: NotFound) -> Response:
        return _error_page(request, 404, str(err))

    @app.exception_handler(ComparisonFailed)
    async def comparison_failed(request: Request, err: ComparisonFailed) -> Response:
        return _error_page(request, 422, str(err))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        message = "no such page" if err.status_code == 404 else str(err.detail)
        return _error_page(request, err.status_code, message)

    return app


def _prepare(view: CatalogView, previous: CatalogView | None) -> None:
    """Warm a new view before it serves: counts, allowed filter values, quality, the similarity index."""
    from adhesive_dots.catalog.search import similar_dots, vector_index

    carry_quality(view, previous)
    overview(view)
    dot_ids(view)
    allowed_values(view)
    matrix, ids = view.snapshot.vectors()
    if ids:
        vector_index(view.snapshot)
        similar_dots(view.snapshot, ids[0], k=1)  # and the summary rows it returns
