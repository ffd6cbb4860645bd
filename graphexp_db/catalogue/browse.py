"""Read functions of the browse pages (``catalogue_counts``, ``search_graphs``, ``graph_detail`` ...).

They take an SQLAlchemy engine and return plain Python / pandas objects, so the Streamlit pages
stay UI only; the search functions live in :mod:`.search` (re-exported here).  Every statement is fixed text with bound parameters (no user text is spliced in).
"""

from __future__ import annotations

import json
from typing import Any

from ..surfaces import Surface
from .frames import _columns, _frame, _isnan, _kind_of_shape, _tables, natural_key
from .search import _AGG_SURFACES_SQL, SEARCH_COLUMNS, SORTABLE, graph_aggregates, search_graphs, search_index, search_page

__all__ = [
    "SEARCH_COLUMNS",
    "catalogue_counts",
    "catalogue_options",
    "genus_distribution",
    "search_graphs",
    "graph_detail",
    "random_label",
    "table_rows",
    "graph_aggregates",
    "search_index",
    "search_page",
    "natural_key",
    "SORTABLE",
]

# --------------------------------------------------------------------------- browse functions
def catalogue_counts(engine):
    """What the catalogue holds: one row per (shape, quantity, order, ensemble).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue (read only; missing tables give empty results).

    Returns
    -------
    pandas.DataFrame
        Columns ``shape, kind, quantity, order, ensemble, activation, n_graphs, n_pairings, status``,
        one row per stored expansion (``n_pairings`` exact, as text); without expansion rows, one row
        per (shape, quantity, order) of the operator graphs; empty when nothing is stored or the
        schema is missing.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> from graphexp_db.catalogue.fill import fill_expansion
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> for n in (2, 3):                                # tr H^4 and tr H^6: 3 and 15 Wick pairings
    ...     _ = fill_expansion(engine, None, "gue", n)
    >>> catalogue_counts(engine)[["shape", "order", "n_graphs", "n_pairings", "status"]].values.tolist()
    [['gue', 2, 1, '3', 'complete'], ['gue', 3, 1, '15', 'complete']]
    """
    import pandas as pd

    cols = ["shape", "kind", "quantity", "order", "ensemble", "activation", "n_graphs", "n_pairings", "status"]
    t = _tables(engine)
    if "expansion" in t:
        df = _frame(
            engine,
            "SELECT e.shape, a.kind, e.quantity, e.\"order\", e.ensemble, e.activation, e.n_graphs, e.n_pairings, e.status "
            "FROM expansion e LEFT JOIN (SELECT shape, MIN(kind) AS kind FROM architecture GROUP BY shape) a ON a.shape = e.shape "
            "ORDER BY e.shape, e.quantity, e.\"order\", e.ensemble"
            if "architecture" in t and "shape" in _columns(engine, "architecture")
            else "SELECT e.shape, NULL AS kind, e.quantity, e.\"order\", e.ensemble, e.activation, e.n_graphs, e.n_pairings, e.status "
            "FROM expansion e ORDER BY e.shape, e.quantity, e.\"order\", e.ensemble",
        )
        if len(df):
            df["kind"] = df["kind"].fillna(df["shape"].map(_kind_of_shape))
            return df[cols]
    if "operator_graph" in t:
        df = _frame(
            engine,
            "SELECT shape, quantity, \"order\", COUNT(*) AS n_graphs FROM operator_graph GROUP BY shape, quantity, \"order\" ORDER BY shape, quantity, \"order\"",
        )
        if len(df):
            df["kind"] = df["shape"].map(_kind_of_shape)
            df["ensemble"] = None
            df["activation"] = None
            df["n_pairings"] = None
            df["status"] = None
            return df[cols]
    return pd.DataFrame(columns=cols)


