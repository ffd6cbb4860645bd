"""Definitions shown inline in the web UI and the CLI: one place for the help text of every column
and widget, so that the same words explain the same thing everywhere.

``COLUMNS`` documents catalogue and result columns, ``WIDGETS`` the inputs of the web pages and
``PAGES`` the pages themselves.  :func:`help_for` looks a name up in all three.

Examples
--------
>>> help_for("genus").startswith("Genus")
True
>>> help_for("no-such-name")
''
"""

from __future__ import annotations

__all__ = ["COLUMNS", "WIDGETS", "PAGES", "CITATION", "help_for"]

COLUMNS: dict[str, str] = {
    # architecture / expansion
    "shape": "Architecture shape the graphs belong to, e.g. mlp-L2 (MLP with 2 hidden layers), resnet-L4, dag-…, ginibre-p2 (product of 2 Ginibre matrices), gue.",
    "kind": "Architecture family: mlp, resnet, dag, ginibre (trace words of Ginibre products) or gue.",
    "spec": "The architecture spec as typed on the command line (mlp:L=2,sw=1.5,sb=0.1) or the DAG JSON.",
    "spec_hash": "Canonical, order-independent hash of the architecture spec; the same spec always maps to the same row.",
    "depth": "Number of hidden layers L.",
    "sw": "sigma_w: weight standard deviation (CONVENTIONS.md).",
    "sb": "sigma_b: bias standard deviation (CONVENTIONS.md).",
    "quantity": "What is expanded: covariance (NNGP, two trees glued at the root), ntk (one marked edge), jacobian (trace words tr[(J J^T)^k]), fourpoint (four trees), trace (Ginibre product words) or gue (tr H^2n).",
    "order": "Expansion order: for covariance/ntk/fourpoint the largest Taylor degree of the activation used at any vertex; for jacobian/trace the power k in tr[(.)^k]; for gue the n in tr[H^2n].",
    "ensemble": "Weight ensemble the pairings are taken in: gaussian, complex, rademacher, uniform or sparse:p (non-Gaussian ensembles pair by cumulant partitions).",
    "activation": "Activation the contributions were evaluated for (empty: contributions stay symbolic in the Taylor/Hermite coefficients c_k).",
    "n_graphs": "Number of operator graphs stored for this (shape, quantity, order).",
    "status": "Fill status of the expansion: running (started, or interrupted: run the same command again to resume) or complete.",
    # operator graphs
    "label": "Stable human-readable label of the operator graph: <shape>.<quantity>.o<order>.<index> (LMFDB style). Opens the detail view.",
    "index": "Position of the graph in the canonical order of its (shape, quantity, order).",
    "certificate": "Canonical form (pynauty certificate with edge colours and multi-edges encoded); equal certificates = isomorphic graphs.",
    "n_vertices": "Number of index slots (vertices) of the operator graph.",
    "n_edges": "Number of matrix entries (edges) of the operator graph; pairings pair these edges.",
    "coefficient": "Integer multiplicity (symmetry factor) with which the graph enters the expansion.",
    "n_pairings": "Exact number of Wick pairings (or cumulant partitions) of the graph's edges in the ensemble.",
    "n_orbits": "Number of pairing orbits under the graph's automorphism group (stored pairing rows are orbit representatives).",
    "complete": "True once the graph's fill finished: its exact aggregates (all pairings) and its orbit rows (up to the per-graph budget) are stored. It does not mean every orbit has a row: see orbit_rows_complete.",
    "orbit_rows_complete": "True when every pairing orbit of the graph has its own stored row; False when the fill stopped at its per-graph budget of orbit rows (64 by default). The exact counts of all pairings are in the aggregates either way.",
    "aggregates_complete": "True when the exact aggregates of ALL pairings (counts by surface and N-exponent) are stored; for Gaussian pairings they add up to n_pairings. Search by genus or N-exponent uses them.",
    "by_surface": "Exact number of pairings on each surface, from the aggregates of all pairings: S<g> orientable genus g, N<h> h crosscaps, X<chi> surface of a non-Gaussian partition identified by its Euler characteristic, Q tree-expansion quotient.",
    "min_n_exponent": "Smallest N-exponent among all the graph's pairings (exact aggregates).",
    # pairings and embeddings
    "rank": "Rank of the pairing in the mixed-radix enumeration (unrank(rank) rebuilds it exactly).",
    "multiplicity": "Size of the pairing's orbit: how many pairings this row stands for.",
    "blocks": "The pairing as blocks of edge indices (pairs for Gaussian weights, larger blocks for cumulants).",
    "V": "Vertices of the glued object. Ribbon graphs (trace words): the number of traces. Quotient graphs (trees): hidden index classes + the output index + one leaf per pair of input or bias edges.",
    "E": "Edges of the glued object: the blocks of the pairing (pairs for Gaussian and complex weights, larger cumulant blocks for other ensembles).",
    "F": "Faces of the ribbon graph (trace words only): the index classes after the identification, i.e. the boundary cycles of the glued surface.",
    "chi": "Euler characteristic. Ribbon graphs: chi = V + E + F - n with n the letters of the word (the hypermap formula), which is V - E + F when every block is a pair. Quotient graphs: chi = V - E.",
    "genus": "Genus of the orientable surface (chi = 2 - 2g for one trace); empty for non-orientable surfaces and for trees.",
    "crosscaps": "Crosscap number h of a non-orientable surface (chi = 2 - h), from twisted real pairings.",
    "orientable": "Whether the glued surface is orientable (complex weights always are).",
    "n_exponent": "The term scales as N^e: e = 0 is leading order (infinite width), e = -1, -2, … are finite-width corrections.",
    "leading": "True when the N-exponent is 0: the pairing contributes to the infinite-width limit.",
    "contribution": "Exact contribution of the pairing in terms of activation coefficients c_k, sw, sb and input-kernel entries.",
    "surface": "Surface type of aggregated counts: S<g> orientable genus g, N<h> non-orientable with h crosscaps, X<chi> a non-Gaussian partition's hypermap identified only by its Euler characteristic chi, Q a quotient graph (tree expansions), none: the graph has no pairing.",
    "count": "Exact number of pairings with this surface and N-exponent.",
    "min_genus": "Smallest genus of an orientable surface among ALL the graph's pairings (exact aggregates, not only stored orbit rows).",
    "max_genus": "Largest genus of an orientable surface among ALL the graph's pairings (exact aggregates).",
    "max_n_exponent": "Largest N-exponent among all the graph's pairings (exact aggregates; 0 means the graph reaches leading order).",
    "n_leading": "Exact number of the graph's pairings with N-exponent 0 (from the aggregates of all pairings).",
    "pairing_id": "Row id of the pairing.",
    "kind_embedding": "ribbon (trace words: a surface with faces) or quotient (trees: the glued quotient graph).",
    "embedding_kind": "ribbon (trace words: a surface with faces) or quotient (trees: the glued quotient graph).",
    # limits and simulations
    "k": "Moment index: m_k = lim (1/N) E tr[(J J^T)^k].",
    "m_k": "k-th moment of the limiting spectrum of J J^T (sum over non-crossing partitions).",
    "N": "Hidden width.",
    "L": "Depth (number of hidden layers or residual blocks).",
    "m": "Minimum neuron in-degree of a DAG network (transition to linearity).",
    "value": "Numerical value (exact rational in the exact column when available).",
    "stderr": "Monte Carlo standard error of the value.",
    "hessian_norm": "Spectral norm of the Hessian of the output in all weights and biases at initialisation; "
                    "smooth activations only (relu's Hessian is a distribution at the kink).",
    "limit_kind": "Which limit nngp_limit/ntk_limit are: gaussian, or for a non-Gaussian ensemble at a fixed input "
                  "dimension d the d->inf limit (first layer and biases taken Gaussian), not its N->inf limit at this d.",
}

