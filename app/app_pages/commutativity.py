"""Seed 002: width/depth commutativity of ResNets with 1/sqrt(L) branches (heat map and paths)."""

from __future__ import annotations

import streamlit as st

import common as c
import stored
from graphexp_db import definitions

W = definitions.WIDGETS
st.title("Width/depth commutativity")
st.caption(definitions.PAGES["commutativity"])
st.markdown(
    "For `resnet:L=…` with branches scaled by 1/sqrt(L), the covariance kernel has the same limit whether the width "
    "N or the depth L goes to infinity first: the ODE dC/dt = sw² E[φ(u)φ(v)] on t ∈ [0, 1] (CONVENTIONS.md). "
    "The heat map shows the Monte Carlo kernel error over (N, L); the paths follow width-first, depth-first and joint limits."
)

a, b, d = st.columns(3)
act = a.text_input("Activation", "relu", key="activation", help=W["activation"])
sw = b.number_input("sw", 0.1, 3.0, 1.0, 0.1, key="sw", help=definitions.COLUMNS["sw"])
Lmax = d.number_input("Largest L", 1, 512, 64, key="L_max", help="Depths 1, 2, 4, … up to this value for the finite-L recursion.")
if st.button("Kernel vs depth (infinite width)", key="compute_resnet"):
    rows = []
    L = 1
    while L <= int(Lmax):
        val, why = stored.call_api("limits", "resnet_covariance", f"resnet:L={L},sw={sw}", act, [1.0, 0.5, -0.3], [0.2, -1.0, 0.7])
        if why:
            st.info(why)
            rows = []
            break
        rows.append({"L": L, "C_L(x,y)": float(val) if not isinstance(val, (dict, list, tuple)) else str(val)})
        L *= 2
    if rows:
        ode, why = stored.call_api("limits", "resnet_covariance", f"resnet:L=inf,sw={sw}", act, [1.0, 0.5, -0.3], [0.2, -1.0, 0.7])
        st.dataframe(rows, hide_index=True, key="resnet_table")
        if not why:
            st.metric("ODE limit (L = inf)", f"{float(ode):.6g}" if not isinstance(ode, (dict, list, tuple)) else str(ode))

engine = c.get_engine()
if engine is not None:
    pts = stored.simulation_points(engine, ("commut", "resnet", "width_depth", "width-depth"))
    if pts is None or not len(pts):
        st.info("No width/depth Monte Carlo grid stored yet (run `graphexp simulate` for the ResNet commutativity grid).")
    else:
        nc, lc, yc = stored.pick(pts, ("N", "width", "n")), stored.pick(pts, ("L", "depth")), stored.pick(pts, stored.Y_COLS)
        if None in (nc, lc, yc):
            st.dataframe(pts, hide_index=True, key="points_table")
        else:
            import matplotlib.pyplot as plt
            import numpy as np

            grid = pts.pivot_table(index=lc, columns=nc, values=yc, aggfunc="mean").sort_index()
            fig, ax = plt.subplots(figsize=(6, 4.5))
            im = ax.imshow(np.log10(np.abs(grid.values.astype(float)) + 1e-300), origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(grid.columns)), [f"{float(v):g}" for v in grid.columns])
            ax.set_yticks(range(len(grid.index)), [f"{float(v):g}" for v in grid.index])
            ax.set_xlabel(f"width {nc}")
            ax.set_ylabel(f"depth {lc}")
            fig.colorbar(im, ax=ax, label=f"log10 {yc}")
            ax.set_title("kernel error over (N, L)")
            c.show_fig(fig)

            fig, ax = plt.subplots(figsize=(6, 4))
            Ns, Ls = list(grid.columns), list(grid.index)
            ax.plot(Ns, grid.loc[Ls[-1]].values, "o-", label=f"width-first (L = {Ls[-1]})")
            ax.plot(Ls, grid[Ns[-1]].values, "s-", label=f"depth-first (N = {Ns[-1]})")
            diag = [(n, grid.loc[l, n]) for n, l in zip(Ns, Ls)]
            if diag:
                ax.plot([d[0] for d in diag], [d[1] for d in diag], "^-", label="joint (N and L together)")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("scale (N or L)")
            ax.set_ylabel(str(yc))
            ax.legend(frameon=False)
            ax.set_title("paths to the ODE limit")
            c.show_fig(fig)
            st.dataframe(pts, hide_index=True, key="points_table")
