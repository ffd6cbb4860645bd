"""Seed 003: transition to linearity on layer DAGs.

Pick a DAG (``?dag=<architecture id>``) and one of its stored studies (``?study=<id>``): the Hessian
spectral norm and the NTK drift are plotted separately against the minimum in-degree m of that DAG
(CONVENTIONS.md), each with its own fitted log-log slope and 95% confidence interval.
"""

from __future__ import annotations

import json

import streamlit as st

import bounded
import common as c
import stored
from graphexp_db import definitions
from graphexp_db.errors import GraphexpError

W = definitions.WIDGETS
st.title("Transition to linearity")
st.caption(definitions.PAGES["linearity"])
st.markdown(
    "m is the minimum neuron in-degree of CONVENTIONS.md: the smallest Σ_{u∈in(v)} width_u over the nodes v that are "
    "neither the input nor fed only by the input. Seed 003 predicts ‖H‖₂ = O(m^(-1/2)) for the Hessian of the output "
    "in all weights at initialisation; the NTK drift (relative change of the NTK after a few gradient steps) falls too."
)

QUANTITIES = {
    "hessian_norm": ("Hessian spectral norm ‖H‖₂ at initialisation", "‖H‖₂"),
    "ntk_change": ("NTK drift ‖Θ_t − Θ_0‖_F / ‖Θ_0‖_F after training", "NTK drift"),
}


def _edges_of(spec_json, spec) -> list[tuple[int, int]]:
    d = stored._loads(spec_json) or {}
    if d.get("kind") == "dag" or "edges" in d:
        return [(int(u), int(v)) for u, v in d.get("edges", [])]
    if d.get("kind") == "mlp" or str(spec or "").startswith("mlp"):
        import re

        m = re.search(r"\bL=(\d+)", str(spec or ""))
        L = int(d.get("L") or (m.group(1) if m else 1))
        return [(i, i + 1) for i in range(L + 1)]
    return []


@c.locked
def _draw_dag(edges, title: str):
    import matplotlib.pyplot as plt
    import networkx as nx

    G = nx.DiGraph(edges)
    for v in G.nodes:
        G.nodes[v]["layer"] = nx.shortest_path_length(G, 0, v) if 0 in G and nx.has_path(G, 0, v) else 0
    pos = nx.multipartite_layout(G, subset_key="layer")
    fig, ax = plt.subplots(figsize=(5, 3.0))
    sink = [v for v in G.nodes if G.out_degree(v) == 0]
    colours = ["#55A868" if v == 0 else "#C44E52" if v in sink else "#4C72B0" for v in G.nodes]
    nx.draw_networkx(G, pos, node_color=colours, font_color="white", node_size=520, arrowsize=14, ax=ax)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return fig, G


def _m_of(edges, N: int, d: int) -> int | None:
    """m of CONVENTIONS.md from the DAG (input width d, hidden width N, scalar output)."""
    parents: dict[int, list[int]] = {}
    for u, v in edges:
        parents.setdefault(v, []).append(u)
    nodes = sorted({x for e in edges for x in e})
    if not nodes:
        return None
    sink = max(v for v in nodes if not any(u == v for u, _ in edges)) if any(not any(u == v for u, _ in edges) for v in nodes) else nodes[-1]
    width = {v: (d if v == 0 else 1 if v == sink else N) for v in nodes}
    vals = [sum(width[u] for u in ps) for v, ps in parents.items() if set(ps) != {0}]
    return min(vals) if vals else None


def _fit(x, y, yerr):
    from graphexp_db.montecarlo import fit_power_law

    try:
        return fit_power_law(x, y, yerr)
    except GraphexpError as err:  # fewer than two positive points
        return {"error": c.one_line(err)}


