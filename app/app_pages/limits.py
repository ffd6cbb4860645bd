"""Limits and moments: NNGP/NTK for chosen inputs, Jacobian moments and spectral density,
convergence of finite-width values to the limit."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import streamlit as st

import bounded
import common as c
import drawing
import stored
from graphexp_db import definitions

W = definitions.WIDGETS


def _inputs(xs: str, ys: str):
    """Two input vectors from text: finite numbers, same length, at most 10000 entries."""
    x = [float(t) for t in xs.split(",") if t.strip()][:10_001]
    y = [float(t) for t in ys.split(",") if t.strip()][:10_001]
    if len(x) > 10_000 or len(y) > 10_000:
        raise ValueError("at most 10000 entries per input in the web UI")
    if len(x) != len(y) or not x or not all(math.isfinite(v) for v in x + y):
        raise ValueError("x and y must be finite numbers of the same length")
    return x, y


def _depth_of(spec) -> str:
    import re

    m = re.search(r"\bL=(\d+|inf)\b", str(spec or ""))
    if m:
        return m.group(1)
    d = stored._loads(spec) if str(spec or "").lstrip().startswith("{") else None
    return f"DAG with {len(d.get('edges', []))} edges" if isinstance(d, dict) else "?"


@c.locked
def _density_figure(gx, gy, label: str, eig, mc_label: str):
    """Limit density (line) and Monte Carlo histogram on a log density axis, so a spike near 0 does not
    hide the histogram; returns the figure and the data handed to it."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ok = np.isfinite(gx) & np.isfinite(gy) & (gy > 0)
    rows = [pd.DataFrame({"series": label, "eigenvalue": gx[ok], "density": gy[ok]})]
    ax.plot(gx[ok], gy[ok], color="#4C72B0", label=label)
    lo = float(np.quantile(gy[ok], 0.02)) if ok.any() else 1e-3
    if eig is not None and len(eig):
        hist, edges = np.histogram(eig, bins=60, density=True)
        ax.stairs(hist, edges, fill=True, alpha=0.35, color="#DD8452", label=mc_label)
        centres = (edges[:-1] + edges[1:]) / 2
        rows.append(pd.DataFrame({"series": mc_label, "eigenvalue": centres, "density": hist}))
        if (hist > 0).any():
            lo = min(lo, float(hist[hist > 0].min()))
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(lo / 3, 1e-6))
    ax.set_xlabel("eigenvalue λ of J J^T")
    ax.set_ylabel("density (log scale)")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig, pd.concat(rows, ignore_index=True)


@c.locked
def _stored_density_figure(curves):
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    rows, lows = [], []
    for name, gx, gy, is_mc in curves:
        ok = np.isfinite(gx) & np.isfinite(gy) & (gy > 0)
        if not ok.any():
            continue
        if is_mc:
            ax.step(gx[ok], gy[ok], where="mid", alpha=0.7, label=name)
        else:
            ax.plot(gx[ok], gy[ok], label=name)
        lows.append(float(np.quantile(gy[ok], 0.02)))
        rows.append(pd.DataFrame({"series": name, "eigenvalue": gx[ok], "density": gy[ok]}))
    ax.set_yscale("log")
    if lows:
        ax.set_ylim(bottom=max(min(lows) / 3, 1e-6))
    ax.set_xlabel("eigenvalue λ of J J^T")
    ax.set_ylabel("density (log scale)")
    ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    return fig, pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["series", "eigenvalue", "density"])


st.title("Limits and moments")
st.caption(definitions.PAGES["limits"])
engine = c.get_engine()

st.subheader("NNGP and NTK")
a, b = st.columns(2)
MAX = bounded.MAX_TEXT
arch = a.text_input("Architecture", "mlp:L=2,sw=1.5,sb=0.1", key="arch", help=W["arch"], bind="query-params", max_chars=MAX)
act = b.text_input("Activation", "relu", key="activation", help=W["activation"], bind="query-params", max_chars=MAX)
a, b = st.columns(2)
xs = a.text_input("x", "1,0.5,-0.3", key="x", help=W["x"], bind="query-params", max_chars=MAX)
ys = b.text_input("y", "0.2,-1,0.7", key="y", help=W["y"], bind="query-params", max_chars=MAX)
st.caption(bounded.budget_note())
if st.button("Compute kernels", key="compute_kernels"):
    try:
        x, y = _inputs(xs, ys)
    except ValueError as err:
        st.error(f"Bad input: {err}")
    else:
        out = bounded.run_bounded("compute", "kernels", arch, act, x, y)
        rows = [{"kernel": r["kernel"], "value": c.exact_text(r["value"])} for r in (out.value or [])]
        if not out.ok:
            st.error(f"Kernels: {out.error}")
        if rows:
            st.dataframe(rows, hide_index=True, key="kernels_table")

