"""Search over the operator graphs: the exact per-graph aggregates (:func:`graph_aggregates`), the
filtered and sorted index (:func:`search_index`) and its pages (:func:`search_page`,
:func:`search_graphs`).  Every statement is fixed text with bound parameters."""

from __future__ import annotations

import math
from typing import Any

from .frames import _columns, _frame, _kind_of_shape, _tables, natural_key

# Columns of the results table in Browse expansions (definitions.py documents each one).
SEARCH_COLUMNS = (
    "label", "shape", "kind", "quantity", "order", "ensemble", "n_vertices", "n_edges", "coefficient",
    "n_pairings", "n_orbits", "min_genus", "max_genus", "min_n_exponent", "max_n_exponent", "n_leading", "by_surface",
    "orbit_rows_complete", "aggregates_complete", "complete",
)


# --------------------------------------------------------------------------- exact aggregates
# All the SQL over ``pairing_aggregate`` lives in these statements and in :func:`graph_aggregates`
# (one place to adapt when the aggregate tables are re-keyed).
_AGG_SURFACES_SQL = "SELECT DISTINCT surface FROM pairing_aggregate"
# Per graph (optionally one ensemble): genus range over orientable surfaces S<g>, N-exponent range
# over the pairings that exist (surface 'none' marks a graph without pairings), and the number of
# leading (N^0) pairings.  Counts are exact text; SUM(CAST ...) is only used for sorting.
_AGG_SUMMARY_SQL = """
SELECT a.graph_id,
       MIN(CASE WHEN a.surface LIKE 'S%' THEN CAST(SUBSTR(a.surface, 2) AS INTEGER) END) AS min_genus,
       MAX(CASE WHEN a.surface LIKE 'S%' THEN CAST(SUBSTR(a.surface, 2) AS INTEGER) END) AS max_genus,
       MIN(CASE WHEN a.surface <> 'none' THEN a.n_exponent END) AS min_n_exponent,
       MAX(CASE WHEN a.surface <> 'none' THEN a.n_exponent END) AS max_n_exponent,
       SUM(CASE WHEN a.surface <> 'none' AND a.n_exponent = 0 THEN CAST(a.count AS NUMERIC) ELSE 0 END) AS n_leading,
       MIN(a.ensemble) AS ensemble
FROM pairing_aggregate a
WHERE {ens}
GROUP BY a.graph_id
"""
# A graph matches the genus / N-exponent / leading filters when ONE aggregate row (one class of
# pairings with the same surface and N-exponent) satisfies all of them.
_AGG_MATCH_SQL = "EXISTS (SELECT 1 FROM pairing_aggregate m WHERE m.graph_id = g.id AND m.surface <> 'none' AND {conds})"


def graph_aggregates(engine, graph_ids, ensemble: str | None = None) -> dict[int, dict[str, dict]]:
    """Exact per-graph, per-ensemble summaries from the aggregates of all pairings, with the numbers
    behind the honest budget flags.

    Returns ``{graph_id: {ensemble: {"by_surface": {surface: count}, "n_leading": int,
    "aggregated": int, "orbit_rows": int}}}``: ``aggregated`` is the exact number of pairings (or
    partitions) the aggregates cover and ``orbit_rows`` the number of stored pairing-orbit rows (at
    most the fill's per-graph budget).  Only ``ensemble`` when it is given.
    """
    from sqlalchemy import bindparam, text

    ids = [int(i) for i in graph_ids]
    out: dict[int, dict[str, dict]] = {i: {} for i in ids}
    if not ids:
        return out
    t = _tables(engine)
    ens = " AND ensemble = :ens" if ensemble else ""
    params = {"ids": ids, **({"ens": ensemble} if ensemble else {})}

    def slot(gid, e):
        return out[int(gid)].setdefault(e, {"by_surface": {}, "n_leading": 0, "aggregated": 0, "orbit_rows": 0, "has_rows": False})

    with engine.connect() as conn:
        if "pairing_aggregate" in t:
            q = text(f"SELECT graph_id, ensemble, surface, n_exponent, count FROM pairing_aggregate WHERE graph_id IN :ids{ens}").bindparams(
                bindparam("ids", expanding=True))
            for gid, e, surface, ne, count in conn.execute(q, params):
                d = slot(gid, e)
                d["has_rows"] = True
                if surface == "none":
                    continue
                n = int(str(count))
                d["by_surface"][surface] = d["by_surface"].get(surface, 0) + n
                d["aggregated"] += n
                if int(ne) == 0:
                    d["n_leading"] += n
        if "pairing" in t:
            q = text(f"SELECT graph_id, ensemble, COUNT(*) FROM pairing WHERE graph_id IN :ids{ens} GROUP BY graph_id, ensemble").bindparams(
                bindparam("ids", expanding=True))
            for gid, e, n in conn.execute(q, params):
                slot(gid, e)["orbit_rows"] = int(n)
        if "graph_ensemble" in t:  # per-ensemble pairing and orbit counts, where the catalogue keys them so
            q = text(f"SELECT graph_id, ensemble, n_pairings, n_orbits FROM graph_ensemble WHERE graph_id IN :ids{ens}").bindparams(
                bindparam("ids", expanding=True))
            for gid, e, npair, norb in conn.execute(q, params):
                d = slot(gid, e)
                d["n_pairings"] = _int_or_none(npair)
                d["n_orbits"] = _int_or_none(norb)
    return out


