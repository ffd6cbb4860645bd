"""graphexp query: read-only SQL over the catalogue (refuses anything that writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import DbUrl, JsonOut, emit_json, fail


def register(app: typer.Typer) -> None:
    app.command("query")(query)


def query(
    sql: Annotated[str, typer.Argument(help="One SELECT / WITH ... SELECT / VALUES / EXPLAIN query.")],
    db: DbUrl = None,
    json_out: JsonOut = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Row cap: at most this many rows are returned.")] = 10_000,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, help="Time limit in seconds; the query is cut past it.")] = 10.0,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write the result to this CSV file.", dir_okay=False)] = None,
) -> None:
    """Run one read-only SQL query on the catalogue and print a table (or JSON with --json).

    Anything that could write (DROP, DELETE, UPDATE, INSERT, ATTACH, PRAGMA, CTE writes, several
    statements, ...) is refused with one line on stderr and exit code 2.
    """
    from graphexp_db.catalogue.query import ReadOnlyError, resolve_url, run_readonly

    try:
        result = run_readonly(resolve_url(db), sql, row_cap=limit, timeout_s=timeout)
    except ReadOnlyError as err:
        fail(str(err))
    if csv is not None:
        try:
            result.to_frame().to_csv(csv, index=False)
        except OSError as err:
            fail(f"cannot write {csv}: {err}")
    if json_out:
        emit_json(result.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for c in result.columns:
        table.add_column(str(c), overflow="fold")
    for row in result.rows:
        table.add_row(*["NULL" if v is None else str(v) for v in row])
    console = Console()
    console.print(table)
    note = f"{len(result.rows)} row(s)"
    if result.truncated:
        note += f" (cut at the row cap of {limit}; use --limit to raise it)"
    if csv is not None:
        note += f"; CSV written to {csv}"
    typer.echo(note, err=True)
