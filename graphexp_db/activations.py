"""One registry of the named activations (CONVENTIONS.md): ``phi`` and ``phi'`` on any array backend,
the Taylor jets the quadrature moment oracles need, and how each one's Gaussian expectations are
evaluated.  Monte Carlo (:mod:`graphexp_db.montecarlo`), the infinite-width duals
(:mod:`graphexp_db.gaussian`) and the finite-width oracles (:mod:`graphexp_db.moments`) all read it,
so a new activation is one entry here plus, where it has one, its closed-form dual.

Polynomials (``poly:c0,c1,...`` and ``identity``) are not entries: :func:`phi` and :func:`dphi`
evaluate them from their coefficients (Horner).

Examples
--------
>>> import numpy as np
>>> from graphexp_db.spec import parse_activation
>>> z = np.array([-1.0, 0.0, 2.0])
>>> phi(parse_activation("relu"), z, np).tolist(), dphi(parse_activation("relu"), z, np).tolist()
([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
>>> phi(parse_activation("poly:1,0,1/2"), z, np).tolist()       # 1 + z^2 / 2
[1.5, 1.0, 3.0]
>>> REGISTRY["tanh"].dual, REGISTRY["relu"].dual, REGISTRY["relu"].kinked
('quadrature', 'closed-form', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["ActivationInfo", "REGISTRY", "phi", "dphi", "ndtr"]

Array = Any
XpFn = Callable[[Array, Any], Array]


def ndtr(z, xp=np):
    """The standard normal CDF on any backend (scipy's ``ndtr`` is host-only: values on another
    backend make one round trip to the host).

    Parameters
    ----------
    z : array
        Points, on the backend ``xp``.
    xp : module
        ``numpy`` or ``cupy``.

    Returns
    -------
    array
        ``Phi(z)`` on the same backend.

    Examples
    --------
    >>> float(ndtr(np.array(0.0)))
    0.5
    """
    from scipy.special import ndtr as _ndtr

    from .backend import to_numpy

    return _ndtr(z) if xp is np else xp.asarray(_ndtr(to_numpy(z)))


@dataclass(frozen=True)
class ActivationInfo:
    """What the code base knows about one named activation.

    Attributes
    ----------
    name : str
        The CLI/spec name.
    phi, dphi : callable ``(z, xp) -> array``
        The activation and its derivative, elementwise on backend ``xp``.
    dual : str
        ``"closed-form"`` (E[phi(u) phi(v)] and E[phi'(u) phi'(v)] in closed form, :mod:`graphexp_db.gaussian`)
        or ``"quadrature"`` (2-D trapezoid rule).
    oracle : str
        How the finite-width moment oracle (:mod:`graphexp_db.moments`) evaluates
        ``E[(phi^i)^(m)(u) (phi^j)^(n)(v)]``: ``"closed-form"`` or ``"quadrature"``.
    jet : callable ``(z, M) -> list of arrays`` or None
        The derivatives ``phi^(k)(z)``, ``k = 0..M`` (numpy), for the quadrature oracle.
    kinked : bool
        ``phi'`` jumps (relu): Hessian-vector products need finite differences, not Pearlmutter.

    Examples
    --------
    >>> info = REGISTRY["erf"]
    >>> round(float(info.phi(np.array(1.0), np)), 12), info.oracle
    (0.84270079295, 'quadrature')
    """

    name: str
    phi: XpFn
    dphi: XpFn
    dual: str
    oracle: str
    jet: Callable[[np.ndarray, int], list] | None = None
    kinked: bool = False


# --------------------------------------------------------------------------- jets (numpy)
def _tanh_jet(z: np.ndarray, M: int) -> list[np.ndarray]:
    # Taylor coefficients c_k of tanh(z + h) from t' = 1 - t^2: (k+1) c_(k+1) = [k == 0] - sum_r c_r c_(k-r)
    c = [np.tanh(z)]
    for k in range(M):
        acc = -sum(c[r] * c[k - r] for r in range(k + 1))
        if k == 0:
            acc = acc + 1.0
        c.append(acc / (k + 1))
    return [ck * math.factorial(k) for k, ck in enumerate(c)]   # derivatives


def _erf_jet(z: np.ndarray, M: int) -> list[np.ndarray]:
    from scipy.special import erf

    out = [erf(z)]
    g = 2 / math.sqrt(math.pi) * np.exp(-z * z)
    for k in range(1, M + 1):
        # d^k erf = (2/sqrt pi) (-1)^(k-1) H_(k-1)(z) exp(-z^2)  (physicists' Hermite)
        c = np.zeros(k)
        c[-1] = 1
        out.append((-1) ** (k - 1) * np.polynomial.hermite.hermval(z, c) * g)
    return out


def _gelu_jet(z: np.ndarray, M: int) -> list[np.ndarray]:
    pdf = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def Phi(k):  # k-th derivative of the normal cdf
        if k == 0:
            return ndtr(z)
        c = np.zeros(k)
        c[-1] = 1
        return (-1) ** (k - 1) * np.polynomial.hermite_e.hermeval(z, c) * pdf

    # (z Phi)^(k) = z Phi^(k) + k Phi^(k-1)
    return [z * Phi(0)] + [z * Phi(k) + k * Phi(k - 1) for k in range(1, M + 1)]


# --------------------------------------------------------------------------- phi, phi'
def _tanh_prime(z, xp):
    t = xp.tanh(z)
    return 1 - t * t


def _gelu(z, xp):
    return z * ndtr(z, xp)


def _gelu_prime(z, xp):
    return ndtr(z, xp) + z * xp.exp(-z * z / 2) / math.sqrt(2 * math.pi)


REGISTRY: dict[str, ActivationInfo] = {a.name: a for a in [
    ActivationInfo("relu", lambda z, xp: xp.maximum(z, 0), lambda z, xp: (z > 0).astype(z.dtype),
                   dual="closed-form", oracle="closed-form", kinked=True),
    ActivationInfo("tanh", lambda z, xp: xp.tanh(z), _tanh_prime, dual="quadrature", oracle="quadrature", jet=_tanh_jet),
    ActivationInfo("erf", lambda z, xp: 2 * ndtr(z * math.sqrt(2), xp) - 1,
                   lambda z, xp: (2 / math.sqrt(math.pi)) * xp.exp(-z * z), dual="closed-form", oracle="quadrature",
                   jet=_erf_jet),
    ActivationInfo("sin", lambda z, xp: xp.sin(z), lambda z, xp: xp.cos(z), dual="closed-form", oracle="closed-form"),
    ActivationInfo("gelu", _gelu, _gelu_prime, dual="quadrature", oracle="quadrature", jet=_gelu_jet),
]}


def phi(act, z, xp=np):
    """``phi(z)`` elementwise on backend ``xp``.

    Parameters
    ----------
    act : Activation
        A parsed activation (:func:`graphexp_db.spec.parse_activation`): a named one, ``identity``
        or a polynomial.
    z : array
        Preactivations.
    xp : module
        ``numpy`` or ``cupy``.

    Returns
    -------
    array
        ``phi(z)``, same shape and backend.

    Examples
    --------
    >>> from graphexp_db.spec import parse_activation
    >>> phi(parse_activation("identity"), np.array([3.0])).tolist()
    [3.0]
    """
    if act.name in REGISTRY:
        return REGISTRY[act.name].phi(z, xp)
    if act.name == "identity":
        return z
    out = xp.zeros_like(z)
    for c in reversed(act.coeffs):  # Horner
        out = out * z + float(c)
    return out


def dphi(act, z, xp=np):
    """``phi'(z)`` elementwise on backend ``xp`` (relu: the step, 0 at z = 0).

    Parameters
    ----------
    act : Activation
        A parsed activation.
    z : array
        Preactivations.
    xp : module
        ``numpy`` or ``cupy``.

    Returns
    -------
    array
        ``phi'(z)``, same shape and backend.

    Examples
    --------
    >>> from graphexp_db.spec import parse_activation
    >>> dphi(parse_activation("poly:0,1,1"), np.array([2.0])).tolist()   # 1 + 2 z
    [5.0]
    """
    if act.name in REGISTRY:
        return REGISTRY[act.name].dphi(z, xp)
    if act.name == "identity":
        return xp.ones_like(z)
    out = xp.zeros_like(z)
    for j in range(len(act.coeffs) - 1, 0, -1):
        out = out * z + j * float(act.coeffs[j])
    return out