def table_rows(engine) -> dict[str, int]:
    """Row count of every table (and view) in the catalogue.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue.

    Returns
    -------
    dict of str to int
        Table name -> number of rows, sorted by name; Alembic's own table is left out.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> from graphexp_db.catalogue.fill import fill_expansion
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> for n in (2, 3):                                # tr H^4 and tr H^6: 3 and 15 Wick pairings
    ...     _ = fill_expansion(engine, None, "gue", n)
    >>> rows = table_rows(engine)
    >>> rows["operator_graph"], rows["pairing"], rows["expansion"]     # 2 + 5 pairing orbits
    (2, 7, 2)
    """
    from sqlalchemy import inspect, text

    out = {}
    insp = inspect(engine)
    with engine.connect() as conn:
        for name in sorted(insp.get_table_names()):
            if name.startswith("alembic"):
                continue
            out[name] = int(conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar() or 0)
    return out


def genus_distribution(engine, shape: str | None = None, quantity: str | None = None, ensemble: str | None = None):
    """Counts of pairings by surface / N-exponent, per (shape, quantity, order, ensemble).

    Reads ``pairing_aggregate`` (exact counts, text) joined with ``operator_graph``; the ``count``
    column is an exact integer (Python ``int``).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue (read only; missing tables give empty results).
    shape, quantity, ensemble : str, optional
        Keep only this shape, quantity or weight ensemble.

    Returns
    -------
    pandas.DataFrame
        Columns ``shape, quantity, order, ensemble, surface, n_exponent, count``, summed over the
        graphs of each expansion; sorted by expansion, then N-exponent from the leading one down.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> from graphexp_db.catalogue.fill import fill_expansion
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> for n in (2, 3):                                # tr H^4 and tr H^6: 3 and 15 Wick pairings
    ...     _ = fill_expansion(engine, None, "gue", n)
    >>> genus_distribution(engine, shape="gue")[["order", "surface", "n_exponent", "count"]].values.tolist()
    [[2, 'S0', 0, 2], [2, 'S1', -2, 1], [3, 'S0', 0, 5], [3, 'S1', -2, 10]]

    These are the Harer-Zagier numbers: tr H^6 has 5 planar and 10 genus-1 pairings.
    """
    import pandas as pd

    cols = ["shape", "quantity", "order", "ensemble", "surface", "n_exponent", "count"]
    t = _tables(engine)
    if not {"pairing_aggregate", "operator_graph"} <= t:
        return pd.DataFrame(columns=cols)
    where, params = [], {}
    for col, val in (("g.shape", shape), ("g.quantity", quantity), ("a.ensemble", ensemble)):
        if val:
            key = col.split(".")[1]
            where.append(f"{col} = :{key}")
            params[key] = val
    df = _frame(
        engine,
        "SELECT g.shape, g.quantity, g.\"order\", a.ensemble, a.surface, a.n_exponent, a.count "
        "FROM pairing_aggregate a JOIN operator_graph g ON g.id = a.graph_id"
        + (" WHERE " + " AND ".join(where) if where else ""),
        params,
    )
    if not len(df):
        return pd.DataFrame(columns=cols)
    df["count"] = df["count"].map(lambda v: int(v) if v is not None else 0)
    agg: dict[tuple, int] = {}
    for row in df.itertuples(index=False):
        k = (row.shape, row.quantity, int(row.order), row.ensemble, row.surface, int(row.n_exponent))
        agg[k] = agg.get(k, 0) + int(row.count)
    out = pd.DataFrame([(*k, v) for k, v in sorted(agg.items(), key=lambda kv: (kv[0][:4], -kv[0][5], kv[0][4]))], columns=cols)
    out["count"] = out["count"].astype(object)
    return out


