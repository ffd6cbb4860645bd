"""Options and helpers shared by the CLI commands (typer ``Annotated`` aliases)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer

DbUrl = Annotated[
    str | None,
    typer.Option("--db", envvar="GRAPHEXP_DB", help="SQLAlchemy URL of the catalogue (default: embedded SQLite data/catalogue.sqlite)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Device = Annotated[str, typer.Option("--device", envvar="GRAPHEXP_DEVICE", help="Array backend: cpu, gpu or auto.")]
Force = Annotated[bool, typer.Option("--force", help="Go on even when the estimated enumeration size is over the limit.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and exit with ``code`` (2 for bad input)."""
    line = " ".join(str(message).split())
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (one document)."""
    sys.stdout.write(json.dumps(obj, indent=None, default=str) + "\n")
    sys.stdout.flush()


def parse_floats(text: str, what: str) -> list[float]:
    """Parse ``"1,0.5,-0.3"``; one-line error for malformed or non-finite entries."""
    import math

    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        fail(f"malformed {what}: {text!r} (expected comma-separated numbers)")
    if not vals:
        fail(f"{what} is empty")
    if not all(math.isfinite(v) for v in vals):
        fail(f"{what} contains NaN or inf: {text!r}")
    return vals


def open_catalogue(db: str | None):
    """The catalogue engine at the current schema, or one line on stderr and exit 2."""
    from ..catalogue.engine import get_engine
    from ..catalogue.migrate import SchemaOutdated, ensure_schema

    try:
        engine = get_engine(db)
        ensure_schema(engine)
    except SchemaOutdated as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - bad URL, unreachable server: one line
        fail(f"cannot open catalogue {db!r}: {exc}")
    return engine