def _main_ensemble(per: dict, wanted: str | None) -> str | None:
    if wanted:
        return wanted if wanted in per else None
    if "gaussian" in per:
        return "gaussian"
    return min(per) if per else None


def _int_or_none(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float):
        return int(v)
    try:
        return int(str(v))
    except ValueError:
        return None


def _surface_sort(s: str):
    return ({"S": 0, "N": 1, "X": 2, "Q": 3}.get(s[:1], 4), int(s[1:]) if s[1:].lstrip("-").isdigit() else 0)


SORTABLE = ("label", "shape", "kind", "quantity", "order", "ensemble", "n_vertices", "n_edges", "coefficient", "n_pairings",
            "n_orbits", "min_genus", "max_genus", "min_n_exponent", "max_n_exponent", "n_leading", "complete")


def search_index(
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
    sort: str = "label",
    descending: bool = False,
):
    """All operator graphs matching the filters, sorted (one light row per graph: the SQL part of
    :func:`search_graphs`; page it with :func:`search_page`).  See :func:`search_graphs`."""
    return _search_index(engine, shape=shape, kind=kind, quantity=quantity, order_min=order_min, order_max=order_max,
                         ensemble=ensemble, genus_min=genus_min, genus_max=genus_max, n_exponent_min=n_exponent_min,
                         n_exponent_max=n_exponent_max, leading_only=leading_only, label_like=label_like, sort=sort,
                         descending=descending)


def search_graphs(engine, *, offset: int = 0, limit: int | None = None, **filters):
    """Operator graphs matching the filters, one row per graph with its exact pairing summary.

    Genus, N-exponent and ``leading_only`` filter on the exact aggregates of **all** pairings
    (``pairing_aggregate``), not on the stored orbit rows: a graph matches when one class of its
    pairings (of ``ensemble`` if given) has an orientable surface of genus in range, an N-exponent in
    range and, with ``leading_only``, N-exponent 0.  Results are sorted by ``sort`` (labels naturally:
    ``o2.9`` before ``o2.10``), then sliced ``[offset, offset + limit)``; ``df.attrs["total"]`` is the
    true number of matches.  Columns: :data:`SEARCH_COLUMNS`; the page rows also carry the exact
    ``by_surface`` counts and the ``orbit_rows_complete`` / ``aggregates_complete`` flags.
    """
    index = search_index(engine, **filters)
    return search_page(engine, index, offset=offset, limit=limit, ensemble=filters.get("ensemble"))


def _search_index(engine, *, shape=None, kind=None, quantity=None, order_min=None, order_max=None, ensemble=None, genus_min=None,
                  genus_max=None, n_exponent_min=None, n_exponent_max=None, leading_only=False, label_like=None, sort="label",
                  descending=False):
    import pandas as pd

    t = _tables(engine)
    if "operator_graph" not in t:
        df = pd.DataFrame(columns=["graph_id", *SEARCH_COLUMNS])
        df.attrs["total"] = 0
        df.attrs["has_agg"] = False
        return df
    has_agg = "pairing_aggregate" in t
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
    if has_agg:
        _aggregate_filters(where, params, ensemble, genus_min, genus_max, n_exponent_min, n_exponent_max, leading_only)
        summary = "LEFT JOIN (" + _AGG_SUMMARY_SQL.format(ens="a.ensemble = :ensemble" if ensemble else "1=1") + ") s ON s.graph_id = g.id"
        sel = "s.ensemble, s.min_genus, s.max_genus, s.min_n_exponent, s.max_n_exponent, s.n_leading"
    else:
        summary = ""
        sel = "NULL AS ensemble, NULL AS min_genus, NULL AS max_genus, NULL AS min_n_exponent, NULL AS max_n_exponent, NULL AS n_leading"
    gcols = _columns(engine, "operator_graph")

    def gcol(name: str) -> str:
        return f"g.{name}" if name in gcols else f"NULL AS {name}"

    sql = (
        f"SELECT g.id AS graph_id, g.label, g.shape, g.quantity, g.\"order\", {gcol('n_vertices')}, {gcol('n_edges')}, "
        f"{gcol('coefficient')}, {gcol('n_pairings')}, {gcol('n_orbits')}, {gcol('complete')}, {sel} FROM operator_graph g {summary}"
        + (" WHERE " + " AND ".join(where) if where else "")
    )
    df = _frame(engine, sql, params)
    df["kind"] = df["shape"].map(_kind_of_shape)
    for c in ("coefficient", "n_pairings", "n_orbits"):
        # exact integers are stored as text (they may pass 2**63): sort them as numbers
        df[c] = df[c].map(_as_int).astype(object)
    total = len(df)
    df = _sorted(df, sort if sort in SORTABLE else "label", bool(descending))
    df = df.reset_index(drop=True)
    df.attrs["total"] = total
    df.attrs["has_agg"] = has_agg
    return df


