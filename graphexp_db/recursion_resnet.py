"""The layer recursion for finite-L ResNets with 1/sqrt(L) branches (:mod:`graphexp_db.recursion`).

``h_(l+1) = h_l + beta_l`` where, given layer l, the branch ``beta_l`` is i.i.d. across neurons
``N(0, Sigma_l)``, ``Sigma_l = (sw^2/L) Phi_l`` (CONVENTIONS.md; Gaussian weights, no biases).  The
neurons of layer l are not conditionally i.i.d. given a kernel, so the state is the empirical law
of ``h_l`` through its moments ``Z_l(a, b) = (1/N) sum_i h_li(x)^a h_li(y)^b``.  Given layer l,

    E[prod_r Z_(l+1)(t_r)] = sum over set partitions s of the factors  N^(|s| - R)
                             prod_(C in s) Zhat_l[ kappa_beta( (h + beta)^t_r : r in C ) ],

the joint cumulants over the branch (h fixed) averaged over the neurons of layer l (``Zhat_l``
turns ``h_x^a h_y^b`` into ``Z_l(a, b)``); ``Sigma_l`` is itself linear in ``Z_l`` for polynomial
``phi``.  The first layer is i.i.d. ``N(0, K_1)``: the same formula with ``h = 0``.

>>> from fractions import Fraction as F
>>> from graphexp_db.recursion import series
>>> from graphexp_db.spec import parse_arch
>>> series(parse_arch("resnet:L=1,sw=1"), "identity", [[F(1)], [F(1)]], "covariance")   # C_2 = 1 + 1
{0: Fraction(2, 1)}
"""

from __future__ import annotations

import math
from fractions import Fraction

from .gaussian import gaussian_moment_exact, poly_dual_exact
from .layer_algebra import MOMENT_OBSERVABLES, ONE_SITE, LayerEngine, connected_series
from .moments import _poly_pow

__all__ = ["ResNetEngine"]

ONE: tuple = ((), 0, 0, 0)


