"""The fuzzing suite, reading half: hostile and broken inputs through every command that reads them.

Each case runs in a child process under a 4 GB address-space limit and a per-case time limit
(``tests/fuzz/runner.py``); it must end with exit 0, 1 or 2, print no traceback, leave its source
byte-identical, never print an escape character from a file or a value read through a link that was not
allowed, and when it exits 2 say so in one line naming the file. The default run (``make test``) has
over 150 cases; ``pytest -m fuzz_extended tests/fuzz`` runs over 500 (see docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from hostile import EXTENSIONS, build_cases  # noqa: E402

CASE_S = 60.0
"""Time limit of one case in s (a hang past it is counted and fails the run)."""


def run_suite(tmp: Path, real: Path | None, *, extended: bool) -> tuple[list[dict], dict[str, int]]:
    """Build the cases, run them in child processes (batches of at most 150), return results and counts."""
    cases = build_cases(tmp / "inputs", real=real, extended=extended)
    results: list[dict] = []
    env = {**os.environ, "ADOTS_FUZZ_CASE_S": str(CASE_S), "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "1000"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH", "")])
    for number, first in enumerate(range(0, len(cases), 150)):
        batch = cases[first : first + 150]
        cases_file, results_file = tmp / f"cases{number}.json", tmp / f"results{number}.jsonl"
        cases_file.write_text(json.dumps(batch))
        try:
            subprocess.run(
                [sys.executable, str(HERE / "runner.py"), str(cases_file), str(results_file)],
                env=env,
                timeout=len(batch) * CASE_S + 120,
                check=False,
                capture_output=True,
            )
        except subprocess.TimeoutExpired:
            pass
        done = [json.loads(line) for line in results_file.read_text().splitlines()] if results_file.exists() else []
        results += done
        for case in batch[len(done) :]:  # the child died (a crash) or was killed (a hang past the limit)
            results.append({**case, "code": "crashed", "traceback": False, "hang": True, "escape": False,
                            "secret": False, "changed": [], "named": False, "error": "", "tail": ""})  # fmt: skip
    counts = {
        "cases": len(results),
        "tracebacks": sum(r["traceback"] for r in results),
        "hangs": sum(r["hang"] for r in results),
        "changed sources": sum(bool(r["changed"]) for r in results),
        "escapes printed": sum(r["escape"] for r in results),
        "outside values shown": sum(r["secret"] for r in results),
        "exit 2 not one line naming the file": sum(not r["named"] for r in results),
        "other exit codes": sum(r["code"] not in (0, 1, 2) for r in results),
        "exit 0": sum(r["code"] == 0 for r in results),
        "exit 1": sum(r["code"] == 1 for r in results),
        "exit 2": sum(r["code"] == 2 for r in results),
    }
    return results, counts


def _check(results: list[dict], counts: dict[str, int], capsys: pytest.CaptureFixture, minimum: int) -> None:
    bad = [
        r
        for r in results
        if r["traceback"] or r["hang"] or r["changed"] or r["escape"] or r["secret"] or not r["named"]
        or r["code"] not in (0, 1, 2)
    ]  # fmt: skip
    with capsys.disabled():
        print("\nfuzzing (reading):", ", ".join(f"{k} {v}" for k, v in counts.items()))
        slowest = max(results, key=lambda r: r.get("seconds", 0))
        print(f"slowest case: {slowest.get('seconds')} s ({slowest['name']})")
    assert counts["cases"] >= minimum
    assert not bad, "\n".join(f"{r['name']}: code {r['code']} {r['error']} {r['tail']}" for r in bad[:20])


@pytest.mark.slow
def test_fuzz_default(tmp_path, capsys):
    from adhesive_dots.testing import find_real_data

    results, counts = run_suite(tmp_path, find_real_data(), extended=False)
    _check(results, counts, capsys, minimum=150)


@pytest.mark.fuzz_extended
def test_fuzz_extended(tmp_path, capsys, request):
    if "fuzz_extended" not in (request.config.getoption("-m") or ""):
        pytest.skip("the extended fuzzing run: pytest -m fuzz_extended tests/fuzz")
    from adhesive_dots.testing import find_real_data

    results, counts = run_suite(tmp_path, find_real_data(), extended=True)
    _check(results, counts, capsys, minimum=500)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=1, max_size=4096), extension=st.sampled_from(EXTENSIONS))
def test_any_bytes_under_any_extension(tmp_path_factory, blob, extension):
    """Property: any byte string under any supported extension gives exit 0, 1 or 2 and no traceback."""
    from adhesive_dots.cli import main

    path = tmp_path_factory.mktemp("bytes") / f"x{extension}"
    path.write_bytes(blob)
    code = 0
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["inspect", str(path), "--fs", "100", "--whole"])
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 1, 2)
    assert "Traceback" not in err.getvalue()
    assert path.read_bytes() == blob
