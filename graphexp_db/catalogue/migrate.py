"""Alembic migrations of the catalogue, with the configuration built in code.

The scripts live in the top-level ``migrations/`` directory of the repository; the
:class:`alembic.config.Config` is built here (no ``alembic.ini``), so ``graphexp db upgrade`` works
from any directory.  A fresh, empty database gets ``create_all`` and a stamp of head (fast, and the
same schema: the tests check that models and migrations agree).  A database at an older revision
is upgraded by ``graphexp db upgrade``; every other command calls :func:`ensure_schema`, which
refuses an outdated database with one line (as Optuna's ``check_table_schema_compatibility``).

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

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL

from .engine import REPO_ROOT, get_engine
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


class SchemaOutdated(RuntimeError):
    """The database is not at the head revision of the migrations (message: one line)."""

    def __init__(self, message: str = OUTDATED_MESSAGE) -> None:
        super().__init__(message)


def alembic_config(url: str | URL | Engine | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for the catalogue at ``url``.

    ``script_location`` is the absolute path of ``migrations/``; ``%`` in the URL is escaped
    (Alembic's config is a ``ConfigParser``, as Optuna's ``_create_alembic_config`` does).
    An :class:`~sqlalchemy.Engine` is passed to ``env.py`` through ``config.attributes``.
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
    """The head revision of the migration scripts (there is exactly one head)."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None, "no migration scripts found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database (``None`` when it has no ``alembic_version``)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | URL | Engine | None = None, revision: str = "head") -> str | None:
    """Bring the catalogue at ``url`` to ``revision`` (default head); return the revision reached.

    A fresh database without any catalogue table gets ``Base.metadata.create_all`` (views
    included) and a stamp of head.  A database with catalogue tables but no ``alembic_version``
    is stamped when its tables match the models, else refused with :class:`SchemaOutdated`.
    """
    engine = url if isinstance(url, Engine) else get_engine(url)
    config = alembic_config(engine)
    current = current_revision(engine)
    if current is None:
        tables = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
        if not tables and revision == "head":
            Base.metadata.create_all(engine)
            command.stamp(config, "head")
            return current_revision(engine)
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


def downgrade(url: str | URL | Engine | None = None, revision: str = "base") -> str | None:
    """Downgrade the catalogue at ``url`` to ``revision`` (default: ``base``, nothing left)."""
    engine = url if isinstance(url, Engine) else get_engine(url)
    command.downgrade(alembic_config(engine), revision)
    return current_revision(engine)


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutdated` unless the database is stamped with the head revision."""
    if current_revision(engine) != head_revision():
        raise SchemaOutdated()


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database; otherwise check it is current.

    Raises
    ------
    SchemaOutdated
        The database has tables (or a revision) but is not at head: ``graphexp db upgrade``.
    """
    if current_revision(engine) is None and not set(inspect(engine).get_table_names()) & set(Base.metadata.tables):
        upgrade(engine)
        return
    check_schema(engine)


def _matches_models(engine: Engine) -> bool:
    from alembic.autogenerate import compare_metadata

    with engine.connect() as conn:
        return not compare_metadata(MigrationContext.configure(conn), Base.metadata)

