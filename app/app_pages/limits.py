"""Limits and moments: NNGP/NTK for chosen inputs, Jacobian moments and spectral density,
convergence of finite-width values to the limit."""

from __future__ import annotations

import math

import streamlit as st

import common as c
import drawing
import stored
from graphexp_db import definitions

W = definitions.WIDGETS
st.title("Limits and moments")
st.caption(definitions.PAGES["limits"])
engine = c.get_engine()

st.subheader("NNGP and NTK")
a, b = st.columns(2)
arch = a.text_input("Architecture", "mlp:L=2,sw=1.5,sb=0.1", key="arch", help=W["arch"])
act = b.text_input("Activation", "relu", key="activation", help=W["activation"])
a, b = st.columns(2)
xs = a.text_input("x", "1,0.5,-0.3", key="x", help=W["x"])
ys = b.text_input("y", "0.2,-1,0.7", key="y", help=W["y"])
if st.button("Compute kernels", key="compute_kernels"):
    try:
        x = [float(t) for t in xs.split(",") if t.strip()]
        y = [float(t) for t in ys.split(",") if t.strip()]
        if len(x) != len(y) or not x or not all(math.isfinite(v) for v in x + y):
            raise ValueError("x and y must be finite numbers of the same length")
    except ValueError as err:
        st.error(f"Bad input: {err}")
    else:
        rows = []
        for name, fn in (("NNGP", "nngp_limit"), ("NTK", "ntk_limit")):
            val, why = stored.call_api("limits", fn, arch, act, x, y)
            if why:
                st.info(why)
            else:
                rows.append({"kernel": name, "value": str(val)})
        if act.startswith("poly:"):
            # Polynomial activations: the leading-order graph sum, exactly (independent of limits.py).
            from graphexp_db.spec import parse_activation, parse_arch

            for name, fn in (("NNGP (graph sum)", "leading_covariance"), ("NTK (graph sum)", "leading_ntk")):
                val, why = stored.call_api("finite", fn, parse_arch(arch), parse_activation(act), x, y)
                if not why:
                    rows.append({"kernel": name, "value": str(val)})
        if rows:
            st.dataframe(rows, hide_index=True, key="kernels_table")

st.subheader("Finite-width convergence (exact graph sums)")
st.caption("For a polynomial activation the pairing sums give E[f(x) f(y)] = Σ_j a_j N^-j exactly; the plot shows |E_N − limit| against N with the fitted log-log slope.")
if st.button("Finite-width series", key="compute_series"):
    if not act.startswith("poly:") and act != "identity":
        st.info("Exact finite-width series need a polynomial activation (poly:c0,c1,… or identity).")
    else:
        try:
            from graphexp_db.spec import parse_arch

            x = [float(t) for t in xs.split(",") if t.strip()]
            y = [float(t) for t in ys.split(",") if t.strip()]
            spec = parse_arch(arch)
        except Exception as err:
            st.error(f"Bad input: {' '.join(str(err).split())[:200]}")
        else:
            series, why = stored.call_api("finite", "covariance_series", spec, act, x, y)
            if why:
                st.info(why)
            else:
                import drawing

                st.dataframe([{"j": j, "a_j (exact)": str(v), "a_j": float(v)} for j, v in series.items()], hide_index=True, key="series_table")
                limit = float(series.get(0, 0))
                Ns = [2**i for i in range(1, 11)]
                errs = [abs(sum(float(v) * N ** (-j) for j, v in series.items()) - limit) for N in Ns]
                if any(e > 0 for e in errs):
                    fig, slope, se = drawing.loglog_with_slope(Ns, errs, "width N", "|E_N[f(x) f(y)] - limit|", "finite width vs limit")
                    c.show_fig(fig)
                else:
                    st.info("The expectation equals its limit at every width (no 1/N terms).")

