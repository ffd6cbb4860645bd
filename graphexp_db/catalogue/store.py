"""Writing to the catalogue: provenance rows, idempotent inserts, architecture rows.

Every natural key is ``UNIQUE``; :func:`insert_ignore` inserts with ``ON CONFLICT DO NOTHING``
(SQLite and PostgreSQL), so a fill that is killed and run again gives the same rows as one clean
run, and two writers racing on the same key both succeed.

Examples
--------
>>> from sqlalchemy import create_engine, func, select
>>> from graphexp_db.catalogue.engine import session_scope
>>> from graphexp_db.catalogue.models import Base, OperatorGraph
>>> from graphexp_db.spec import parse_arch
>>> engine = create_engine("sqlite://")
>>> Base.metadata.create_all(engine)
>>> with session_scope(engine) as s:
...     prov = new_provenance(s, "doctest", {"n": 1})
...     arch = get_or_create_architecture(s, parse_arch("mlp:L=2,sw=3/2"))
...     row = dict(shape="mlp-L2", quantity="covariance", order=1, index=1, label="mlp-L2.cov.o1.1",
...                certificate="c", graph_json="{}", n_vertices=3, n_edges=2, coefficient=1,
...                n_pairings=2**70, provenance_id=prov.id)
...     insert_ignore(s, OperatorGraph, [row], ["shape", "quantity", "order", "certificate"])
...     insert_ignore(s, OperatorGraph, [row], ["shape", "quantity", "order", "certificate"])
...     s.scalar(select(func.count()).select_from(OperatorGraph)), s.scalar(select(OperatorGraph.n_pairings)) == 2**70
1
0
(1, True)
>>> arch.shape, arch.sw, arch.depth
('mlp-L2', Fraction(3, 2), 2)
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .._version import code_version
from ..spec import canonical_json
from .models import Architecture, Base, Provenance, utcnow

__all__ = ["new_provenance", "finish_provenance", "insert_ignore", "get_or_create_architecture", "logical_dump",
           "MAX_PARAMETERS"]

#: Bound parameters per statement: SQLite allows 32766 (since 3.32), PostgreSQL 65535.
MAX_PARAMETERS = 30_000


def new_provenance(session: Session, method: str, parameters: dict[str, Any], device: str = "cpu") -> Provenance:
    """Add and flush a provenance row (code version, host, start time) and return it.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (:func:`~graphexp_db.catalogue.engine.session_scope`).
    method : str
        What computed the rows (``'graph-expansion'``, ``'nngp-recursion'``, ``'monte-carlo'``, ...).
    parameters : dict
        The inputs, stored as canonical JSON (``Fraction`` values as exact strings).
    device : str
        ``'cpu'`` or ``'gpu'`` (the array backend used).

    Returns
    -------
    Provenance
        With ``id`` assigned (flushed, not committed).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.engine import session_scope
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with session_scope(engine) as s:
    ...     prov = new_provenance(s, "nngp-recursion", {"L": 3, "sw": "3/2"})
    >>> prov.id, prov.method, prov.parameters, prov.finished_at is None
    (1, 'nngp-recursion', '{"L":3,"sw":"3/2"}', True)
    """
    prov = Provenance(
        method=method,
        code_version=code_version(),
        parameters=canonical_json(parameters) if not isinstance(parameters, str) else parameters,
        device=device,
        host=socket.gethostname(),
        started_at=utcnow(),
    )
    session.add(prov)
    session.flush()
    return prov


def finish_provenance(session: Session, provenance: Provenance | int) -> None:
    """Set ``finished_at`` of a provenance row (object or id) to now.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    provenance : Provenance or int
        The row, or its id.

    Returns
    -------
    None

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.engine import session_scope
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with session_scope(engine) as s:
    ...     prov_id = new_provenance(s, "doctest", {}).id
    ...     finish_provenance(s, prov_id)
    ...     s.get(Provenance, prov_id).finished_at >= s.get(Provenance, prov_id).started_at
    True
    """
    prov = provenance if isinstance(provenance, Provenance) else session.get_one(Provenance, provenance)
    prov.finished_at = utcnow()
    session.flush()


def insert_ignore(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> int:
    """Insert ``rows`` into ``model``'s table, skipping rows whose natural key ``keys`` exists.

    Uses ``INSERT ... ON CONFLICT (keys) DO NOTHING`` on SQLite and PostgreSQL (``keys`` must be the
    columns of a unique constraint), in chunks that stay under the bound-parameter limits; other
    dialects fall back to one savepoint per row.  All rows must have the same keys.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session; the rows are part of its transaction.
    model : type
        The ORM class of the table (``OperatorGraph``, ``LimitValue``, ...).
    rows : sequence of dict
        Column name -> value (Python values: ``int`` for counts, ``Fraction`` for rationals).
    keys : sequence of str
        The natural key (conflict target).

    Returns
    -------
    int
        The number of rows actually inserted.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.engine import session_scope
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with session_scope(engine) as s:
    ...     pid = new_provenance(s, "doctest", {}).id
    ...     rows = [dict(spec_hash=h, kind="mlp", spec=f"mlp:L={h}", spec_json="{}", shape="mlp", sw=1,
    ...                  provenance_id=pid) for h in "112"]        # key 1 twice: kept once
    ...     insert_ignore(s, Architecture, rows, ["spec_hash"]), insert_ignore(s, Architecture, rows, ["spec_hash"])
    (2, 0)
    """
    if not rows:
        return 0
    table = cast(Table, model.__table__)  # a mapped class's table, typed FromClause by SQLAlchemy
    dialect = session.get_bind().dialect.name
    pk = list(table.primary_key.columns)[0]
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(pk)
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(pk)
        width = max(1, len(table.columns))
        chunk = max(1, MAX_PARAMETERS // width)
        inserted = 0
        for start in range(0, len(rows), chunk):
            part = list(rows[start:start + chunk])
            inserted += len(session.execute(stmt, part).all())
        return inserted
    inserted = 0
    for row in rows:  # portable fallback: one savepoint per row
        try:
            with session.begin_nested():
                session.execute(insert(table), [row])
            inserted += 1
        except IntegrityError:
            pass
    return inserted


def get_or_create_architecture(session: Session, spec: Any, provenance_id: int | None = None) -> Architecture:
    """The catalogue row of an architecture spec, keyed by ``spec.spec_hash`` (created if missing).

    Race-safe: inserts with :func:`insert_ignore`, then selects.  When the row is new and no
    ``provenance_id`` is given, a provenance row with method ``'architecture'`` is created.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    spec : MLPSpec, ResNetSpec or DagSpec
        The architecture (``spec.parse_arch``).
    provenance_id : int, optional
        Provenance of a new row; ``None`` creates an ``'architecture'`` provenance row when needed.

    Returns
    -------
    Architecture
        The row (flushed): ``spec``, ``shape``, ``depth``, ``sw``, ``sb`` as in the spec.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.engine import session_scope
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with session_scope(engine) as s:
    ...     a = get_or_create_architecture(s, parse_arch("resnet:L=4"))
    ...     a.id == get_or_create_architecture(s, parse_arch("resnet:L=4,sw=1")).id   # same spec, same row
    True
    >>> a.spec, a.depth, a.kind
    ('resnet:L=4,sw=1', 4, 'resnet')
    """
    found = session.scalars(select(Architecture).where(Architecture.spec_hash == spec.spec_hash)).one_or_none()
    if found is not None:
        return found
    if provenance_id is None:
        provenance_id = new_provenance(session, "architecture", {"spec": str(spec)}).id
    row = dict(
        spec_hash=spec.spec_hash,
        kind=spec.kind,
        spec=str(spec),
        spec_json=canonical_json(spec.as_dict()),
        shape=spec.shape,
        depth=_depth(spec),
        sw=getattr(spec, "sw", 1),
        sb=getattr(spec, "sb", None),
        provenance_id=provenance_id,
    )
    insert_ignore(session, Architecture, [row], ["spec_hash"])
    return session.scalars(select(Architecture).where(Architecture.spec_hash == spec.spec_hash)).one()


def logical_dump(engine: Any) -> dict[str, list[tuple]]:
    """Every row of every catalogue table by natural keys: the catalogue's content, ids left out.

    Surrogate ids are replaced by the natural key of the row they point to (recursively), a
    ``provenance_id`` by the provenance's ``method`` (its times, host and parameters say *when*
    and *by which run* a row was written, not what it holds), and the ``provenance`` table itself
    is left out.  Two catalogues hold the same results iff their dumps are equal, whatever the
    order in which they were filled.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.

    Returns
    -------
    dict
        Table name -> sorted list of row tuples ``((column, value), ...)``.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.spec import parse_arch
    >>> from graphexp_db.catalogue.engine import session_scope
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with session_scope(engine) as s:
    ...     _ = get_or_create_architecture(s, parse_arch("mlp:L=1"))
    >>> [dict(r)["spec"] for r in logical_dump(engine)["architecture"]], dict(logical_dump(engine)["architecture"][0])["provenance_id"]
    (['mlp:L=1,sw=1,sb=0'], 'architecture')
    """
    from sqlalchemy import UniqueConstraint, inspect

    present = set(inspect(engine).get_table_names())
    tables = [t for t in Base.metadata.sorted_tables if t.name in present and t.name != "provenance"]
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        methods = dict(conn.execute(select(Provenance.id, Provenance.method)).all())
        raw = {t.name: {row._mapping["id"]: dict(row._mapping) for row in conn.execute(select(t))} for t in tables}
    nk_cols: dict[str, list[str]] = {}
    for t in tables:
        uniques = [c for c in t.constraints if isinstance(c, UniqueConstraint)]
        cols = [c.name for c in uniques[0].columns] if uniques else [c.name for c in t.columns if c.unique]
        nk_cols[t.name] = cols or [c.name for c in t.columns if c.name != "id"]
    fks = {t.name: {fk.parent.name: fk.column.table.name for fk in t.foreign_keys} for t in tables}

    def value(table: str, col: str, v: Any) -> Any:
        target = fks[table].get(col)
        if v is None or target is None:
            return v
        if target == "provenance":
            return methods.get(v)
        return key(target, v)

    def key(table: str, rid: Any) -> tuple:
        row = raw[table][rid]
        return tuple(value(table, c, row[c]) for c in nk_cols[table])

    for t in tables:
        rows = []
        for row in raw[t.name].values():
            rows.append(tuple((c, value(t.name, c, v)) for c, v in row.items() if c != "id"))
        out[t.name] = sorted(rows, key=repr)
    return out


def _depth(spec: Any) -> int | None:
    # MLP / ResNet: L (None for the infinite-depth limit); DAG: hidden nodes on a longest input-sink path.
    if spec.kind in ("mlp", "resnet"):
        return spec.L
    if spec.kind == "dag":
        import networkx as nx

        return max(0, nx.dag_longest_path_length(nx.DiGraph(list(spec.edges))) - 1)
    return None

