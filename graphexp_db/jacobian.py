"""The limiting spectrum of the input-output Jacobian ``J J^T`` of a square MLP (CONVENTIONS.md).

* :func:`jacobian_moments` -- ``m_1..m_K`` as sums over non-crossing partitions
  (``method="noncrossing"``) or by free multiplicative convolution of S-transforms as truncated
  power series (``method="free"``);
* :func:`jacobian_density` by Stieltjes inversion, :func:`jacobian_atom`, :func:`jacobian_edge`.

Examples
--------
>>> [round(m, 10) for m in jacobian_moments(parse_arch("mlp:L=1"), "identity", 1.0, 3)]
[1.0, 3.0, 12.0]

References
----------
arXiv:2407.08459 (Jacobian moments as non-crossing sums); Pennington, Schoenholz & Ganguli,
arXiv:1711.04735 (S-transform of J J^T).
"""

from __future__ import annotations

import math

import numpy as np

from .gaussian import LimitError, derivative_measure, dual
from .noncrossing import _nc_kreweras_types, _nc_types
from .spec import MLPSpec, parse_activation, parse_arch

__all__ = ["jacobian_q", "jacobian_moments", "jacobian_density", "jacobian_atom", "jacobian_edge"]


def jacobian_q(spec, activation, q_in: float) -> list[float]:
    """Preactivation variances ``q_1..q_L`` of CONVENTIONS.md (square MLP, ``q_in = |x|^2/N``).

    ``q_1 = sw^2 q_in + sb^2``, ``q_(l+1) = sw^2 E_(z ~ N(0, q_l))[phi(z)^2] + sb^2``.

    Parameters
    ----------
    spec : str or MLPSpec
        A square MLP (d = N = n_out): ``L``, ``sw``, ``sb``.
    activation : str or Activation
        The activation phi.
    q_in : float
        Input length ``|x|^2 / N`` (finite, >= 0).

    Returns
    -------
    list of float
        ``[q_1, ..., q_L]``.

    Raises
    ------
    LimitError
        When a variance overflows, or for a bad spec or ``q_in``.

    Examples
    --------
    >>> jacobian_q("mlp:L=3,sw=2,sb=0", "relu", 1.0)   # q_(l+1) = sw^2 q_l / 2
    [4.0, 8.0, 16.0]
    """
    spec, act = _jac_args(spec, activation, q_in)
    sw2, sb2 = float(spec.sw) ** 2, float(spec.sb) ** 2
    q = [sw2 * q_in + sb2]
    for _ in range(spec.L - 1):
        e, _ = dual(act, np.array(q[-1]), np.array(q[-1]), np.array(q[-1]), derivative=False)
        q.append(sw2 * float(e) + sb2)
    if not all(math.isfinite(v) for v in q):
        raise LimitError("preactivation variances overflowed (non-finite values): lower sw or the depth")
    return q


