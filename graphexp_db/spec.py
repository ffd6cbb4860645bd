"""Architecture, activation and weight-ensemble specifications (MISSION.md F1).

Specs are parsed from the short strings of the CLI (``mlp:L=3,sw=1.5,sb=0.1``,
``resnet:L=16,sw=1.0``, ``poly:0,1,1/2``, ``sparse:0.3``) or from the JSON form of a
layer DAG, validated, normalised and hashed.  Every number is kept exact
(:class:`fractions.Fraction`) so that the same spec always maps to the same hash and
the same catalogue row, whatever the key order or spelling (``1.0`` vs ``1``).

Architectures live here; numbers and caps in :mod:`graphexp_db.spec_numbers`, activations in
:mod:`graphexp_db.spec_activation`, ensembles in :mod:`graphexp_db.spec_ensemble` (all re-exported).

Examples
--------
>>> s = parse_arch("mlp:sb=0.1,L=3,sw=1.5")
>>> s.L, s.sw, s.sb
(3, Fraction(3, 2), Fraction(1, 10))
>>> s.spec_hash == parse_arch("mlp:L=3,sw=1.50,sb=1/10").spec_hash
True
>>> s.shape
'mlp-L3'
>>> parse_activation("poly:0,1,1/2").coeffs
(Fraction(0, 1), Fraction(1, 1), Fraction(1, 2))
>>> parse_arch("mlp:L=0")
Traceback (most recent call last):
...
graphexp_db.errors.SpecError: depth L must be a positive integer, got 0
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from .errors import SpecError
from .spec_activation import ACTIVATIONS, Activation, parse_activation
from .spec_ensemble import ENSEMBLES, Ensemble, parse_ensemble
from .spec_numbers import (
    LIMITS,
    MAX_DAG_EDGES,
    MAX_DAG_NODES,
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_JSON_DEPTH,
    MAX_ORDER,
    MAX_P,
    MAX_SPEC_CHARS,
    _fraction_text,
    _hash,
    _parse_params,
    canonical_json,
    check_inputs,
    parse_number,
    parse_vector,
)

__all__ = [
    "SpecError",
    "MLPSpec",
    "ResNetSpec",
    "DagSpec",
    "Activation",
    "Ensemble",
    "ACTIVATIONS",
    "ENSEMBLES",
    "parse_arch",
    "parse_activation",
    "parse_ensemble",
    "parse_number",
    "parse_vector",
    "check_inputs",
    "check_quantity",
    "Quantity",
    "canonical_json",
    "LIMITS",
]


class Quantity(StrEnum):
    """The quantities of the tree expansion and of trace words (a ``str``: ``Quantity.NTK == "ntk"``).

    Tree quantities (``COVARIANCE``, ``NTK``, ``FOURPOINT``) need an architecture; ``JACOBIAN`` is a
    trace word of an MLP's Jacobian; ``TRACE`` (Ginibre products) and ``GUE`` take none.

    Parameters
    ----------
    value : str
        The name: ``covariance``, ``ntk``, ``fourpoint``, ``jacobian``, ``trace`` or ``gue``
        (anything else raises ``ValueError``; :func:`check_quantity` turns it into a one-line SpecError).

    Examples
    --------
    >>> Quantity("ntk") is Quantity.NTK, Quantity.GUE.is_tree, [q.value for q in Quantity if q.is_tree]
    (True, False, ['covariance', 'ntk', 'fourpoint'])
    """

    COVARIANCE = "covariance"
    NTK = "ntk"
    FOURPOINT = "fourpoint"
    JACOBIAN = "jacobian"
    TRACE = "trace"
    GUE = "gue"

    @property
    def is_tree(self) -> bool:
        """True for the quantities of the tree expansion of a network (covariance, ntk, fourpoint)."""
        return self in (Quantity.COVARIANCE, Quantity.NTK, Quantity.FOURPOINT)

    @property
    def takes_arch(self) -> bool:
        """False for trace words of Ginibre products and GUE, which take no architecture."""
        return self not in (Quantity.TRACE, Quantity.GUE)


def check_quantity(quantity: Quantity | str, arch=None, order: int | None = None, *, p: int | None = None, ensemble=None) -> None:
    """Refuse a quantity / architecture / order / p / ensemble combination that means nothing.

    Cheap checks only (no enumeration, no size estimate): ``trace`` and ``gue`` take no
    architecture, tree quantities need one, ``jacobian`` needs an MLP, ``p`` belongs to ``trace``
    only and is 1..:data:`MAX_P`, orders are 0..:data:`MAX_ORDER`.

    Parameters
    ----------
    quantity : str
        ``covariance``, ``ntk``, ``fourpoint`` (tree quantities), ``jacobian``, ``trace`` or ``gue``.
    arch : MLPSpec, ResNetSpec or DagSpec, optional
        The architecture; ``None`` for ``trace`` and ``gue``.
    order : int, optional
        The order of the expansion (power of 1/N for tree quantities, from 0; moment k otherwise, from 1).
    p : int, optional
        Number of Ginibre factors of a ``trace`` word.
    ensemble : str or Ensemble, optional
        The weight ensemble; ``gue`` allows only ``gaussian``.

    Returns
    -------
    None
        The combination is meaningful.

    Raises
    ------
    SpecError
        With a one-line reason naming the offending option.

    Examples
    --------
    >>> check_quantity("trace", None, 3, p=2)
    >>> check_quantity("gue", parse_arch("mlp:L=1"), 2)
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: quantity gue takes no architecture (drop --arch)
    >>> check_quantity("trace", None, 3, p=0)
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: --p must be an integer from 1 to 16 (number of Ginibre factors), got 0
    """
    if quantity not in Quantity.__members__.values():
        raise SpecError(f"unknown quantity {str(quantity)[:40]!r} (expected one of {', '.join(Quantity)})")
    quantity = Quantity(quantity)
    tree = tuple(q for q in Quantity if q.is_tree)
    if not quantity.takes_arch and arch is not None:
        raise SpecError(f"quantity {quantity} takes no architecture (drop --arch)")
    if quantity.takes_arch and arch is None:
        raise SpecError(f"--arch is needed for quantity {quantity}")
    if quantity == "jacobian" and arch is not None and getattr(arch, "kind", None) != "mlp":
        raise SpecError("jacobian trace words need an mlp architecture (square net)")
    if quantity in tree + ("jacobian",) and getattr(arch, "kind", None) == "resnet" and getattr(arch, "L", 0) is None:
        raise SpecError("resnet:L=inf is the ODE limit; operator graphs need a finite depth L")
    if p is not None:
        if quantity != "trace":
            raise SpecError(f"--p (number of Ginibre factors) belongs to quantity trace, not {quantity}")
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= MAX_P:
            raise SpecError(f"--p must be an integer from 1 to {MAX_P} (number of Ginibre factors), got {p}")
    if order is not None:
        lo = 0 if quantity in tree else 1
        if isinstance(order, bool) or not isinstance(order, int) or not lo <= order <= MAX_ORDER:
            raise SpecError(f"order must be an integer from {lo} to {MAX_ORDER} for {quantity}, got {order}")
    if ensemble is not None:
        ens = parse_ensemble(ensemble)
        if quantity == "gue" and ens.name != "gaussian":
            raise SpecError("gue has its own (Hermitian Gaussian) ensemble; leave --ensemble at gaussian")



# --------------------------------------------------------------------------- architectures
@dataclass(frozen=True)
class MLPSpec:
    """MLP(L): L hidden layers, L+1 weight matrices (CONVENTIONS.md).

    Parameters
    ----------
    L : int
        Number of hidden (nonlinear) layers (:func:`parse_arch` accepts 1..:data:`MAX_DEPTH`).
    sw : Fraction, default 1
        sigma_w, the weight scale.
    sb : Fraction, default 0
        sigma_b, the bias scale.

    Attributes
    ----------
    kind : str
        Always ``"mlp"``.

    Examples
    --------
    >>> from fractions import Fraction
    >>> s = MLPSpec(2, Fraction(3, 2))
    >>> str(s), s.shape, s == parse_arch("mlp:L=2,sw=1.5")
    ('mlp:L=2,sw=3/2,sb=0', 'mlp-L2', True)
    """

    L: int
    sw: Fraction = Fraction(1)
    sb: Fraction = Fraction(0)
    kind: str = field(default="mlp", init=False)

    def as_dict(self) -> dict:
        return {"kind": "mlp", "L": self.L, "sw": self.sw, "sb": self.sb}

    @property
    def shape(self) -> str:
        """Combinatorial shape: operator graphs depend on it only (not on sw, sb)."""
        return f"mlp-L{self.L}"

    @property
    def spec_hash(self) -> str:
        return _hash(self.as_dict())

    def __str__(self) -> str:
        return f"mlp:L={self.L},sw={_fraction_text(self.sw)},sb={_fraction_text(self.sb)}"


@dataclass(frozen=True)
class ResNetSpec:
    """ResNet(L) with branches scaled by 1/sqrt(L); ``L=None`` is the infinite-depth ODE limit.

    Parameters
    ----------
    L : int or None
        Number of residual blocks, or ``None`` for ``resnet:L=inf`` (the depth limit after the width limit).
    sw : Fraction, default 1
        sigma_w, the weight scale (ResNets here have no biases).

    Attributes
    ----------
    kind : str
        Always ``"resnet"``.

    Examples
    --------
    >>> str(ResNetSpec(None)), ResNetSpec(16).shape
    ('resnet:L=inf,sw=1', 'resnet-L16')
    >>> ResNetSpec(16).spec_hash == parse_arch("resnet:L=16,sw=1.0").spec_hash
    True
    """

    L: int | None
    sw: Fraction = Fraction(1)
    kind: str = field(default="resnet", init=False)

    def as_dict(self) -> dict:
        return {"kind": "resnet", "L": "inf" if self.L is None else self.L, "sw": self.sw}

    @property
    def shape(self) -> str:
        return f"resnet-L{'inf' if self.L is None else self.L}"

    @property
    def spec_hash(self) -> str:
        return _hash(self.as_dict())

    def __str__(self) -> str:
        return f"resnet:L={'inf' if self.L is None else self.L},sw={_fraction_text(self.sw)}"


@dataclass(frozen=True)
class DagSpec:
    """A layer DAG: node 0 is the input, the unique sink is the output (CONVENTIONS.md).

    Parameters
    ----------
    edges : tuple of (int, int)
        Directed edges u -> v (sorted, as :func:`parse_arch` leaves them); nodes are 0..n-1.
    sw : Fraction, default 1
        sigma_w, the weight scale of every edge.
    sb : Fraction, default 0
        sigma_b, the bias scale of every non-input node.

    Attributes
    ----------
    kind : str
        Always ``"dag"``.

    Examples
    --------
    >>> d = DagSpec(((0, 1), (0, 2), (1, 2)))
    >>> d.n_nodes, d.parents(2), d.order, d.sink
    (3, (0, 1), (0, 1, 2), 2)
    """

    edges: tuple[tuple[int, int], ...]
    sw: Fraction = Fraction(1)
    sb: Fraction = Fraction(0)
    kind: str = field(default="dag", init=False)

    def as_dict(self) -> dict:
        return {"kind": "dag", "edges": [list(e) for e in self.edges], "sw": self.sw, "sb": self.sb}

    @property
    def n_nodes(self) -> int:
        return 1 + max(v for e in self.edges for v in e)

    def parents(self, v: int) -> tuple[int, ...]:
        return tuple(sorted(u for u, w in self.edges if w == v))

    @property
    def order(self) -> tuple[int, ...]:
        """Nodes in topological order (0 first, the sink last)."""
        import networkx as nx

        g = nx.DiGraph(self.edges)
        return tuple(nx.lexicographical_topological_sort(g))

    @property
    def sink(self) -> int:
        return self.order[-1]

    @property
    def shape(self) -> str:
        return "dag-" + _hash([list(e) for e in self.edges])[:8]

    @property
    def spec_hash(self) -> str:
        return _hash(self.as_dict())

    def __str__(self) -> str:
        return canonical_json(self.as_dict())


ArchSpec = MLPSpec | ResNetSpec | DagSpec


def parse_arch(text: str) -> ArchSpec:
    """Parse an architecture: ``mlp:L=..``, ``resnet:L=..``, DAG JSON text or a path to a JSON file.

    Parameters
    ----------
    text : str
        ``mlp:L=3,sw=1.5,sb=0.1``, ``resnet:L=16,sw=1`` (``L=inf`` for the ODE limit), a JSON object
        ``{"kind": "dag", "edges": [[0,1], ...], "sw": .., "sb": ..}`` or the path of a ``.json`` file
        holding one. An already parsed spec (or a dict of the JSON form) is accepted too.

    Returns
    -------
    MLPSpec, ResNetSpec or DagSpec
        The normalised spec: exact numbers, sorted DAG edges.

    Raises
    ------
    SpecError
        with a one-line reason for anything malformed or invalid.

    Examples
    --------
    >>> parse_arch('{"kind":"dag","edges":[[1,2],[0,1],[0,2]],"sw":1.0}').edges
    ((0, 1), (0, 2), (1, 2))
    >>> parse_arch("resnet:L=inf,sw=1").L is None
    True
    >>> parse_arch('{"kind":"dag","edges":[[0,1],[1,2],[2,1]]}')
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: DAG has a cycle through nodes [1, 2]
    """
    if isinstance(text, (MLPSpec, ResNetSpec, DagSpec)):
        return text
    if isinstance(text, dict):
        return _arch_from_dict(text)
    if not isinstance(text, str):
        raise SpecError(f"architecture spec must be text, got {type(text).__name__}")
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"architecture spec longer than {MAX_SPEC_CHARS} characters")
    s = text.strip()
    if not s:
        raise SpecError("empty architecture spec")
    if "\x00" in s:
        raise SpecError("architecture spec contains a NUL byte")
    if s.startswith("{"):
        return _arch_from_dict(_load_json(s, "JSON architecture"))
    if s.endswith(".json") or (os.sep in s and ":" not in s):
        return _arch_from_dict(_load_json(_read_spec_file(s), f"JSON in {s[:200]!r}"))
    kind, _, rest = s.partition(":")
    params = _parse_params(rest, kind)
    if kind in ("dag",):
        raise SpecError("a DAG is given as JSON: '{\"kind\":\"dag\",\"edges\":[[0,1],...]}' or a .json file")
    return _arch_from_dict({"kind": kind, **params})


def _read_spec_file(path: str) -> str:
    """Text of a spec file: a regular file of at most MAX_SPEC_CHARS bytes (not /dev/zero, a FIFO ...)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read architecture file {path[:200]!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SpecError(f"architecture file {path[:200]!r} is not a regular file")
    if st.st_size > MAX_SPEC_CHARS:
        raise SpecError(f"architecture file {path[:200]!r} is larger than {MAX_SPEC_CHARS} bytes")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SPEC_CHARS + 1)
    except OSError as exc:
        raise SpecError(f"cannot read architecture file {path[:200]!r}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SPEC_CHARS:
        raise SpecError(f"architecture file {path[:200]!r} is larger than {MAX_SPEC_CHARS} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"architecture file {path[:200]!r} is not UTF-8 text") from None


def _json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings (computed without recursion)."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def _load_json(text: str, what: str) -> object:
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"{what} longer than {MAX_SPEC_CHARS} characters")
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise SpecError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")

    def bad_constant(name: str):
        raise SpecError(f"malformed {what}: {name} is not a number")

    def bounded_int(t: str) -> int:
        if len(t.lstrip("-")) > MAX_DIGITS:
            raise SpecError(f"malformed {what}: integer with more than {MAX_DIGITS} digits")
        return int(t)

    try:
        return json.loads(text, parse_int=bounded_int, parse_float=lambda t: parse_number(t, "number in " + what), parse_constant=bad_constant)
    except json.JSONDecodeError as exc:
        raise SpecError(f"malformed {what}: {exc.msg} at char {exc.pos}") from None
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"malformed {what}: {str(exc)[:100]}") from None



