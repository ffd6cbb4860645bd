"""Canonical forms of operator graphs and quotient graphs (pynauty, cross-checked by networkx).

Operator graphs are directed, edge-coloured multigraphs (several copies of one matrix between
the same two indices are common), while nauty works on simple vertex-coloured graphs.  The
encoding is explicit: every edge ``e = mat[row, col]`` becomes an *edge node* coloured by its
matrix (and conjugation), joined to ``row`` directly and to ``col`` through a *port node*; the
port makes direction visible, edge nodes make multi-edges distinct.  Index slots are coloured
by (kind, layer node, input tag, D-mark).  Two graphs are isomorphic iff their certificates are
equal; the certificate also carries the sorted colour classes, so graphs with different colour
multisets can never collide.

Examples
--------
>>> from graphexp_db.expand import trace_word_graph, gue_graph
>>> certificate(gue_graph(2)) == certificate(gue_graph(2))
True
>>> certificate(gue_graph(2)) == certificate(trace_word_graph(1, 2))
False
>>> is_isomorphic_nx(gue_graph(2), gue_graph(2))
True
"""

from __future__ import annotations

import hashlib

import networkx as nx

from .expand import OperatorGraph

__all__ = ["encode", "certificate", "canonical_graphs", "automorphism_generators", "to_networkx", "is_isomorphic_nx", "graph_certificate"]


def encode(graph: OperatorGraph) -> tuple[int, list[tuple[int, int]], list[str]]:
    """The simple vertex-coloured graph nauty sees: (n_vertices, undirected edges, colours).

    Parameters
    ----------
    graph : OperatorGraph
        An operator graph (from :mod:`graphexp_db.expand`).

    Returns
    -------
    n : int
        Number of vertices: the index slots, then an edge node and a port node per edge.
    links : list of (int, int)
        Undirected edges (edge node - row slot, edge node - port, port - column slot).
    colours : list of str
        One colour per vertex: ``s:kind:node:tag:mark`` for slots, ``e:mat:conj`` for edge nodes,
        ``p`` for ports.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> n, links, colours = encode(gue_graph(2))     # tr H^4: 4 slots, 4 edges
    >>> n, len(links), colours[3:6]
    (12, 12, ['s:N:0::0', 'e:H:0', 'p'])
    """
    S = graph.n_slots
    colours = [f"s:{s.kind}:{s.node}:{s.tag}:{s.mark}" for s in graph.slots]
    links: list[tuple[int, int]] = []
    for i, e in enumerate(graph.edges):
        enode, port = S + 2 * i, S + 2 * i + 1
        colours.append(f"e:{e.mat}:{int(e.conj)}")
        colours.append("p")
        links += [(enode, e.row), (enode, port), (port, e.col)]
    return S + 2 * graph.n_edges, links, colours


def _nauty(n: int, links: list[tuple[int, int]], colours: list[str]):
    """The pynauty graph, with colour classes in sorted colour order, and the class signature."""
    import pynauty

    keys = sorted(set(colours))
    index = {k: i for i, k in enumerate(keys)}
    partition: list[set[int]] = [set() for _ in keys]
    for v, c in enumerate(colours):
        partition[index[c]].add(v)
    adjacency: dict[int, list[int]] = {v: [] for v in range(n)}
    for u, v in links:
        adjacency[u].append(v)
    g = pynauty.Graph(n, directed=False, adjacency_dict=adjacency, vertex_coloring=partition)
    signature = "|".join(f"{k}#{len(partition[index[k]])}" for k in keys).encode()
    return g, signature


def graph_certificate(n: int, links: list[tuple[int, int]], colours: list[str]) -> str:
    """Certificate of a simple vertex-coloured graph (hex digest).

    Parameters
    ----------
    n : int
        Number of vertices ``0..n-1``.
    links : list of (int, int)
        Undirected edges.
    colours : list of str
        One colour per vertex; isomorphisms must preserve colours.

    Returns
    -------
    str
        32 hex digits, equal for two graphs iff they are isomorphic as coloured graphs.

    Examples
    --------
    >>> path = graph_certificate(3, [(0, 1), (1, 2)], ["end", "mid", "end"])
    >>> path == graph_certificate(3, [(2, 1), (1, 0)], ["end", "mid", "end"])   # relabelled
    True
    >>> path == graph_certificate(3, [(0, 1), (1, 2)], ["end", "end", "mid"])   # "mid" now at an end
    False
    """
    import pynauty

    g, signature = _nauty(n, links, colours)
    return hashlib.sha256(signature + b"||" + pynauty.certificate(g)).hexdigest()[:32]


