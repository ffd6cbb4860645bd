"""Architecture, activation and weight-ensemble specifications (MISSION.md F1).

Specs are parsed from the short strings of the CLI (``mlp:L=3,sw=1.5,sb=0.1``,
``resnet:L=16,sw=1.0``, ``poly:0,1,1/2``, ``sparse:0.3``) or from the JSON form of a
layer DAG, validated, normalised and hashed.  Every number is kept exact
(:class:`fractions.Fraction`) so that the same spec always maps to the same hash and
the same catalogue row, whatever the key order or spelling (``1.0`` vs ``1``).

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

import hashlib
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from fractions import Fraction

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
    "canonical_json",
    "LIMITS",
]

ACTIVATIONS = ("relu", "tanh", "erf", "sin", "gelu", "identity", "poly")
ENSEMBLES = ("gaussian", "complex", "rademacher", "uniform", "sparse")


from .errors import SpecError  # noqa: E402  (re-exported: ``from graphexp_db.spec import SpecError``)

# Caps checked *before* any exact number, graph or file content is built, so that no input can
# make parsing hang or exhaust memory (``1e999999999`` would otherwise build a 10^9-digit integer).
MAX_NUMBER_CHARS = 200
MAX_DIGITS = 60          # digits of a mantissa, numerator or denominator
MAX_EXPONENT = 100       # |decimal exponent|
MAX_DEPTH = 10_000       # L of mlp / resnet
MAX_DAG_NODES = 512
MAX_DAG_EDGES = 8192
MAX_POLY_TERMS = 65      # poly: coefficients c_0..c_64
MAX_SPEC_CHARS = 1_000_000
MAX_JSON_DEPTH = 16
MAX_VECTOR_LEN = 10_000
MAX_ORDER = 64           # --order / --k / --n: (2n-1)!! pairings are out of reach long before
MAX_P = 16               # Ginibre factors of a trace word

#: The parsing caps, by name (the UI and the CLI help state them).
LIMITS = {
    "number_chars": MAX_NUMBER_CHARS, "digits": MAX_DIGITS, "exponent": MAX_EXPONENT, "depth": MAX_DEPTH,
    "dag_nodes": MAX_DAG_NODES, "dag_edges": MAX_DAG_EDGES, "poly_terms": MAX_POLY_TERMS,
    "spec_chars": MAX_SPEC_CHARS, "json_depth": MAX_JSON_DEPTH, "vector_len": MAX_VECTOR_LEN,
    "order": MAX_ORDER, "p": MAX_P,
}

_NUMBER_RE = re.compile(
    r"(?P<sign>[+-]?)(?:(?P<num>\d+)/(?P<den>\d+)|(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?)"
)


# --------------------------------------------------------------------------- numbers
def parse_number(text: str | int | float | Fraction, what: str = "number") -> Fraction:
    """Parse a decimal or fraction exactly (``"1.5"``, ``"1/3"``, ``"2e-3"``, ``2``).

    The text is checked against a plain decimal / fraction grammar, with at most
    :data:`MAX_DIGITS` digits per part and a decimal exponent of at most :data:`MAX_EXPONENT`,
    before any :class:`~fractions.Fraction` is built: ``1e999999999`` is refused at once.

    >>> parse_number("0.1"), parse_number("-1/3"), parse_number(2)
    (Fraction(1, 10), Fraction(-1, 3), Fraction(2, 1))
    >>> parse_number("1e999999999")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: number: exponent 999999999 is out of range (at most 100 in absolute value)
    """
    if isinstance(text, Fraction):  # already exact (built by code, not parsed from text)
        return text
    if isinstance(text, bool):
        raise SpecError(f"malformed {what}: {text!r}")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise SpecError(f"malformed {what}: {text!r} is not finite")
        # repr gives the shortest decimal that round-trips: 0.1 -> 1/10, not the binary value
        return parse_number(repr(text), what)
    if not isinstance(text, str):
        raise SpecError(f"malformed {what}: expected a number, got {type(text).__name__}")
    s = text.strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise SpecError(f"malformed {what}: longer than {MAX_NUMBER_CHARS} characters")
    m = _NUMBER_RE.fullmatch(s)
    if m is None or (m.group("num") is None and not (m.group("int") or m.group("frac"))):
        raise SpecError(f"malformed {what}: {s[:40]!r}")
    for part in ("num", "den", "int", "frac"):
        digits = (m.group(part) or "").lstrip("0")
        if len(digits) > MAX_DIGITS:
            raise SpecError(f"{what}: more than {MAX_DIGITS} digits in {s[:40]!r}")
    if m.group("exp") is not None:
        e = m.group("exp").lstrip("+-").lstrip("0")
        if len(e) > 6 or int(e or 0) > MAX_EXPONENT:
            raise SpecError(f"{what}: exponent {m.group('exp').lstrip('+')} is out of range (at most {MAX_EXPONENT} in absolute value)")
    if m.group("den") is not None and int(m.group("den")) == 0:
        raise SpecError(f"malformed {what}: {s!r} divides by zero")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"malformed {what}: {s[:40]!r}") from None


def parse_vector(text: str | list | tuple, what: str = "vector") -> tuple[Fraction, ...]:
    """Parse ``"1,0.5,-1/3"`` (or a sequence of numbers) into exact entries, bounded in length.

    >>> parse_vector("1, 0.5, -1/3")
    (Fraction(1, 1), Fraction(1, 2), Fraction(-1, 3))
    >>> parse_vector("")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: vector is empty
    """
    if isinstance(text, str):
        if len(text) > MAX_VECTOR_LEN * (MAX_NUMBER_CHARS + 1):
            raise SpecError(f"{what} is too long")
        items = [t for t in text.split(",")]
        if len(items) == 1 and not items[0].strip():
            items = []
    elif isinstance(text, (list, tuple)):
        items = list(text)
    else:
        raise SpecError(f"malformed {what}: expected comma-separated numbers")
    if not items:
        raise SpecError(f"{what} is empty")
    if len(items) > MAX_VECTOR_LEN:
        raise SpecError(f"{what} has {len(items)} entries (at most {MAX_VECTOR_LEN})")
    return tuple(parse_number(t, f"{what} entry") for t in items)


def check_inputs(x, y=None, *, dim: int | None = None) -> None:
    """Refuse inputs whose lengths disagree with each other or with the input dimension ``dim``.

    >>> check_inputs([1, 0], [0.6, 0.8], dim=2)
    >>> check_inputs([1, 0], [1, 0, 0])
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: x and y have different dimensions (2 and 3)
    """
    nx_ = len(x)
    if nx_ == 0:
        raise SpecError("x is empty")
    if nx_ > MAX_VECTOR_LEN:
        raise SpecError(f"x has {nx_} entries (at most {MAX_VECTOR_LEN})")
    if y is not None and len(y) != nx_:
        raise SpecError(f"x and y have different dimensions ({nx_} and {len(y)})")
    if dim is not None and nx_ != dim:
        raise SpecError(f"x has {nx_} entries but the input dimension is {dim}")


def check_quantity(quantity: str, arch=None, order: int | None = None, *, p: int | None = None, ensemble=None) -> None:
    """Refuse a quantity / architecture / order / p / ensemble combination that means nothing.

    Cheap checks only (no enumeration, no size estimate): ``trace`` and ``gue`` take no
    architecture, tree quantities need one, ``jacobian`` needs an MLP, ``p`` belongs to ``trace``
    only and is 1..:data:`MAX_P`, orders are 0..:data:`MAX_ORDER`.

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
    tree = ("covariance", "ntk", "fourpoint")
    known = tree + ("jacobian", "trace", "gue")
    if quantity not in known:
        raise SpecError(f"unknown quantity {str(quantity)[:40]!r} (expected one of {', '.join(known)})")
    if quantity in ("trace", "gue") and arch is not None:
        raise SpecError(f"quantity {quantity} takes no architecture (drop --arch)")
    if quantity not in ("trace", "gue") and arch is None:
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