def _depth(value: object) -> int:
    try:
        q = parse_number(value, "depth")
    except SpecError:
        raise SpecError(f"depth L must be a positive integer, got {value!r}") from None
    if q.denominator != 1 or q <= 0:
        raise SpecError(f"depth L must be a positive integer, got {value}")
    if q > MAX_DEPTH:
        raise SpecError(f"depth L must be at most {MAX_DEPTH}, got {value}")
    return int(q)


def _depth_or_inf(value: object) -> int | None:
    """A depth, or ``None`` for ``inf`` (the ODE limit of a ResNet)."""
    return None if str(value).strip().lower() in ("inf", "infinity") else _depth(value)


def _scale(value: object, name: str) -> Fraction:
    q = parse_number(value, name)
    if q < 0:
        raise SpecError(f"{name} must be >= 0, got {value}")
    return q


def _arch_from_dict(data: object) -> ArchSpec:
    if not isinstance(data, dict):
        raise SpecError("architecture JSON must be an object with a 'kind'")
    if not isinstance(data.get("kind", ""), str):
        raise SpecError("architecture 'kind' must be a string: mlp, resnet or dag")
    kind = str(data.get("kind", "")).strip().lower()[:40]
    allowed = {"mlp": {"kind", "L", "sw", "sb"}, "resnet": {"kind", "L", "sw"}, "dag": {"kind", "edges", "sw", "sb"}}
    if kind not in allowed:
        raise SpecError(f"unknown architecture kind {kind!r} (expected mlp, resnet or dag)")
    unknown = sorted(str(k)[:40] for k in set(data) - allowed[kind])
    if unknown:
        raise SpecError(f"unknown parameter(s) {', '.join(unknown)} for {kind} (allowed: {', '.join(sorted(allowed[kind] - {'kind'}))})")
    sw = _scale(data.get("sw", 1), "sw")
    if kind == "mlp":
        if "L" not in data:
            raise SpecError("mlp spec needs a depth, e.g. mlp:L=2")
        return MLPSpec(L=_depth(data["L"]), sw=sw, sb=_scale(data.get("sb", 0), "sb"))
    if kind == "resnet":
        if "L" not in data:
            raise SpecError("resnet spec needs a depth, e.g. resnet:L=16 or resnet:L=inf")
        return ResNetSpec(L=_depth_or_inf(data["L"]), sw=sw)
    return DagSpec(edges=_validate_dag(data.get("edges")), sw=sw, sb=_scale(data.get("sb", 0), "sb"))


