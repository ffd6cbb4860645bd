"""Text renderings of stored operator graphs: Graphviz DOT, graph6 and the commands that reproduce them.

Pure functions of the JSON stored in ``operator_graph.graph_json`` (no database, no I/O), shared by
the CLI and the web UI.
"""

from __future__ import annotations

import json
import re

__all__ = ["graph_dot", "graph_graph6", "graph6_dropped", "reproduce_commands", "slot_name"]


def graph_dot(graph_json: dict, label: str = "G") -> str:
    """Graphviz DOT of an operator graph's JSON (slots = vertices, matrix entries = edges).

    Parameters
    ----------
    graph_json : dict
        The stored ``graph_json``: ``slots`` (``[kind, node, tag, mark]`` each) and ``edges``
        (``[mat, row, col, flip, conj, ...]`` each, row and col indexing the slots).
    label : str
        The digraph's name (the catalogue label).

    Returns
    -------
    str
        A ``digraph`` with one vertex per slot (labelled by :func:`slot_name`) and one arc per matrix
        entry, labelled by its matrix (``ᵀ`` transposed, ``*`` conjugated).

    Examples
    --------
    >>> print(graph_dot({"slots": [["N", 1, "", 0], ["in", 0, "x", 0]], "edges": [["W1", 0, 1, 0, 0, 0]]}, "g"))
    digraph "g" {
      0 [label="N1"];
      1 [label="in:x"];
      0 -> 1 [label="W1"];
    }
    """
    lines = [f'digraph "{_dot_escape(label)}" {{']
    for i, s in enumerate(graph_json.get("slots", [])):
        lines.append(f'  {i} [label="{_dot_escape(slot_name(s))}"];')
    for e in graph_json.get("edges", []):
        mat, row, col = e[0], e[1], e[2]
        extra = ("ᵀ" if len(e) > 3 and e[3] else "") + ("*" if len(e) > 4 and e[4] else "")
        lines.append(f'  {row} -> {col} [label="{_dot_escape(str(mat) + extra)}"];')
    lines.append("}")
    return "\n".join(lines)


def slot_name(s) -> str:
    """A short vertex name for a slot ``[kind, node, tag, mark]``.

    Parameters
    ----------
    s : sequence
        A slot as stored: kind (``N``, ``d``, ``in``, ``one``, ``out``, ...), then optionally the
        layer node, the input tag and the mark.

    Returns
    -------
    str
        ``in:<tag>`` for inputs, ``1`` for bias slots, ``out`` for the output, else kind + node.

    Examples
    --------
    >>> [slot_name(s) for s in (["N", 2, "", 0], ["in", 0, "y", 0], ["one", 0], ["out"])]
    ['N2', 'in:y', '1', 'out']
    """
    kind, node = s[0], s[1] if len(s) > 1 else ""
    tag = s[2] if len(s) > 2 else ""
    if kind == "in":
        return f"in:{tag}" if tag else "in"
    if kind == "one":
        return "1"
    if kind == "out":
        return "out"
    return f"{kind}{node}"


def _dot_escape(s: str) -> str:
    return str(s).replace("\\", "\\\\").replace('"', '\\"')


def graph6_dropped(graph_json: dict) -> tuple[int, int]:
    """``(multi_edges, loops)`` that the simple-graph graph6 export drops: repeated vertex pairs
    (parallel or antiparallel edges beyond the first) and self-loops.

    Parameters
    ----------
    graph_json : dict
        The stored ``graph_json``: ``slots`` (``[kind, node, tag, mark]`` each) and ``edges``
        (``[mat, row, col, flip, conj, ...]`` each, row and col indexing the slots).

    Returns
    -------
    (int, int)
        The number of dropped multi-edges and of dropped loops.

    Examples
    --------
    >>> graph6_dropped({"slots": [["N", 0], ["N", 1]], "edges": [["W", 0, 1], ["V", 1, 0], ["U", 1, 1]]})
    (1, 1)
    """
    seen: set[tuple[int, int]] = set()
    multi = loops = 0
    for e in graph_json.get("edges", []):
        u, v = int(e[1]), int(e[2])
        if u == v:
            loops += 1
            continue
        k = (min(u, v), max(u, v))
        if k in seen:
            multi += 1
        seen.add(k)
    return multi, loops


