"""Storing limits, Jacobian moments, spectral densities and graph-sum convergence tables.

Every function takes an engine at the current schema, writes one provenance row and its result
rows with ``ON CONFLICT DO NOTHING`` on the natural keys (storing twice is harmless), and returns
what it stored.  ``paper_steps()`` is the ``graphexp build --preset paper`` recipe.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction

from ..spec import canonical_json, parse_activation, parse_arch
from . import models as m
from .engine import session_scope
from .steps import Step
from .store import finish_provenance, get_or_create_architecture, insert_ignore, new_provenance

__all__ = [
    "store_rows",
    "store_limit",
    "store_jacobian_moments",
    "store_density",
    "store_graph_sum_convergence",
    "paper_steps",
]


def store_rows(engine, method: str, params: dict, spec, device: str, make_rows) -> int:
    """One provenance row and the rows ``make_rows(arch_id, prov_id) -> (model, rows, keys)``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    method : str
        The provenance method (what computed the rows).
    params : dict
        The inputs, stored as canonical JSON in the provenance row.
    spec : MLPSpec, ResNetSpec or DagSpec
        The architecture the rows belong to (its row is created when missing).
    device : str
        ``'cpu'`` or ``'gpu'``.
    make_rows : callable
        ``make_rows(arch_id, prov_id) -> (model, rows, keys)``: the ORM class, the row dicts and their
        natural key (as :func:`~graphexp_db.catalogue.store.insert_ignore` takes them).

    Returns
    -------
    int
        The number of rows inserted (0 when all were stored before).

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> from sqlalchemy import create_engine
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> def rows(arch_id, prov_id):
    ...     return m.JacobianMoment, [dict(architecture_id=arch_id, activation="identity", q_in=1, k=1, value=1.0,
    ...                                    method="free", provenance_id=prov_id)], ["architecture_id", "activation", "q_in", "k", "method"]
    >>> [store_rows(engine, "doctest", {}, parse_arch("mlp:L=1"), "cpu", rows) for _ in range(2)]
    [1, 0]
    """
    with session_scope(engine) as s:
        prov = new_provenance(s, method, params, device=device)
        arch = get_or_create_architecture(s, spec, prov.id)
        model, rows, keys = make_rows(arch.id, prov.id)
        n = insert_ignore(s, model, rows, keys)
        finish_provenance(s, prov)
    return n


def _method_of(spec, act) -> str:
    from ..gaussian import CLOSED_FORMS

    base = "closed-form" if act.name in CLOSED_FORMS else "quadrature"
    if spec.kind == "resnet":
        return base + ("+ode-rk4" if spec.L is None else "+recursion")
    return base + "+recursion"


def store_limit(engine, kind: str, spec, act, xs, ys, value: float, device: str = "cpu") -> int:
    """Store one NNGP/NTK value (exact too for polynomial activations).

    For a polynomial activation on an MLP or DAG the exact rational value is computed and stored
    next to ``value``; a ResNet's row has quantity ``resnet-covariance`` or ``resnet-ntk``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    kind : str
        ``nngp`` or ``ntk``.
    spec : str or spec
        The architecture (parsed with ``parse_arch``).
    act : str or Activation
        The activation phi.
    xs, ys : sequence of float
        The two inputs (stored exactly, as the decimals they print as).
    value : float
        The infinite-width value K(x, y) or Theta(x, y).
    device : str
        ``'cpu'`` or ``'gpu'``.

    Returns
    -------
    int
        1 when the row is new, 0 when the same limit was stored before.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> [store_limit(engine, "nngp", "mlp:L=1", "identity", [1, 0], [1, 0], 0.5) for _ in range(2)]
    [1, 0]
    >>> from sqlalchemy import select
    >>> with engine.connect() as c:
    ...     c.execute(select(m.LimitValue.value_exact, m.LimitValue.method)).one()   # K2 = K1 = (x.x)/d
    (Fraction(1, 2), 'closed-form+recursion')
    """
    from ..limits import nngp_exact, ntk_exact

    spec, act = parse_arch(spec), parse_activation(act)
    x_exact = [Fraction(str(v)) for v in xs]
    y_exact = [Fraction(str(v)) for v in ys]
    exact = None
    if act.is_polynomial and spec.kind != "resnet":
        exact = (nngp_exact if kind == "nngp" else ntk_exact)(spec, act, x_exact, y_exact)
    quantity = f"resnet-{'covariance' if kind == 'nngp' else 'ntk'}" if spec.kind == "resnet" else kind
    method = _method_of(spec, act)
    inputs = canonical_json({"x": x_exact, "y": y_exact})
    key = {"arch": spec.spec_hash, "activation": str(act), "quantity": quantity, "inputs": inputs}
    params_hash = hashlib.sha256(canonical_json(key).encode()).hexdigest()
    params = {"arch": str(spec), "activation": str(act), "quantity": quantity, "x": x_exact, "y": y_exact}

    def rows(arch_id, prov_id):
        return m.LimitValue, [dict(architecture_id=arch_id, activation=str(act), quantity=quantity, method=method,
                                   inputs_json=inputs, params_hash=params_hash, value=float(value), value_exact=exact,
                                   error_bound=1e-10 if "quadrature" in method else None,
                                   provenance_id=prov_id)], ["params_hash"]

    return store_rows(engine, "limit-" + method, params, spec, device, rows)


def store_jacobian_moments(engine, spec, act, q_in, moments, method: str = "free") -> int:
    """Store m_1..m_K (exact for the identity: sw^(2k(L+1)) FussCatalan_(L+1)(k)).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    spec : str or MLPSpec
        A square MLP (``L``, ``sw`` are read from it).
    act : str or Activation
        The activation phi.
    q_in : float
        Input length |x|^2 / N.
    moments : sequence of float
        m_1, m_2, ... of the limiting spectral law of J J^T.
    method : str
        How they were computed (``free``: free probability; part of the natural key).

    Returns
    -------
    int
        The number of moment rows inserted.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> store_jacobian_moments(engine, "mlp:L=1,sw=1,sb=0", "identity", 1.0, [1.0, 3.0, 12.0])
    3
    >>> from sqlalchemy import select
    >>> with engine.connect() as c:                   # FussCatalan_2(k) = 1, 3, 12
    ...     c.execute(select(m.JacobianMoment.value_exact).order_by(m.JacobianMoment.k)).scalars().all()
    [Fraction(1, 1), Fraction(3, 1), Fraction(12, 1)]
    """
    from ..limits import fuss_catalan

    spec, act = parse_arch(spec), parse_activation(act)
    q = Fraction(repr(float(q_in)))
    params = {"arch": str(spec), "activation": str(act), "q_in": q, "kmax": len(moments), "method": method}

    def exact(k):
        return spec.sw ** (2 * k * (spec.L + 1)) * fuss_catalan(spec.L + 1, k) if act.name == "identity" else None

    def rows(arch_id, prov_id):
        return m.JacobianMoment, [dict(architecture_id=arch_id, activation=str(act), q_in=q, k=k, value=float(v),
                                       value_exact=exact(k), method=method, provenance_id=prov_id)
                                  for k, v in enumerate(moments, 1)], ["architecture_id", "activation", "q_in", "k", "method"]

    return store_rows(engine, "jacobian-moments-" + method, params, spec, "cpu", rows)


def store_density(engine, spec, act, q_in, grid, density, method: str = "stieltjes-s-transform") -> int:
    """Store a limiting spectral density of J J^T on its grid.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    spec : str or MLPSpec
        A square MLP.
    act : str or Activation
        The activation phi.
    q_in : float
        Input length |x|^2 / N.
    grid : sequence of float
        The eigenvalues at which the density is given.
    density : sequence of float
        The density at each grid point.
    method : str
        How it was computed (part of the natural key).

    Returns
    -------
    int
        1 when the row is new, else 0.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> [store_density(engine, "mlp:L=1,sw=1,sb=0", "relu", 1.0, [0.5, 1.0], [0.3, 0.2]) for _ in range(2)]
    [1, 0]
    """
    spec, act = parse_arch(spec), parse_activation(act)
    q = Fraction(repr(float(q_in)))
    params = {"arch": str(spec), "activation": str(act), "q_in": q, "points": len(grid)}

    def rows(arch_id, prov_id):
        return m.SpectralDensity, [dict(architecture_id=arch_id, activation=str(act), q_in=q, method=method,
                                        grid_json=json.dumps([float(v) for v in grid]),
                                        density_json=json.dumps([float(v) for v in density]),
                                        provenance_id=prov_id)], ["architecture_id", "activation", "q_in", "method"]

    return store_rows(engine, method, params, spec, "cpu", rows)


def store_graph_sum_convergence(engine, spec, act, x, y, orders) -> list[dict]:
    """Truncated leading-order graph sums of the NNGP and NTK (orders 0..D of the catalogue, i.e.
    the Taylor series cut at degree D) next to the closed-form kernels; one row per (quantity, D).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    spec : str or spec
        The architecture.
    act : str or Activation
        An entire activation (``sin``, ``erf``, polynomials).
    x, y : sequence of float
        The two inputs.
    orders : sequence of int
        The truncation degrees D.

    Returns
    -------
    list of dict
        One row per (D, quantity): ``{"order", "quantity", "graph_sum", "closed_form", "error"}``,
        ``quantity`` being ``nngp`` or ``ntk`` and ``error`` ``|graph_sum - closed_form|``.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> table = store_graph_sum_convergence(engine, "mlp:L=1,sw=1,sb=0", "sin", [1, 0], [1, 0], [1, 3])
    >>> [(r["order"], r["quantity"], round(r["error"], 4)) for r in table]    # the error falls with D
    [(1, 'nngp', 0.1839), (1, 'ntk', 0.342), (3, 'nngp', 0.014), (3, 'ntk', 0.0122)]
    >>> import math
    >>> round(table[0]["closed_form"], 12) == round((1 - math.exp(-1)) / 2, 12)   # E[sin(u)^2], u ~ N(0, 1/2)
    True
    """
    from ..finite import graph_sum_convergence

    spec, act = parse_arch(spec), parse_activation(act)
    xs, ys = [Fraction(str(v)) for v in x], [Fraction(str(v)) for v in y]
    table = graph_sum_convergence(spec, act, xs, ys, orders)
    inputs = canonical_json({"x": xs, "y": ys})
    params = {"arch": str(spec), "activation": str(act), "x": xs, "y": ys, "orders": list(orders)}

    def rows(arch_id, prov_id):
        return m.GraphSumConvergence, [dict(architecture_id=arch_id, activation=str(act), quantity=r["quantity"],
                                            order=r["order"], inputs_json=inputs, graph_sum=r["graph_sum"],
                                            closed_form=r["closed_form"], provenance_id=prov_id) for r in table], \
            ["architecture_id", "activation", "quantity", "order", "inputs_json"]

    store_rows(engine, "graph-sum-convergence", params, spec, "cpu", rows)
    return table


# --------------------------------------------------------------------------- preset "paper"
PAPER_ACTIVATIONS = ("relu", "tanh", "erf", "identity")
PAPER_DEPTHS = range(1, 11)
PAPER_K = 12
PAPER_X, PAPER_Y = (1.0, 0.5, -0.3), (0.2, -1.0, 0.7)


def paper_steps():
    """Limits and moments for activations relu, tanh, erf, identity, MLP depths 1..10, K = 12
    (q_in = 1, sw = 1.5 for tanh/erf and sqrt 2 for relu, the critical-ish scales people plot), the
    NNGP/NTK at a fixed input pair, densities at L = 1, 2, 5, and graph-sum convergence tables
    for the entire activations sin and erf.

    Returns
    -------
    list of Step
        One step per (activation, depth), then the two graph-sum convergence steps; each step's
        ``run(engine, device)`` stores its rows and returns a short summary.

    Examples
    --------
    >>> steps = paper_steps()
    >>> len(steps) == len(PAPER_ACTIVATIONS) * len(PAPER_DEPTHS) + 2, steps[0].name, steps[-1].name
    (True, 'relu L=1', 'graph sums erf')
    """
    steps = []
    sw = {"relu": "1.4142135623730951", "tanh": "1.5", "erf": "1.5", "identity": "1"}
    for act in PAPER_ACTIVATIONS:
        for L in PAPER_DEPTHS:
            spec = f"mlp:L={L},sw={sw[act]},sb=0.1"
            steps.append(Step(f"{act} L={L}", _paper_point(spec, act)))
    steps.append(Step("graph sums sin", _paper_convergence("mlp:L=2,sw=1.2,sb=0.1", "sin", PAPER_X, PAPER_Y, range(1, 18, 2))))
    # erf's Gaussian-moment series converges for layer variances below about 1/4: small inputs
    steps.append(Step("graph sums erf", _paper_convergence("mlp:L=2,sw=1,sb=0.1", "erf", (0.5, 0.25, -0.15), (0.1, -0.5, 0.35),
                                                           range(1, 26, 4))))
    return steps


def _paper_point(spec: str, act: str):
    def run(engine, device):
        from ..limits import jacobian_density, jacobian_moments, nngp_limit, ntk_limit

        sp = parse_arch(spec)
        jac_spec = f"mlp:L={sp.L},sw={sp.sw},sb=0"
        moments = jacobian_moments(jac_spec, act, 1.0, PAPER_K, method="free")
        store_jacobian_moments(engine, jac_spec, act, 1.0, moments, "free")
        store_limit(engine, "nngp", spec, act, PAPER_X, PAPER_Y, nngp_limit(sp, act, PAPER_X, PAPER_Y), device)
        store_limit(engine, "ntk", spec, act, PAPER_X, PAPER_Y, ntk_limit(sp, act, PAPER_X, PAPER_Y), device)
        if sp.L in (1, 2, 5) and act != "identity":
            grid, rho = jacobian_density(jac_spec, act, 1.0)
            store_density(engine, jac_spec, act, 1.0, grid, rho)
        return {"arch": spec, "activation": act, "m1": moments[0]}

    return run


def _paper_convergence(spec: str, act: str, x, y, orders):
    def run(engine, device):
        table = store_graph_sum_convergence(engine, spec, act, x, y, list(orders))
        return {"arch": spec, "activation": act, "final_error": table[-1]["error"]}

    return run