def certificate(graph: OperatorGraph) -> str:
    """Canonical certificate of an operator graph (equal iff isomorphic).

    Parameters
    ----------
    graph : OperatorGraph
        An operator graph (from :mod:`graphexp_db.expand`).

    Returns
    -------
    str
        32 hex digits (:func:`graph_certificate` of :func:`encode`).

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> len(certificate(gue_graph(2))), certificate(gue_graph(2)) == certificate(gue_graph(3))
    (32, False)
    """
    return graph_certificate(*encode(graph))


def automorphism_generators(graph: OperatorGraph) -> list[list[int]]:
    """Generators of Aut(graph) as permutations of the graph's edges.

    Parameters
    ----------
    graph : OperatorGraph
        An operator graph (from :mod:`graphexp_db.expand`).

    Returns
    -------
    list of list of int
        Each generator as the list ``perm`` with edge ``e`` mapped to ``perm[e]``.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> automorphism_generators(gue_graph(2))       # the directed 4-cycle of tr H^4: rotations
    [[1, 2, 3, 0]]
    """
    import pynauty

    g, _ = _nauty(*encode(graph))
    gens = pynauty.autgrp(g)[0]
    S = graph.n_slots
    return [[(perm[S + 2 * e] - S) // 2 for e in range(graph.n_edges)] for perm in gens]


def to_networkx(graph: OperatorGraph) -> nx.Graph:
    """The same encoding as a networkx graph with a ``colour`` node attribute.

    Parameters
    ----------
    graph : OperatorGraph
        An operator graph (from :mod:`graphexp_db.expand`).

    Returns
    -------
    networkx.Graph
        The graph of :func:`encode`, each node carrying its ``colour``.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> g = to_networkx(gue_graph(2))
    >>> g.number_of_nodes(), g.number_of_edges(), g.nodes[4]["colour"]
    (12, 12, 'e:H:0')
    """
    n, links, colours = encode(graph)
    g = nx.Graph()
    g.add_nodes_from((v, {"colour": colours[v]}) for v in range(n))
    g.add_edges_from(links)
    return g


def is_isomorphic_nx(a: OperatorGraph, b: OperatorGraph) -> bool:
    """Isomorphism by networkx VF2 (the independent check of the certificates).

    Parameters
    ----------
    a, b : OperatorGraph
        The two operator graphs.

    Returns
    -------
    bool
        Whether their encodings are isomorphic with colours preserved.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> is_isomorphic_nx(gue_graph(2), gue_graph(2)), is_isomorphic_nx(gue_graph(2), trace_word_graph(1, 2))
    (True, False)
    """
    return nx.is_isomorphic(to_networkx(a), to_networkx(b), node_match=lambda x, y: x["colour"] == y["colour"])


def canonical_graphs(graphs) -> list[tuple[str, OperatorGraph]]:
    """Merge isomorphic graphs (summing their coefficients) and sort by certificate.

    The tree expansion sums over *ordered* tuples of trees; two tuples can give isomorphic glued
    graphs (e.g. swapping two trees that have no input leaves), and the catalogue stores
    isomorphism classes.  The position in the returned list (1-based) is the stable index used
    in labels.

    Parameters
    ----------
    graphs : iterable of OperatorGraph
        Graphs with their coefficients (ordered tuples of trees, glued).

    Returns
    -------
    list of (str, OperatorGraph)
        ``(certificate, representative)`` per isomorphism class, sorted by certificate; the
        representative's ``coefficient`` is the sum over its class.

    Examples
    --------
    >>> from graphexp_db.expand import iter_operator_graphs
    >>> from graphexp_db.spec import parse_arch
    >>> ordered = list(iter_operator_graphs(parse_arch("mlp:L=1"), "covariance", 0))
    >>> classes = canonical_graphs(ordered)
    >>> len(ordered), len(classes), sum(g.coefficient for _, g in classes) == sum(g.coefficient for g in ordered)
    (4, 3, True)
    """
    merged: dict[str, OperatorGraph] = {}
    for g in graphs:
        cert = certificate(g)
        if cert in merged:
            merged[cert] = merged[cert].replace(coefficient=merged[cert].coefficient + g.coefficient)
        else:
            merged[cert] = g
    return sorted(merged.items())