def graph_graph6(graph_json: dict) -> str:
    """graph6 string of the underlying simple undirected graph: graph6 cannot hold multi-edges, loops,
    directions or edge colours, so they are dropped (:func:`graph6_dropped` counts what is lost; the
    DOT and JSON exports keep everything).

    Parameters
    ----------
    graph_json : dict
        The stored ``graph_json``: ``slots`` (``[kind, node, tag, mark]`` each) and ``edges``
        (``[mat, row, col, flip, conj, ...]`` each, row and col indexing the slots).

    Returns
    -------
    str
        The graph6 string, without the ``>>graph6<<`` header.

    Examples
    --------
    The path 0 - 1 - 2:

    >>> graph_graph6({"slots": [["N", 0], ["N", 1], ["N", 2]], "edges": [["W", 0, 1], ["W", 1, 2]]})
    'Bg'
    """
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(len(graph_json.get("slots", []))))
    for e in graph_json.get("edges", []):
        if e[1] != e[2]:
            G.add_edge(int(e[1]), int(e[2]))
    return nx.to_graph6_bytes(G, header=False).decode().strip()


def reproduce_commands(graph: dict, architecture: dict | None = None, db_url: str | None = None, ensemble: str | None = None) -> tuple[str, str]:
    """The CLI lines and the Python snippet that reproduce a stored graph (and its pairings).

    Parameters
    ----------
    graph : dict
        The ``operator_graph`` row: ``shape``, ``quantity``, ``order``, ``label``, and ``index``,
        ``n_edges``, ``n_pairings`` where known.
    architecture : dict, optional
        The ``architecture`` row; its ``spec`` is the ``--arch`` of network graphs (needed for DAGs).
    db_url : str, optional
        A ``--db`` to add to the commands.
    ensemble : str, optional
        A non-Gaussian ``--ensemble`` to add.

    Returns
    -------
    cli : str
        ``graphexp expand ...`` and ``graphexp query ...`` lines.
    py : str
        A Python snippet that rebuilds the graph and prints its edge and pairing counts.

    Examples
    --------
    >>> cli, py = reproduce_commands({"shape": "ginibre-p2", "quantity": "trace", "order": 3, "label": "ginibre-p2.tr.o3.1"})
    >>> cli.splitlines()[0]
    'graphexp expand --quantity trace --order 3 --p 2'
    >>> py.splitlines()[1]
    'graph = trace_word_graph(2, 3)'
    """
    shape = str(graph.get("shape", ""))
    quantity = str(graph.get("quantity", ""))
    order = int(graph.get("order", 0) or 0)
    label = str(graph.get("label", ""))
    db = f" --db {db_url}" if db_url else ""
    ens = f" --ensemble {ensemble}" if ensemble and ensemble != "gaussian" else ""
    m = re.match(r"^ginibre-p(\d+)$", shape)
    if quantity == "trace" and m:
        p = int(m.group(1))
        cli = f"graphexp expand --quantity trace --order {order} --p {p}{ens}{db}"
        py = f"from graphexp_db import trace_word_graph\ngraph = trace_word_graph({p}, {order})"
    elif quantity == "gue":
        cli = f"graphexp expand --quantity gue --order {order}{db}"
        py = f"from graphexp_db import gue_graph\ngraph = gue_graph({order})"
    else:
        arch = _arch_spec_of(shape, architecture)
        cli = f"graphexp expand --arch '{arch}' --quantity {quantity} --order {order}{ens}{db}"
        idx = graph.get("index")
        idx = int(idx) if idx is not None and str(idx).isdigit() else 1
        py = (
            "from graphexp_db import canonical_graphs, iter_operator_graphs, parse_arch\n"
            f"classes = canonical_graphs(iter_operator_graphs(parse_arch({arch!r}), {quantity!r}, {order}))\n"
            f"certificate, graph = classes[{idx} - 1]  # labels index the classes sorted by certificate"
        )
    cli += f"\ngraphexp query \"SELECT * FROM operator_graph WHERE label = '{label}'\"{db}"
    npair = graph.get("n_pairings")
    py += (
        "\nfrom graphexp_db import PairingSpace, count_pairings, embed_one\n"
        f"# catalogue row {label!r} (index {graph.get('index')}); its pairings: PairingSpace(graph).pairs(rank), embed_one(graph, pairs)\n"
        f"print(graph.n_edges, count_pairings(graph))  # the catalogue stores n_edges = {graph.get('n_edges')}, n_pairings = {npair}"
    )
    return cli, py


def _arch_spec_of(shape: str, architecture: dict | None) -> str:
    # The architecture row's spec is what runs: a spec string, or a DAG's JSON (a ``dag-<hash>`` shape
    # name alone cannot be parsed back into a DAG).
    if architecture and architecture.get("spec"):
        spec = architecture["spec"]
        if isinstance(spec, str) and spec.lstrip().startswith("{"):
            try:
                return json.dumps(json.loads(spec), sort_keys=True, separators=(",", ":"))
            except ValueError:
                return spec
        if isinstance(spec, str):
            return spec
    m = re.match(r"^(mlp|resnet)-L(\d+)$", shape)
    if m:
        return f"{m.group(1)}:L={m.group(2)}"
    m = re.match(r"^ginibre-p(\d+)$", shape)
    if m:
        return f"ginibre:p={m.group(1)}"
    return shape