class ResNetEngine(LayerEngine):
    """Gaussian weights, polynomial phi; covariance, NTK mean, 4-point and mixed 4-point of one
    coordinate of ``h_(L+1)``.

    Parameters
    ----------
    arch : ResNetSpec
        A finite-depth ResNet (``L`` and ``sw`` are read from it; branch scaling 1/sqrt(L)).
    act : Activation
        A polynomial activation phi.
    xs : list
        One input (``fourpoint``) or two (``covariance``, ``ntk``, ``fourpoint-mixed``), each a list
        of Fractions.
    quantity : str
        ``covariance``, ``ntk``, ``fourpoint`` or ``fourpoint-mixed``.
    J : int or None
        Keep ``N^0 .. N^-J``; ``None`` keeps every term.

    Examples
    --------
    Identity phi at L = 2: each block multiplies the covariance by 1 + sw^2/L, so
    C_3 = (3/2)^2 (x.x)/d = 9/8 with no 1/N correction:

    >>> from graphexp_db.spec import parse_activation, parse_arch
    >>> x = [Fraction(1), Fraction(0)]
    >>> ResNetEngine(parse_arch("resnet:L=2"), parse_activation("identity"), [x, x], "covariance", None).run()
    {0: Fraction(9, 8)}
    """

    def __init__(self, arch, act, xs, quantity, J):
        # NTK: d/dt at t = 1 of E[f(x; theta) f(y; theta_t)] (every weight correlated t): the cross
        # entry of each branch covariance (and of K_1) carries t = 1 + eps, eps^2 = 0
        self.J, self.ntk, self.exact, self.num = J, quantity == "ntk", True, (lambda v: v)
        self.quantity = quantity
        self.L = arch.L
        self.sw2 = Fraction(arch.sw) ** 2
        self.c = tuple(act.poly_coeffs)
        self.two = quantity not in ONE_SITE
        x, y = xs[0], xs[-1]
        d = len(x)
        self.var: dict = {}
        self._subst_cache: dict = {}
        self._moments: dict = {}
        k1 = tuple(self.sw2 * sum(a * b for a, b in zip(u, v)) / d for u, v in ((x, x), (x, y), (y, y)))
        self.C = {1: k1}             # infinite-width covariance (xx, xy, yy) of h_l
        for layer in range(1, self.L + 1):
            cxx, cxy, cyy = self.C[layer]
            inc = tuple(self.sw2 / self.L * poly_dual_exact(self.c, self.c, *k) for k in ((cxx, cxx, cxx), (cxx, cxy, cyy), (cyy, cyy, cyy)))
            self.C[layer + 1] = tuple(a + b for a, b in zip(self.C[layer], inc))
        self._kappa: dict = {}
        self._sigma: dict = {}

    # ------------------------------------------------------------------ the law of one layer
    def zbar(self, layer: int, a: int, b: int) -> Fraction:
        return gaussian_moment_exact(a, b, *self.C[layer])

    def _z(self, layer: int, a: int, b: int) -> dict:
        """Z_layer(a, b) = Zbar + dZ as a polynomial (layer 0: h = 0)."""
        if not self.two:      # one input: h_y = h_x
            a, b = a + b, 0
        if a == 0 and b == 0:
            return {ONE: Fraction(1)}
        if layer == 0:
            return {}
        out = {(((self._var(layer, (a, b)), 1),), 1, 0, 0): Fraction(1)}
        zb = self.zbar(layer, a, b)
        if zb:
            out[ONE] = zb
        return out

    def _sigma_polys(self, layer: int) -> tuple[dict, dict, dict]:
        """Sigma_layer (xx, xy, yy): K_1 at layer 0, (sw^2/L) Phi_layer after."""
        if layer not in self._sigma:
            if layer == 0:
                out = [{ONE: v} if v else {} for v in self.C[1]]
            else:
                out = []
                for pa, pb in ((2, 0), (1, 1), (0, 2)):
                    # Phi(a, b) = (1/N) sum phi(h_x)^[pa..] phi(h_y)^[pb..]: expand the polynomials
                    p = _poly_pow(self.c, pa)
                    q = _poly_pow(self.c, pb)
                    acc: dict = {}
                    for i, ci in enumerate(p):
                        for j, cj in enumerate(q):
                            if ci and cj:
                                self._add_into(acc, self._z(layer, i, j), self.sw2 / self.L * ci * cj)
                    out.append({k: v for k, v in acc.items() if v})
            if self.ntk:   # t = 1 + eps on the cross entry
                out[1] = {**out[1], **{(a, d, q, 1): v for (a, d, q, e), v in out[1].items() if e == 0}}
            self._sigma[layer] = tuple(out)
        return self._sigma[layer]

    def _branch_moment(self, layer: int, i: int, j: int) -> dict:
        """E[beta_x^i beta_y^j] (Isserlis) as a polynomial in dZ_layer."""
        sxx, sxy, syy = self._sigma_polys(layer)
        out: dict = {}
        cache: dict = {}
        for k in range(min(i, j) + 1):
            if (i - k) % 2 or (j - k) % 2:
                continue
            count = math.comb(i, k) * math.comb(j, k) * math.factorial(k) * _dfact(i - k - 1) * _dfact(j - k - 1)
            term = self._pow(sxy, k, cache, "xy")
            term = self._mul(term, self._pow(sxx, (i - k) // 2, cache, "xx"))
            term = self._mul(term, self._pow(syy, (j - k) // 2, cache, "yy"))
            self._add_into(out, term, count)
        return {k: v for k, v in out.items() if v}

    def _block_moment(self, layer: int, A: int, B: int) -> dict:
        """E_beta[(h_x + beta_x)^A (h_y + beta_y)^B] as {(a, b): polynomial} (h powers -> coefficients)."""
        out: dict = {}
        for i in range(A + 1):
            for j in range(B + 1):
                m = self._branch_moment(layer, i, j)
                if m:
                    key = (A - i, B - j)
                    acc = out.setdefault(key, {})
                    self._add_into(acc, m, math.comb(A, i) * math.comb(B, j))
        return out

    def _hmul(self, P: dict, Q: dict) -> dict:
        out: dict = {}
        for (a1, b1), p in P.items():
            for (a2, b2), q in Q.items():
                acc = out.setdefault((a1 + a2, b1 + b2), {})
                self._add_into(acc, self._mul(p, q))
        return out

    def _kappa_branch(self, layer: int, types: tuple) -> dict:
        """Zhat_layer[ joint cumulant over the branch of (h + beta)^t, t in types ]: a polynomial."""
        key = (layer, types)
        if key in self._kappa:
            return self._kappa[key]
        total: dict = {}
        for part in _set_partitions(list(range(len(types)))):
            n = len(part)
            mu = (-1) ** (n - 1) * math.factorial(n - 1)
            prod: dict = {(0, 0): {ONE: Fraction(1)}}
            for block in part:
                A = sum(types[r][0] for r in block)
                B = sum(types[r][1] for r in block)
                prod = self._hmul(prod, self._block_moment(layer, A, B))
            for hk, poly in prod.items():
                acc = total.setdefault(hk, {})
                self._add_into(acc, poly, mu)
        out: dict = {}
        for (a, b), poly in total.items():     # average over the neurons of the layer
            self._add_into(out, self._mul(poly, self._z(layer, a, b)))
        out = {k: v for k, v in out.items() if v}
        self._kappa[key] = out
        return out

    def _moment_next(self, layer: int, types: tuple) -> dict:
        """E[prod_r Z_(layer+1)(t_r) | layer] as a polynomial in dZ_layer."""
        R = len(types)
        out: dict = {}
        for part in _set_partitions(list(range(R))):
            q = R - len(part)
            if not self.keep(0, q, 0):
                continue
            term = {((), 0, q, 0): Fraction(1)}
            for block in part:
                term = self._mul(term, self._kappa_branch(layer, tuple(sorted(types[r] for r in block))))
                if not term:
                    break
            self._add_into(out, term)
        return {k: v for k, v in out.items() if v}

    def _eliminate_layer(self, P: dict, layer: int) -> dict:
        """E[P(dZ_(layer+1)) | layer] as a polynomial in dZ_layer."""
        mine = {idx: t for (node, t), idx in self.var.items() if node == layer + 1}
        out: dict = {}
        cache: dict = {}
        for (alpha, _deg, q, e), c in P.items():
            beta = [t for var, k in alpha for t in [mine[var]] * k]
            # dZ = Z - Zbar: binomial expansion over which factors are Z
            expanded: dict = {}
            for mask in range(1 << len(beta)):
                chosen = tuple(sorted(t for r, t in enumerate(beta) if mask >> r & 1))
                sign_const = Fraction(1)
                for r, t in enumerate(beta):
                    if not mask >> r & 1:
                        sign_const *= -self.zbar(layer + 1, *t)
                if sign_const == 0:
                    continue
                if chosen not in cache:
                    cache[chosen] = self._moment_next(layer, chosen) if chosen else {ONE: Fraction(1)}
                self._add_into(expanded, cache[chosen], sign_const)
            for (a2, d2, q2, e2), c2 in expanded.items():
                ee = e + e2
                if c2 and ee <= 1 and self.keep(d2, q + q2, ee):
                    k = (a2, d2, q + q2, ee)
                    out[k] = out.get(k, 0) + c * c2
        return {k: v for k, v in out.items() if v}

    # ------------------------------------------------------------------ driver
    def _observable(self, a: int, b: int) -> dict:
        """Z_(L+1)(a, b) - Zbar as a polynomial (its mean is then E[Z] - Zbar)."""
        if not self.two:
            a, b = a + b, 0
        return {(((self._var(self.L + 1, (a, b)), 1),), 1, 0, 0): Fraction(1)}

    def run(self) -> dict:
        top = self.L + 1
        if self.ntk:   # the eps part of E[Z_(L+1)(1, 1)] in the doubled network
            state = self._observable(1, 1)
            for layer in range(top - 1, -1, -1):
                state = self._eliminate_layer(state, layer)
            ntk = {q: c for (q, e), c in self._constant(state).items() if e == 1}
            return {j: v for j, v in sorted(ntk.items()) if (self.J is None or j <= self.J) and v != 0}
        means = []
        for t in MOMENT_OBSERVABLES[self.quantity]:
            state = self._observable(*t)
            for layer in range(top - 1, -1, -1):
                state = self._eliminate_layer(state, layer)
            val = {q: c for (q, e), c in self._constant(state).items() if e == 0}
            val[0] = val.get(0, 0) + self.zbar(top, *(t if self.two else (t[0] + t[1], 0)))
            means.append(val)
        return connected_series(self.quantity, means, self.J)


def _dfact(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def _set_partitions(items: list):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        yield [[first]] + part
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1:]