st.subheader("Finite width: the series in 1/N against Monte Carlo")
st.caption("E[f(x) f(y)] = Σ_j a_j N^-j from the layer recursion: exact for a polynomial activation (the complete "
           "polynomial, or N^0..N^-J with J > 0), N^0..N^-J with quadrature errors otherwise (J = 1 by default). "
           "Red points: Monte Carlo of the networks at N = 4, 8, 16, 32 (fixed seeds, one standard error).")
a, b = st.columns(2)
max_order = a.number_input("max order J (0: complete polynomial, or 1 for other activations)", 0, 4, 0, key="max_order",
                           bind="query-params")
with_mc = b.checkbox("Monte Carlo points", value=True, key="series_mc", bind="query-params")
if st.button("Finite-width series", key="compute_series"):
    try:
        x, y = _inputs(xs, ys)
    except ValueError as err:
        st.error(f"Bad input: {err}")
    else:
        out = bounded.run_bounded("compute", "finite_vs_mc", arch, act, x, y, int(max_order) or None, bool(with_mc))
        if not out.ok:
            st.error(f"Finite-width series: {out.error}")
        else:
            import pandas as pd

            res = out.value
            rows = []
            for j, v in res["coefficients"].items():
                row = {"j": j, "a_j": v}
                if res["exact"] is not None:
                    row["a_j (exact)"] = c.exact_text(Fraction(res["exact"][j]))
                else:
                    row["error"] = res["errors"].get(j, 0.0)
                rows.append(row)
            st.dataframe(rows, hide_index=True, key="series_table")
            st.caption(f"method: {res['method']} ({res['oracle']} Gaussian moments), max order: {res['max_order'] or 'complete'}")
            Ns = [2 ** (k / 4) for k in range(8, 41)]          # N = 4 .. 1024
            curve = [sum(v * N ** (-j) for j, v in res["coefficients"].items()) for N in Ns]
            limit = res["coefficients"].get(0, 0.0)
            data = pd.concat([pd.DataFrame({"kind": "series", "N": Ns, "value": curve, "stderr": 0.0}),
                              pd.DataFrame({"kind": "monte carlo", "N": [m["N"] for m in res["mc"]],
                                            "value": [m["mean"] for m in res["mc"]], "stderr": [m["stderr"] for m in res["mc"]]})],
                             ignore_index=True)
            fig = c.locked(drawing.series_vs_mc)(Ns, curve, limit, res["mc"], f"{arch}, {act}")
            c.show_fig(fig)
            c.record_chart("finite_series", data, title="E[f(x) f(y)] against N: series and Monte Carlo", x="N",
                           y="E[f(x) f(y)]", limit=limit, coefficients=res["coefficients"])

st.subheader("Jacobian moments")
a, b, d, e = st.columns(4)
jarch = a.text_input("Architecture", "mlp:L=2,sw=1.0", key="jarch", help=W["arch"], bind="query-params", max_chars=MAX)
jact = b.text_input("Activation", "identity", key="jact", help=W["activation"], bind="query-params", max_chars=MAX)
q_in = d.number_input("q_in", 0.01, 100.0, 1.0, 0.1, key="q_in", help="Input scale q_in = |x|^2 / N (CONVENTIONS.md).", bind="query-params")
kmax = e.number_input("K", 1, 12, 6, key="k_max", help=W["k_max"], bind="query-params")
if st.button("Compute moments", key="compute_moments"):
    free, why = stored.call_api("limits", "jacobian_moments", jarch, jact, float(q_in), int(kmax))
    if why:
        st.error(why)
    else:
        nc, why_nc = stored.call_api("limits", "jacobian_moments", jarch, jact, float(q_in), int(kmax), method="noncrossing")
        rows = []
        for k, v in enumerate(free, start=1):
            row = {"k": k, "m_k": float(v)}
            if not why_nc:
                row["m_k (non-crossing sum)"] = float(nc[k - 1])
            rows.append(row)
        st.dataframe(rows, hide_index=True, column_config=c.column_config(["k", "m_k"]), key="moments_table")
    dens, why = stored.call_api("limits", "jacobian_density", jarch, jact, float(q_in))
    if why:
        st.error(why)
    else:
        import numpy as np

        mc, why_mc = stored.call_api("montecarlo", "jacobian_moments_estimate", jarch, jact, q_in=float(q_in), N=256,
                                     samples=4, kmax=1, seed=0, eigenvalues=True)
        if why_mc:
            st.caption(why_mc)
        L = _depth_of(jarch)
        eig = None if mc is None else np.asarray(mc["eigenvalues"], dtype=float)
        fig, data = _density_figure(np.asarray(dens[0], dtype=float), np.asarray(dens[1], dtype=float),
                                    f"limit density, L = {L} ({jarch}, {jact})", eig, f"Monte Carlo N = 256, L = {L}, 4 samples")
        c.show_fig(fig)
        c.record_chart("density", data, title=f"spectral density of J J^T, L = {L}", yscale="log", depth=L)

