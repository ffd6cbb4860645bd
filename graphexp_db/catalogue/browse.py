"""Read functions of the browse pages (``catalogue_counts``, ``search_graphs``, ``graph_detail`` ...).

They take an SQLAlchemy engine and return plain Python / pandas objects, so the Streamlit pages
stay UI only.  Every statement is fixed text with bound parameters (no user text is spliced in).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "SEARCH_COLUMNS",
    "catalogue_counts",
    "catalogue_options",
    "genus_distribution",
    "search_graphs",
    "graph_detail",
    "random_label",
    "table_rows",
]

# --------------------------------------------------------------------------- browse functions
# Columns of the results table in Browse expansions (definitions.py documents each one).
SEARCH_COLUMNS = (
    "label", "shape", "kind", "quantity", "order", "ensemble", "n_vertices", "n_edges", "coefficient",
    "n_pairings", "n_orbits", "min_genus", "max_genus", "max_n_exponent", "n_leading", "complete",
)


def _tables(engine) -> set[str]:
    from sqlalchemy import inspect

    insp = inspect(engine)
    return set(insp.get_table_names()) | set(insp.get_view_names())


def _frame(engine, sql: str, params: dict | None = None):
    import pandas as pd
    from sqlalchemy import text

    with engine.connect() as conn:
        res = conn.execute(text(sql), params or {})
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def catalogue_counts(engine):
    """What the catalogue holds: one row per (shape, quantity, order, ensemble).

    Returns a DataFrame with columns ``shape, kind, quantity, order, ensemble, activation, n_graphs,
    n_pairings, status`` (empty when nothing is stored or the schema is missing).
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


def _kind_of_shape(shape: Any) -> str:
    s = str(shape or "")
    return re.split(r"[-:]", s, maxsplit=1)[0] if s else ""


def _columns(engine, table: str) -> set[str]:
    from sqlalchemy import inspect

    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    except Exception:
        return set()


def table_rows(engine) -> dict[str, int]:
    """Row count of every table (and view) in the catalogue."""
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
    """Distinct values for the search filters: shapes, kinds, quantities, ensembles, order range."""
    from sqlalchemy import text

    t = _tables(engine)
    opts: dict[str, list] = {"shape": [], "kind": [], "quantity": [], "ensemble": [], "order": [0, 0], "genus": [0, 0], "n_exponent": [0, 0]}
    if "operator_graph" not in t:
        return opts
    with engine.connect() as conn:
        opts["shape"] = [r[0] for r in conn.execute(text("SELECT DISTINCT shape FROM operator_graph ORDER BY shape"))]
        opts["quantity"] = [r[0] for r in conn.execute(text("SELECT DISTINCT quantity FROM operator_graph ORDER BY quantity"))]
        lo, hi = conn.execute(text('SELECT MIN("order"), MAX("order") FROM operator_graph')).one()
        opts["order"] = [int(lo or 0), int(hi or 0)]
        if "pairing" in t:
            opts["ensemble"] = [r[0] for r in conn.execute(text("SELECT DISTINCT ensemble FROM pairing ORDER BY ensemble"))]
        if "pairing_aggregate" in t and not opts["ensemble"]:
            opts["ensemble"] = [r[0] for r in conn.execute(text("SELECT DISTINCT ensemble FROM pairing_aggregate ORDER BY ensemble"))]
        if "embedding" in t:
            lo, hi = conn.execute(text("SELECT MIN(genus), MAX(genus) FROM embedding")).one()
            opts["genus"] = [int(lo or 0), int(hi or 0)]
            lo, hi = conn.execute(text("SELECT MIN(n_exponent), MAX(n_exponent) FROM embedding")).one()
            opts["n_exponent"] = [int(lo or 0), int(hi or 0)]
    opts["kind"] = sorted({_kind_of_shape(s) for s in opts["shape"]})
    return opts