WIDGETS: dict[str, str] = {
    "shape": "Architecture shapes to include (empty: all).",
    "kind": "Architecture families to include (empty: all).",
    "quantity": "Quantities to include (empty: all).",
    "order": "Range of expansion orders.",
    "ensemble": "Only pairings in this weight ensemble.",
    "genus": "Keep graphs with at least one pairing on an orientable surface whose genus lies in this range (exact aggregates of all pairings; trees have no surface and drop out when this filter is set). URL: ?genus=3 or ?genus=1..3.",
    "n_exponent": "Keep graphs with at least one pairing whose N-exponent lies in this range (exact aggregates of all pairings). URL: ?nexp=-2..0.",
    "leading_only": "Keep only graphs with a leading-order (N-exponent 0) pairing (exact aggregates).",
    "label_like": "Substring of the label.",
    "columns": "Columns shown in the results table.",
    "sort_by": "Column to sort the results by (labels sort naturally: o2.9 before o2.10).",
    "descending": "Sort in descending order.",
    "open_label": "Open the detail view of this graph (also reachable as ?label=… in the address bar).",
    "pairing": "Which stored pairing (orbit representative) to draw.",
    "random": "Open the detail view of a random stored operator graph.",
    "arch": "Architecture spec, e.g. mlp:L=3,sw=1.5,sb=0.1 or resnet:L=16,sw=1.0.",
    "activation": "Activation by name (relu, tanh, erf, sin, gelu, identity) or poly:c0,c1,….",
    "x": "First input, comma-separated numbers.",
    "y": "Second input, comma-separated numbers.",
    "k_max": "Compute moments m_1 … m_K.",
    "dag": 'Layer DAG as JSON: {"kind":"dag","edges":[[0,1],[1,2],[0,2]],"sw":1.0,"sb":0.0}.',
    "sql": "One read-only query: SELECT, WITH … SELECT, VALUES or EXPLAIN. Anything that writes is refused.",
    "example": "Example queries from docs/schema.md.",
    "row_cap": "At most this many rows are returned; the result says when it was cut.",
    "time_limit": "The query is cut after this many seconds.",
}

