"""Alembic migrations of the catalogue, with the configuration built in code.

The scripts live in the top-level ``migrations/`` directory of the repository; the
:class:`alembic.config.Config` is built here (no ``alembic.ini``), so ``graphexp db upgrade`` works
from any directory.  A fresh, empty database gets ``create_all`` and a stamp of head (fast, and the
same schema: the tests check that models and migrations agree).  A database at an older revision
is upgraded by ``graphexp db upgrade``; every other command calls :func:`ensure_schema`, which
refuses an outdated database with one line (as Optuna's ``check_table_schema_compatibility``).

Schema creation is atomic: tables, views and the Alembic stamp are written in *one* transaction
(DDL is transactional on SQLite and PostgreSQL; SQLite's driver is told not to commit around DDL
and the transaction starts with ``BEGIN IMMEDIATE``; PostgreSQL takes an advisory lock), so a
killed creation leaves nothing, and concurrent first commands create the schema once.  A partial
schema of our own (tables that match the models, some missing, no stamp: left by an older,
non-atomic version) is finished and stamped by the next command, without a manual upgrade.

Examples
--------
>>> import tempfile
>>> from graphexp_db.catalogue.engine import get_engine, dispose_engine
>>> url = f"sqlite:///{tempfile.mkdtemp()}/doc.sqlite"
>>> upgrade(url) == head_revision()
True
>>> engine = get_engine(url)
>>> check_schema(engine)
>>> current_revision(engine) == head_revision()
True
>>> dispose_engine(url)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL

from ..errors import CatalogueError, SchemaOutdated
from .engine import REPO_ROOT, get_engine, translate_errors
from .models import Base

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaOutdated",
    "alembic_config",
    "head_revision",
    "current_revision",
    "upgrade",
    "downgrade",
    "check_schema",
    "ensure_schema",
]

#: Absolute path of the Alembic script directory (top-level ``migrations/``).
MIGRATIONS_DIR = REPO_ROOT / "migrations"

OUTDATED_MESSAGE = "catalogue schema is out of date: run `graphexp db upgrade`"


#: PostgreSQL advisory lock key that serialises schema creation (any fixed 64-bit number)
SCHEMA_LOCK_KEY = 0x6772617068657870  # "graphexp"


def alembic_config(url: str | URL | Engine | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for the catalogue at ``url``.

    ``script_location`` is the absolute path of ``migrations/``; ``%`` in the URL is escaped
    (Alembic's config is a ``ConfigParser``, as Optuna's ``_create_alembic_config`` does).
    An :class:`~sqlalchemy.Engine` is passed to ``env.py`` through ``config.attributes``.

    Parameters
    ----------
    url : str, sqlalchemy.engine.URL or sqlalchemy.Engine, optional
        The catalogue (default :func:`~graphexp_db.catalogue.engine.default_url`).

    Returns
    -------
    alembic.config.Config
        The configuration ``alembic.command`` functions take.

    Examples
    --------
    >>> from graphexp_db.catalogue.engine import get_engine, dispose_engine
    >>> engine = get_engine("sqlite://")
    >>> config = alembic_config(engine)
    >>> config.get_main_option("script_location") == str(MIGRATIONS_DIR), config.attributes["engine"] is engine
    (True, True)
    >>> dispose_engine("sqlite://")
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d%%(second).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("path_separator", "os")
    engine = url if isinstance(url, Engine) else get_engine(url)
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The head revision of the migration scripts (there is exactly one head).

    Returns
    -------
    str
        The revision id of the newest script in ``migrations/versions`` (``0001``, ``0002``, ...).

    Examples
    --------
    >>> head_revision() in {path.name.split("_")[4] for path in (MIGRATIONS_DIR / "versions").glob("*.py")}
    True
    """
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None, "no migration scripts found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database (``None`` when it has no ``alembic_version``).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue's engine.

    Returns
    -------
    str or None
        The stamped revision id.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> current_revision(create_engine("sqlite://")) is None    # an empty database
    True
    """
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | URL | Engine | None = None, revision: str = "head") -> str | None:
    """Bring the catalogue at ``url`` to ``revision`` (default head); return the revision reached.

    A fresh database without any catalogue table gets ``Base.metadata.create_all`` (views
    included) and a stamp of head, in one transaction.  A database with catalogue tables but no
    ``alembic_version`` is finished and stamped when its tables match the models (a partial
    schema of our own), else refused with :class:`SchemaOutdated`.

    Parameters
    ----------
    url : str, sqlalchemy.engine.URL or sqlalchemy.Engine, optional
        The catalogue (default :func:`~graphexp_db.catalogue.engine.default_url`).
    revision : str
        Target revision id, or ``head``.

    Returns
    -------
    str or None
        The revision the database is stamped with afterwards.

    Raises
    ------
    SchemaOutdated
        Catalogue tables without a stamp that differ from the models.
    CatalogueError
        A revision this code does not know, or a database that cannot be used.

    Examples
    --------
    >>> import tempfile
    >>> from graphexp_db.catalogue.engine import dispose_engine
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/up.sqlite"
    >>> upgrade(url) == head_revision() == upgrade(url)    # the second call has nothing to do
    True
    >>> dispose_engine(url)
    """
    engine = url if isinstance(url, Engine) else get_engine(url)
    with translate_errors(engine.url):
        if revision == "head" and create_schema(engine):
            return current_revision(engine)
        config = alembic_config(engine)
        current = current_revision(engine)
        if current is not None and current not in _known_revisions():
            raise CatalogueError(_unknown_revision_message(current))
        if current is None:
            tables = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
            if tables and not _matches_models(engine):
                raise SchemaOutdated(
                    "catalogue tables exist without an alembic_version and differ from the models: "
                    "recreate the database or stamp it by hand"
                )
            if tables:
                command.stamp(config, "head")
                if revision == "head":
                    return current_revision(engine)
        command.upgrade(config, revision)
        return current_revision(engine)


def create_schema(engine: Engine) -> bool:
    """Create (or finish) the schema and stamp head in one transaction; ``True`` when it did.

    Does nothing and returns ``False`` when the database is stamped already, or when catalogue
    tables without a stamp differ from the models (not a partial schema of ours).  Safe against
    kills (nothing is committed until the stamp is written) and against concurrent callers
    (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``pg_advisory_xact_lock``: the second one finds the
    stamp and returns).
    """
    if current_revision(engine) is not None:
        return False
    ddl_engine = _ddl_engine(engine)
    try:
        with ddl_engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            if MigrationContext.configure(conn).get_current_revision() is not None:
                return False  # another process created it while we waited for the lock
            present = set(inspect(conn).get_table_names()) & set(Base.metadata.tables)
            if present and not _own_partial_schema(conn, present):
                return False
            Base.metadata.create_all(conn, checkfirst=True)
            MigrationContext.configure(conn).stamp(ScriptDirectory(str(MIGRATIONS_DIR)), "head")
        return True
    finally:
        if ddl_engine is not engine:
            ddl_engine.dispose()


def _ddl_engine(engine: Engine) -> Engine:
    """An engine whose transactions really enclose DDL (pysqlite commits around DDL by default)."""
    db = engine.url.database or ""
    if engine.dialect.name != "sqlite" or db in ("", ":memory:") or "mode=memory" in db:
        return engine  # in-memory SQLite is private to its connection: nothing survives a kill anyway
    from .engine import SQLITE_BUSY_TIMEOUT_MS, _setup_sqlite

    ddl = create_engine(engine.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(ddl, "connect")
    def _connect(dbapi_connection, record):  # noqa: ANN001
        _setup_sqlite(dbapi_connection, record)
        dbapi_connection.isolation_level = None  # no implicit BEGIN/COMMIT from the driver

    @event.listens_for(ddl, "begin")
    def _begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return ddl


def _own_partial_schema(conn, present: set[str]) -> bool:
    """Every catalogue table present has exactly the model's columns (some tables may be missing)."""
    insp = inspect(conn)
    for name in present:
        have = {c["name"] for c in insp.get_columns(name)}
        if have != {c.name for c in Base.metadata.tables[name].columns}:
            return False
    return True


