"""Exact rational NNGP and NTK kernels for polynomial activations (MLP and DAG): the same
recursion as :func:`graphexp_db.kernels.kernels` in :class:`~fractions.Fraction` arithmetic, the
independent check of the graph-sum engine (re-exported by :mod:`graphexp_db.kernels`)."""

from __future__ import annotations

from fractions import Fraction

from .gaussian import LimitError, poly_dual_exact
from .kernel_recursions import _parents_of
from .spec import ResNetSpec, parse_activation, parse_arch


def nngp_exact(spec, activation, x, y) -> Fraction:
    """Exact NNGP output kernel for a polynomial activation (MLP or DAG), as a Fraction.

    Parameters
    ----------
    spec : MLPSpec or DagSpec (or its text)
    activation : a polynomial activation (``identity`` or ``poly:...``)
    x, y : sequences of Fractions or numbers (converted exactly via ``Fraction(str(v))``)

    Examples
    --------
    >>> nngp_exact("mlp:L=1,sw=1,sb=0", "poly:0,1,1", [1], [1])   # E[(u+u^2)^2] = 1 + 3
    Fraction(4, 1)
    """
    return _exact_recursion(spec, activation, x, y)[0]


def ntk_exact(spec, activation, x, y) -> Fraction:
    """Exact NTK ``T_(L+1)(x, y)`` for a polynomial activation (MLP or DAG).

    >>> ntk_exact("mlp:L=1,sw=1,sb=0", "poly:0,1,1", [1], [1])    # 4 + E[(1+2u)^2] * 1
    Fraction(9, 1)
    """
    return _exact_recursion(spec, activation, x, y)[1]


def _exact_recursion(spec, activation, x, y):
    from .gaussian import _exact, _poly_deriv

    spec = parse_arch(spec)
    act = parse_activation(activation)
    if isinstance(spec, ResNetSpec):
        raise LimitError("exact kernels are for MLP and DAG specs")
    if not act.is_polynomial:
        raise LimitError(f"exact kernels need a polynomial activation (identity or poly:...), got {act}")
    x = [_exact(v) for v in x]
    y = [_exact(v) for v in y]
    if len(x) != len(y) or not x:
        raise LimitError(f"inputs of different dimension: len(x)={len(x)}, len(y)={len(y)}")
    d = len(x)
    c = act.poly_coeffs
    dc = _poly_deriv(c)
    sw2, sb2 = spec.sw**2, spec.sb**2
    parents = _parents_of(spec)
    G = {0: (sum(a * a for a in x) / d, sum(a * b for a, b in zip(x, y)) / d, sum(b * b for b in y) / d)}
    Gdot, theta = {}, {}
    sink = len(parents) - 1
    for v in range(1, sink + 1):
        ps = parents[v]
        scale = sw2 / len(ps)
        kxx, kxy, kyy = (scale * sum(G[u][i] for u in ps) + sb2 for i in range(3))
        theta[v] = kxy + scale * sum(Gdot[u] * theta[u] for u in ps if u != 0)
        if v == sink:
            return kxy, theta[v]
        G[v] = (poly_dual_exact(c, c, kxx, kxx, kxx), poly_dual_exact(c, c, kxx, kxy, kyy),
                poly_dual_exact(c, c, kyy, kyy, kyy))
        Gdot[v] = poly_dual_exact(dc, dc, kxx, kxy, kyy)
    raise LimitError("DAG has no sink")  # pragma: no cover