def catalogue_options(engine) -> dict[str, list]:
    """Distinct values for the search filters: shapes, kinds, quantities, ensembles and the ranges of
    order, genus and N-exponent.  Genus and N-exponent ranges come from the exact aggregates of all
    pairings (``pairing_aggregate``), not from the stored orbit rows, so every value that exists is
    reachable (genus 4 of tr H^16 included).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue (read only; missing tables give empty results).

    Returns
    -------
    dict of str to list
        ``shape`` (natural order), ``kind``, ``quantity``, ``ensemble`` (sorted values) and
        ``order``, ``genus``, ``n_exponent`` (``[min, max]``, ``[0, 0]`` when nothing is stored).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> from graphexp_db.catalogue.fill import fill_expansion
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> for n in (2, 3):                                # tr H^4 and tr H^6: 3 and 15 Wick pairings
    ...     _ = fill_expansion(engine, None, "gue", n)
    >>> opts = catalogue_options(engine)
    >>> opts["shape"], opts["order"], opts["genus"], opts["n_exponent"]
    (['gue'], [2, 3], [0, 1], [-2, 0])
    """
    from sqlalchemy import text

    t = _tables(engine)
    opts: dict[str, list] = {"shape": [], "kind": [], "quantity": [], "ensemble": [], "order": [0, 0], "genus": [0, 0], "n_exponent": [0, 0]}
    if "operator_graph" not in t:
        return opts
    with engine.connect() as conn:
        opts["shape"] = sorted((r[0] for r in conn.execute(text("SELECT DISTINCT shape FROM operator_graph"))), key=natural_key)
        opts["quantity"] = [r[0] for r in conn.execute(text("SELECT DISTINCT quantity FROM operator_graph ORDER BY quantity"))]
        lo, hi = conn.execute(text('SELECT MIN("order"), MAX("order") FROM operator_graph')).one()
        opts["order"] = [int(lo or 0), int(hi or 0)]
        ens: set[str] = set()
        if "pairing_aggregate" in t:
            ens |= {r[0] for r in conn.execute(text("SELECT DISTINCT ensemble FROM pairing_aggregate"))}
            genera = [g for r in conn.execute(text(_AGG_SURFACES_SQL)) if (g := _genus(r[0])) is not None]
            if genera:
                opts["genus"] = [min(genera), max(genera)]
            lo, hi = conn.execute(text("SELECT MIN(n_exponent), MAX(n_exponent) FROM pairing_aggregate WHERE surface <> 'none'")).one()
            if lo is not None:
                opts["n_exponent"] = [int(lo), int(hi)]
        if "pairing" in t:
            ens |= {r[0] for r in conn.execute(text("SELECT DISTINCT ensemble FROM pairing"))}
        opts["ensemble"] = sorted(ens)
    opts["kind"] = sorted({_kind_of_shape(s) for s in opts["shape"]})
    return opts


def random_label(engine, seed: int | None = None) -> str | None:
    """A label drawn uniformly from the stored operator graphs (``None`` when there are none).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue (read only; missing tables give empty results).
    seed : int, optional
        Seed of the draw (``random.Random``); ``None`` draws differently every time.

    Returns
    -------
    str or None
        An ``operator_graph.label``.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> from graphexp_db.catalogue.fill import fill_expansion
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> for n in (2, 3):                                # tr H^4 and tr H^6: 3 and 15 Wick pairings
    ...     _ = fill_expansion(engine, None, "gue", n)
    >>> random_label(engine, seed=1) in ("gue.gue.o2.1", "gue.gue.o3.1"), random_label(create_engine("sqlite://"))
    (True, None)
    """
    import random

    from sqlalchemy import text

    if "operator_graph" not in _tables(engine):
        return None
    with engine.connect() as conn:
        n = int(conn.execute(text("SELECT COUNT(*) FROM operator_graph")).scalar() or 0)
        if n == 0:
            return None
        k = random.Random(seed).randrange(n)
        return conn.execute(text("SELECT label FROM operator_graph ORDER BY id LIMIT 1 OFFSET :k"), {"k": k}).scalar()


def _loads(v, default=None):
    if v is None:
        return default
    if isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return default


