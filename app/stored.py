"""Reads of stored studies and results for the limits / ResNet / DAG pages (all their SQL is here),
and the bounded call the pages use for anything a visitor types."""

from __future__ import annotations

import json

import streamlit as st

import bounded
import common as c

X_COLS = ("N", "n", "width", "m", "min_in_degree", "L", "depth")
Y_COLS = ("error", "rel_error", "abs_error", "distance", "frobenius", "hessian_norm", "norm", "drift", "value", "mean")


def call_api(module_name: str, fn_name: str, *args, time_s: float | None = None, mem_mb: int | None = None, **kwargs):
    """Call ``graphexp_db.<module>.<fn>`` under the UI's time and memory budgets: ``(result, None)``, or
    ``(None, one-line reason)`` when the input is rejected or a budget is hit."""
    out = bounded.run_bounded(f"graphexp_db.{module_name}", fn_name, *args, time_s=time_s, mem_mb=mem_mb, **kwargs)
    if out.ok:
        return out.value, None
    return None, f"{fn_name}: {out.error}"


def pick(df, names):
    cols = {str(x).lower(): x for x in df.columns}
    for n in names:
        if n.lower() in cols:
            return cols[n.lower()]
    return None


def _frame(engine, sql: str, params: dict | None = None):
    import pandas as pd
    from sqlalchemy import text

    with engine.connect() as conn:
        res = conn.execute(text(sql), params or {})
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def _tables(engine) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(engine).get_table_names())


def _columns(engine, table: str) -> set[str]:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return {col["name"] for col in inspect(engine).get_columns(table)}
    except SQLAlchemyError:   # no such table in an older or partial catalogue
        return set()


@st.cache_data(ttl=c.TTL, show_spinner=False)
def studies(_engine, url: str, kinds: tuple[str, ...]):
    """Stored simulations of the given kinds with their architecture and provenance, newest last."""
    import pandas as pd

    t = _tables(_engine)
    if "simulation" not in t:
        return pd.DataFrame()
    scols = _columns(_engine, "simulation")
    has_arch = "architecture" in t and "architecture_id" in scols
    has_prov = "provenance" in t and "provenance_id" in scols
    sel = ["s.id", "s.kind", "s.seed", "s.result_json"]
    sel += [f"s.{x}" if x in scols else f"NULL AS {x}" for x in ("activation", "ensemble", "device", "architecture_id", "provenance_id")]
    sel += ["a.spec AS spec", "a.kind AS arch_kind", "a.spec_json AS spec_json", "a.shape AS shape"] if has_arch else \
        ["NULL AS spec", "NULL AS arch_kind", "NULL AS spec_json", "NULL AS shape"]
    sel += ["p.parameters AS parameters"] if has_prov else ["NULL AS parameters"]
    sql = f"SELECT {', '.join(sel)} FROM simulation s"
    if has_arch:
        sql += " LEFT JOIN architecture a ON a.id = s.architecture_id"
    if has_prov:
        sql += " LEFT JOIN provenance p ON p.id = s.provenance_id"
    ors = " OR ".join(f"LOWER(s.kind) LIKE :k{i}" for i in range(len(kinds)))
    sql += f" WHERE ({ors}) ORDER BY s.id"
    return _frame(_engine, sql, {f"k{i}": f"%{k.lower()}%" for i, k in enumerate(kinds)})


@st.cache_data(ttl=c.TTL, show_spinner=False)
def study_points(_engine, url: str, sim_id: int):
    """The points of one simulation (``m`` decoded from ``extra_json`` where stored)."""
    cols = _columns(_engine, "simulation_point")
    extra = "extra_json" if "extra_json" in cols else "NULL AS extra_json"
    df = _frame(_engine, f'SELECT "N", "L", quantity, value, stderr, {extra} FROM simulation_point WHERE simulation_id = :s '
                         'ORDER BY quantity, "N", "L"', {"s": int(sim_id)})
    df["m"] = [(_loads(e) or {}).get("m") for e in df["extra_json"]]
    return df.drop(columns=["extra_json"])


