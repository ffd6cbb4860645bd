"""Engines and sessions of the catalogue (embedded SQLite by default, any SQLAlchemy URL otherwise).

The default database is ``data/catalogue.sqlite`` under the repository root, overridden by the
``GRAPHEXP_DB`` environment variable or an explicit URL.  SQLite connections get the PRAGMAs a
shared embedded database needs (as Prefect's ``setup_sqlite``): WAL journal (readers do not block
the writer), foreign keys on, and a busy timeout instead of an immediate "database is locked".

Examples
--------
>>> import tempfile, os
>>> from sqlalchemy import text
>>> d = tempfile.mkdtemp()
>>> engine = get_engine(f"sqlite:///{d}/doc.sqlite")
>>> with engine.connect() as c:
...     c.execute(text("PRAGMA journal_mode")).scalar(), c.execute(text("PRAGMA foreign_keys")).scalar()
('wal', 1)
>>> get_engine(f"sqlite:///{d}/doc.sqlite") is engine  # cached per URL
True
>>> dispose_engine(f"sqlite:///{d}/doc.sqlite")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["REPO_ROOT", "default_url", "normalize_url", "get_engine", "dispose_engine", "session_scope"]

#: The repository root (parent of the ``graphexp_db`` package directory).
REPO_ROOT = Path(__file__).resolve().parents[2]

SQLITE_BUSY_TIMEOUT_MS = 60_000

_ENGINES: dict[str, Engine] = {}


def default_url() -> str:
    """``$GRAPHEXP_DB``, else the embedded SQLite file ``<repo>/data/catalogue.sqlite``.

    Creates the ``data/`` directory when the default file is used.

    Examples
    --------
    >>> import os
    >>> os.environ["GRAPHEXP_DB"] = "sqlite:///elsewhere.sqlite"
    >>> default_url()
    'sqlite:///elsewhere.sqlite'
    >>> del os.environ["GRAPHEXP_DB"]
    >>> default_url().endswith("data/catalogue.sqlite")
    True
    """
    env = os.environ.get("GRAPHEXP_DB")
    if env:
        return env
    data = REPO_ROOT / "data"
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / 'catalogue.sqlite'}"


def normalize_url(url: str | URL | None = None) -> URL:
    """Parse ``url`` (default :func:`default_url`); bare ``postgresql://`` uses psycopg 3.

    Examples
    --------
    >>> normalize_url("postgresql://postgres@127.0.0.1:5432/test").drivername
    'postgresql+psycopg'
    >>> normalize_url("sqlite:///x.sqlite").database
    'x.sqlite'
    """
    u = make_url(url if url is not None else default_url())
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def get_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default :func:`default_url`), cached per URL.

    SQLite files get their parent directory created and, on every connection, the PRAGMAs
    ``journal_mode=WAL``, ``foreign_keys=ON``, ``busy_timeout`` and ``synchronous=NORMAL``.
    Extra keyword arguments go to :func:`sqlalchemy.create_engine` (and bypass the cache).

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        Any SQLAlchemy URL; ``postgresql://`` means ``postgresql+psycopg://``.

    Returns
    -------
    sqlalchemy.Engine
    """
    u = normalize_url(url)
    key = u.render_as_string(hide_password=False)
    cached = not kwargs
    if cached and key in _ENGINES:
        return _ENGINES[key]
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_engine(u, **kwargs)
        event.listen(engine, "connect", _setup_sqlite)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(u, **kwargs)
    if cached:
        _ENGINES[key] = engine
    return engine


def dispose_engine(url: str | URL | None = None) -> None:
    """Close the pooled connections of the cached engine for ``url`` and forget it."""
    u = normalize_url(url)
    engine = _ENGINES.pop(u.render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on error, always close.

    Examples
    --------
    >>> from sqlalchemy import create_engine, text
    >>> with session_scope(create_engine("sqlite://")) as s:
    ...     s.execute(text("SELECT 1 + 1")).scalar()
    2
    """
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _setup_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets the web UI read while a fill writes; it is a no-op on in-memory databases.
    # Foreign keys are off by default in SQLite; the busy timeout waits for a writer's lock.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()