def graph_detail(engine, label: str, *, max_pairings: int = 200) -> dict | None:
    """Everything the detail view shows for one operator graph, or ``None`` for an unknown label.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The catalogue (read only; missing tables give empty results).
    label : str
        The graph's label (``gue.gue.o3.1``).
    max_pairings : int, default 200
        Most pairing rows returned.

    Returns
    -------
    dict or None
        ``graph`` (the operator_graph row, ``graph_json`` decoded into ``graph``), ``pairings`` (a
        DataFrame: pairing rows joined with their embedding, ``blocks`` and ``quotient`` decoded, at
        most ``max_pairings``, leading N-exponent first), ``aggregates`` (pairing_aggregate rows) and
        ``architecture`` (the first architecture row with this shape, if any); ``None`` when no graph
        has the label.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> from graphexp_db.catalogue.fill import fill_expansion
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> for n in (2, 3):                                # tr H^4 and tr H^6: 3 and 15 Wick pairings
    ...     _ = fill_expansion(engine, None, "gue", n)
    >>> d = graph_detail(engine, "gue.gue.o3.1")
    >>> d["pairings"]["genus"].tolist(), [int(m) for m in d["pairings"]["multiplicity"]]  # 5 orbits
    ([0, 0, 1, 1, 1], [2, 3, 6, 3, 1])
    >>> d["aggregates"][["surface", "count"]].values.tolist(), d["architecture"], graph_detail(engine, "gue.gue.o9.1")
    ([['S0', '5'], ['S1', '10']], None, None)
    """
    import pandas as pd

    t = _tables(engine)
    if "operator_graph" not in t or not label:
        return None
    g = _frame(engine, "SELECT * FROM operator_graph WHERE label = :label", {"label": label})
    if not len(g):
        return None
    graph: dict[str, Any] = {k: (None if _isnan(v) else v) for k, v in g.iloc[0].to_dict().items()}
    graph["graph"] = _loads(graph.get("graph_json"), {})
    out: dict[str, Any] = {"graph": graph, "pairings": pd.DataFrame(), "aggregates": pd.DataFrame(), "architecture": None}
    gid = int(graph["id"])
    if {"pairing", "embedding"} <= t:
        df = _frame(
            engine,
            "SELECT p.id AS pairing_id, p.ensemble, p.rank, p.multiplicity, p.blocks_json, e.kind, e.\"V\", e.\"E\", e.\"F\", e.chi, "
            "e.genus, e.crosscaps, e.orientable, e.n_exponent, e.\"leading\", e.contribution, e.quotient_json "
            "FROM pairing p LEFT JOIN embedding e ON e.pairing_id = p.id WHERE p.graph_id = :gid "
            "ORDER BY p.ensemble, e.n_exponent DESC, p.rank LIMIT :lim",
            {"gid": gid, "lim": int(max_pairings)},
        )
        df["blocks"] = df["blocks_json"].map(lambda v: _loads(v, []))
        df["quotient"] = df["quotient_json"].map(lambda v: _loads(v, None))
        out["pairings"] = df
    elif "pairing" in t:
        df = _frame(engine, "SELECT id AS pairing_id, ensemble, rank, multiplicity, blocks_json FROM pairing WHERE graph_id = :gid ORDER BY rank LIMIT :lim", {"gid": gid, "lim": int(max_pairings)})
        df["blocks"] = df["blocks_json"].map(lambda v: _loads(v, []))
        out["pairings"] = df
    if "pairing_aggregate" in t:
        out["aggregates"] = _frame(
            engine,
            "SELECT ensemble, surface, n_exponent, count FROM pairing_aggregate WHERE graph_id = :gid ORDER BY ensemble, n_exponent DESC, surface",
            {"gid": gid},
        )
    if "architecture" in t and "shape" in _columns(engine, "architecture"):
        a = _frame(engine, "SELECT * FROM architecture WHERE shape = :shape", {"shape": graph.get("shape")})
        if len(a):
            out["architecture"] = {k: (None if _isnan(v) else v) for k, v in a.iloc[0].to_dict().items()}
    return out


def _genus(label: str | None) -> int | None:
    """The genus of a stored surface label (``S<g>``), None for any other label."""
    try:
        return Surface.parse(label).genus if label else None
    except ValueError:   # 'none' (no surface data)
        return None