def search_page(engine, index, *, offset: int = 0, limit: int | None = None, ensemble: str | None = None):
    """Rows ``[offset, offset + limit)`` of a :func:`search_index` result, with the exact per-graph
    summaries (counts by surface, leading pairings) and the budget flags; ``attrs["total"]`` is the
    true number of matches."""
    import pandas as pd

    total = int(index.attrs.get("total", len(index)))
    has_agg = bool(index.attrs.get("has_agg", True))
    start = max(int(offset or 0), 0)
    df = index.iloc[start: None if limit is None else start + int(limit)].reset_index(drop=True).copy()
    aggs = graph_aggregates(engine, df["graph_id"], ensemble) if has_agg and len(df) else {}
    by: list[Any] = []
    lead: list[Any] = []
    orc: list[Any] = []
    agc: list[Any] = []
    ens_col: list[str | None] = []
    for g, no, npair in zip(df["graph_id"], df["n_orbits"], df["n_pairings"]):
        per = aggs.get(int(g), {})
        e = _main_ensemble(per, ensemble)
        d = per.get(e) if e else None
        ens_col.append(e)
        if d is None:
            by.append("")
            lead.append(None)
            orc.append(None)
            agc.append(False if has_agg else None)
            continue
        by.append(", ".join(f"{k}: {n}" for k, n in sorted(d["by_surface"].items(), key=lambda kv: _surface_sort(kv[0]))) or "no pairing")
        lead.append(d["n_leading"])
        no, npair = _int_or_none(no), _int_or_none(npair)
        if "n_orbits" in d:  # the ensemble's own counts (graph_ensemble) win over the shared graph row
            no, npair = d["n_orbits"], d["n_pairings"]
        elif e != "gaussian":
            no = npair = None  # the shared graph row holds Gaussian counts only
        orc.append(None if no is None else d["orbit_rows"] >= no)
        # complete aggregates: the rows exist (written in one transaction with the graph's fill) and they
        # add up to the ensemble's exact pairing count where it is known
        agc.append(bool(d["has_rows"]) and (npair is None or d["aggregated"] == npair))
    df["by_surface"] = by
    df["n_leading"] = pd.Series(lead, dtype=object)
    df["orbit_rows_complete"] = pd.Series(orc, dtype=object)
    df["aggregates_complete"] = pd.Series(agc, dtype=object)
    if aggs:
        df["ensemble"] = ens_col
    for c in SEARCH_COLUMNS:
        if c not in df.columns:
            df[c] = None
    out = df[list(SEARCH_COLUMNS)].copy()
    out.attrs["total"] = total
    return out


def _aggregate_filters(where: list, params: dict, ensemble, genus_min, genus_max, n_min, n_max, leading_only) -> None:
    """The genus / N-exponent / leading / ensemble filters as conditions on ONE aggregate row."""
    conds: list[str] = []
    if ensemble:
        conds.append("m.ensemble = :ensemble")
        params["ensemble"] = ensemble
    if genus_min is not None or genus_max is not None:
        conds.append("m.surface LIKE 'S%'")
        _between(conds, params, "CAST(SUBSTR(m.surface, 2) AS INTEGER)", "genus", genus_min, genus_max)
    _between(conds, params, "m.n_exponent", "n", n_min, n_max)
    if leading_only:
        conds.append("m.n_exponent = 0")
    if len(conds) > (1 if ensemble else 0):
        where.append(_AGG_MATCH_SQL.format(conds=" AND ".join(conds)))
    elif ensemble:  # only the ensemble: graphs filled in it, with or without pairings
        where.append("EXISTS (SELECT 1 FROM pairing_aggregate m WHERE m.graph_id = g.id AND m.ensemble = :ensemble)")


def _sorted(df, sort: str, descending: bool):
    """Rows sorted by ``sort``: labels and shapes naturally, other columns by value with the natural
    label order breaking ties and missing values last."""
    n = len(df)
    if sort in ("label", "shape"):
        keys = [natural_key(v) for v in df[sort]]
        return df.iloc[sorted(range(n), key=keys.__getitem__, reverse=descending)]
    tie = [natural_key(v) for v in df["label"]]
    df = df.iloc[sorted(range(n), key=tie.__getitem__)]
    vals = list(df[sort])
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in vals]
    present = [i for i in range(n) if not missing[i]]
    present.sort(key=lambda i: vals[i], reverse=descending)  # stable: ties keep the label order
    return df.iloc[present + [i for i in range(n) if missing[i]]]


def _as_int(v):
    if v is None or isinstance(v, int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else int(v)
    try:
        return int(str(v))
    except ValueError:
        return v


def _between(where: list, params: dict, column: str, name: str, lo, hi) -> None:
    """Append ``column >= :<name>_min`` / ``column <= :<name>_max`` for the bounds that are given."""
    if lo is not None:
        where.append(f"{column} >= :{name}_min")
        params[f"{name}_min"] = int(lo)
    if hi is not None:
        where.append(f"{column} <= :{name}_max")
        params[f"{name}_max"] = int(hi)
