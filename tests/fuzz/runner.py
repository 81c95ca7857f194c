"""Run a batch of fuzzing cases in this (child) process: ``python runner.py CASES.json RESULTS.jsonl``.

The address space is limited to 4 GB (``RLIMIT_AS``) before anything is imported; each case calls the
``adots`` entry point in-process with stdout/stderr captured, under a per-case time limit
(``ADOTS_FUZZ_CASE_S``, default 60 s, enforced with ``SIGALRM``), and writes one JSON line: exit code,
time, whether a traceback, an escape character or the outside secret appeared, whether a source changed,
and whether an exit-2 message is one line naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

MEMORY_LIMIT = 4 << 30
SECRET = "TOP-SECRET-OUTSIDE-VALUE"


class CaseTimeout(BaseException):
    """The case ran past its time limit (a BaseException, so no ``except Exception`` swallows it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def _digest(path: str) -> str | None:
    try:
        if not os.path.isfile(path):
            return None
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def run_case(case: dict, limit_s: float) -> dict:
    from adhesive_dots.cli import main

    before = {f: _digest(f) for f in case["files"]}
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    start = time.monotonic()
    code: int | str = 0
    timed_out = False
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        main(case["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except CaseTimeout:
        timed_out, code = True, "timeout"
    except BaseException as exc:  # an exception escaping main() is a traceback for the user
        import traceback

        err.write("Traceback (escaped main)\n" + "".join(traceback.format_exception(exc)))
        code = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved
    seconds = time.monotonic() - start
    stdout, stderr = out.getvalue(), err.getvalue()
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    named = code != 2 or (len(errors) == 1 and any(n and n in errors[0] for n in case["names"]))
    changed = [f for f, h in before.items() if h is not None and _digest(f) != h]
    return {
        "name": case["name"],
        "argv": case["argv"],
        "code": code,
        "seconds": round(seconds, 3),
        "traceback": "Traceback" in stderr or "Traceback" in stdout,
        "hang": timed_out,
        "escape": "\x1b" in stdout or "\x1b" in stderr or "\x07" in stdout or "\x07" in stderr,
        "secret": (SECRET in stdout or SECRET in stderr) and "--allow-external-links" not in case["argv"],
        "changed": changed,
        "named": named,
        "error": errors[0][:300] if errors else "",
        "tail": stderr[-600:] if ("Traceback" in stderr or not named) else "",
    }


def main() -> None:
    cases_path, results_path = sys.argv[1], sys.argv[2]
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    os.environ.setdefault("COLUMNS", "1000")  # one message, one line
    limit_s = float(os.environ.get("ADOTS_FUZZ_CASE_S", "60"))
    cases = json.loads(Path(cases_path).read_text())
    with open(results_path, "a", encoding="utf-8") as handle:
        for case in cases:
            result = run_case(case, limit_s)
            handle.write(json.dumps(result) + "\n")
            handle.flush()


if __name__ == "__main__":
    main()
