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

from ..errors import CatalogueError, GraphexpError

__all__ = ["REPO_ROOT", "default_url", "normalize_url", "get_engine", "dispose_engine", "session_scope",
           "CatalogueError", "catalogue_error", "translate_errors"]

#: The repository root (parent of the ``graphexp_db`` package directory).
REPO_ROOT = Path(__file__).resolve().parents[2]

SQLITE_BUSY_TIMEOUT_MS = 60_000

_ENGINES: dict[str, Engine] = {}


def default_url() -> str:
    """``$GRAPHEXP_DB``, else the embedded SQLite file ``<repo>/data/catalogue.sqlite``.

    Creates the ``data/`` directory when the default file is used.

    Returns
    -------
    str
        A SQLAlchemy URL.

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

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        The catalogue URL (``--db``); ``None`` means :func:`default_url`.

    Returns
    -------
    sqlalchemy.engine.URL
        The parsed URL, with the ``postgresql+psycopg`` driver for PostgreSQL.

    Raises
    ------
    CatalogueError
        When ``url`` is not a database URL.

    Examples
    --------
    >>> normalize_url("postgresql://postgres@127.0.0.1:5432/test").drivername
    'postgresql+psycopg'
    >>> normalize_url("sqlite:///x.sqlite").database
    'x.sqlite'
    """
    with translate_errors(url, connect=True):
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
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`; given any, the engine is new and not cached.

    Returns
    -------
    sqlalchemy.Engine
        The engine (the cached one when ``url`` was seen before and no ``kwargs`` are given).

    Raises
    ------
    CatalogueError
        For a bad URL, a missing driver, or an SQLite path that is a directory or cannot be made.

    Examples
    --------
    >>> engine = get_engine("sqlite://")                 # in memory
    >>> engine.dialect.name, get_engine("sqlite://") is engine
    ('sqlite', True)
    >>> get_engine("sqlite://", echo=False) is engine    # keyword arguments: a fresh engine
    False
    >>> dispose_engine("sqlite://")
    """
    u = normalize_url(url)
    key = u.render_as_string(hide_password=False)
    cached = not kwargs
    if cached and key in _ENGINES:
        return _ENGINES[key]
    with translate_errors(u, connect=True):
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
                path = Path(u.database).expanduser()
                if path.is_dir():
                    raise CatalogueError(f"{path} is a directory, not a catalogue file: give a file path with --db "
                                         f"(e.g. sqlite:///{path / 'catalogue.sqlite'})")
                path.parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            engine = create_engine(u, **kwargs)
            event.listen(engine, "connect", _setup_sqlite)
        else:
            kwargs.setdefault("pool_pre_ping", True)
            kwargs.setdefault("connect_args", {"connect_timeout": 10} if u.get_backend_name() == "postgresql" else {})
            engine = create_engine(u, **kwargs)
    if cached:
        _ENGINES[key] = engine
    return engine


def dispose_engine(url: str | URL | None = None) -> None:
    """Close the pooled connections of the cached engine for ``url`` and forget it.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        The URL the engine was made for (default :func:`default_url`); an unknown URL is a no-op.

    Returns
    -------
    None

    Examples
    --------
    >>> engine = get_engine("sqlite://")
    >>> dispose_engine("sqlite://")
    >>> get_engine("sqlite://") is engine                # forgotten: the next call makes a new one
    False
    >>> dispose_engine("sqlite://")
    """
    u = normalize_url(url)
    engine = _ENGINES.pop(u.render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on error, always close.

    Operational failures inside (disk full, read-only file, lost server) come out as
    :class:`CatalogueError` with a one-line message; other errors (integrity, ...) unchanged.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue's engine.

    Yields
    ------
    sqlalchemy.orm.Session
        A session (``expire_on_commit=False``: loaded rows stay readable after the commit).

    Examples
    --------
    >>> from sqlalchemy import create_engine, text
    >>> with session_scope(create_engine("sqlite://")) as s:
    ...     s.execute(text("SELECT 1 + 1")).scalar()
    2
    """
    from sqlalchemy.exc import OperationalError

    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except OperationalError as exc:  # disk full, read-only, lost server (not integrity errors): one line
        session.rollback()
        raise catalogue_error(exc, engine.url) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --------------------------------------------------------------------------- one error type
# Every database failure a user can meet becomes a CatalogueError whose message is one line that
# says what went wrong and what to do; the CLI prints it and exits 2, the UI shows it once.
_PG_HINTS = (
    ("connection refused", "connection refused at {where}: is the PostgreSQL server running there? check the host and port in --db"),
    ("could not translate host name", "unknown host in --db ({where}): check the host name"),
    ("name or service not known", "unknown host in --db ({where}): check the host name"),
    ("nodename nor servname", "unknown host in --db ({where}): check the host name"),
    ("timeout expired", "no answer from {where} within 10 s: check the host, port and firewall in --db"),
    ("password authentication failed", "password authentication failed for the role in --db: check the user and password"),
    ("no password supplied", "the server at {where} asks for a password: put it in --db (postgresql://user:password@host/db)"),
    ("does not exist", "{detail}: create it on the server or fix --db"),
    ("permission denied", "{detail}: use a role with the rights the catalogue needs"),
)
_SQLITE_HINTS = (
    ("file is not a database", "{where} is not a SQLite catalogue (corrupt, truncated or another kind of file): "
                               "move it away or give another file with --db"),
    ("database disk image is malformed", "{where} is corrupt: restore it from a backup or rebuild it in a new file"),
    ("readonly database", "{where} is read-only (file, directory or file system): copy it somewhere writable "
                          "or give another --db"),
    ("read-only file system", "{where} is on a read-only file system: give a writable path with --db"),
    ("unable to open database file", "cannot open {where} (missing directory, a directory, or no permission): "
                                     "give a writable file path with --db"),
    ("disk is full", "disk full while writing {where}: free some space and run the command again "
                     "(work already committed is kept and skipped)"),
    ("disk i/o error", "disk I/O error on {where} (full or failing disk?): free space or check the disk, then run again"),
    ("database is locked", "{where} stayed locked by another writer for 60 s: let it finish and run again"),
)


def catalogue_error(exc: BaseException, url: str | URL | None = None) -> CatalogueError:
    """A one-line :class:`CatalogueError` for a database failure ``exc`` (what happened, what to do).

    Parameters
    ----------
    exc : BaseException
        The failure: an SQLAlchemy or sqlite3 error, an ``OSError`` or an ``ImportError`` (driver).
    url : str or sqlalchemy.engine.URL, optional
        The catalogue URL, named in the message (the SQLite file, or host:port).

    Returns
    -------
    CatalogueError
        ``exc`` itself when it already is one; else a new error whose message matches the known
        causes (corrupt file, read-only, disk full, refused connection, ...) or says
        ``database error on ...``.

    Examples
    --------
    >>> import sqlite3
    >>> str(catalogue_error(sqlite3.DatabaseError("file is not a database"), "sqlite:///x.sqlite"))
    'x.sqlite is not a SQLite catalogue (corrupt, truncated or another kind of file): move it away or give another file with --db'
    >>> str(catalogue_error(ModuleNotFoundError("No module named 'MySQLdb'"), "mysql://h/db"))
    "the database driver for 'mysql' is not installed (No module named 'MySQLdb'): pip install it, or use sqlite:///PATH or postgresql://USER@HOST/DB"
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from ..errors import one_line

    if isinstance(exc, CatalogueError):
        return exc
    try:
        u = make_url(url) if url is not None and not isinstance(url, URL) else url
    except Exception:  # noqa: BLE001 - the URL itself is what is wrong
        u = None
    backend = u.get_backend_name() if u is not None else ""
    where = ((u.database if u is not None else None) or ":memory:") if backend == "sqlite" else (
        f"{u.host or 'localhost'}:{u.port or 5432}" if u is not None else "the database")
    text = one_line(getattr(exc, "orig", None) or exc).lower()
    if isinstance(exc, (ArgumentError, NoSuchModuleError)) or (isinstance(exc, ValueError) and u is None):
        return CatalogueError(f"bad database URL {one_line(url)!r}: {one_line(exc)}; use sqlite:///PATH or "
                              "postgresql://USER@HOST:PORT/DB")
    if isinstance(exc, ImportError):
        return CatalogueError(f"the database driver for {backend or 'this URL'!r} is not installed ({one_line(exc)}): "
                              "pip install it, or use sqlite:///PATH or postgresql://USER@HOST/DB")
    hints = _SQLITE_HINTS if backend == "sqlite" else _PG_HINTS + _SQLITE_HINTS[-3:-1]
    if isinstance(exc, OSError) and not text:
        text = one_line(exc.strerror or exc).lower()
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:
        text = "disk is full"
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 30:
        text = "read-only file system"
    if backend == "sqlite" and "unable to open database file" in text and u is not None and u.database:
        text = _why_not_open(Path(u.database.removeprefix("file:").split("?")[0]).expanduser()) or text
    for needle, message in hints:
        if needle in text:
            detail = one_line(getattr(exc, "orig", None) or exc, 160)
            detail = detail.split("FATAL:")[-1].strip() if "FATAL:" in detail else detail
            return CatalogueError(message.format(where=where, detail=detail))
    return CatalogueError(f"database error on {where}: {one_line(getattr(exc, 'orig', None) or exc, 200)} "
                          "(check --db; run `graphexp db upgrade` if the schema is in question)")


def _why_not_open(path: Path) -> str | None:
    """A more precise cause for SQLite's "unable to open database file" (read-only file system or directory)."""
    folder = path.parent if path.parent.exists() else None
    if folder is None:
        return None
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):  # pragma: no cover - statvfs is POSIX
        pass
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "readonly database"
    return None


@contextmanager
def translate_errors(url: str | URL | None = None, *, connect: bool = False) -> Iterator[None]:
    """Turn database errors raised inside into :class:`CatalogueError` (one line, what to do).

    Always: SQLAlchemy and sqlite3 errors, and file-system errors that concern the catalogue's
    storage (disk full, read-only file system, quota).  With ``connect`` (opening a URL): also any
    ``OSError`` (a path that cannot be made) and ``ImportError`` (a missing database driver).
    Errors that are already user-facing (:class:`graphexp_db.errors.GraphexpError`) pass through.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        The catalogue URL, named in the messages.
    connect : bool
        Also translate any ``OSError`` and ``ImportError`` (set while opening ``url``).

    Yields
    ------
    None

    Raises
    ------
    CatalogueError
        In place of a database error raised inside the block.

    Examples
    --------
    >>> try:
    ...     with translate_errors("nosuch://x", connect=True):
    ...         create_engine("nosuch://x")
    ... except CatalogueError as err:
    ...     print(str(err)[:44])
    bad database URL 'nosuch://x': Can't load pl
    """
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except GraphexpError:
        raise
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise catalogue_error(exc, url) from exc
    except (OSError, ImportError) as exc:
        storage = isinstance(exc, OSError) and getattr(exc, "errno", None) in (28, 30, 122)  # ENOSPC, EROFS, EDQUOT
        if connect or storage:
            raise catalogue_error(exc, url) from exc
        raise


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
