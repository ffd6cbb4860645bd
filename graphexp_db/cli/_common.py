"""Options and helpers shared by the CLI commands (typer ``Annotated`` aliases)."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, NoReturn

import typer
from typer import core as _typer_core
from typer.core import TyperGroup

# typer >= 0.16 vendors click (``typer._click``); older typer uses click itself.
_click = getattr(_typer_core, "_click", None) or __import__("click")
_PASS_THROUGH = tuple(
    {typer.Exit, getattr(typer, "Abort", typer.Exit), *(getattr(_click.exceptions, n) for n in ("Exit", "Abort", "NoArgsIsHelpError") if hasattr(_click.exceptions, n))}
)

DbUrl = Annotated[
    str | None,
    typer.Option("--db", envvar="GRAPHEXP_DB", help="SQLAlchemy URL of the catalogue (default: embedded SQLite data/catalogue.sqlite)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Device = Annotated[str, typer.Option("--device", envvar="GRAPHEXP_DEVICE", help="Array backend: cpu, gpu or auto.")]
Force = Annotated[bool, typer.Option("--force", help="Go on even when the estimated enumeration size is over the limit.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and exit with ``code`` (2 for bad input)."""
    from ..errors import one_line

    line = one_line(message, 1000)
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


class GraphexpGroup(TyperGroup):
    """The root command group: the CLI's single error handler.

    Every failure a user can cause ends as one line ``error: ...`` on stderr and exit code 2:
    a :class:`~graphexp_db.errors.GraphexpError` raised anywhere below a command (and the legacy
    error classes that are not yet one), a bad option or argument (click's usage errors, which
    would otherwise print a multi-line panel), and, as a last resort, any unexpected exception
    (``internal error``; ``GRAPHEXP_DEBUG=1`` re-raises it with its traceback).  Errors inside the
    sub-commands pass through this ``invoke``, so one handler covers all of them.
    """

    def invoke(self, ctx: Any) -> Any:
        import warnings

        # Warnings (numpy overflow ...) are collected: after a success each is one ``warning:`` line;
        # after a failure only the error line is printed.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                rv = self._invoke_one_line(ctx)
            except _PASS_THROUGH as exc:
                if getattr(exc, "exit_code", 0) == 0:
                    _echo_warnings(caught)
                raise
        _echo_warnings(caught)
        return rv

    def _invoke_one_line(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except _click.exceptions.ClickException as exc:
            msg = exc.format_message()
            if isinstance(exc, _click.exceptions.NoSuchOption) and str(getattr(exc, "option_name", "")).startswith("--"):
                msg += " (a query or value that starts with '--' goes after a lone '--')"
            fail(msg, 2)
        except BaseException as exc:  # noqa: BLE001 - the one handler: everything ends as one line
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            fail(describe_error(exc), 2)

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        # Options of the root command itself are parsed here, outside ``invoke``.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _PASS_THROUGH:
            raise
        except _click.exceptions.ClickException as exc:
            fail(exc.format_message(), 2)
        except BaseException as exc:  # noqa: BLE001 - the one handler: everything ends as one line
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            fail(describe_error(exc), 2)


def _echo_warnings(caught) -> None:
    from ..errors import one_line

    seen = set()
    for w in caught or ():
        line = one_line(f"{w.category.__name__}: {w.message}", 300)
        if line not in seen:
            seen.add(line)
            typer.echo(f"warning: {line}", err=True)


def describe_error(exc: BaseException) -> str:
    """The one-line message for a failure (what went wrong and, where known, what to do)."""
    from ..errors import GraphexpError, one_line

    if os.environ.get("GRAPHEXP_DEBUG") and not isinstance(exc, GraphexpError):
        raise exc
    if isinstance(exc, GraphexpError) or type(exc).__name__ in ("SchemaOutdated", "DeviceError"):
        return one_line(str(exc) or type(exc).__name__, 1000)
    if isinstance(exc, MemoryError):
        return "out of memory: the input asks for more than this machine has (use a smaller order, size or grid)"
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return one_line(f"{exc.strerror or exc}{where}", 500)
    try:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            orig = getattr(exc, "orig", None)
            text = str(orig if orig is not None else exc).splitlines()[0] if str(orig if orig is not None else exc) else type(exc).__name__
            return one_line(f"database error: {text}", 500)
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        pass
    return one_line(f"internal error ({type(exc).__name__}): {exc} (GRAPHEXP_DEBUG=1 shows the traceback)", 500)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (one document)."""
    sys.stdout.write(json.dumps(obj, indent=None, default=str) + "\n")
    sys.stdout.flush()


def parse_floats(text: str, what: str) -> list[float]:
    """Parse ``"1,0.5,-0.3"``; one-line error for malformed or non-finite entries."""
    import math

    if len(text) > 100_000:
        fail(f"{what} is too long ({len(text)} characters; at most 100000)")
    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        fail(f"malformed {what}: {text[:80]!r} (expected comma-separated numbers)")
    if len(vals) > 10_000:
        fail(f"{what} has {len(vals)} entries (at most 10000)")
    if not vals:
        fail(f"{what} is empty")
    if not all(math.isfinite(v) for v in vals):
        fail(f"{what} contains NaN or inf: {text!r}")
    return vals


def parse_float_pair(x: str, y: str | None, what: tuple[str, str] = ("--x", "--y")) -> tuple[list[float], list[float]]:
    """``--x`` and ``--y`` (default: x) parsed with :func:`parse_floats`; one line unless they have one length."""
    xs = parse_floats(x, what[0])
    ys = parse_floats(y, what[1]) if y is not None else list(xs)
    if len(xs) != len(ys):
        fail(f"x and y have different dimensions ({len(xs)} and {len(ys)})")
    return xs, ys


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
