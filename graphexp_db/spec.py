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
    "canonical_json",
]

ACTIVATIONS = ("relu", "tanh", "erf", "sin", "gelu", "identity", "poly")
ENSEMBLES = ("gaussian", "complex", "rademacher", "uniform", "sparse")


from .errors import SpecError  # noqa: E402  (re-exported: ``from graphexp_db.spec import SpecError``)


# --------------------------------------------------------------------------- numbers
def parse_number(text: str | int | float | Fraction, what: str = "number") -> Fraction:
    """Parse a decimal or fraction exactly (``"1.5"``, ``"1/3"``, ``2``).

    >>> parse_number("0.1"), parse_number("-1/3"), parse_number(2)
    (Fraction(1, 10), Fraction(-1, 3), Fraction(2, 1))
    """
    if isinstance(text, Fraction):
        return text
    if isinstance(text, bool):
        raise SpecError(f"malformed {what}: {text!r}")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise SpecError(f"malformed {what}: {text!r} is not finite")
        # repr gives the shortest decimal that round-trips: 0.1 -> 1/10, not the binary value
        return Fraction(repr(text))
    s = str(text).strip()
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"malformed {what}: {s!r}") from None
    return value


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
    s = str(text).strip()
    if not s:
        raise SpecError("empty architecture spec")
    if s.startswith("{"):
        try:
            data = json.loads(s)
        except json.JSONDecodeError as exc:
            raise SpecError(f"malformed JSON architecture: {exc.msg} at char {exc.pos}") from None
        return _arch_from_dict(data)
    if s.endswith(".json") or (os.sep in s and ":" not in s):
        try:
            with open(s, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise SpecError(f"cannot read architecture file {s!r}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise SpecError(f"malformed JSON in {s!r}: {exc.msg} at line {exc.lineno}") from None
        return _arch_from_dict(data)
    kind, _, rest = s.partition(":")
    params = _parse_params(rest, kind)
    if kind in ("dag",):
        raise SpecError("a DAG is given as JSON: '{\"kind\":\"dag\",\"edges\":[[0,1],...]}' or a .json file")
    return _arch_from_dict({"kind": kind, **params})


def _parse_params(rest: str, kind: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if not rest.strip():
        return params
    for item in rest.split(","):
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
    return int(q)


def _scale(value: object, name: str) -> Fraction:
    q = parse_number(value, name)
    if q < 0:
        raise SpecError(f"{name} must be >= 0, got {value}")
    return q


def _arch_from_dict(data: object) -> ArchSpec:
    if not isinstance(data, dict):
        raise SpecError("architecture JSON must be an object with a 'kind'")
    kind = str(data.get("kind", "")).strip().lower()
    allowed = {"mlp": {"kind", "L", "sw", "sb"}, "resnet": {"kind", "L", "sw"}, "dag": {"kind", "edges", "sw", "sb"}}
    if kind not in allowed:
        raise SpecError(f"unknown architecture kind {kind!r} (expected mlp, resnet or dag)")
    unknown = sorted(set(data) - allowed[kind])
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
    out: set[tuple[int, int]] = set()
    for e in edges:
        if not (isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in e)):
            raise SpecError(f"malformed DAG edge {e!r} (expected [from, to] with integer nodes)")
        u, v = e
        if u < 0 or v < 0:
            raise SpecError(f"DAG node ids must be >= 0, got edge {e!r}")
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
        raise SpecError(f"DAG node ids must be 0..n-1; missing {missing}")
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
    s = str(text).strip()
    name, colon, rest = s.partition(":")
    name = name.strip().lower()
    if name not in ACTIVATIONS:
        raise SpecError(f"unknown activation {s!r} (expected one of relu, tanh, erf, sin, gelu, identity, poly:c0,c1,...)")
    if name != "poly":
        if colon:
            raise SpecError(f"activation {name} takes no parameters, got {s!r}")
        return Activation(name)
    if not rest.strip():
        raise SpecError("poly activation needs coefficients, e.g. poly:0,1,0.5")
    coeffs = [parse_number(c, "polynomial coefficient") for c in rest.split(",")]
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
    s = str(text).strip()
    name, colon, rest = s.partition(":")
    name = name.strip().lower()
    if name in ("real",):
        name = "gaussian"
    if name not in ENSEMBLES:
        raise SpecError(f"unknown ensemble {s!r} (expected gaussian, complex, rademacher, uniform or sparse:p)")
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