st.subheader("Monte Carlo convergence to the limit")
st.caption("Stored `graphexp simulate ntk-rate` runs: the Frobenius distance between the empirical NTK at width N "
           "and the infinite-width NTK, with the fitted log-log slope (about -1/2).")
rates = c.safe(stored.studies, engine, c.db_url(), ("ntk-rate",)) if engine is not None else None
if rates is None or not len(rates):
    st.info("No ntk-rate simulation stored yet: run `graphexp simulate ntk-rate --arch mlp:L=2 --activation relu "
            "--widths 32,64,128,256 --db URL`.")
else:
    for r in rates.to_dict("records"):
        grp = stored.study_points(engine, c.db_url(), int(r["id"]))
        grp = grp[grp["quantity"].str.contains("ntk", na=False)].sort_values("N")
        label = f"study #{int(r['id'])}: {c.decimal_spec(r.get('spec'))}, {r.get('activation')}"
        fig, slope, se = c.locked(drawing.loglog_with_slope)(grp["N"], grp["value"], "width N", "|NTK_N - NTK_inf|_F", label, yerr=grp["stderr"])
        c.show_fig(fig)
        c.record_chart(f"ntk_rate_{int(r['id'])}", grp[["N", "value", "stderr"]], title=f"NTK error against N ({label})", study=int(r["id"]))
        c.provenance_box(stored.provenance(engine, c.db_url(), r.get("provenance_id")), title=f"Provenance of study #{int(r['id'])}")

st.subheader("Stored results")
if engine is not None:
    stored.show_stored(engine, "limit_value", "Stored limits", hint="`graphexp build --preset paper` fills it.")
    stored.show_stored(engine, "jacobian_moment", "Stored Jacobian moments", hint="`graphexp build --preset paper` fills it.")
    dens, raw = stored.show_stored(engine, "spectral_density", "Stored spectral densities", hint="`graphexp build --preset paper` fills it.")
    if raw is not None and len(raw) and {"grid_json", "density_json"} <= set(raw.columns):
        import numpy as np

        curves = []
        for _, r in raw.head(8).iterrows():
            try:
                gx, gy = np.asarray(json.loads(r["grid_json"]), dtype=float), np.asarray(json.loads(r["density_json"]), dtype=float)
            except (TypeError, ValueError):
                continue
            L = _depth_of(r.get("spec"))
            curves.append((f"{r.get('method', '')}: L = {L}, {c.decimal_spec(r.get('spec'))}, {r.get('activation', '')}, q_in = {c.exact_text(r.get('q_in'))}",
                           gx, gy, "mc" in str(r.get("method", "")).lower() or "monte" in str(r.get("method", "")).lower()))
        if curves:
            fig, data = _stored_density_figure(curves)
            c.show_fig(fig)
            c.record_chart("stored_density", data, title="stored spectral densities", yscale="log")
    stored.show_stored(engine, "graph_sum_convergence", "Truncated graph sums (Taylor degree D) against the closed forms", key="conv", hint="`graphexp build --preset paper` fills it.")
    stored.show_stored(engine, "finite_width", "Exact finite-width series (coefficients of N^-j)", key="finite", hint="`graphexp finite-width … --db URL` fills it.")
