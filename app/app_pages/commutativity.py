"""Seed 002: width/depth commutativity of ResNets with 1/sqrt(L) branches.

One stored study at a time (picked by its spec, kept in the URL as ``?study=<id>``): the heat map of
the error |C(N, L) - C_ODE| over the (N, L) grid on a log colour scale, the ODE limit value, and the
width-first, depth-first and joint paths as curves of the error against each path's own parameter.
"""

from __future__ import annotations

import streamlit as st

import bounded
import common as c
import stored
from graphexp_db import definitions

W = definitions.WIDGETS
st.title("Width/depth commutativity")
st.caption(definitions.PAGES["commutativity"])
st.markdown(
    "For `resnet:L=…` with branches scaled by 1/sqrt(L), the covariance kernel has the same limit whether the width "
    "N or the depth L goes to infinity first: the ODE dC/dt = sw² E[φ(u)φ(v)] on t ∈ [0, 1] (CONVENTIONS.md), "
    "whose value at t = 1 is C_ODE. A stored study measures C(N, L) by Monte Carlo on a grid of widths and depths; "
    "the error is |C(N, L) − C_ODE|."
)


def _study_label(row) -> str:
    p = stored._loads(row.get("parameters")) or {}
    spec = c.decimal_spec(p.get("spec_as_written") or p.get("arch") or row.get("spec") or "?")
    ws = ",".join(str(x) for x in p.get("widths", []))
    ds = ",".join(str(x) for x in p.get("depths", []))
    return (f"#{row['id']}: {spec} · {row.get('activation') or p.get('activation', '')} · {row.get('ensemble') or 'gaussian'}"
            f" · N ∈ {{{ws}}} · L ∈ {{{ds}}} · seed {row.get('seed')}")


def _grid(points, result: dict):
    """The error grid of one study: points (N, L, value, stderr) and C_ODE -> DataFrame with ``error``."""
    import pandas as pd

    limit = result.get("limit")
    df = points[points["L"].notna()].copy()
    if not len(df) and result.get("grid"):
        df = pd.DataFrame(result["grid"])
    df["N"] = df["N"].astype(int)
    df["L"] = df["L"].astype(int)
    df["value"] = df["value"].astype(float)
    df["error"] = (df["value"] - float(limit)).abs()
    return df[["N", "L", "value", "stderr", "error"]].sort_values(["N", "L"]).reset_index(drop=True)


def _paths(grid):
    """Width-first (N largest, L grows), depth-first (L largest, N grows), joint (N and L grow together)."""
    import pandas as pd

    Ns, Ls = sorted(grid["N"].unique()), sorted(grid["L"].unique())
    at = {(int(r.N), int(r.L)): r for r in grid.itertuples(index=False)}
    wf = pd.DataFrame([{"L": L, "N": Ns[-1], "error": at[(Ns[-1], L)].error, "stderr": at[(Ns[-1], L)].stderr} for L in Ls if (Ns[-1], L) in at])
    df = pd.DataFrame([{"N": n, "L": Ls[-1], "error": at[(n, Ls[-1])].error, "stderr": at[(n, Ls[-1])].stderr} for n in Ns if (n, Ls[-1]) in at])
    k = max(len(Ns), len(Ls))
    joint = []
    for i in range(k):
        n = Ns[round(i * (len(Ns) - 1) / max(k - 1, 1))]
        L = Ls[round(i * (len(Ls) - 1) / max(k - 1, 1))]
        if (n, L) in at:
            joint.append({"step": i + 1, "N": n, "L": L, "error": at[(n, L)].error, "stderr": at[(n, L)].stderr})
    return wf, df, pd.DataFrame(joint)


