"""``graphexp build --preset NAME``: fill a named catalogue preset."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from ._common import DbUrl, Device, JsonOut, emit_json, fail


def register(app: typer.Typer) -> None:
    app.command("build")(build)


def build(
    preset: Annotated[str, typer.Option("--preset", help="core (expansions; used by make run) or paper (limits and moments).")] = "core",
    db: DbUrl = None,
    device: Device = "cpu",
    json_out: JsonOut = False,
) -> None:
    """Fill the catalogue with a preset; idempotent and resumable (re-running skips finished work)."""
    from ..catalogue.engine import get_engine, translate_errors
    from ..catalogue.migrate import ensure_schema
    from ..catalogue.presets import PRESETS
    from ..errors import GraphexpError

    if preset not in PRESETS:
        fail(f"unknown preset {preset!r} (expected one of {', '.join(sorted(PRESETS))})")
    try:
        engine = get_engine(db)
        ensure_schema(engine)
    except GraphexpError as exc:
        fail(str(exc))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=json_out) as bar:
        steps = PRESETS[preset]
        task = bar.add_task(f"preset {preset}", total=len(steps))
        results = []
        for step in steps:
            bar.update(task, description=f"{preset}: {step.name}")
            try:
                with translate_errors(engine.url):
                    results.append(step.run(engine, device))
            except GraphexpError as exc:
                fail(f"{step.name}: {exc}")
            bar.advance(task)
    seconds = time.perf_counter() - t0
    if json_out:
        emit_json({"preset": preset, "steps": len(results), "seconds": seconds, "results": results})
    else:
        typer.echo(f"preset {preset}: {len(results)} steps in {seconds:.1f} s -> {engine.url.render_as_string(hide_password=True)}")