def _fraction_text(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def canonical_json(obj: object) -> str:
    """Canonical JSON (sorted keys, no spaces, Fractions as exact strings)."""

    def enc(o: object) -> object:
        if isinstance(o, Fraction):
            return _fraction_text(o)
        if isinstance(o, dict):
            return {str(k): enc(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [enc(v) for v in o]
        return o

    return json.dumps(enc(obj), sort_keys=True, separators=(",", ":"))


def _hash(obj: object) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- architectures
@dataclass(frozen=True)
class MLPSpec:
    """MLP(L): L hidden layers, L+1 weight matrices (CONVENTIONS.md)."""

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
    """ResNet(L) with branches scaled by 1/sqrt(L); ``L=None`` is the infinite-depth ODE limit."""

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
    """A layer DAG: node 0 is the input, the unique sink is the output (CONVENTIONS.md)."""

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


def _parse_params(rest: str, kind: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if not rest.strip():
        return params
    items = rest.split(",")
    if len(items) > 16:
        raise SpecError(f"too many parameters in {kind[:20]} spec ({len(items)})")
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key or not value.strip():
            raise SpecError(f"malformed parameter {item.strip()!r} in {kind} spec (expected key=value)")
        if key in params:
            raise SpecError(f"parameter {key!r} given twice in {kind} spec")
        params[key] = value.strip()
    return params


def _depth(value: object, allow_inf: bool = False) -> int | None:
    if allow_inf and str(value).strip().lower() in ("inf", "infinity"):
        return None
    try:
        q = parse_number(value, "depth")
    except SpecError:
        raise SpecError(f"depth L must be a positive integer, got {value!r}") from None
    if q.denominator != 1 or q <= 0:
        raise SpecError(f"depth L must be a positive integer, got {value}")
    if q > MAX_DEPTH:
        raise SpecError(f"depth L must be at most {MAX_DEPTH}, got {value}")
    return int(q)


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
        return ResNetSpec(L=_depth(data["L"], allow_inf=True), sw=sw)
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


# --------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class Activation:
    """An activation by name; ``poly`` carries exact coefficients of 1, z, z^2, ..."""

    name: str
    coeffs: tuple[Fraction, ...] = ()

    def __str__(self) -> str:
        if self.name == "poly":
            return "poly:" + ",".join(_fraction_text(c) for c in self.coeffs)
        return self.name

    @property
    def is_polynomial(self) -> bool:
        return self.name in ("poly", "identity")

    @property
    def poly_coeffs(self) -> tuple[Fraction, ...]:
        """Coefficients of the polynomial (identity is ``(0, 1)``); empty for non-polynomials."""
        if self.name == "identity":
            return (Fraction(0), Fraction(1))
        return self.coeffs

    def taylor(self, degree: int) -> tuple[Fraction, ...]:
        """Taylor coefficients c_0..c_degree at 0 (relu and gelu have none: not analytic); exact
        where they are rational, otherwise rounded to 40 significant digits (erf).

        >>> parse_activation("sin").taylor(5)
        (Fraction(0, 1), Fraction(1, 1), Fraction(0, 1), Fraction(-1, 6), Fraction(0, 1), Fraction(1, 120))
        """
        import sympy

        if self.is_polynomial:
            c = list(self.poly_coeffs) + [Fraction(0)] * (degree + 1)
            return tuple(c[: degree + 1])
        z = sympy.Symbol("z")
        fn = {"tanh": sympy.tanh(z), "erf": sympy.erf(z), "sin": sympy.sin(z)}.get(self.name)
        if fn is None:
            raise SpecError(f"activation {self.name} has no Taylor expansion at 0; use a poly: activation")
        ser = sympy.series(fn, z, 0, degree + 1).removeO()
        out = []
        for k in range(degree + 1):
            c = ser.coeff(z, k)
            # rational coefficients stay exact; irrational ones (erf: 2/sqrt(pi) ...) are rounded
            # to 40 significant digits, far below float precision
            out.append(Fraction(str(sympy.Rational(c))) if c.is_rational else Fraction(str(sympy.N(c, 40))))
        return tuple(out)

    @property
    def act_hash(self) -> str:
        return _hash({"name": self.name, "coeffs": list(self.coeffs)})


def parse_activation(text: str) -> Activation:
    """Parse ``relu|tanh|erf|sin|gelu|identity|poly:c0,c1,...``.

    >>> parse_activation("poly:1,0.5").coeffs
    (Fraction(1, 1), Fraction(1, 2))
    >>> parse_activation("poly:1,0,0")  # trailing zeros are dropped: same hash as poly:1
    Activation(name='poly', coeffs=(Fraction(1, 1),))
    >>> parse_activation("softplus")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: unknown activation 'softplus' (expected one of relu, tanh, erf, sin, gelu, identity, poly:c0,c1,...)
    """
    if isinstance(text, Activation):
        return text
    if not isinstance(text, str):
        raise SpecError(f"activation must be text, got {type(text).__name__}")
    if len(text) > MAX_POLY_TERMS * (MAX_NUMBER_CHARS + 1):
        raise SpecError("activation spec is too long")
    s = text.strip()
    name, colon, rest = s.partition(":")
    name = name.strip().lower()
    if name not in ACTIVATIONS:
        raise SpecError(f"unknown activation {s[:40]!r} (expected one of relu, tanh, erf, sin, gelu, identity, poly:c0,c1,...)")
    if name != "poly":
        if colon:
            raise SpecError(f"activation {name} takes no parameters, got {s!r}")
        return Activation(name)
    if not rest.strip():
        raise SpecError("poly activation needs coefficients, e.g. poly:0,1,0.5")
    parts = rest.split(",")
    if len(parts) > MAX_POLY_TERMS:
        raise SpecError(f"poly activation has {len(parts)} coefficients (at most {MAX_POLY_TERMS})")
    coeffs = [parse_number(c, "polynomial coefficient") for c in parts]
    while len(coeffs) > 1 and coeffs[-1] == 0:
        coeffs.pop()
    return Activation("poly", tuple(coeffs))


# --------------------------------------------------------------------------- ensembles
@dataclass(frozen=True)
class Ensemble:
    """A weight ensemble with unit variance entries (CONVENTIONS.md)."""

    name: str
    p: Fraction | None = None

    def __str__(self) -> str:
        return f"sparse:{_fraction_text(self.p)}" if self.name == "sparse" else self.name

    @property
    def is_complex(self) -> bool:
        return self.name == "complex"

    @property
    def is_gaussian(self) -> bool:
        return self.name in ("gaussian", "complex")

    def moment(self, k: int) -> Fraction:
        """Exact E[w^k] of one entry (real ensembles; odd moments vanish).

        >>> parse_ensemble("uniform").moment(4), parse_ensemble("sparse:1/2").moment(4)
        (Fraction(9, 5), Fraction(6, 1))
        """
        if k % 2:
            return Fraction(0)
        j = k // 2
        dfact = math.prod(range(1, k, 2))
        if self.name == "gaussian":
            return Fraction(dfact)
        if self.name == "rademacher":
            return Fraction(1)
        if self.name == "uniform":
            return Fraction(3**j, 2 * j + 1)
        if self.name == "sparse":
            return dfact * self.p ** (1 - j)
        raise SpecError(f"moments of the {self.name} ensemble are not real moments")

    def cumulant(self, k: int) -> Fraction:
        """Exact cumulant kappa_k of one entry (kappa_2 = 1 for every ensemble).

        >>> [parse_ensemble("rademacher").cumulant(k) for k in (2, 4, 6)]
        [Fraction(1, 1), Fraction(-2, 1), Fraction(16, 1)]
        """
        if self.is_gaussian:
            return Fraction(int(k == 2))
        moments = [Fraction(1)] + [self.moment(j) for j in range(1, k + 1)]
        kappa = [Fraction(0)] * (k + 1)
        for n in range(1, k + 1):  # kappa_n = m_n - sum_{j=1}^{n-1} C(n-1, j-1) kappa_j m_{n-j}
            kappa[n] = moments[n] - sum(math.comb(n - 1, j - 1) * kappa[j] * moments[n - j] for j in range(1, n))
        return kappa[k]


def parse_ensemble(text: str) -> Ensemble:
    """Parse ``gaussian|complex|rademacher|uniform|sparse:p`` (0 < p <= 1).

    >>> parse_ensemble("sparse:0.25").p
    Fraction(1, 4)
    >>> parse_ensemble("sparse:1.5")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: sparse ensemble needs 0 < p <= 1, got 1.5
    """
    if isinstance(text, Ensemble):
        return text
    if not isinstance(text, str):
        raise SpecError(f"ensemble must be text, got {type(text).__name__}")
    if len(text) > MAX_NUMBER_CHARS + 20:
        raise SpecError("ensemble spec is too long")
    s = text.strip()
    name, colon, rest = s.partition(":")
    name = name.strip().lower()
    if name in ("real",):
        name = "gaussian"
    if name not in ENSEMBLES:
        raise SpecError(f"unknown ensemble {s[:40]!r} (expected gaussian, complex, rademacher, uniform or sparse:p)")
    if name != "sparse":
        if colon:
            raise SpecError(f"ensemble {name} takes no parameter, got {s!r}")
        return Ensemble(name)
    if not rest.strip():
        raise SpecError("sparse ensemble needs a probability, e.g. sparse:0.3")
    p = parse_number(rest, "sparse probability")
    if not (0 < p <= 1):
        raise SpecError(f"sparse ensemble needs 0 < p <= 1, got {rest.strip()}")
    return Ensemble("sparse", p)
