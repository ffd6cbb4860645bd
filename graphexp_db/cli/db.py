"""``graphexp db``: create or upgrade the catalogue schema (Alembic), show its revision."""

from __future__ import annotations

import typer

from ._common import DbUrl, JsonOut, emit_json, fail

app = typer.Typer(name="db", help="Catalogue schema: Alembic migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Create the catalogue (fresh database) or apply the pending migrations; print the revision reached."""
    from ..catalogue.engine import get_engine, translate_errors
    from ..catalogue.migrate import head_revision, upgrade
    from ..errors import GraphexpError

    try:
        with translate_errors(db, connect=True):
            engine = get_engine(db)
            revision = upgrade(engine)
    except GraphexpError as exc:
        fail(f"cannot upgrade the catalogue: {exc}")
    url = engine.url.render_as_string(hide_password=True)
    if json_out:
        emit_json({"url": url, "revision": revision, "head": head_revision()})
    else:
        typer.echo(f"catalogue at revision {revision} (head) -> {url}")


@app.command("current")
def current_cmd(db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Print the database's revision and the code's head revision (exit 1 when they differ)."""
    from ..catalogue.engine import get_engine, translate_errors
    from ..catalogue.migrate import current_revision, head_revision
    from ..errors import GraphexpError

    try:
        with translate_errors(db, connect=True):
            engine = get_engine(db)
            current = current_revision(engine)
    except GraphexpError as exc:
        fail(f"cannot read the catalogue: {exc}")
    head = head_revision()
    if json_out:
        emit_json({"url": engine.url.render_as_string(hide_password=True), "revision": current, "head": head,
                   "up_to_date": current == head})
    else:
        state = "up to date" if current == head else "out of date: run `graphexp db upgrade`"
        typer.echo(f"revision {current or '(none)'}, head {head}: {state}")
    if current != head:
        raise typer.Exit(1)


@app.command("reader")
def reader_cmd(
    db: DbUrl = None,
    password: str | None = typer.Option(None, "--password", envvar="GRAPHEXP_READ_PASSWORD", help="Make the role a login role with this password (its URL goes in GRAPHEXP_READ_DB)."),
    json_out: JsonOut = False,
) -> None:
    """PostgreSQL: create or repair the read-only role `graphexp_reader` (SELECT on the catalogue only) used by `query` and the UI console."""
    from ..catalogue.readonly import ensure_reader_role, resolve_url

    info = ensure_reader_role(resolve_url(db), password=password)
    if json_out:
        emit_json(info)
    else:
        typer.echo(f"read-only role {info['role']}: SELECT on schema {info['schema']} of database {info['database']}"
                   + (f"; login URL {info['read_url']}" if info["read_url"] else "; used by SET ROLE from the catalogue's connection"))


def register(root: typer.Typer) -> None:
    """Add the ``db`` group to the root ``graphexp`` app."""
    root.add_typer(app, name="db")