def _validate_dag(edges: object) -> tuple[tuple[int, int], ...]:
    import networkx as nx

    if not isinstance(edges, list) or not edges:
        raise SpecError("DAG needs a non-empty list 'edges' of [from, to] pairs")
    if len(edges) > MAX_DAG_EDGES:
        raise SpecError(f"DAG has {len(edges)} edges (at most {MAX_DAG_EDGES})")
    out: set[tuple[int, int]] = set()
    for e in edges:
        if not (isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in e)):
            raise SpecError(f"malformed DAG edge {str(e)[:60]} (expected [from, to] with integer nodes)")
        u, v = e
        if u < 0 or v < 0:
            raise SpecError(f"DAG node ids must be >= 0, got edge {e!r}")
        if u >= MAX_DAG_NODES or v >= MAX_DAG_NODES:
            raise SpecError(f"DAG node ids must be below {MAX_DAG_NODES}, got edge {str(e)[:60]}")
        if u == v:
            raise SpecError(f"DAG has a self-loop at node {u}")
        out.add((u, v))
    g = nx.DiGraph(sorted(out))
    nodes = set(g.nodes)
    if 0 not in nodes:
        raise SpecError("DAG must contain the input node 0")
    try:
        cycle = nx.find_cycle(g)
        raise SpecError(f"DAG has a cycle through nodes {sorted({u for u, _ in cycle})}")
    except nx.NetworkXNoCycle:
        pass
    missing = sorted(set(range(max(nodes) + 1)) - nodes)
    if missing:
        raise SpecError(f"DAG node ids must be 0..n-1; missing {missing[:20]}{' ...' if len(missing) > 20 else ''}")
    if g.in_degree(0) != 0:
        raise SpecError("node 0 is the input and cannot have incoming edges")
    unreachable = sorted(nodes - nx.descendants(g, 0) - {0})
    if unreachable:
        raise SpecError(f"DAG nodes {unreachable} are unreachable from the input node 0")
    sinks = sorted(v for v in nodes if g.out_degree(v) == 0)
    if len(sinks) != 1:
        raise SpecError(f"DAG must have exactly one output (sink) node, found {sinks}")
    return tuple(sorted(out))