def jacobian_moments(spec, activation, q_in: float, kmax: int, method: str = "free") -> list[float]:
    """Moments ``m_1..m_K`` of the limiting spectral law of ``J J^T`` (CONVENTIONS.md).

    Both methods use the same laws of ``D_l^2`` (moments ``mu_j^(l) = E[phi'(z)^(2j)]``,
    ``z ~ N(0, q_l)``; see :func:`graphexp_db.gaussian.derivative_measure`):

    ``"noncrossing"``
        the paper's form: with ``P_0 = 1`` and free Poisson (Wishart) factors ``w_l``,
        ``m_k(Q_l) = sum_{pi in NC(k)} sw^(2k) m_pi(P_(l-1)) mu_(K(pi))^(l)`` (``K`` the Kreweras
        complement; free cumulants of ``w^(1/2) P w^(1/2)`` are the moments of ``P``) and
        ``m_k(P_l) = sw^(2k) sum_{sigma in NC(k)} m_sigma(Q_l)``.  It enumerates ``NC(k)``
        (Catalan(k) partitions, grouped by block types), so it is meant for ``K <= 12``.
    ``"free"``
        ``S(z) = (1/(sw^2 (1+z)))^(L+1) prod_l S_(D_l^2)(z)`` with all S-transforms as power series
        truncated at order ``K`` (Lagrange inversion); cost ``O(L K^3)``: any ``K`` and depth.

    Parameters
    ----------
    spec : str or MLPSpec
        A square MLP (d = N = n_out): ``L``, ``sw``, ``sb``.
    activation : str or Activation
        The activation phi.
    q_in : float
        Input length ``|x|^2 / N`` (finite, >= 0).
    kmax : int
        The number K of moments (>= 1).
    method : str
        ``"free"`` (default) or ``"noncrossing"``.

    Returns
    -------
    list of float
        ``[m_1, ..., m_K]``.

    Raises
    ------
    LimitError
        for K < 1, negative or non-finite q_in, a non-MLP spec, an unknown method, or a moment
        outside the float range (overflow or underflow): reported, never returned as inf or 0.

    Examples
    --------
    >>> [round(m, 4) for m in jacobian_moments("mlp:L=2,sw=1.5", "identity", 1.0, 3)]   # 1.5^(2k*3) FC_3(k)
    [11.3906, 518.9854, 32513.6214]
    >>> jacobian_moments("mlp:L=2", "identity", 1.0, 0)
    Traceback (most recent call last):
    ...
    graphexp_db.gaussian.LimitError: kmax must be >= 1, got 0
    """
    spec, act = _jac_args(spec, activation, q_in)
    if not isinstance(kmax, (int, np.integer)) or isinstance(kmax, bool) or kmax < 1:
        raise LimitError(f"kmax must be >= 1, got {kmax}")
    kmax = int(kmax)
    if method not in ("free", "noncrossing"):
        raise LimitError(f"unknown method {method!r} (expected 'free' or 'noncrossing')")
    mus = [_measure_moments(*derivative_measure(act, q, kmax=kmax), kmax) for q in jacobian_q(spec, act, q_in)]
    sw2 = float(spec.sw) ** 2
    if sw2 == 0 or any(mu[0] == 0 for mu in mus):
        return [0.0] * kmax                           # J = 0 in the limit
    # scale out m_1 (every factor normalised to mean 1) so that intermediates stay O(1):
    # m_k = m_1^k * mt_k, with m_1 = sw^(2(L+1)) prod_l mu_1^(l), combined in log space
    log_m1 = (len(mus) + 1) * math.log(sw2) + sum(math.log(mu[0]) for mu in mus)
    normed = [mu / mu[0] ** np.arange(1, kmax + 1) for mu in mus]
    with np.errstate(all="ignore"):
        if method == "free":
            mt = _moments_free(1.0, normed, kmax)
        else:
            mt = _moments_noncrossing(1.0, normed, kmax)
    out = []
    for k, v in enumerate(mt, 1):
        if not (math.isfinite(v) and v > 0):
            raise LimitError(f"Jacobian moment m_{k} is not finite and positive ({v}): the series is unstable; lower kmax")
        log_mk = k * log_m1 + math.log(v)
        if log_mk > 709.0:
            raise LimitError(f"Jacobian moment m_{k} overflows (about 1e{log_mk / math.log(10):.0f}): lower sw, the depth or kmax")
        if log_mk < -708.0:
            raise LimitError(f"Jacobian moment m_{k} underflows (about 1e{log_mk / math.log(10):.0f}): raise sw or lower the depth or kmax")
        out.append(math.exp(log_mk))
    return out


