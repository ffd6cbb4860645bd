"""UI helpers shared by the limits / ResNet / DAG pages: calling the API with one-line errors for
bad inputs, and plotting stored result rows."""

from __future__ import annotations

import streamlit as st

import common as c
import drawing

X_COLS = ("N", "n", "width", "m", "min_in_degree", "L", "depth")
Y_COLS = ("error", "rel_error", "abs_error", "distance", "frobenius", "hessian_norm", "norm", "drift", "value", "mean")


def call_api(module_name: str, fn_name: str, *args, **kwargs):
    """Call ``graphexp_db.<module>.<fn>``: ``(result, None)``, or ``(None, one-line reason)`` when
    the inputs typed into the page are rejected (bad spec, unstable parameters, ...)."""
    import importlib

    from graphexp_db.spec import SpecError

    fn = getattr(importlib.import_module(f"graphexp_db.{module_name}"), fn_name)
    try:
        return fn(*args, **kwargs), None
    except (SpecError, ValueError, ArithmeticError) as err:
        return None, f"{fn_name}: {' '.join(str(err).split())[:200]}"


def pick(df, names):
    cols = {str(x).lower(): x for x in df.columns}
    for n in names:
        if n.lower() in cols:
            return cols[n.lower()]
    return None


def show_stored(engine, table: str, title: str, *, filter_col: str | None = None, filter_values: tuple = (), loglog: bool = False, key: str = "",
                hint: str = ""):
    """Show a stored table (or an info box when empty); optional log-log plot with fitted slope."""
    df = c.safe(c.stored_table, engine, c.db_url(), table)
    st.markdown(f"**{title}** (table `{table}`)")
    if df is None or len(df) == 0:
        st.info(f"Nothing stored in `{table}` yet.{' ' + hint if hint else ''}")
        return None
    if filter_col and filter_col in df.columns and filter_values:
        sub = df[df[filter_col].astype(str).str.lower().str.contains("|".join(filter_values), regex=True, na=False)]
        if len(sub):
            df = sub
    st.dataframe(df, hide_index=True, width="stretch", column_config=c.column_config(df.columns), key=f"tbl_{key or table}")
    if loglog:
        xc, yc = pick(df, X_COLS), pick(df, Y_COLS)
        if xc is not None and yc is not None:
            try:
                fig, slope, se = drawing.loglog_with_slope(df[xc], df[yc], str(xc), str(yc), title, yerr=df[pick(df, ("stderr", "se"))] if pick(df, ("stderr", "se")) else None)
                c.show_fig(fig)
            except Exception as err:
                st.caption(f"No plot: {err}")
    return df


def simulation_points(engine, kinds: tuple[str, ...]):
    """simulation_point rows joined with their simulation, for simulations whose kind matches."""
    sims = c.safe(c.stored_table, engine, c.db_url(), "simulation")
    pts = c.safe(c.stored_table, engine, c.db_url(), "simulation_point", 100_000)
    if sims is None or pts is None or not len(sims) or not len(pts):
        return None
    kc = pick(sims, ("kind", "experiment", "quantity", "name"))
    if kc is not None:
        sims = sims[sims[kc].astype(str).str.lower().str.contains("|".join(kinds), regex=True, na=False)]
    if not len(sims) or "simulation_id" not in pts.columns or "id" not in sims.columns:
        return None
    sims = sims.rename(columns={col: f"sim_{col}" for col in sims.columns if col != "id" and col in pts.columns})
    return pts.merge(sims, left_on="simulation_id", right_on="id", suffixes=("", "_sim"))
