"""Matplotlib/networkx drawings of operator graphs and pairings (UI side of the detail view)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from graphexp_db.catalogue.query import slot_name  # noqa: E402

_KIND_COLOUR = {"N": "#4C72B0", "in": "#55A868", "out": "#C44E52", "one": "#8172B2"}


def _mat_colour(mat: str, mats: list[str]) -> str:
    cmap = plt.get_cmap("tab10")
    return matplotlib.colors.to_hex(cmap(mats.index(mat) % 10))


def draw_operator_graph(graph_json: dict, title: str = ""):
    """The operator graph: vertices are index slots (by layer), edges are matrix entries."""
    slots = graph_json.get("slots", [])
    edges = graph_json.get("edges", [])
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    G = nx.MultiDiGraph()
    for i, s in enumerate(slots):
        G.add_node(i, layer=int(s[1]) if len(s) > 1 and str(s[1]).lstrip("-").isdigit() else 0, kind=s[0])
    mats = sorted({str(e[0]) for e in edges})
    for e in edges:
        G.add_edge(int(e[1]), int(e[2]), mat=str(e[0]))
    if graph_json.get("n_traces"):
        pos = nx.circular_layout(G)
    else:
        try:
            pos = nx.multipartite_layout(G, subset_key="layer", align="horizontal")
            pos = {k: (v[0], -v[1]) for k, v in pos.items()}
        except (KeyError, ValueError, nx.NetworkXException):   # nodes without a layer: no layered layout
            pos = nx.spring_layout(G, seed=1)
    colours = [_KIND_COLOUR.get(G.nodes[n]["kind"], "#999999") for n in G.nodes]
    nx.draw_networkx_nodes(G, pos, node_color=colours, node_size=520, ax=ax)
    nx.draw_networkx_labels(G, pos, labels={i: slot_name(s) for i, s in enumerate(slots)}, font_size=8, font_color="white", ax=ax)
    seen: dict[tuple, int] = {}
    for u, v, _k, d in G.edges(keys=True, data=True):
        key = (min(u, v), max(u, v))
        n = seen.get(key, 0)
        seen[key] = n + 1
        rad = 0.0 if n == 0 else 0.25 * ((n + 1) // 2) * (1 if n % 2 else -1)
        if u == v:
            rad = 0.6
        nx.draw_networkx_edges(
            G, pos, edgelist=[(u, v)], edge_color=_mat_colour(d["mat"], mats), arrows=True, arrowsize=12,
            connectionstyle=f"arc3,rad={rad}", node_size=520, width=1.8, ax=ax,
        )
    handles = [matplotlib.lines.Line2D([], [], color=_mat_colour(m, mats), lw=2, label=m) for m in mats]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="best", frameon=False)
    ax.set_title(title or "operator graph", fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    return fig


def draw_chord_diagram(graph_json: dict, blocks: list, title: str = ""):
    """A trace word's letters on a circle (in cyclic order) with chords joining paired letters."""
    edges = graph_json.get("edges", [])
    n = len(edges)
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.add_patch(plt.Circle((0, 0), 1.0, fill=False, color="#888888", lw=1))
    pts = [(math.cos(math.pi / 2 - 2 * math.pi * i / max(n, 1)), math.sin(math.pi / 2 - 2 * math.pi * i / max(n, 1))) for i in range(n)]
    for i, e in enumerate(edges):
        x, y = pts[i]
        name = str(e[0]) + ("ᵀ" if len(e) > 3 and e[3] else "") + ("*" if len(e) > 4 and e[4] else "")
        ax.plot([x], [y], "o", color="#4C72B0", ms=8)
        ax.text(1.15 * x, 1.15 * y, f"{i}:{name}", ha="center", va="center", fontsize=8)
    cmap = plt.get_cmap("tab10")
    for j, block in enumerate(blocks or []):
        block = [int(b) for b in block]
        for a, b in zip(block, block[1:]):
            if a >= n or b >= n:
                continue
            (x1, y1), (x2, y2) = pts[a], pts[b]
            # a quadratic Bezier through a point pulled toward the centre: a chord that bends inward
            cx, cy = 0.25 * (x1 + x2), 0.25 * (y1 + y2)
            ts = [t / 30 for t in range(31)]
            xs = [(1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t**2 * x2 for t in ts]
            ys = [(1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t**2 * y2 for t in ts]
            ax.plot(xs, ys, color=cmap(j % 10), lw=2)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or "pairing (chord diagram)", fontsize=10)
    fig.tight_layout()
    return fig


def draw_quotient(quotient: list, title: str = ""):
    """The glued quotient graph: vertices are index classes, edges are the pairs (multi-edges bent)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    G = nx.MultiGraph()
    mats = sorted({str(q[2]) if len(q) > 2 else "" for q in quotient or []})
    for qe in quotient or []:
        G.add_edge(int(qe[0]), int(qe[1]), mat=str(qe[2]) if len(qe) > 2 else "")
    if G.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no quotient stored", ha="center", va="center")
        ax.axis("off")
        return fig
    pos = nx.kamada_kawai_layout(nx.Graph(G)) if G.number_of_nodes() > 2 else nx.circular_layout(G)
    nx.draw_networkx_nodes(G, pos, node_color=["#C44E52" if n < 0 else "#4C72B0" for n in G.nodes], node_size=380, ax=ax)
    nx.draw_networkx_labels(G, pos, font_size=8, font_color="white", ax=ax)
    seen: dict[tuple, int] = {}
    for u, v, d in G.edges(data=True):
        key = (min(u, v), max(u, v))
        n = seen.get(key, 0)
        seen[key] = n + 1
        rad = 0.0 if n == 0 else 0.3 * ((n + 1) // 2) * (1 if n % 2 else -1)
        nx.draw_networkx_edges(
            nx.DiGraph([(u, v)]), pos, edgelist=[(u, v)], edge_color=_mat_colour(d["mat"], mats), arrows=True,
            arrowstyle="-", connectionstyle=f"arc3,rad={rad if u != v else 0.6}", width=2, ax=ax,
        )
    ax.set_title(title or "glued quotient graph", fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    return fig


def loglog_with_slope(x, y, xlabel: str, ylabel: str, title: str = "", yerr=None):
    """Log-log scatter with the least-squares slope (and its standard error) drawn as a line."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    slope = se = None
    if ok.sum() >= 1:
        ax.errorbar(x[ok], y[ok], yerr=None if yerr is None else np.asarray(yerr, dtype=float)[ok], fmt="o", ms=5, capsize=3)
    if ok.sum() >= 2:
        lx, ly = np.log(x[ok]), np.log(y[ok])
        A = np.vstack([lx, np.ones_like(lx)]).T
        coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
        slope, icpt = float(coef[0]), float(coef[1])
        if ok.sum() > 2:
            resid = ly - A @ coef
            s2 = float(resid @ resid) / (ok.sum() - 2)
            se = math.sqrt(s2 / float(((lx - lx.mean()) ** 2).sum())) if ((lx - lx.mean()) ** 2).sum() > 0 else None
        xs = np.linspace(lx.min(), lx.max(), 50)
        ax.plot(np.exp(xs), np.exp(icpt + slope * xs), "-", color="#C44E52", label=f"slope {slope:.3f}" + (f" ± {se:.3f}" if se else ""))
        ax.legend(frameon=False)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig, slope, se


def series_vs_mc(Ns, curve, limit: float, mc: list[dict], title: str = ""):
    """The series sum_j a_j N^-j against N (log axis), its N -> inf limit, and Monte Carlo means with
    one-standard-error bars."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(Ns, curve, "-", color="#4C72B0", label="series in 1/N")
    ax.axhline(limit, ls="--", color="#888888", label="N -> inf limit")
    if mc:
        ax.errorbar([m["N"] for m in mc], [m["mean"] for m in mc], yerr=[m["stderr"] for m in mc], fmt="o", ms=5, capsize=3,
                    color="#C44E52", label="Monte Carlo (simulate kernel)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width N")
    ax.set_ylabel("E[f(x) f(y)]")
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