PAGES: dict[str, str] = {
    "home": "What the catalogue holds: counts per architecture, quantity and order, and genus distributions.",
    "browse": "Search operator graphs by architecture, quantity, order, genus, N-exponent and ensemble; open one to see its drawing, pairings and embeddings.",
    "limits": "Infinite-width limits (NNGP, NTK), Jacobian moments and spectral density, against Monte Carlo and finite-width convergence.",
    "commutativity": "Seed 002: ResNets with 1/sqrt(L) branches have the same covariance whichever order width and depth go to infinity.",
    "linearity": "Seed 003: networks on a DAG become linear in their weights as the minimum in-degree m grows; the Hessian norm falls like m^(-1/2).",
    "sql": "Read-only SQL over the whole catalogue, with a row cap and a time limit.",
}

CITATION = (
    "Graph Expansions of Deep Neural Networks and their Universal Scaling Limits, arXiv:2407.08459 "
    "(later: Genus expansion for non-linear random matrix ensembles with applications to neural networks); "
    "Commutative Width and Depth Scaling in Deep Neural Networks, arXiv:2310.01683; "
    "Transition to Linearity of General Neural Networks with Directed Acyclic Graph Architecture, arXiv:2205.11786."
)


def help_for(name: str) -> str:
    """Help text for a column, widget or page name (``''`` when undocumented).

    Parameters
    ----------
    name : str
        A catalogue column, app widget or app page name, looked up in that order.

    Returns
    -------
    str
        The one-paragraph help text, or ``''`` when ``name`` is in none of the three tables.

    Examples
    --------
    >>> help_for("no such column")
    ''
    >>> all(help_for(name) for name in COLUMNS)
    True
    """
    return COLUMNS.get(name) or WIDGETS.get(name) or PAGES.get(name) or ""