@c.locked
def _plot(data, ylabel: str, title: str, fit: dict):
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.errorbar(data["m"], data["value"], yerr=data["stderr"], fmt="o", ms=5, capsize=3, label="Monte Carlo (±1 s.e.)")
    if "slope" in fit:
        xs = np.geomspace(float(data["m"].min()), float(data["m"].max()), 50)
        lo, hi = fit["slope_ci"]
        ax.plot(xs, fit["prefactor"] * xs ** fit["slope"], "-", color="#C44E52",
                label=f"fit: slope {fit['slope']:.3f}, 95% CI [{lo:.3f}, {hi:.3f}]")
        y0 = fit["prefactor"] * xs[0] ** fit["slope"]
        ax.plot(xs, y0 * (xs / xs[0]) ** -0.5, ":", color="#888888", label="slope −1/2 (seed 003), for reference")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(list(data["m"]), [str(int(m)) for m in data["m"]])
    ax.set_xlabel("minimum in-degree m (CONVENTIONS.md)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


engine = c.get_engine()
sims = c.safe(stored.studies, engine, c.db_url(), ("linear",)) if engine is not None else None
if engine is not None and (sims is None or not len(sims)):
    st.info("No transition-to-linearity study stored yet: run `graphexp simulate linearity --arch mlp:L=2 --activation tanh "
            "--widths 16,32,64,128 --db URL` (the core preset stores two). The expected log-log slope is −1/2.")
elif engine is not None:
    sims = sims.copy()
    sims["arch_key"] = sims["architecture_id"].map(lambda v: "none" if v is None or str(v) == "nan" else str(int(v)))
    arch_ids = list(dict.fromkeys(sims["arch_key"]))
    spec_of = {k: c.decimal_spec(sims[sims["arch_key"] == k]["spec"].iloc[0]) for k in arch_ids}
    dag = c.url_select("DAG", "dag", arch_ids, format_func=lambda k: spec_of.get(k) or f"architecture {k}",
                       help="A layer DAG (or MLP chain) with stored studies; the plots below show only its studies. URL: ?dag=<architecture id>.")
    mine = sims[sims["arch_key"] == dag]
    sids = [str(int(i)) for i in mine["id"]]

    def _slabel(i: str) -> str:
        r = mine[mine["id"].astype(int) == int(i)].iloc[0]
        p = stored._loads(r["parameters"]) or {}
        return (f"#{i}: {r['activation']} · {r['ensemble']} · N ∈ {{{','.join(str(x) for x in p.get('widths', []))}}}"
                f" · {p.get('samples', '?')} samples · seed {r['seed']}")

    sid = c.url_select("Study of this DAG", "study", sids, format_func=_slabel,
                       help="One stored study at a time. URL: ?study=<id>.") if len(sids) > 1 else sids[0]
    if sid not in sids:
        sid = sids[0]
    row = mine[mine["id"].astype(int) == int(sid)].iloc[0].to_dict()
    result = stored._loads(row.get("result_json")) or {}
    params = stored._loads(row.get("parameters")) or {}
    edges = _edges_of(row.get("spec_json"), row.get("spec"))
    left, right = st.columns([1, 1])
    with left:
        if edges:
            fig, G = _draw_dag(edges, f"{spec_of[dag]} (green: input, red: output)")
            c.pyplot(fig)
            indeg = {v: G.in_degree(v) for v in G.nodes if v != 0}
            st.caption("In-degrees |in(v)|: " + ", ".join(f"{v}: {d}" for v, d in sorted(indeg.items())))
    with right:
        for key in ("hessian_definition", "definition", "refusal", "refused", "note", "warning"):
            if result.get(key):
                st.info(f"Stored {key.replace('_', ' ')}: {result[key]}")
        hdef = definitions.COLUMNS.get("hessian_norm")
        if hdef:
            st.caption(f"Definition (hessian_norm): {hdef}")
        if str(row.get("activation", "")).startswith("relu") and not any(result.get(k) for k in ("hessian_definition", "definition", "refusal", "refused")):
            st.warning("relu is kinked: relu'' is a Dirac delta at the kink, so the Hessian of a relu network is a distribution, "
                       "not a matrix with a spectral norm. `graphexp simulate linearity` refuses kinked activations; this stored "
                       "study predates that refusal and its Hessian norms (finite differences) have no defined limit.")
    pts = stored.study_points(engine, c.db_url(), int(sid))
    d_in = int(params.get("d", 4))
    if pts["m"].isna().any() and edges:
        pts.loc[pts["m"].isna(), "m"] = [_m_of(edges, int(n), d_in) for n in pts.loc[pts["m"].isna(), "N"]]
    recomputed = [_m_of(edges, int(n), d_in) for n in pts["N"]] if edges else list(pts["m"])
    if edges and list(map(int, pts["m"])) != [int(x) for x in recomputed if x is not None]:
        st.warning(f"The stored m ({sorted(set(map(int, pts['m'])))}) differs from m recomputed from the DAG with d = {d_in} "
                   f"({sorted(set(x for x in recomputed if x is not None))}); the plots use the stored m.")
    cols = st.columns(2)
    for col, (q, (title, ylabel)) in zip(cols, QUANTITIES.items()):
        data = pts[pts["quantity"] == q][["N", "m", "value", "stderr"]].astype({"m": int}).sort_values("m").reset_index(drop=True)
        with col:
            if not len(data):
                st.info(f"Study #{sid} stores no `{q}` points.")
                continue
            fit = _fit(data["m"], data["value"], data["stderr"])
            c.pyplot(_plot(data, ylabel, f"{title}\nstudy #{sid}: {row.get('activation')}", fit))
            if "slope" in fit:
                lo, hi = fit["slope_ci"]
                st.metric(f"fitted log-log slope ({ylabel})", f"{fit['slope']:.3f}", help=f"95% confidence interval [{lo:.3f}, {hi:.3f}]; seed 003 predicts −1/2 for ‖H‖₂.")
                st.caption(f"95% CI [{lo:.3f}, {hi:.3f}] from {len(data)} widths.")
            else:
                st.caption(fit.get("error", ""))
            c.record_chart(q, data, title=f"{ylabel} against m (study #{sid})", study=int(sid), x="m", y=q,
                           slope=fit.get("slope"), slope_ci=fit.get("slope_ci"))
    c.provenance_box(stored.provenance(engine, c.db_url(), row.get("provenance_id")), title=f"Provenance of study #{sid}")

with st.expander("Draw another DAG"):
    st.caption(bounded.budget_note())
    text = st.text_area("DAG JSON", '{"kind":"dag","edges":[[0,1],[1,2],[0,2]],"sw":1.0,"sb":0.0}', key="dag_json", help=W["dag"],
                        max_chars=bounded.MAX_TEXT)
    spec, why = stored.call_api("spec", "parse_arch", text, time_s=5)
    if why:
        st.error(f"Bad DAG: {why}")
    elif getattr(spec, "kind", "") != "dag":
        st.error(f"Bad DAG: the spec is a {getattr(spec, 'kind', '?')}, not a dag")
    else:
        edges = [(int(u), int(v)) for u, v in json.loads(text)["edges"]]
        fig, G = _draw_dag(edges, "your DAG (green: input, red: output)")
        c.show_fig(fig, 0.45)
        st.caption(f"m at width N = 64, input width d = 4: {_m_of(edges, 64, 4)}")