st.subheader("Jacobian moments")
a, b, d, e = st.columns(4)
jarch = a.text_input("Architecture", "mlp:L=2,sw=1.0", key="jarch", help=W["arch"])
jact = b.text_input("Activation", "identity", key="jact", help=W["activation"])
q_in = d.number_input("q_in", 0.01, 100.0, 1.0, 0.1, key="q_in", help="Input scale q_in = |x|^2 / N (CONVENTIONS.md).")
kmax = e.number_input("K", 1, 12, 6, key="k_max", help=W["k_max"])
if st.button("Compute moments", key="compute_moments"):
    free, why = stored.call_api("limits", "jacobian_moments", jarch, jact, float(q_in), int(kmax))
    if why:
        st.info(why)
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
        st.info(why)
    else:
        import matplotlib.pyplot as plt
        import numpy as np

        gx, gy = np.asarray(dens[0], dtype=float), np.asarray(dens[1], dtype=float)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(gx, gy, label="limit density")
        mc, why_mc = stored.call_api("montecarlo", "jacobian_moments_estimate", jarch, jact, q_in=float(q_in), N=256,
                                     samples=4, kmax=1, seed=0, eigenvalues=True)
        if mc is not None:
            ax.hist(np.asarray(mc["eigenvalues"], dtype=float), bins=60, density=True, alpha=0.35,
                    label="Monte Carlo, N = 256, 4 samples")
        else:
            st.caption(why_mc)
        ax.set_xlabel("eigenvalue of J J^T")
        ax.set_ylabel("density")
        ax.set_ylim(0, float(np.quantile(gy, 0.98)) * 1.3 if len(gy) else 1)
        ax.legend(frameon=False)
        c.show_fig(fig)

st.subheader("Monte Carlo convergence to the limit")
st.caption("Stored `graphexp simulate ntk-rate` runs: the Frobenius distance between the empirical NTK at width N "
           "and the infinite-width NTK, with the fitted log-log slope (about -1/2).")
rate = stored.simulation_points(engine, ("ntk-rate",)) if engine is not None else None
if rate is None or not len(rate):
    st.info("No ntk-rate simulation stored yet: run `graphexp simulate ntk-rate --arch mlp:L=2 --activation relu "
            "--widths 32,64,128,256 --db URL`.")
else:
    for sim_id, grp in rate.groupby("simulation_id"):
        grp = grp.sort_values("N")
        label = f"simulation {sim_id}: {grp['sim_activation'].iloc[0] if 'sim_activation' in grp else ''}"
        fig, slope, se = drawing.loglog_with_slope(grp["N"], grp["value"], "width N", "|NTK_N - NTK_inf|_F", label,
                                                   yerr=grp["stderr"] if "stderr" in grp else None)
        c.show_fig(fig)

st.subheader("Stored results")
if engine is not None:
    stored.show_stored(engine, "limit_value", "Stored limits", hint="`graphexp build --preset paper` fills it.")
    stored.show_stored(engine, "jacobian_moment", "Stored Jacobian moments", hint="`graphexp build --preset paper` fills it.")
    dens = stored.show_stored(engine, "spectral_density", "Stored spectral densities", hint="`graphexp build --preset paper` fills it.")
    if dens is not None and len(dens) and {"grid_json", "density_json"} <= set(dens.columns):
        import json as _json

        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for _, r in dens.head(8).iterrows():
            try:
                gx, gy = _json.loads(r["grid_json"]), _json.loads(r["density_json"])
            except (TypeError, ValueError):
                continue
            name = f"{r.get('method', '')} {r.get('activation', '')}".strip()
            if "mc" in name.lower() or "monte" in name.lower():
                ax.step(gx, gy, where="mid", alpha=0.6, label=name)
            else:
                ax.plot(gx, gy, label=name)
        ax.set_xlabel("eigenvalue of J J^T")
        ax.set_ylabel("density")
        ax.legend(frameon=False, fontsize=7)
        c.show_fig(fig)
    elif dens is not None and len(dens):
        xc, yc = stored.pick(dens, ("x", "lam", "lambda", "eigenvalue", "bin_center", "center")), stored.pick(dens, ("density", "value", "pdf"))
        if xc is not None and yc is not None:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 3.5))
            src = stored.pick(dens, ("method", "source", "kind"))
            groups = dens.groupby(src) if src else [("density", dens)]
            for name, g in groups:
                g = g.sort_values(xc)
                if "mc" in str(name).lower() or "monte" in str(name).lower() or "hist" in str(name).lower():
                    ax.bar(g[xc].astype(float), g[yc].astype(float), width=(float(g[xc].max()) - float(g[xc].min())) / max(len(g), 1), alpha=0.4, label=str(name))
                else:
                    ax.plot(g[xc].astype(float), g[yc].astype(float), label=str(name))
            ax.set_xlabel("eigenvalue of J J^T")
            ax.set_ylabel("density")
            ax.legend(frameon=False)
            c.show_fig(fig)
    stored.show_stored(engine, "graph_sum_convergence", "Truncated graph sums (Taylor degree D) against the closed forms", key="conv", hint="`graphexp build --preset paper` fills it.")