def jacobian_atom(spec, activation, q_in: float) -> float:
    """Mass of the atom at 0 of the limiting law of ``J J^T`` (``1/2`` for relu, else 0).

    The rank of ``J`` is that of the sparsest ``D_l``: the atom is ``1 - min_l P(phi'(h_l) != 0)``.

    Parameters
    ----------
    spec : str or MLPSpec
        A square MLP (d = N = n_out): ``L``, ``sw``, ``sb``.
    activation : str or Activation
        The activation phi.
    q_in : float
        Input length ``|x|^2 / N`` (finite, >= 0).

    Returns
    -------
    float
        The mass at 0, in ``[0, 1]``.

    Examples
    --------
    >>> jacobian_atom("mlp:L=3", "relu", 1.0), jacobian_atom("mlp:L=3", "tanh", 1.0)
    (0.5, 0.0)
    """
    spec, act = _jac_args(spec, activation, q_in)
    ranks = []
    for q in jacobian_q(spec, act, q_in):
        t, w = derivative_measure(act, q)
        ranks.append(float(np.sum(w[t > 0])) if act.name == "relu" else (1.0 if np.any(t > 0) else 0.0))
    return float(1.0 - min(ranks)) if ranks else 0.0


def jacobian_density(spec, activation, q_in: float, grid=None, *, eta: float = 1e-8):
    """Density of the absolutely continuous part of the limiting law of ``J J^T``.

    Stieltjes inversion: for ``zeta = lambda (1 + i eta)`` solve ``z = psi(1/zeta)`` from the
    S-transform equation ``zeta prod_l chi_l(z) = sw^(2(L+1)) z^(L-1) (1+z)^2`` with
    ``psi_(D_l^2)(chi_l) = z`` (Newton, continued in ``Im zeta`` from far above the real axis
    down to ``eta lambda``, all grid points at once); the density is ``-Im z / (pi lambda)``.  An atom at 0
    (relu: mass :func:`jacobian_atom`) is not part of ``density``.

    Parameters
    ----------
    spec : str or MLPSpec
        A square MLP (d = N = n_out): ``L``, ``sw``, ``sb``.
    activation : str or Activation
        The activation phi.
    q_in : float
        Input length ``|x|^2 / N`` (finite, >= 0).
    grid : array of lambda > 0, optional; default 400 points on ``(0, 1.2 lambda_max]`` clustered at 0
        (``lambda = 1.2 lambda_max s^(L+2)``, ``s`` uniform), where the density of a product of
        L+1 Wisharts blows up like ``lambda^(-(L+1)/(L+2))``: on this grid the trapezoid rule sees a
        bounded integrand in ``s``.  The mass below ``grid[0]`` is about ``(L+2) rho_1 lambda_1``.
    eta : float
        The final relative distance ``Im zeta / lambda`` from the real axis.

    Returns
    -------
    (grid, density) : numpy arrays

    Examples
    --------
    >>> import numpy as np
    >>> g, rho = jacobian_density("mlp:L=1", "identity", 1.0, grid=np.array([1.0, 4.0]))
    >>> exact = [max(-r.imag for r in np.roots([1, 3, 3 - l, 1])) / (np.pi * l) for l in g]
    >>> np.allclose(rho, exact, rtol=1e-9)   # two Wisharts: lambda = (1+z)^3 / z
    True
    """
    spec, act = _jac_args(spec, activation, q_in)
    L = spec.L
    sw2 = float(spec.sw) ** 2
    measures = [derivative_measure(act, q) for q in jacobian_q(spec, act, q_in)]
    m = jacobian_moments(spec, act, q_in, 40)
    if m[0] == 0:
        raise LimitError("J J^T is zero in the limit (phi' vanishes): no density")
    edge = _edge_from_moments(m)
    if grid is None:
        s = np.linspace(0, 1, 401)[1:]
        grid = 1.2 * edge * s ** (L + 2)
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise LimitError("density grid must be a 1-D array of finite positive numbers")
    with np.errstate(all="ignore"):
        z = _solve_stieltjes(grid, sw2, L, measures, m, edge, eta)
        rho = np.maximum(-z.imag / (math.pi * grid), 0.0)
    if not np.all(np.isfinite(rho)):
        raise LimitError("spectral density did not converge (non-finite values)")
    return grid, rho


