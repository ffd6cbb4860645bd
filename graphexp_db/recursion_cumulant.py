"""The layer recursion for non-Gaussian weights (:mod:`graphexp_db.recursion`): MLPs whose weights and
biases are i.i.d. from a symmetric ensemble (rademacher, uniform, sparse:p), polynomial activations.

>>> from fractions import Fraction as F
>>> from graphexp_db.recursion import series
>>> from graphexp_db.spec import parse_arch
>>> series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [[F(1), F(2)], [F(1), F(-1)]], "covariance", ensemble="rademacher")
{0: Fraction(15, 16)}
"""

from __future__ import annotations

import math
from fractions import Fraction

from .layer_algebra import MOMENT_OBSERVABLES, ONE_SITE, LayerEngine, Moments, _topological, connected_series
from .spec import SpecError

__all__ = ["CumulantEngine"]


class CumulantEngine(LayerEngine):
    """MLPs with i.i.d. non-Gaussian weights and biases (symmetric ensembles), polynomial phi.

    Given layer l, the preactivations of layer l+1 are i.i.d. across neurons but not Gaussian:
    their joint cumulants are exact,

        kappa_(r,s) = c_n sw^n N^(1 - n/2) Y_l(r, s) + c_n sb^n,    n = r + s even,

    with ``c_n`` the ensemble's cumulants (``c_2 = 1``) and ``Y_l(r, s) = (1/N) sum_j phi(h_j(x))^r
    phi(h_j(y))^s`` the empirical moments of layer l, which become the state variables (the
    kernel entries are the case r + s = 2).  The first layer, fed by d fixed inputs, has the
    exact cumulants ``c_n sw^n d^(-n/2) sum_k x_k^r y_k^s + c_n sb^n``: its N -> infinity limit
    is the exact one at this d, not the Gaussian NNGP.  The rest of the recursion (centred
    sample means, truncation) is the Gaussian one.

    Parameters
    ----------
    dag : LayerDag
        The MLP's layer DAG (``expand.layer_dag(arch)``).
    arch : MLPSpec
        The architecture: ``sw``, ``sb`` are read from it.
    act : Activation
        A polynomial activation phi (``spec.parse_activation``).
    ens : Ensemble
        A real symmetric non-Gaussian ensemble (``rademacher``, ``uniform``, ``sparse:p``).
    xs : list
        One input (``fourpoint``) or two (``covariance``, ``fourpoint-mixed``), each a sequence of
        exact numbers.
    quantity : str
        ``covariance``, ``fourpoint`` or ``fourpoint-mixed``.
    J : int or None
        Keep ``N^0 .. N^-J``; ``None`` keeps every term (the series is a polynomial in 1/N).

    Examples
    --------
    ``run()`` returns the series ``{j: a_j}`` of ``sum_j a_j N^-j``, as :func:`recursion.series` does:

    >>> from graphexp_db.expand import layer_dag
    >>> from graphexp_db.spec import parse_activation, parse_arch, parse_ensemble
    >>> arch = parse_arch("mlp:L=1,sw=1,sb=1/2")
    >>> x, y = [Fraction(1), Fraction(2)], [Fraction(1), Fraction(-1)]
    >>> CumulantEngine(layer_dag(arch), arch, parse_activation("poly:0,1,1"), parse_ensemble("rademacher"),
    ...                [x, y], "covariance", None).run()
    {0: Fraction(15, 16)}
    """

    def __init__(self, dag, arch, act, ens, xs, quantity, J):
        self.dag, self.act, self.J = dag, act, J
        # NTK mean: E[Theta(x, y)] = d/ds at s = 0 of E[f(x; th + sqrt(s) xi) f(y; th + sqrt(s) xi)]
        # minus the same with independent xi, xi' at x and y (each is (1/2) E[Laplacian] of the product;
        # the difference leaves grad f(x) . grad f(y)).  The two laws differ only in the cross (1, 1)
        # second cumulant of every layer, by the factor 1 + s: carried as eps (eps^2 = 0), exactly
        # like the Gaussian engine's interpolation, and valid for any ensemble.
        self.ntk = quantity == "ntk"
        self.quantity = quantity
        self.exact = True
        self.num = lambda v: v
        one_site = quantity in ONE_SITE
        if one_site and len(xs) != 1 or not one_site and len(xs) != 2:
            raise SpecError(f"{quantity} takes {'one input' if one_site else 'two inputs'}")
        self.two = not one_site
        self.x = [[Fraction(v) for v in xi] for xi in xs]
        self.d = len(self.x[0])
        self.sw, self.sb = Fraction(arch.sw), Fraction(arch.sb)
        self.ens = ens
        self.c: dict = {}
        self.coeffs = tuple(act.poly_coeffs)
        self.order = _topological(dag)
        self.C = None
        self.oracles = {}
        self.var = {}
        self._subst_cache = {}
        self._moments = {}
        self._mom_cache: dict = {}     # (layer, a, b) -> polynomial E[h_x^a h_y^b | layer - 1]
        self._M_cache: dict = {}       # (layer, P, Q) -> polynomial E[phi_x^P phi_y^Q | layer - 1]
        self._ybar: dict = {}          # (layer, r, s) -> infinite-width value of Y_layer(r, s)

    def _cumulant(self, layer: int, r: int, s: int) -> dict:
        """kappa_(r,s) of one preactivation of ``layer`` given layer - 1, as a polynomial in g = dY."""
        n = r + s
        if n % 2 or n < 2:
            return {}
        if n not in self.c:
            self.c[n] = Fraction(self.ens.cumulant(n))
        cn = self.c[n]
        out: dict = {}
        bias = cn * self.sb**n
        if bias:
            out[((), 0, 0, 0)] = bias
        if cn:
            if layer == 1:
                val = cn * self.sw**n * sum(a**r * b**s for a, b in zip(self.x[0], self.x[-1])) / Fraction(self.d) ** (n // 2)
                out[((), 0, 0, 0)] = out.get(((), 0, 0, 0), 0) + val
            else:
                q = n // 2 - 1
                if self.keep(0, q, 0):
                    ybar = self.ybar(layer - 1, r, s)
                    if ybar:
                        out[((), 0, q, 0)] = out.get(((), 0, q, 0), 0) + cn * self.sw**n * ybar
                if self.keep(1, q, 0):
                    out[(((("g", (r, s)), 1),), 1, q, 0)] = cn * self.sw**n
        if self.ntk and (r, s) == (1, 1):
            out.update({(alpha, deg, q, 1): v for (alpha, deg, q, _), v in out.items() if self.keep(deg, q, 1)})
        return {k: v for k, v in out.items() if v != 0}

    def _moment(self, layer: int, a: int, b: int) -> dict:
        """E[h_x^a h_y^b | layer - 1] from the cumulants (bivariate moment-cumulant recursion)."""
        key = (layer, a, b)
        if key in self._mom_cache:
            return self._mom_cache[key]
        if a == 0 and b == 0:
            out = {((), 0, 0, 0): Fraction(1)}
        else:
            out = {}
            if a > 0:   # peel one h_x
                for i in range(a):
                    for j in range(b + 1):
                        kap = self._cumulant(layer, i + 1, j)
                        if kap:
                            coeff = math.comb(a - 1, i) * math.comb(b, j)
                            self._add_into(out, self._mul(kap, self._moment(layer, a - 1 - i, b - j)), coeff)
            else:
                for j in range(b):
                    kap = self._cumulant(layer, 0, j + 1)
                    if kap:
                        self._add_into(out, self._mul(kap, self._moment(layer, 0, b - 1 - j)), math.comb(b - 1, j))
            out = {k: v for k, v in out.items() if v != 0}
        self._mom_cache[key] = out
        return out

    def _phi_moment(self, layer: int, P: int, Q: int) -> dict:
        """E[phi(h_x)^P phi(h_y)^Q | layer - 1] as a polynomial in g = dY_(layer-1) and nu."""
        key = (layer, P, Q)
        if key in self._M_cache:
            return self._M_cache[key]
        from .moments import _poly_pow

        p, q = _poly_pow(self.coeffs, P), _poly_pow(self.coeffs, Q)
        out: dict = {}
        for a, pa in enumerate(p):
            if pa:
                for b, qb in enumerate(q):
                    if qb:
                        self._add_into(out, self._moment(layer, a, b), pa * qb)
        out = {k: v for k, v in out.items() if v != 0}
        self._M_cache[key] = out
        return out

    def ybar(self, layer: int, r: int, s: int) -> Fraction:
        """Infinite-width value of Y_layer(r, s) = E[phi(h_x)^r phi(h_y)^s] under the N -> inf law of
        the layer: exact at layer 1 (fixed d), Gaussian(sw^2 Ybar + sb^2) plus the bias law after."""
        key = (layer, r, s)
        if key not in self._ybar:
            from .moments import _poly_pow

            p, q = _poly_pow(self.coeffs, r), _poly_pow(self.coeffs, s)
            self._ybar[key] = sum((pa * qb * self._moment_const(layer, a, b)
                                   for a, pa in enumerate(p) if pa for b, qb in enumerate(q) if qb), Fraction(0))
        return self._ybar[key]

    def _cumulant_const(self, layer: int, r: int, s: int) -> Fraction:
        n = r + s
        if n % 2 or n < 2:
            return Fraction(0)
        if n not in self.c:
            self.c[n] = Fraction(self.ens.cumulant(n))
        cn = self.c[n]
        out = cn * self.sb**n
        if layer == 1:
            out += cn * self.sw**n * sum(a**r * b**s for a, b in zip(self.x[0], self.x[-1])) / Fraction(self.d) ** (n // 2)
        elif n == 2:
            out += self.sw**2 * self.ybar(layer - 1, r, s)
        return out

    def _moment_const(self, layer: int, a: int, b: int) -> Fraction:
        """E[h_x^a h_y^b] under the infinite-width law of ``layer`` (numbers only)."""
        key = ("const", layer, a, b)
        if key in self._mom_cache:
            return self._mom_cache[key]
        if a == 0 and b == 0:
            out = Fraction(1)
        elif a > 0:
            out = sum((math.comb(a - 1, i) * math.comb(b, j) * self._cumulant_const(layer, i + 1, j) * self._moment_const(layer, a - 1 - i, b - j)
                       for i in range(a) for j in range(b + 1) if (i + 1 + j) % 2 == 0), Fraction(0))
        else:
            out = sum((math.comb(b - 1, j) * self._cumulant_const(layer, 0, j + 1) * self._moment_const(layer, 0, b - 1 - j)
                       for j in range(b) if (j + 1) % 2 == 0), Fraction(0))
        self._mom_cache[key] = out
        return out

    def _conditional_moment(self, moments: "Moments", i: int, j: int) -> dict:
        return self._phi_moment(moments.v, i, j)

    def _new_moments(self, v) -> "Moments":
        return Moments(self, v, self._types(v), lambda t: t)

    def _linear(self, v) -> dict:
        """g-space of node v (the moments dY of layer v - 1) in terms of that layer's variables."""
        class _Lazy(dict):
            def __missing__(inner, t):
                u = v - 1
                inner[t] = {} if u == 0 else {(((self._var(u, t), 1),), 1, 0, 0): Fraction(1)}
                return inner[t]
        return _Lazy()

    def run(self) -> dict:
        sink = self.dag.sink
        obs = [self._moment(sink, a, b) for a, b in ([(1, 1)] if self.ntk else MOMENT_OBSERVABLES[self.quantity])]
        states = [self._substitute(P, sink) for P in obs]
        for v in reversed(self.order[1:-1]):
            states = [self._eliminate(state, v) for state in states]
            self._moments.pop(v, None)
        e_out = 1 if self.ntk else 0
        means = [{q: c for (q, e), c in self._constant(st).items() if e == e_out} for st in states]
        if self.ntk:
            return {q: c for q, c in sorted(means[0].items()) if c != 0 and (self.J is None or q <= self.J)}
        return connected_series(self.quantity, means, self.J)