@c.locked
def _heatmap(grid, limit: float, title: str):
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    piv = grid.pivot_table(index="L", columns="N", values="error", aggfunc="mean").sort_index()
    vals = piv.values.astype(float)
    pos = vals[vals > 0]
    lo, hi = (float(pos.min()), float(pos.max())) if pos.size else (1e-3, 1.0)
    if hi <= lo:
        hi = lo * 10
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    im = ax.imshow(np.where(vals > 0, vals, lo), origin="lower", aspect="auto", cmap="viridis", norm=LogNorm(vmin=lo, vmax=hi))
    ax.set_xticks(range(len(piv.columns)), [str(int(v)) for v in piv.columns])
    ax.set_yticks(range(len(piv.index)), [str(int(v)) for v in piv.index])
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            ax.text(j, i, f"{vals[i, j]:.2g}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xlabel("width N")
    ax.set_ylabel("depth L")
    fig.colorbar(im, ax=ax, label="|C(N, L) − C_ODE|  (log scale)")
    ax.set_title(f"{title}\nerror to the ODE limit C_ODE = {limit:.6g}", fontsize=9)
    fig.tight_layout()
    return fig, piv


@c.locked
def _path_figure(wf, df, joint, limit: float):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    specs = [
        (axes[0], wf, "L", f"width-first: N = {int(wf['N'].iloc[0]) if len(wf) else '?'} (largest), L grows", "depth L"),
        (axes[1], df, "N", f"depth-first: L = {int(df['L'].iloc[0]) if len(df) else '?'} (largest), N grows", "width N"),
        (axes[2], joint, "step", "joint: N and L grow together", "step k along the joint path"),
    ]
    for ax, data, x, title, xlabel in specs:
        if len(data):
            ax.errorbar(data[x], data["error"], yerr=data["stderr"], fmt="o-", ms=4, capsize=3)
            if x != "step":
                ax.set_xscale("log", base=2)
            else:
                ax.set_xticks(list(data["step"]), [f"{k}\n(N={n}, L={L})" for k, n, L in zip(data["step"], data["N"], data["L"])], fontsize=7)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("|C − C_ODE|")
    fig.suptitle(f"paths to the ODE limit C_ODE = {limit:.6g} (error bars: Monte Carlo standard errors)", fontsize=9)
    fig.tight_layout()
    return fig


engine = c.get_engine()
if engine is not None:
    sims = c.safe(stored.studies, engine, c.db_url(), ("commut",))
    if sims is None or not len(sims):
        st.info("No width/depth study stored yet: run `graphexp simulate commutativity --arch resnet:sw=1 --activation tanh "
                "--widths 32,64,128 --depths 2,4,8,16 --db URL` (the core preset stores one).")
    else:
        ids = [str(int(i)) for i in sims["id"]]
        labels = {str(int(r["id"])): _study_label(r) for r in sims.to_dict("records")}
        sid = c.url_select("Study (one at a time, by its spec)", "study", ids, format_func=lambda i: labels.get(i, i),
                           help="Each stored commutativity study is shown on its own; the URL keeps the choice (?study=id).")
        row = sims[sims["id"].astype(int) == int(sid)].iloc[0].to_dict()
        result = stored._loads(row.get("result_json")) or {}
        if result.get("limit") is None:
            st.error(f"Study #{sid} stores no ODE limit (result_json has no 'limit'); it cannot be drawn as an error.")
        else:
            limit = float(result["limit"])
            pts = stored.study_points(engine, c.db_url(), int(sid))
            grid = _grid(pts, result)
            a, b, d = st.columns(3)
            a.metric("ODE limit C_ODE(x, y)", f"{limit:.6g}", help="dC/dt = sw² E[φ(u)φ(v)] integrated to t = 1 (resnet:L=inf).")
            b.metric("grid", f"{grid['N'].nunique()} widths × {grid['L'].nunique()} depths")
            d.metric("largest error", f"{grid['error'].max():.3g}")
            p = stored._loads(row.get("parameters")) or {}
            if p.get("x") is not None:
                st.caption(f"Inputs x = {p.get('x')}, y = {p.get('y')}; {p.get('samples', '?')} samples per grid point; "
                           f"activation {row.get('activation')}.")
            fig, piv = _heatmap(grid, limit, _study_label(row).split(" · N")[0])
            c.show_fig(fig)
            c.record_chart("heatmap", grid[["N", "L", "error"]], title="heat map |C(N, L) − C_ODE|", study=int(sid),
                           colour="error", colour_scale="log", limit=limit)
            wf, df, joint = _paths(grid)
            c.show_fig(_path_figure(wf, df, joint, limit), share=0.95)
            c.record_chart("width_first", wf, title="width-first path (x: depth L)", study=int(sid), x="L")
            c.record_chart("depth_first", df, title="depth-first path (x: width N)", study=int(sid), x="N")
            c.record_chart("joint", joint, title="joint path (x: step k)", study=int(sid), x="step")
            c.provenance_box(stored.provenance(engine, c.db_url(), row.get("provenance_id")), title=f"Provenance of study #{sid}")

st.subheader("Compute: kernel against depth at infinite width")
st.caption(bounded.budget_note())
a, b, d = st.columns(3)
act = a.text_input("Activation", "tanh", key="activation", bind="query-params", help=W["activation"], max_chars=200)
sw = b.text_input("sw", "1", key="sw", bind="query-params", help=definitions.COLUMNS["sw"], max_chars=60)
Lmax = d.number_input("Largest L", 1, 512, 64, key="L_max", bind="query-params",
                      help="Depths 1, 2, 4, … up to this value for the finite-L recursion.")
if st.button("Kernel vs depth (infinite width)", key="compute_resnet"):
    depths = []
    L = 1
    while L <= int(Lmax):
        depths.append(L)
        L *= 2
    out = bounded.run_bounded("compute", "resnet_depths", sw, act, depths, [1.0, 0.0], [0.6, 0.8])
    rows = out.value or []
    if not out.ok:
        st.error(f"ResNet kernel: {out.error}")
    if rows:
        ode = rows[-1]["C_L(x,y)"]
        for r in rows:
            r["|C_L − C_ODE|"] = abs(r["C_L(x,y)"] - ode)
        st.metric("ODE limit (L = inf)", f"{ode:.6g}")
        st.dataframe(rows, hide_index=True, key="resnet_table")
