"""graphexp query: read-only SQL over the catalogue (refuses anything that writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..catalogue.readonly import DEFAULT_ROW_CAP, DEFAULT_TIMEOUT_S, MAX_ROW_CAP, MAX_TIMEOUT_S, query_caps
from ._common import DbUrl, JsonOut, emit_json, fail


def register(app: typer.Typer) -> None:
    app.command("query", help=_HELP)(query)


_HELP = (
    "Run one read-only SQL query on the catalogue and print a table (or JSON with --json).\n\n"
    "Only one SELECT / WITH ... SELECT / VALUES / EXPLAIN statement over the catalogue's tables, "
    "calling allowlisted functions, is accepted; anything else is refused with one line on stderr "
    "and exit code 2.  On PostgreSQL it runs as the read-only role (`graphexp db reader` creates "
    "it) and a superuser connection is refused unless --allow-superuser.\n\n"
    f"Caps: {query_caps()['summary']}.  A query that starts with '--' goes after a lone '--'."
)


def query(
    sql: Annotated[str, typer.Argument(help="One SELECT / WITH ... SELECT / VALUES / EXPLAIN query.")],
    db: DbUrl = None,
    json_out: JsonOut = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_ROW_CAP, help=f"Row cap: at most this many rows are returned (1..{MAX_ROW_CAP:,}).")] = DEFAULT_ROW_CAP,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, max=MAX_TIMEOUT_S, help=f"Time limit in seconds (at most {MAX_TIMEOUT_S:g}); the query is cut past it.")] = DEFAULT_TIMEOUT_S,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write the result to this CSV file.", dir_okay=False)] = None,
    read_db: Annotated[str | None, typer.Option("--read-db", envvar="GRAPHEXP_READ_DB", help="PostgreSQL: URL of the read-only role's login (default: SET ROLE to it from --db).")] = None,
    allow_superuser: Annotated[bool, typer.Option("--allow-superuser", help="PostgreSQL: run even as a superuser (or a role with server-file/signal rights).")] = False,
) -> None:
    from graphexp_db.catalogue.readonly import resolve_url, run_readonly
    from graphexp_db.errors import GraphexpError

    try:  # (the root group handles it too; this keeps the command one-line when mounted elsewhere)
        result = run_readonly(resolve_url(db), sql, row_cap=limit, timeout_s=timeout, allow_superuser=allow_superuser, read_url=read_db)
    except GraphexpError as err:
        fail(str(err))
    if csv is not None:
        try:
            result.to_frame().to_csv(csv, index=False)
        except OSError as err:
            fail(f"cannot write {csv}: {err.strerror or err}")
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
        if result.meta.get("cut_by") == "bytes":
            note += f" (cut at the result-size cap of {query_caps()['result_mb_max']} MB)"
        else:
            note += f" (cut at the row cap of {limit}; use --limit to raise it)"
    if csv is not None:
        note += f"; CSV written to {csv}"
    typer.echo(note, err=True)