def jacobian_edge(spec, activation, q_in: float) -> float:
    """Upper bound for the right edge of the support of the limiting law of ``J J^T``.

    From ``m_40 / m_39`` (which tends to the edge like ``1 - 3/(2k)``), corrected and padded by 5%.

    Parameters
    ----------
    spec : str or MLPSpec
        A square MLP (d = N = n_out): ``L``, ``sw``, ``sb``.
    activation : str or Activation
        The activation phi.
    q_in : float
        Input length ``|x|^2 / N`` (finite, >= 0).

    Returns
    -------
    float
        A bound a few percent above the largest eigenvalue of the limiting law.

    Examples
    --------
    >>> 6.75 < jacobian_edge("mlp:L=1", "identity", 1.0) < 7.5   # exact edge 27/4
    True
    """
    return _edge_from_moments(jacobian_moments(spec, activation, q_in, 40))


# --------------------------------------------------------------------------- Jacobian internals
def _edge_from_moments(m) -> float:
    return (m[-1] / m[-2]) * (1 + 1.5 / (len(m) - 1)) * 1.05


def _jac_args(spec, activation, q_in):
    spec = parse_arch(spec)
    act = parse_activation(activation)
    if not isinstance(spec, MLPSpec):
        raise LimitError(f"the Jacobian spectrum is defined for square MLPs (CONVENTIONS.md), got {spec.kind}")
    try:
        q = float(q_in)
    except (TypeError, ValueError):
        raise LimitError(f"q_in must be a number, got {q_in!r}") from None
    if not math.isfinite(q) or q < 0:
        raise LimitError(f"q_in must be finite and >= 0, got {q_in}")
    return spec, act


def _measure_moments(t: np.ndarray, w: np.ndarray, kmax: int) -> np.ndarray:
    return np.array([float(np.sum(w * t**j)) for j in range(1, kmax + 1)])


def _series_mul(a: np.ndarray, b: np.ndarray, K: int) -> np.ndarray:
    return np.convolve(a, b)[:K]


def _series_inverse_compositional(f: np.ndarray) -> np.ndarray:
    """g with f(g(z)) = z, both as coefficient arrays ``[0, c1, c2, ...]`` (Lagrange inversion)."""
    K = len(f) - 1
    # h(w) = w / f(w) = 1 / (c1 + c2 w + ...): power-series reciprocal
    a = f[1:]
    h = np.zeros(K)
    h[0] = 1.0 / a[0]
    for n in range(1, K):
        h[n] = -np.dot(a[1:n + 1], h[n - 1::-1][:n]) / a[0]
    g = np.zeros(K + 1)
    power = np.ones(1)
    for n in range(1, K + 1):
        power = _series_mul(power, h, K)             # h^n truncated
        g[n] = power[n - 1] / n if n - 1 < len(power) else 0.0
    return g


def _moments_free(sw2: float, mus: list[np.ndarray], K: int) -> np.ndarray:
    # S-transform of the scaled free Poisson factor: 1/(sw^2 (1+z)) = (1/sw^2) sum (-z)^n
    if any(mu[0] == 0 for mu in mus):
        return np.zeros(K)
    geo = np.array([(-1.0) ** n for n in range(K)])
    S = np.zeros(K)
    S[0] = 1.0
    for _ in range(len(mus) + 1):
        S = _series_mul(S, geo / sw2, K)
    one_plus = np.zeros(K)
    one_plus[0] = 1.0
    if K > 1:
        one_plus[1] = 1.0
    for mu in mus:
        chi = _series_inverse_compositional(np.concatenate([[0.0], mu]))   # chi(z) = sum chi_n z^n
        S_d = _series_mul(chi[1:], one_plus, K)                            # (chi/z)(1+z)
        S = _series_mul(S, S_d, K)
    chi_total = np.concatenate([[0.0], _series_mul(S, geo, K)])            # z S/(1+z)
    return _series_inverse_compositional(chi_total)[1:]


