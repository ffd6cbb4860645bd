"""Column types and the declarative base of the catalogue models (:mod:`.models`).

Exact numbers are never stored as floats: :class:`ExactRational` stores a
:class:`fractions.Fraction` as text, :class:`BigCount` an ``int`` of any size as decimal text.
:class:`Base` carries the constraint naming convention and the ``type_annotation_map``; the
``Annotated`` aliases (``IntPK``, ``Count`` ...) are the column kinds the tables share.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Annotated, Any

from sqlalchemy import BigInteger, Boolean, DateTime, Dialect, Float, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "ExactRational",
    "BigCount",
    "utcnow",
    "IdType",
    "IntPK",
    "Hash",
    "Hash16",
    "JsonText",
    "Count",
    "Order",
    "ArchitectureFK",
    "GraphFK",
    "HasProvenance",
    "Provenance",
]


# --------------------------------------------------------------------------- exact types
class ExactRational(TypeDecorator[Fraction]):
    """A :class:`fractions.Fraction` stored exactly as text ``'p/q'`` (``'p'`` when integral).

    Accepts ``Fraction``, ``int`` and strings that :class:`~fractions.Fraction` parses
    (``'3/2'``, ``'0.1'``); rejects ``float`` (not exact: convert deliberately first).
    It takes no parameters of its own; :class:`Base` maps every ``Mapped[Fraction]`` column to it.

    Attributes
    ----------
    impl : sqlalchemy.types.Text
        The stored column type.
    cache_ok : bool
        True: the type has no state, so SQLAlchemy may cache statements that use it.

    Examples
    --------
    >>> t = ExactRational()
    >>> t.process_bind_param(Fraction(-3, 6), None), t.process_bind_param(4, None)
    ('-1/2', '4')
    >>> t.process_result_value("-1/2", None)
    Fraction(-1, 2)
    >>> t.process_bind_param(0.5, None)
    Traceback (most recent call last):
    ...
    TypeError: ExactRational needs a Fraction, int or str, got float 0.5 (floats are not exact)
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or isinstance(value, float):
            raise TypeError(
                f"ExactRational needs a Fraction, int or str, got {type(value).__name__} {value!r} (floats are not exact)"
            )
        q = Fraction(value)
        return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"

    def process_result_value(self, value: Any, dialect: Dialect | None) -> Fraction | None:
        return None if value is None else Fraction(str(value))


class BigCount(TypeDecorator[int]):
    """A Python ``int`` of any size stored as decimal text (SQLite integers stop at 2**63 - 1).

    Text sorts lexicographically: in SQL, compare or sum ``CAST(col AS NUMERIC)`` (exact on
    PostgreSQL; on SQLite an integer up to 2**63 - 1, a float beyond).  It takes no parameters of
    its own; the ``Count`` alias declares a column of it.

    Attributes
    ----------
    impl : sqlalchemy.types.Text
        The stored column type.
    cache_ok : bool
        True: the type has no state, so SQLAlchemy may cache statements that use it.

    Examples
    --------
    >>> t = BigCount()
    >>> t.process_bind_param(2**100, None)
    '1267650600228229401496703205376'
    >>> t.process_result_value('1267650600228229401496703205376', None) == 2**100
    True
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)) and not hasattr(value, "__index__"):
            raise TypeError(f"BigCount needs an int, got {type(value).__name__} {value!r}")
        return str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect | None) -> int | None:
        return None if value is None else int(value)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (stored in provenance and job rows).

    Returns
    -------
    datetime.datetime
        Now, with ``tzinfo=datetime.timezone.utc``.

    Examples
    --------
    >>> import datetime as dt
    >>> t = utcnow()
    >>> t.tzinfo is dt.timezone.utc, t <= utcnow()
    (True, True)
    """
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------- base and aliases
# Constraint names follow a fixed convention (as in Prefect's orm_models): Alembic needs named
# constraints to alter them in SQLite batch mode, and stable names keep migrations reviewable.
# Names longer than PostgreSQL's 63 characters are shortened by SQLAlchemy with a hash suffix.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s__%(column_0_N_name)s",
    "uq": "uq_%(table_name)s__%(column_0_N_name)s",
    "ck": "ck_%(table_name)s__%(constraint_name)s",
    "fk": "fk_%(table_name)s__%(column_0_name)s__%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Surrogate keys: BIGINT on PostgreSQL, but INTEGER on SQLite (only ``INTEGER PRIMARY KEY`` is the rowid).