def search_graphs(
    engine,
    *,
    shape: list[str] | str | None = None,
    kind: list[str] | str | None = None,
    quantity: list[str] | str | None = None,
    order_min: int | None = None,
    order_max: int | None = None,
    ensemble: str | None = None,
    genus_min: int | None = None,
    genus_max: int | None = None,
    n_exponent_min: int | None = None,
    n_exponent_max: int | None = None,
    leading_only: bool = False,
    label_like: str | None = None,
    limit: int = 5000,
):
    """Operator graphs matching the filters, one row per graph with its embedding summary.

    Genus, N-exponent and ``leading_only`` filter on the graph's stored pairings (a graph matches
    when at least one of its pairings, of ``ensemble`` if given, satisfies them).  Columns:
    :data:`SEARCH_COLUMNS`.
    """
    import pandas as pd

    t = _tables(engine)
    if "operator_graph" not in t:
        return pd.DataFrame(columns=list(SEARCH_COLUMNS))
    has_emb = {"pairing", "embedding"} <= t
    where, params = [], {}

    def _in(col: str, key: str, vals) -> None:
        if vals is None or vals == [] or vals == "":
            return
        vals = [vals] if isinstance(vals, str) else list(vals)
        names = []
        for i, v in enumerate(vals):
            params[f"{key}{i}"] = v
            names.append(f":{key}{i}")
        where.append(f"{col} IN ({', '.join(names)})")

    _in("g.shape", "shape", shape)
    _in("g.quantity", "quantity", quantity)
    if kind:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        ors = []
        for i, k in enumerate(kinds):
            params[f"kind{i}"] = f"{k}%"
            ors.append(f"g.shape LIKE :kind{i}")
        where.append("(" + " OR ".join(ors) + ")")
    _between(where, params, 'g."order"', "order", order_min, order_max)
    if label_like:
        where.append("g.label LIKE :label_like")
        params["label_like"] = f"%{label_like}%"
    emb_where = []
    if has_emb:
        if ensemble:
            emb_where.append("p.ensemble = :ensemble")
            params["ensemble"] = ensemble
        _between(emb_where, params, "COALESCE(e.genus, 0)", "genus", genus_min, genus_max)
        _between(emb_where, params, "e.n_exponent", "n", n_exponent_min, n_exponent_max)
        if leading_only:
            emb_where.append('e."leading" = :lead')
            params["lead"] = True
        ew = (" AND " + " AND ".join(emb_where)) if emb_where else ""
        summary = (
            "LEFT JOIN (SELECT p.graph_id, MIN(p.ensemble) AS ensemble, MIN(COALESCE(e.genus, 0)) AS min_genus, "
            "MAX(COALESCE(e.genus, 0)) AS max_genus, MAX(e.n_exponent) AS max_n_exponent, "
            'SUM(CASE WHEN e."leading" THEN 1 ELSE 0 END) AS n_leading '
            f"FROM pairing p JOIN embedding e ON e.pairing_id = p.id WHERE 1=1{ew} GROUP BY p.graph_id) s ON s.graph_id = g.id"
        )
        if emb_where:
            where.append("s.graph_id IS NOT NULL")
        sel = "s.ensemble, s.min_genus, s.max_genus, s.max_n_exponent, s.n_leading"
    else:
        summary = ""
        sel = "NULL AS ensemble, NULL AS min_genus, NULL AS max_genus, NULL AS max_n_exponent, NULL AS n_leading"
    gcols = _columns(engine, "operator_graph")

    def gcol(name: str) -> str:
        return f"g.{name}" if name in gcols else f"NULL AS {name}"

    sql = (
        f"SELECT g.label, g.shape, g.quantity, g.\"order\", {gcol('n_vertices')}, {gcol('n_edges')}, {gcol('coefficient')}, "
        f"{gcol('n_pairings')}, {gcol('n_orbits')}, {gcol('complete')}, {sel} FROM operator_graph g {summary}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + ' ORDER BY g.shape, g.quantity, g."order", g.label LIMIT :lim'
    )
    params["lim"] = int(limit)
    df = _frame(engine, sql, params)
    df["kind"] = df["shape"].map(_kind_of_shape)
    for c in ("coefficient", "n_pairings", "n_orbits"):
        # exact integers are stored as text (they may pass 2**63): sort them as numbers
        df[c] = df[c].map(_as_int).astype(object)
    for c in SEARCH_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[list(SEARCH_COLUMNS)]


def _as_int(v):
    if v is None or isinstance(v, int):
        return v
    try:
        return int(str(v))
    except ValueError:
        return v


def random_label(engine, seed: int | None = None) -> str | None:
    """A label drawn uniformly from the stored operator graphs (``None`` when there are none)."""
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

    Returns a dict with ``graph`` (the operator_graph row, ``graph_json`` decoded), ``pairings`` (a
    DataFrame: pairing rows joined with their embedding, ``blocks`` and ``quotient`` decoded, at most
    ``max_pairings``), ``aggregates`` (pairing_aggregate rows) and ``architecture`` (the first
    architecture row with this shape, if any).
    """
    import pandas as pd

    t = _tables(engine)
    if "operator_graph" not in t or not label:
        return None
    g = _frame(engine, "SELECT * FROM operator_graph WHERE label = :label", {"label": label})
    if not len(g):
        return None
    graph = {k: (None if _isnan(v) else v) for k, v in g.iloc[0].to_dict().items()}
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


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _between(where: list, params: dict, column: str, name: str, lo, hi) -> None:
    """Append ``column >= :<name>_min`` / ``column <= :<name>_max`` for the bounds that are given."""
    if lo is not None:
        where.append(f"{column} >= :{name}_min")
        params[f"{name}_min"] = int(lo)
    if hi is not None:
        where.append(f"{column} <= :{name}_max")
        params[f"{name}_max"] = int(hi)
