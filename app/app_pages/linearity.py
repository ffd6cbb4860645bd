"""Seed 003: transition to linearity on DAG architectures (Hessian norm vs minimum in-degree m)."""

from __future__ import annotations

import json

import streamlit as st

import common as c
import stored
from graphexp_db import definitions

W = definitions.WIDGETS
st.title("Transition to linearity")
st.caption(definitions.PAGES["linearity"])

PRESETS = {
    "chain (MLP with 2 hidden layers)": {"kind": "dag", "edges": [[0, 1], [1, 2], [2, 3]], "sw": 1.0, "sb": 0.0},
    "skip connection": {"kind": "dag", "edges": [[0, 1], [1, 2], [0, 2]], "sw": 1.0, "sb": 0.0},
    "diamond": {"kind": "dag", "edges": [[0, 1], [0, 2], [1, 3], [2, 3]], "sw": 1.0, "sb": 0.0},
    "dense DAG": {"kind": "dag", "edges": [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]], "sw": 1.0, "sb": 0.0},
}
choice = st.selectbox("DAG", list(PRESETS), key="dag_preset", help="A preset layer DAG (edit the JSON below for any other).")
text = st.text_area("DAG JSON", json.dumps(PRESETS[choice]), key=f"dag_json_{choice}", help=W["dag"])

try:
    doc = json.loads(text)
    edges = [(int(u), int(v)) for u, v in doc["edges"]]
except Exception as err:
    st.error(f"Bad DAG JSON: {' '.join(str(err).split())[:200]}")
    edges = []
if edges:
    import matplotlib.pyplot as plt
    import networkx as nx

    try:
        from graphexp_db.spec import parse_arch

        parse_arch(text)
    except Exception as err:
        st.warning(f"Spec check: {' '.join(str(err).split())[:200]}")
    G = nx.DiGraph(edges)
    if not nx.is_directed_acyclic_graph(G):
        st.error("Not a DAG: the edges contain a cycle.")
    else:
        for v in G.nodes:
            G.nodes[v]["layer"] = nx.shortest_path_length(G, 0, v) if 0 in G and nx.has_path(G, 0, v) else 0
        pos = nx.multipartite_layout(G, subset_key="layer")
        fig, ax = plt.subplots(figsize=(5, 3.2))
        sink = [v for v in G.nodes if G.out_degree(v) == 0]
        colours = ["#55A868" if v == 0 else "#C44E52" if v in sink else "#4C72B0" for v in G.nodes]
        nx.draw_networkx(G, pos, node_color=colours, font_color="white", node_size=600, arrowsize=14, ax=ax)
        ax.set_title("layer DAG (green: input, red: output)")
        ax.axis("off")
        c.show_fig(fig)
        indeg = {v: G.in_degree(v) for v in G.nodes if v != 0}
        st.caption("In-degrees |in(v)|: " + ", ".join(f"{v}: {d}" for v, d in sorted(indeg.items())))

st.subheader("Hessian norm vs minimum in-degree m")
engine = c.get_engine()
if engine is not None:
    pts = stored.simulation_points(engine, ("linear", "hessian", "dag"))
    if pts is None or not len(pts):
        st.info("No transition-to-linearity Monte Carlo stored yet (run `graphexp simulate` for the DAG Hessian sweep). The expected log-log slope is -1/2.")
    else:
        xc = stored.pick(pts, ("m", "min_in_degree", "N", "width"))
        yc = stored.pick(pts, ("hessian_norm", "norm", "value", "mean", "drift"))
        if xc is not None and yc is not None:
            import drawing

            se_col = stored.pick(pts, ("stderr", "se"))
            fig, slope, se = drawing.loglog_with_slope(pts[xc], pts[yc], f"minimum in-degree {xc}", f"Hessian spectral norm ({yc})", "transition to linearity", yerr=pts[se_col] if se_col else None)
            c.show_fig(fig)
            if slope is not None:
                st.metric("fitted log-log slope", f"{slope:.3f}" + (f" ± {se:.3f}" if se else ""), help="Seed 003 predicts -1/2.")
        st.dataframe(pts, hide_index=True, key="linearity_points")
