"""Exact sums over pairings: genus expansions and finite-width corrections (MISSION.md F5).

* Trace words: ``(1/N) E tr[(W_p...W_1 W_1^T...W_p^T)^k] = sum_j a_j N^-j`` exactly, for real,
  complex and non-Gaussian (cumulant) ensembles; GUE genus tables (Harer–Zagier numbers).
* MLPs and layer DAGs with polynomial activations: ``E[f(x) f(y)]``, the NTK expectation and the
  connected 4-point function ``E[f^4] - 3 E[f^2]^2`` as exact polynomials in 1/N, summed over all
  operator graphs and all their Wick pairings.
* The leading order (N-exponent 0) by a recursive enumeration of the leading pairings only, which
  makes deep nets cheap; it equals the NNGP (and NTK) recursion of CONVENTIONS.md.

All numbers are :class:`fractions.Fraction`.

Examples
--------
>>> trace_series(1, 2, "gaussian")     # real Ginibre: 2 + 1/N
{0: Fraction(2, 1), 1: Fraction(1, 1)}
>>> trace_series(1, 2, "complex")
{0: Fraction(2, 1)}
>>> trace_series(1, 2, "rademacher")   # 2 + (m4 - 2)/N with m4 = 1
{0: Fraction(2, 1), 1: Fraction(-1, 1)}
>>> gue_genus_table(3)[3]
{0: 5, 1: 10}
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .counts import fuss_catalan
from .expand import (
    gue_graph,
    jacobian_graph,
    layer_dag,
    trace_word_graph,
)
from .graph_sums import (  # re-exported: the graph route lives in graph_sums
    DEFAULT_LIMIT,
    _exact_vector,
    _series,
    _tree_series,
    estimate_pairings,
    graph_terms,
    leading_covariance,
    leading_ntk,
    tree_values,
    truncated_graph_sums,
)
from .limits import nngp_limit, ntk_limit
from .pair import count_pairings
from .spec import SpecError, parse_activation, parse_arch, parse_ensemble
from .surfaces import Surface

__all__ = [
    "DEFAULT_LIMIT",
    "TooLarge",
    "graph_terms",
    "trace_series",
    "gue_genus_table",
    "ginibre_genus_table",
    "harer_zagier",
    "fuss_catalan",
    "estimate_pairings",
    "covariance_series",
    "ntk_series",
    "fourpoint_series",
    "FiniteSeries",
    "kernel_matrix_series",
    "METHODS",
    "DEFAULT_MAX_ORDER",
    "leading_covariance",
    "leading_ntk",
    "tree_values",
    "jacobian_genus0_terms",
    "truncated_graph_sums",
    "graph_sum_convergence",
    "jacobian_moment_from_graphs",
]

from .errors import TooLarge  # noqa: E402  (one error type: errors.TooLarge, a SpecError)


# --------------------------------------------------------------------------- trace words
def trace_series(p: int, k: int, ensemble="gaussian", *, limit: int = DEFAULT_LIMIT) -> dict[int, Fraction]:
    """Coefficients a_j of ``(1/N) E tr[(W_p...W_1 W_1^T...W_p^T)^k] = sum_j a_j N^-j``.

    W_i are N x N with i.i.d. entries of variance 1/N from ``ensemble``.

    Parameters
    ----------
    p : int
        Number of matrices in the product (>= 1).
    k : int
        Power of the word (>= 1).
    ensemble : str
        ``gaussian`` (real Ginibre), ``complex`` (the word in W W^*), ``rademacher``, ``uniform`` or
        ``sparse:p``.
    limit : int
        Refuse (:class:`TooLarge`) when the enumeration has more pairings than this.

    Returns
    -------
    dict
        ``{j: a_j}`` with exact Fraction coefficients, without zeros, sorted by ``j``.

    Raises
    ------
    TooLarge
        When the word has more than ``limit`` pairings.

    Examples
    --------
    >>> trace_series(2, 2)
    {0: Fraction(3, 1), 1: Fraction(3, 1), 2: Fraction(3, 1)}
    >>> trace_series(1, 2, "rademacher"), trace_series(1, 2, "complex")   # 2 + (m4 - 2)/N, m4 = 1
    ({0: Fraction(2, 1), 1: Fraction(-1, 1)}, {0: Fraction(2, 1)})
    """
    graph = trace_word_graph(p, k)
    size = count_pairings(graph, ensemble)
    if size > limit:
        raise TooLarge(f"trace word p={p}, k={k} has {size:,} pairings, over the limit {limit:,} (use --force)")
    return _series(graph_terms(graph, ensemble))


def gue_genus_table(n_max: int, *, limit: int = DEFAULT_LIMIT) -> dict[int, dict[int, int]]:
    """Number of pairings of tr[H^(2n)] by genus g, for n = 1..n_max (Harer–Zagier numbers).

    Parameters
    ----------
    n_max : int
        Largest half-degree n.
    limit : int
        Refuse (:class:`TooLarge`) when the enumeration has more pairings than this.

    Returns
    -------
    dict
        ``{n: {g: count}}`` for n = 1..n_max; the counts of each n sum to (2n - 1)!!.

    Raises
    ------
    TooLarge
        When some n has more than ``limit`` pairings (checked before any enumeration).

    Examples
    --------
    >>> gue_genus_table(4)[4]
    {0: 14, 1: 70, 2: 21}
    >>> gue_genus_table(4)[4] == harer_zagier(4)
    True
    """
    for n in range(1, n_max + 1):
        if count_pairings(gue_graph(n)) > limit:
            raise TooLarge(f"gue n={n} has {count_pairings(gue_graph(n)):,} pairings, over the limit {limit:,} (use --force)")
    table = {}
    for n in range(1, n_max + 1):
        g = gue_graph(n)
        counts: dict[int, int] = defaultdict(int)
        for (e, _s, _f), w in graph_terms(g).items():
            counts[-e // 2] += int(w)
        table[n] = dict(sorted(counts.items()))
    return table


def ginibre_genus_table(k_max: int, ensemble="gaussian", *, limit: int = DEFAULT_LIMIT) -> dict[int, dict[str, int]]:
    """Number of pairings of tr[(X X^T)^k] (real Ginibre, ``"gaussian"``) or tr[(X X^*)^k] (``"complex"``)
    by surface, for k = 1..k_max.

    Keys are the surface of the glued word: ``"<g>"`` for an orientable surface of genus g and
    ``"N<h>"`` for a non-orientable one with h crosscaps (real weights only), sorted as strings.

    Parameters
    ----------
    k_max : int
        Largest power k.
    ensemble : str
        ``gaussian`` (real) or ``complex``; any other real ensemble counts as ``gaussian`` here
        (the table counts Wick pairings).
    limit : int
        Refuse (:class:`TooLarge`) when the enumeration has more pairings than this.

    Returns
    -------
    dict
        ``{k: {surface: count}}`` for k = 1..k_max.

    Raises
    ------
    TooLarge
        When some k has more than ``limit`` pairings (checked before any enumeration).

    Examples
    --------
    >>> ginibre_genus_table(3)[3]
    {'0': 5, '1': 1, 'N1': 6, 'N2': 3}
    >>> ginibre_genus_table(3, "complex")[3]
    {'0': 5, '1': 1}
    """
    ens = "complex" if parse_ensemble(ensemble).is_complex else "gaussian"
    for k in range(1, k_max + 1):
        size = count_pairings(trace_word_graph(1, k), ens)
        if size > limit:
            raise TooLarge(f"k={k} has {size:,} pairings, over the limit {limit:,} (use --force)")
    table = {}
    for k in range(1, k_max + 1):
        row: dict[str, int] = defaultdict(int)
        for (_e, surface, _f), w in graph_terms(trace_word_graph(1, k), ens).items():
            genus = Surface.parse(surface).genus
            row[surface if genus is None else str(genus)] += int(w)
        table[k] = dict(sorted(row.items()))
    return table


def harer_zagier(n: int) -> dict[int, int]:
    """Harer–Zagier numbers eps_g(n) by their recursion (independent of any enumeration):
    (n+1) eps_g(n) = 2(2n-1) eps_g(n-1) + (n-1)(2n-1)(2n-3) eps_{g-1}(n-2).

    Parameters
    ----------
    n : int
        Half-degree: the pairings of tr[H^(2n)] (>= 0).

    Returns
    -------
    dict
        ``{g: eps_g(n)}`` for g = 0..n//2 (genus-0 term Catalan(n)).

    Examples
    --------
    >>> harer_zagier(4)
    {0: 14, 1: 70, 2: 21}
    >>> sum(harer_zagier(5).values()) == 9 * 7 * 5 * 3    # every pairing of 10 half-edges: 9!!
    True
    """

    @lru_cache(maxsize=None)
    def eps(g: int, m: int) -> int:
        if g < 0 or m < 0 or 2 * g > m:
            return 0
        if m == 0:
            return int(g == 0)
        val = 2 * (2 * m - 1) * eps(g, m - 1) + (m - 1) * (2 * m - 1) * (2 * m - 3) * eps(g - 1, m - 2)
        return val // (m + 1)

    return {g: eps(g, n) for g in range(n // 2 + 1)}


class FiniteSeries(dict):
    """``{j: a_j}`` of ``sum_j a_j N^-j``, with how it was obtained.

    Attributes
    ----------
    method : ``"recursion"`` (layer recursion) or ``"graphs"`` (sum over operator graphs and pairings)
    exact : True when the coefficients are exact Fractions (polynomial activations)
    max_order : the truncation order J (``None``: the complete polynomial)
    errors : ``{j: bound}`` for floating-point coefficients (quadrature: the change when the
        quadrature rule is refined; closed forms: 0, float64 rounding only)
    oracle : how the Gaussian expectations were evaluated (exact, closed-form, quadrature)
    ensemble : the weight and bias ensemble

    Parameters
    ----------
    data : mapping or iterable of pairs
        The coefficients ``{j: a_j}``.
    method, exact, max_order, errors, oracle, ensemble
        The attributes above (``errors`` defaults to ``{}``, ``ensemble`` is stored as text).

    Examples
    --------
    >>> s = FiniteSeries({0: 1.5, 1: -0.25}, method="recursion", exact=False, max_order=1,
    ...                  errors={0: 0.0, 1: 1e-12}, oracle="quadrature")
    >>> s[1], s.method, s.exact, s.errors[1], s.ensemble
    (-0.25, 'recursion', False, 1e-12, 'gaussian')
    """

    method: str = "graphs"
    exact: bool = True
    max_order: int | None = None
    errors: dict
    oracle: str = "exact"

    def __init__(self, data=(), *, method="graphs", exact=True, max_order=None, errors=None, oracle="exact",
                 ensemble="gaussian"):
        super().__init__(data)
        self.method, self.exact, self.max_order, self.oracle = method, exact, max_order, oracle
        self.ensemble = str(ensemble)
        self.errors = dict(errors or {})


METHODS = ("auto", "graphs", "recursion")
#: default truncation for non-polynomial activations (the series in 1/N does not terminate)
DEFAULT_MAX_ORDER = 1


def _route(arch, activation, quantity: str, xs, *, max_order=None, method="auto", marked=False, ensemble="gaussian",
           **kw) -> FiniteSeries:
    """Pick the route (``auto``: the layer recursion where it applies, else the graph sums)."""
    from . import recursion

    ens = parse_ensemble(ensemble)
    if ens.is_complex:
        raise SpecError("complex weights are for trace words (finite-width trace); networks take real ensembles")
    if method not in METHODS:
        raise SpecError(f"unknown method {method!r} (expected auto, graphs or recursion)")
    if max_order is not None and (not isinstance(max_order, int) or isinstance(max_order, bool) or not 0 <= max_order <= 64):
        raise SpecError(f"max order must be an integer in 0..64, got {max_order!r}")
    act = parse_activation(activation)
    reason = recursion.supports(arch, ens, act, quantity)
    if method == "auto":
        if reason is not None and not act.is_polynomial:
            raise SpecError(reason)   # the graph route sums polynomial activations only: say why the recursion cannot
        method = "recursion" if reason is None else "graphs"
    if method == "recursion":
        if reason is not None:
            raise SpecError(reason + ("; use --method graphs" if ens.is_gaussian else ""))
        return _recursion_route(arch, act, quantity, xs, max_order, ens, kw.get("limit", DEFAULT_LIMIT))
    if not ens.is_gaussian and quantity == "ntk":
        raise SpecError(f"the pairing route's NTK mean needs Gaussian pairings; with {ens} weights use the layer recursion"
                        + (f" ({reason})" if reason else ""))
    return _graph_route(arch, act, quantity, xs, max_order, marked, ensemble=str(ens), **kw)


def _recursion_route(arch, act, quantity, xs, max_order, ens, limit) -> FiniteSeries:
    from . import recursion
    from .moments import CLOSED, EXACT, QUADRATURE, method_of

    oracle = method_of(act)
    if oracle != EXACT and max_order is None:
        max_order = DEFAULT_MAX_ORDER
    forced = limit >= 10**12
    if max_order is not None and max_order > MAX_RECURSION_ORDER and oracle != EXACT and not (forced and oracle == CLOSED):
        hint = " (use --force: its closed form has every derivative)" if oracle == CLOSED else ""
        raise TooLarge(f"max order {max_order} is over {MAX_RECURSION_ORDER} for {act} (derivatives of order "
                       f"{4 * max_order + 2} would be needed){hint}")
    xs = [_exact_vector(x, "x" if i == 0 else "y") for i, x in enumerate(xs)]
    if oracle != EXACT:
        xs = [[float(v) for v in x] for x in xs]
    if quantity == "covariance" and xs[0] == xs[1]:
        quantity, xs = "variance", xs[:1]   # E[f(x)^2] with one site (the same series, no singular pair)
    _check_budget(arch, act, quantity, max_order, limit)
    coeffs = recursion.series(arch, act, xs, quantity, max_order=max_order, ensemble=ens)
    errors = {}
    if oracle == QUADRATURE:
        # report the finer rule's values; the change from the coarse rule bounds their error (the
        # trapezoid converges spectrally: at L = 5, tanh, the fine rule moves by 1e-13 when refined
        # again, while the coarse one is 4e-5 off in a_2, where 8th derivatives enter)
        fine = recursion.series(arch, act, xs, quantity, max_order=max_order, resolution=2)
        errors = {j: abs(fine.get(j, 0.0) - coeffs.get(j, 0.0)) for j in sorted(set(coeffs) | set(fine))}
        coeffs = {j: fine.get(j, 0.0) for j in errors}
    elif oracle != EXACT:
        errors = {j: 0.0 for j in coeffs}
    return FiniteSeries(coeffs, method="recursion", exact=oracle == EXACT, max_order=max_order, errors=errors, oracle=oracle,
                        ensemble=ens)


def _graph_route(arch, act, quantity, xs, max_order, marked, **kw) -> FiniteSeries:
    if quantity == "fourpoint-mixed":
        raise SpecError("the mixed (x, x, y, y) 4-point function has no graph route; use --method recursion")
    xs = [_exact_vector(x, "x" if i == 0 else "y") for i, x in enumerate(xs)]
    coeffs = _tree_series(arch, quantity, act, xs, marked=marked, **kw)
    if quantity == "fourpoint":   # connected: E f^4 - 3 (E f^2)^2
        two = _tree_series(arch, "covariance", act, [xs[0], xs[0]], **kw)
        out: dict = defaultdict(Fraction, coeffs)
        for (i, a), (j, b) in itertools.product(two.items(), repeat=2):
            out[i + j] -= 3 * a * b
        coeffs = {j: v for j, v in sorted(out.items()) if v != 0}
    if max_order is not None:
        coeffs = {j: v for j, v in coeffs.items() if j <= max_order}
    return FiniteSeries(coeffs, method="graphs", exact=True, max_order=max_order, ensemble=kw.get("ensemble", "gaussian"))


#: non-polynomial activations: orders above this need derivatives beyond the jet order
MAX_RECURSION_ORDER = 2


def _check_budget(arch, act, quantity, max_order, limit) -> None:
    """Refuse complete polynomials whose size explodes, before any work (O(depth) arithmetic).

    The state at depth l from the output is a polynomial of degree about ``2 D^l`` in the kernel
    entries of that layer (D the activation's degree); its number of terms is estimated from
    that degree and compared with ``limit / 100``.
    """
    if max_order is not None or not act.is_polynomial:
        return
    if getattr(arch, "kind", None) == "resnet" and arch.L is not None and arch.L > 2 and limit < 10**12:
        # the ResNet state is the empirical moments of h_l: complete polynomials grow fast with L
        # (covariance at L = 3: seconds; 4-point at L = 3: minutes)
        raise TooLarge(f"the complete {quantity} polynomial of {arch} grows quickly beyond L = 2; use --max-order J "
                       "(exact through N^-J) or --force")
    D = max(len(act.poly_coeffs) - 1, 1)
    depth = len(layer_dag(arch).parents) - 2
    n_vars = 1 if quantity == "fourpoint" else 3
    top = 2 if quantity.startswith("fourpoint") else 1
    # degree in the second-deepest layer's variables (the input-fed layer is free)
    if (depth - 1) * math.log2(D) > 40:
        raise TooLarge(f"the complete {quantity} polynomial of {arch} with {act} has degree about {D}^{depth - 1} in the kernel "
                       "entries; use --max-order J (exact through N^-J)")
    deg = top * D ** max(depth - 1, 0)
    terms = math.comb(deg + n_vars, n_vars) * (deg // 2 + 1)
    if terms > limit // 100:
        raise TooLarge(f"the complete {quantity} polynomial of {arch} with {act} needs about {terms:,} terms per layer, "
                       f"over the limit {limit // 100:,}; use --max-order J (exact through N^-J) or --force")


def kernel_matrix_series(arch, activation, X, Y=None, *, quantity: str = "covariance", max_order: int = 1,
                         chunk: int = 128, progress=None) -> dict[int, np.ndarray]:
    """``{j: A_j}`` with ``A_j[a, b]`` the N^-j coefficient of ``quantity`` (covariance or ntk) at
    the input pair ``(X[a], Y[b])``, for a non-polynomial activation (floating point).

    All pairs go through the layer recursion together, ``chunk`` pairs at a time (``K(X, X)``
    computes the upper triangle only).  Quadrature errors are not estimated here: the scalar
    functions state them pair by pair.

    Parameters
    ----------
    arch : MLPSpec or DagSpec
        An architecture the layer recursion covers (Gaussian weights).
    activation : str or Activation
        A non-polynomial activation (``tanh``, ``erf``, ``gelu``, ``sin``, ``relu``).
    X : array_like, shape (P, d)
        The first inputs, one per row.
    Y : array_like, shape (Q, d), optional
        The second inputs; ``None``: ``Y = X`` (symmetric, upper triangle computed).
    quantity : str
        ``covariance`` or ``ntk``.
    max_order : int
        Keep ``N^0 .. N^-max_order``.
    chunk : int
        Input pairs per batch of the recursion.
    progress : callable, optional
        Called with the number of pairs done after each batch.

    Returns
    -------
    dict
        ``{j: A_j}`` for j = 0..max_order, each ``A_j`` a float array of shape (P, Q).

    Raises
    ------
    SpecError
        For a polynomial activation, another quantity, an architecture the recursion does not
        cover, or inputs of different dimensions.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> A = kernel_matrix_series(parse_arch("mlp:L=2"), "tanh", [[1.0, 0.0], [0.6, 0.8]])
    >>> s = covariance_series(parse_arch("mlp:L=2"), "tanh", [1.0, 0.0], [0.6, 0.8])
    >>> bool(abs(A[1][0, 1] - s[1]) < 1e-12 and A[1][0, 1] == A[1][1, 0])
    True
    """
    from . import recursion

    act = parse_activation(activation)
    if act.is_polynomial:
        raise SpecError("kernel matrices are for non-polynomial activations; use covariance_series per pair for exact values")
    if quantity not in ("covariance", "ntk"):
        raise SpecError(f"kernel matrices of {quantity!r} are not supported (covariance or ntk)")
    reason = recursion.supports(arch)
    if reason:
        raise SpecError(reason)
    X = np.asarray(X, dtype=float)
    sym = Y is None
    Y = X if sym else np.asarray(Y, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise SpecError(f"inputs must be matrices with one dimension, got {X.shape} and {Y.shape}")
    ia, ib = np.triu_indices(len(X)) if sym else np.unravel_index(np.arange(len(X) * len(Y)), (len(X), len(Y)))
    out = {j: np.zeros((len(X), len(Y))) for j in range(max_order + 1)}
    # pairs of equal inputs: the covariance is E[f(x)^2], summed with one site (relu's two-site
    # Taylor terms E[delta(u) delta(v)] diverge there)
    same = (X[ia] == Y[ib]).all(axis=1) if quantity == "covariance" else np.zeros(len(ia), dtype=bool)
    for pick, q in ((~same, quantity), (same, "variance")):
        pa, pb = ia[pick], ib[pick]
        for start in range(0, len(pa), chunk):
            a, b = pa[start:start + chunk], pb[start:start + chunk]
            res = recursion.series(arch, act, [X[a], Y[b]] if q != "variance" else [X[a]], q, max_order=max_order)
            for j, vals in res.items():
                out[j][a, b] = vals
                if sym:
                    out[j][b, a] = vals
            if progress is not None:
                progress(len(a))
    return out


def covariance_series(arch, activation, x, y, *, max_order=None, method="auto", **kw) -> FiniteSeries:
    """``E[f(x) f(y)] = sum_j a_j N^-j`` (exact for polynomial activations, coefficients of
    ``N^0..N^-max_order`` otherwise, default ``max_order = 1``).

    ``method``: ``"recursion"`` (layer recursion, :mod:`graphexp_db.recursion`), ``"graphs"`` (sum
    over every operator graph and Wick pairing) or ``"auto"`` (the recursion where it applies: MLPs
    and layer DAGs with Gaussian weights).  Both routes agree exactly.

    Parameters
    ----------
    arch : MLPSpec, ResNetSpec or DagSpec
        The architecture (``spec.parse_arch``).
    activation : str or Activation
        The activation phi; polynomial activations give exact Fractions.
    x, y : sequence
        The two inputs (exact numbers, or floats read as the decimals they print as).
    max_order : int, optional
        Keep ``N^0 .. N^-max_order`` (0..64); ``None``: the complete polynomial (polynomial
        activations) or ``DEFAULT_MAX_ORDER`` (others).
    method : str
        ``auto``, ``recursion`` or ``graphs`` (``METHODS``).
    **kw
        ``ensemble`` (a real weight ensemble, default ``gaussian``), ``limit`` (the size budget,
        default ``DEFAULT_LIMIT``; ``10**12`` is ``--force``), and for the graph route ``xp``
        (array namespace) and ``progress`` (a callback taking a number of pairings done).

    Returns
    -------
    FiniteSeries
        ``{j: a_j}`` without zero coefficients, with the route (``method``), ``exact``,
        ``max_order``, ``errors`` and ``oracle``.

    Raises
    ------
    SpecError
        For a case no route covers (the message says why), a bad method or max order.
    TooLarge
        When the computation is estimated over ``limit``.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> covariance_series(parse_arch("mlp:L=1,sw=1,sb=0"), "poly:0,1,1", [1, 0], [1, 0])  # one hidden layer: exact at N^0
    {0: Fraction(5, 4)}
    >>> covariance_series(parse_arch("mlp:L=2"), "poly:0,1,1", [1, 0], [1, 0])
    {0: Fraction(95, 16), 1: Fraction(51, 1)}
    >>> covariance_series(parse_arch("mlp:L=2"), "poly:0,1,1", [1, 0], [1, 0], method="graphs").method
    'graphs'
    """
    return _route(arch, activation, "covariance", [x, y], max_order=max_order, method=method, **kw)


def ntk_series(arch, activation, x, y, *, max_order=None, method="auto", **kw) -> FiniteSeries:
    """``E[Theta(x, y)] = sum_j a_j N^-j`` (NTK parametrisation, all weights and biases).

    Parameters
    ----------
    arch : MLPSpec, ResNetSpec or DagSpec
        The architecture (``spec.parse_arch``).
    activation : str or Activation
        The activation phi; polynomial activations give exact Fractions.
    x, y : sequence
        The two inputs.
    max_order : int, optional
        Keep ``N^0 .. N^-max_order`` (0..64); ``None``: the complete polynomial (polynomial
        activations) or ``DEFAULT_MAX_ORDER`` (others).
    method : str
        ``auto``, ``recursion`` or ``graphs`` (``METHODS``).
    **kw
        ``ensemble`` (a real weight ensemble, default ``gaussian``), ``limit`` (the size budget,
        default ``DEFAULT_LIMIT``; ``10**12`` is ``--force``), and for the graph route ``xp``
        (array namespace) and ``progress`` (a callback taking a number of pairings done).

    Returns
    -------
    FiniteSeries
        ``{j: a_j}`` without zero coefficients, with the route (``method``), ``exact``,
        ``max_order``, ``errors`` and ``oracle``.

    Raises
    ------
    SpecError
        For a case no route covers (the message says why), a bad method or max order.
    TooLarge
        When the computation is estimated over ``limit``.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> ntk_series(parse_arch("mlp:L=1"), "identity", [1, 0], [1, 0])  # K2 + K1, K1 = 1/2
    {0: Fraction(1, 1)}
    >>> ntk_series(parse_arch("mlp:L=2"), "identity", [1, 0], [1, 0], method="graphs")   # 3 K1
    {0: Fraction(3, 2)}
    """
    return _route(arch, activation, "ntk", [x, y], max_order=max_order, method=method, marked=True, **kw)


def fourpoint_series(arch, activation, x, y=None, *, connected: bool = True, max_order=None, method="auto", **kw) -> FiniteSeries:
    """Connected 4-point function ``E[f(x)^4] - 3 E[f(x)^2]^2 = sum_j a_j N^-j``; with ``y``, the
    connected ``(x, x, y, y)`` function ``E[f(x)^2 f(y)^2] - E[f(x)^2] E[f(y)^2] - 2 E[f(x) f(y)]^2``
    (``connected=False``: the raw ``E[f(x)^4]``, graph route only).

    Parameters
    ----------
    arch : MLPSpec, ResNetSpec or DagSpec
        The architecture (``spec.parse_arch``).
    activation : str or Activation
        The activation phi; polynomial activations give exact Fractions.
    x : sequence
        The input.
    y : sequence, optional
        A second input: the mixed (x, x, y, y) function (layer recursion only).
    connected : bool
        ``False``: the raw fourth moment (one input, polynomial activation).
    max_order : int, optional
        Keep ``N^0 .. N^-max_order`` (0..64); ``None``: the complete polynomial (polynomial
        activations) or ``DEFAULT_MAX_ORDER`` (others).
    method : str
        ``auto``, ``recursion`` or ``graphs`` (``METHODS``).
    **kw
        ``ensemble`` (a real weight ensemble, default ``gaussian``), ``limit`` (the size budget,
        default ``DEFAULT_LIMIT``; ``10**12`` is ``--force``), and for the graph route ``xp``
        (array namespace) and ``progress`` (a callback taking a number of pairings done).

    Returns
    -------
    FiniteSeries
        ``{j: a_j}`` without zero coefficients, with the route (``method``), ``exact``,
        ``max_order``, ``errors`` and ``oracle``.

    Raises
    ------
    SpecError
        For a case no route covers (the message says why), a bad method or max order.
    TooLarge
        When the computation is estimated over ``limit``.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> fourpoint_series(parse_arch("mlp:L=1"), "identity", [1, 1])   # f Gaussian given W1: 6/N
    {1: Fraction(6, 1)}
    >>> fourpoint_series(parse_arch("mlp:L=1"), "identity", [1, 1], [1, 1])   # y = x: the same
    {1: Fraction(6, 1)}
    >>> fourpoint_series(parse_arch("mlp:L=1"), "identity", [1, 1], connected=False)   # 3 (E f^2)^2 + 6/N
    {0: Fraction(3, 1), 1: Fraction(6, 1)}
    """
    if y is not None:
        return _route(arch, activation, "fourpoint-mixed", [x, y], max_order=max_order, method=method, **kw)
    xv = _exact_vector(x, "x")
    if connected:
        return _route(arch, activation, "fourpoint", [xv], max_order=max_order, method=method, **kw)
    raw = _tree_series(arch, "fourpoint", activation, [xv], **kw)
    return FiniteSeries(raw, method="graphs")


def graph_sum_convergence(arch, activation, x, y, orders) -> list[dict]:
    """:func:`truncated_graph_sums` next to the closed-form NNGP/NTK, one row per (D, quantity).

    Parameters
    ----------
    arch : str or spec
        The architecture.
    activation : str or Activation
        An activation with a Taylor series (``sin``, ``erf``, polynomials).
    x, y : sequence of float
        The two inputs.
    orders : iterable of int
        The truncation degrees D.

    Returns
    -------
    list of dict
        ``[{"order", "quantity", "graph_sum", "closed_form", "error"}, ...]`` (floats), the table
        that ``graphexp limit convergence`` prints and stores.

    Examples
    --------
    >>> rows = graph_sum_convergence("mlp:L=1", "sin", [1, 0], [1, 0], [15])
    >>> [(r["quantity"], r["error"] < 1e-9) for r in rows]
    [('nngp', True), ('ntk', True)]
    """
    spec, act = parse_arch(arch), parse_activation(activation)
    xs, ys = [Fraction(str(v)) for v in x], [Fraction(str(v)) for v in y]
    closed = {"nngp": nngp_limit(spec, act, [float(v) for v in xs], [float(v) for v in ys]),
              "ntk": ntk_limit(spec, act, [float(v) for v in xs], [float(v) for v in ys])}
    return [{"order": D, "quantity": q, "graph_sum": float(v), "closed_form": closed[q], "error": abs(float(v) - closed[q])}
            for D, k, t in truncated_graph_sums(spec, act, xs, ys, list(orders)) for q, v in (("nngp", k), ("ntk", t))]


# --------------------------------------------------------------------------- Jacobian words
def jacobian_genus0_terms(L: int, k: int) -> dict[tuple, int]:
    """Genus-0 (leading) terms of (1/N) E tr[(J J^T)^k] for MLP(L), symbolic in the D-moments.

    Returns ``{factors: count}`` where ``factors`` holds ``("sw", 2k(L+1))`` and ``("mu<l>_<j>", power)``,
    ``mu<l>_<j>`` standing for E[phi'(h_l)^j] (the D_l entries of a class of j D-letters).

    Parameters
    ----------
    L : int
        Hidden layers of the MLP.
    k : int
        Power of J J^T.

    Returns
    -------
    dict
        ``{factors: count}``, ``factors`` a tuple of ``(symbol, power)``.

    Examples
    --------
    >>> jacobian_genus0_terms(1, 1)
    {(('mu1_2', 1), ('sw', 4)): 1}
    >>> jacobian_genus0_terms(1, 2)        # m_2 = sw^8 (2 mu_2^2 + mu_4): 2 + 1 = FussCatalan_2(2) for phi' = 1
    {(('mu1_2', 2), ('sw', 8)): 2, (('mu1_4', 1), ('sw', 8)): 1}
    """
    graph = jacobian_graph(L, k)
    out: dict[tuple, int] = defaultdict(int)
    for (e, _s, factors), w in graph_terms(graph).items():
        if e == 0:
            out[factors] += int(w)
    return dict(out)


def jacobian_moment_from_graphs(L: int, k: int, sw, mu) -> float:
    """m_k from the genus-0 Jacobian words: ``mu(l, j)`` returns E[phi'(h_l)^j] at the layer variance.

    Parameters
    ----------
    L : int
        Hidden layers of the MLP.
    k : int
        The moment.
    sw : float or Fraction
        Weight scale sigma_w.
    mu : callable
        ``mu(l, j) -> float``: E[phi'(h_l)^j] for layer l = 1..L.

    Returns
    -------
    float
        m_k = lim (1/N) E tr[(J J^T)^k].

    Examples
    --------
    >>> jacobian_moment_from_graphs(2, 3, 1.0, lambda l, j: 1.0)  # identity, L=2: FussCatalan_3(3)
    22.0
    """
    total = 0.0
    for factors, count in jacobian_genus0_terms(L, k).items():
        term = float(count)
        for sym, power in factors:
            if sym == "sw":
                term *= float(sw) ** power
            else:
                level, j = (int(t) for t in sym[2:].split("_"))
                term *= mu(level, j) ** power
        total += term
    return total