def _moments_noncrossing(sw2: float, mus: list[np.ndarray], K: int) -> np.ndarray:
    # moments as functions of k = 1..K; index 0 holds m_0 = 1
    def nc_moment_sum(cum: np.ndarray, k: int) -> float:
        return sum(c * math.prod(cum[b] for b in lam) for lam, c in _nc_types(k).items())

    def wishart(prev: np.ndarray) -> np.ndarray:
        return np.array([1.0] + [sw2**k * nc_moment_sum(prev, k) for k in range(1, K + 1)])

    Q = np.ones(K + 1)                                # Q_0 = 1
    for mu in mus:
        d = np.concatenate([[1.0], mu])
        # free cumulants of w_l^(1/2) Q_(l-1) w_l^(1/2) are sw^(2n) m_n(Q_(l-1))
        Q = np.array([1.0] + [
            sum(c * math.prod(sw2 ** b * Q[b] for b in lam) * math.prod(d[b] for b in mu_type)
                for (lam, mu_type), c in _nc_kreweras_types(k).items())
            for k in range(1, K + 1)
        ])
    P = wishart(Q)                                    # P_L = w_(L+1) Q_L
    return P[1:]


def _solve_stieltjes(grid, sw2, L, measures, m, edge, eta_final):
    """z(zeta) = psi(1/zeta) on zeta = grid + i eta, continued from eta = 4 edge down to eta_final.

    Per layer the unknown is ``y_l = 1/chi_l`` with ``sum_i w_i t_i / (y_l - t_i) = z``: this stays
    well conditioned where ``chi_l`` blows up (relu, ``z -> -1/2`` as ``lambda -> 0``).  With
    ``u_l = z y_l`` the outer equation is ``zeta = sw^(2(L+1)) (1+z)^2 prod_l u_l / z``.
    """
    ts = [t for t, _ in measures]
    ws = [w for _, w in measures]
    K = len(m)

    def g_and_dg(y, t, w):
        den = y[:, None] - t[None, :]
        return (w * t / den).sum(1), -(w * t / den**2).sum(1)

    eta = 4.0 * edge
    zeta = grid + 1j * eta
    inv = 1 / zeta
    z = sum(m[k] * inv ** (k + 1) for k in range(K))
    ys = [float(np.sum(w * t)) / z for t, w in measures]
    # the Newton unknown is w = 1 + z: near lambda = 0, z -> -1 and 1 + z would lose all digits
    w1 = 1 + z
    scale = sw2 ** (L + 1)
    floor = eta_final * grid      # broadening relative to lambda (the density blows up at 0)
    while True:
        zeta = grid + 1j * np.maximum(eta, floor)
        for _ in range(80):
            z = w1 - 1
            dlog = 2 / w1 - 1 / z
            prod_u = np.ones_like(z)
            for i in range(len(ys)):
                for _ in range(30):
                    val, der = g_and_dg(ys[i], ts[i], ws[i])
                    step = (val - z) / der
                    ys[i] = ys[i] - step
                    if np.max(np.abs(step) / np.maximum(np.abs(ys[i]), 1e-300)) < 1e-14:
                        break
                dy = 1 / g_and_dg(ys[i], ts[i], ws[i])[1]
                prod_u = prod_u * z * ys[i]
                dlog = dlog + 1 / z + dy / ys[i]
            rhs = scale * w1**2 * prod_u / z
            step = (zeta - rhs) / (-rhs * dlog)
            # damped Newton: never let w jump far (keeps the branch with Im z < 0)
            big = np.abs(step) > 0.5 * np.abs(w1) + 1e-300
            step = np.where(big, step * 0.5 * np.abs(w1) / np.abs(step), step)
            w1 = w1 - step
            if np.max(np.abs(step) / np.maximum(np.abs(w1), 1e-300)) < 1e-13:
                break
        if eta <= floor.min():
            return w1 - 1   # Im z = Im w exactly
        eta = eta / 3