def downgrade(url: str | URL | Engine | None = None, revision: str = "base") -> str | None:
    """Downgrade the catalogue at ``url`` to ``revision`` (default: ``base``, nothing left).

    Parameters
    ----------
    url : str, sqlalchemy.engine.URL or sqlalchemy.Engine, optional
        The catalogue (default :func:`~graphexp_db.catalogue.engine.default_url`).
    revision : str
        Target revision id, or ``base`` (every migration undone).

    Returns
    -------
    str or None
        The revision stamped afterwards (``None`` at ``base``).

    Examples
    --------
    >>> import tempfile
    >>> from graphexp_db.catalogue.engine import dispose_engine
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/down.sqlite"
    >>> upgrade(url) == head_revision(), downgrade(url)
    (True, None)
    >>> dispose_engine(url)
    """
    engine = url if isinstance(url, Engine) else get_engine(url)
    command.downgrade(alembic_config(engine), revision)
    return current_revision(engine)


def check_schema(engine: Engine) -> None:
    """Raise unless the database is stamped with the head revision and has the models' columns.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue's engine.

    Returns
    -------
    None

    Raises
    ------
    SchemaOutdated
        Stamped with an older revision (or not at all): ``graphexp db upgrade``.
    CatalogueError
        Stamped with a revision this code does not know (a newer graphexp-db), or at head with
        tables or columns missing (altered by hand).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> check_schema(create_engine("sqlite://"))                 # empty: not stamped
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SchemaOutdated: catalogue schema is out of date: run `graphexp db upgrade`
    """
    current = current_revision(engine)
    if current == head_revision():
        missing = _missing_columns(engine)
        if missing:
            raise CatalogueError(
                f"catalogue is at revision {current} but lacks {', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''} (altered by hand?): restore it from a backup or rebuild it "
                "in a new file with `graphexp build`"
            )
        return
    if current is not None and current not in _known_revisions():
        raise CatalogueError(_unknown_revision_message(current))
    raise SchemaOutdated(OUTDATED_MESSAGE)


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database (or finish a partial one of ours); else check it.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue's engine.

    Returns
    -------
    None

    Raises
    ------
    SchemaOutdated
        The database has tables (or a revision) but is not at head: ``graphexp db upgrade``.
    CatalogueError
        The database cannot be used (bad URL, unreachable server, not a catalogue file, read-only,
        unknown revision, missing columns): the message says what to do.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> engine = create_engine("sqlite://")
    >>> ensure_schema(engine)                                   # created and stamped at head
    >>> current_revision(engine) == head_revision()
    True
    """
    with translate_errors(engine.url):
        if current_revision(engine) is None:
            create_schema(engine)
        check_schema(engine)


def _known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def _unknown_revision_message(current: str) -> str:
    return (f"catalogue is stamped with schema revision {current!r}, unknown to this graphexp-db "
            f"(head {head_revision()}; made by a newer version?): use that version, or a new catalogue file")


def _missing_columns(engine: Engine) -> list[str]:
    """``table.column`` (or ``table``) of the models that the database lacks (one query)."""
    rows: Sequence[tuple[Any, ...]]
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
                                     "WHERE m.type = 'table'")).all()
        elif conn.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE table_schema = current_schema()")).all()
        else:
            insp = inspect(conn)
            rows = [(t, c["name"]) for t in insp.get_table_names() for c in insp.get_columns(t)]
    have: dict[str, set[str]] = {}
    for table, column in rows:
        have.setdefault(table, set()).add(column)
    missing = []
    for name, table in Base.metadata.tables.items():
        if name not in have:
            missing.append(f"table {name}")
            continue
        missing.extend(f"{name}.{c.name}" for c in table.columns if c.name not in have[name])
    return missing


def _matches_models(engine: Engine) -> bool:
    from alembic.autogenerate import compare_metadata

    with engine.connect() as conn:
        return not compare_metadata(MigrationContext.configure(conn), Base.metadata)

