"""``adots align``: learn a map between two datasets from their baselines."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, plain, print_json, render_frame
from adhesive_dots.cli._options import (
    JSON_OPTION,
    OVERWRITE_OPTION,
    SEED_OPTION,
    SourceOptions,
    out_option,
    source_options,
)
from adhesive_dots.errors import DataError


def _entities(text: str | None, option: str) -> dict[str, str]:
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DataError(
                f"{option}: expected key=value pairs separated by commas (subject=01,session=01), got {text!r}"
            )
        out[key.strip()] = value.strip()
    return out


@app.command()
@source_options
def align(
    source_a: str | None = typer.Argument(None, help="Reference dataset (any source; a BIDS root with --entities-a)."),
    source_b: str | None = typer.Argument(
        None, help="Dataset to align onto the reference (or two --sources-from rows)."
    ),
    method: str = typer.Option(
        "latent", "--method", "-m", help="latent (different neurons) or covariance (matched channels)."
    ),
    out: Path | None = out_option("Where to save the fitted transform (.npz; default transform.npz)."),
    n_components: int = typer.Option(4, help="Latent dimensions (method latent)."),
    controls: int = typer.Option(5, help="Shuffled-baseline refits of the permutation control."),
    entities_a: str | None = typer.Option(None, help="BIDS entities of SOURCE_A, e.g. subject=01,session=01."),
    entities_b: str | None = typer.Option(None, help="BIDS entities of SOURCE_B."),
    overwrite: bool = OVERWRITE_OPTION,
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Fit an aligner on the baselines of SOURCE_A and SOURCE_B, save it, report its quality.

    When both sources have task trials, also prints the decoding table (decoder trained on
    A, applied to B after alignment, beside within-dataset, unaligned, control and chance).
    """
    from adhesive_dots.workflows.align import align_sources

    params = {"n_components": n_components} if method == "latent" else {}
    with console.status("fitting the alignment on the two baselines ...") if not as_json else _null():
        first, second = given.pair([x for x in (source_a, source_b) if x is not None])
        run = align_sources(
            first,
            second,
            method=method,
            output=out if out is not None else Path("transform.npz"),
            overwrite=overwrite,
            template=given.template(),
            entities_a=_entities(entities_a, "--entities-a"),
            entities_b=_entities(entities_b, "--entities-b"),
            n_controls=controls,
            rng=seed,
            **params,
        )
    if as_json:
        print_json(run.to_dict())
        return
    console.print(plain(f"Alignment ({method}): {run.verdict}"))
    console.print(plain(f"transform saved to {run.output} (the quality measures are in --json)"))
    if run.evaluation is None:
        console.print(plain(run.evaluation_note))
    else:
        console.print(render_frame(run.evaluation.to_frame(), "Decoding a -> b through the baselines"))
        console.print(run.evaluation.verdict)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
