"""Text renderings of stored operator graphs: Graphviz DOT, graph6 and the commands that reproduce them.

Pure functions of the JSON stored in ``operator_graph.graph_json`` (no database, no I/O), shared by
the CLI and the web UI.
"""

from __future__ import annotations

import re

__all__ = ["graph_dot", "graph_graph6", "reproduce_commands", "slot_name"]


def graph_dot(graph_json: dict, label: str = "G") -> str:
    """Graphviz DOT of an operator graph's JSON (slots = vertices, matrix entries = edges).

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
    """A short vertex name for a slot ``[kind, node, tag, mark]``."""
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


def graph_graph6(graph_json: dict) -> str:
    """graph6 string of the underlying simple undirected graph (multi-edges and loops dropped).

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
    py += (
        "\nfrom graphexp_db import PairingSpace, count_pairings, embed_one\n"
        f"# catalogue row {label!r} (index {graph.get('index')}); its pairings: PairingSpace(graph).pairs(rank), embed_one(graph, pairs)"
    )
    return cli, py


def _arch_spec_of(shape: str, architecture: dict | None) -> str:
    if architecture and architecture.get("spec"):
        spec = architecture["spec"]
        if isinstance(spec, str) and not spec.lstrip().startswith("{"):
            return spec
    m = re.match(r"^(mlp|resnet)-L(\d+)$", shape)
    if m:
        return f"{m.group(1)}:L={m.group(2)}"
    m = re.match(r"^ginibre-p(\d+)$", shape)
    if m:
        return f"ginibre:p={m.group(1)}"
    return shape