IdType = BigInteger().with_variant(Integer(), "sqlite")

IntPK = Annotated[int, mapped_column(IdType, primary_key=True)]
Count = Annotated[int, mapped_column(BigCount())]
JsonText = Annotated[str, mapped_column(Text())]
Hash16 = Annotated[str, mapped_column(String(16))]
Hash = Annotated[str, mapped_column(String(64))]
Order = Annotated[int, mapped_column(Integer())]
ArchitectureFK = Annotated[int, mapped_column(IdType, ForeignKey("architecture.id"), index=True)]
GraphFK = Annotated[int, mapped_column(IdType, ForeignKey("operator_graph.id", ondelete="CASCADE"), index=True)]


class Base(DeclarativeBase):
    """Declarative base of every catalogue table.

    A model class takes its column values as keyword arguments (``Architecture(spec=..., ...)``).

    Attributes
    ----------
    metadata : sqlalchemy.MetaData
        The tables of :mod:`.models`, with constraint names from ``NAMING_CONVENTION``
        (``pk_<table>``, ``uq_<table>__<columns>``, ...).
    type_annotation_map : dict
        Python annotation -> column type: ``Fraction`` -> :class:`ExactRational`, ``datetime`` ->
        timezone-aware ``DateTime``, ``str``, ``int``, ``float``, ``bool`` -> their plain types.

    Examples
    --------
    >>> from graphexp_db.catalogue import models
    >>> table = Base.metadata.tables["architecture"]
    >>> len(Base.metadata.tables), table.primary_key.name
    (16, 'pk_architecture')
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        Fraction: ExactRational(),
        str: String(),
        int: Integer(),
        float: Float(),
        bool: Boolean(),
        dt.datetime: DateTime(timezone=True),
    }


class HasProvenance:
    """Mixin of every result table: a required ``provenance_id`` and a ``provenance`` relationship
    (never lazy-loaded).

    Attributes
    ----------
    provenance_id : int
        The ``provenance`` row (method, code version, parameters, time, device) of the run that wrote the row.

    Examples
    --------
    >>> from graphexp_db.catalogue.models import FiniteWidth
    >>> issubclass(FiniteWidth, HasProvenance), "provenance_id" in FiniteWidth.__table__.columns
    (True, True)
    """

    provenance_id: Mapped[int] = mapped_column(IdType, ForeignKey("provenance.id"), index=True)

    @declared_attr
    def provenance(cls) -> Mapped[Provenance]:
        return relationship("Provenance", lazy="raise")


class Provenance(Base):
    """Who computed a row, how and when: method, code version, parameters (JSON), host, device.

    Attributes
    ----------
    id : int
        Surrogate key.
    method : str
        What computed the rows (``graph-expansion``, ``finite-width-trace``, ``architecture``, ...).
    code_version : str
        Package version plus git commit.
    parameters : str
        The inputs as canonical JSON (exact numbers as strings).
    device : str
        ``cpu`` (default) or ``gpu``.
    host : str
        Host name.
    started_at : datetime.datetime
        Start time (UTC; default now).
    finished_at : datetime.datetime or None
        Finish time (UTC); ``None`` while running or after a crash.

    Examples
    --------
    >>> p = Provenance(method="nngp-recursion", code_version="0.1.0", parameters='{"L":3}', host="h")
    >>> p.method, p.finished_at is None, Provenance.__tablename__
    ('nngp-recursion', True, 'provenance')
    """

    __tablename__ = "provenance"

    id: Mapped[IntPK]
    method: Mapped[str] = mapped_column(index=True)
    code_version: Mapped[str]
    parameters: Mapped[JsonText]
    device: Mapped[str] = mapped_column(default="cpu", server_default="cpu")
    host: Mapped[str] = mapped_column(default="", server_default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