provenance = c.provenance


@st.cache_data(ttl=c.TTL, show_spinner=False)
def stored_results(_engine, url: str, table: str, limit: int = 2000):
    """A stored results table made readable: the architecture spec instead of ``architecture_id``, the
    inputs instead of raw JSON, exact numbers as decimals/fractions, no hashes; plus provenance columns."""
    import pandas as pd

    t = _tables(_engine)
    if table not in t:
        return None, None
    cols = _columns(_engine, table)
    join_arch = "architecture_id" in cols and "architecture" in t
    join_prov = "provenance_id" in cols and "provenance" in t
    sql = f'SELECT r.*{", a.spec AS spec" if join_arch else ""}' \
          f'{", p.method AS prov_method, p.code_version, p.device AS prov_device, p.started_at" if join_prov else ""} FROM "{table}" r'
    if join_arch:
        sql += " LEFT JOIN architecture a ON a.id = r.architecture_id"
    if join_prov:
        sql += " LEFT JOIN provenance p ON p.id = r.provenance_id"
    sql += " ORDER BY r.id LIMIT :n"
    df = _frame(_engine, sql, {"n": int(limit)})
    if not len(df):
        return df, df
    out = pd.DataFrame()
    if "spec" in df.columns:
        out["architecture"] = df["spec"].map(c.decimal_spec)
    for col in df.columns:
        if col in ("id", "architecture_id", "params_hash", "spec", "spec_hash", "provenance_id") or col.startswith("prov_") and col != "prov_method":
            continue
        if col == "inputs_json":
            out["inputs"] = df[col].map(_inputs_text)
        elif col == "params_json":
            out["parameters"] = df[col].map(_params_text)
        elif col in ("grid_json", "density_json", "coefficients_json"):
            continue
        elif col in ("value_exact", "q_in", "sw", "sb"):
            out[col] = df[col].map(c.exact_text)
        elif col == "prov_method":
            out["provenance method"] = df[col]
        else:
            out[col] = df[col]
    if "provenance_id" in df.columns:
        out["provenance_id"] = df["provenance_id"]
    return out, df


def _loads(v):
    if v is None or isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return None


def _inputs_text(v) -> str:
    d = _loads(v)
    if isinstance(d, dict):
        return "; ".join(f"{k} = ({', '.join(c.exact_text(x) for x in val)})" if isinstance(val, list) else f"{k} = {c.exact_text(val)}"
                         for k, val in d.items())
    return "" if v is None else str(v)


def _params_text(v) -> str:
    d = _loads(v)
    if isinstance(d, dict):
        return ", ".join(f"{k}={c.exact_text(val) if not isinstance(val, (list, dict)) else json.dumps(val)}" for k, val in sorted(d.items()))
    return "" if v is None else str(v)


def show_stored(engine, table: str, title: str, *, key: str = "", hint: str = ""):
    """A stored results table, readable, with the provenance of a chosen row: ``(shown, raw)`` frames."""
    df, raw = c.safe(stored_results, engine, c.db_url(), table, default=(None, None))
    st.markdown(f"**{title}** (table `{table}`)")
    if df is None or len(df) == 0:
        st.info(f"Nothing stored in `{table}` yet.{' ' + hint if hint else ''}")
        return None, None
    show = df.drop(columns=[x for x in ("provenance_id",) if x in df.columns])
    st.dataframe(show, hide_index=True, width="stretch", column_config=c.column_config(show.columns), key=f"tbl_{key or table}")
    if "provenance_id" in df.columns:
        i = st.number_input(f"Provenance of row (1..{len(df)})", 1, len(df), 1, key=f"provrow_{key or table}",
                            help="Row number in the table above; its provenance is shown below.")
        spec = None if raw is None or "spec" not in raw.columns else raw["spec"].iloc[int(i) - 1]
        c.provenance_box(provenance(engine, c.db_url(), df["provenance_id"].iloc[int(i) - 1]), spec_text=spec,
                         title=f"Provenance of row {int(i)} of {table}")
    return df, raw
