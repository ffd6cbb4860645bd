"""The catalogue's result tables (see :mod:`graphexp_db.catalogue.models` and ``docs/schema.md``):
finite-width series, infinite-width limits, Jacobian moments, spectral densities, graph-sum
convergence and simulations.  :mod:`~graphexp_db.catalogue.models` re-exports every class.

>>> sorted(t for t in Base.metadata.tables if t in {"finite_width", "simulation", "simulation_point"})
['finite_width', 'simulation', 'simulation_point']
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .model_base import ArchitectureFK, Base, Hash, HasProvenance, IdType, IntPK, JsonText, Order

__all__ = ["FiniteWidth", "LimitValue", "JacobianMoment", "SpectralDensity", "GraphSumConvergence", "Simulation",
           "SimulationPoint"]


class FiniteWidth(HasProvenance, Base):
    """An exact finite-width series (coefficients of N^-j as exact strings), keyed by its parameters.

    Attributes
    ----------
    id : int
        Surrogate key.
    kind : str
        ``trace``, ``covariance``, ``ntk`` or ``fourpoint``.
    params_hash : str
        Hash of the canonical parameters (unique).
    params_json : str
        The canonical parameters.
    coefficients_json : str
        ``{"<j>": "<exact rational>"}``: the coefficient of N^-j.
    provenance_id : int
        The :class:`Provenance` row that computed it.

    Examples
    --------
    >>> import json
    >>> from fractions import Fraction
    >>> row = FiniteWidth(kind="trace", params_hash="0" * 64, params_json='{"k":2,"p":1}',
    ...                   coefficients_json='{"0": "2", "1": "1"}', provenance_id=1)
    >>> {int(j): Fraction(c) for j, c in json.loads(row.coefficients_json).items()}   # E tr (W W^T)^2 / N: 2 + 1/N
    {0: Fraction(2, 1), 1: Fraction(1, 1)}
    """

    __tablename__ = "finite_width"

    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(index=True)
    params_hash: Mapped[Hash] = mapped_column(unique=True)
    params_json: Mapped[JsonText]
    coefficients_json: Mapped[JsonText]


class LimitValue(HasProvenance, Base):
    """An infinite-width limit (NNGP, NTK, ...) at given inputs.

    Attributes
    ----------
    id : int
        Surrogate key.
    architecture_id : int
        The architecture.
    activation : str
        Activation name.
    quantity : str
        ``nngp``, ``ntk``, ``resnet-ode``, ...
    method : str
        ``recursion``, ``graph-sum``, ``quadrature``, ...
    inputs_json : str
        The inputs (x, y).
    params_hash : str
        Hash of all parameters (unique).
    value : float
        The value.
    value_exact : Fraction or None
        The exact rational value when known.
    error_bound : float or None
        Numerical error bound when known.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    architecture : Architecture
        The architecture (never lazy-loaded).

    Examples
    --------
    >>> from fractions import Fraction
    >>> v = LimitValue(architecture_id=1, activation="identity", quantity="nngp", method="recursion",
    ...                inputs_json="[[1,0],[1/2,1]]", params_hash="0" * 64, value=0.25, value_exact=Fraction(1, 4),
    ...                provenance_id=1)
    >>> v.value == v.value_exact, v.error_bound is None
    (True, True)
    """

    __tablename__ = "limit_value"

    id: Mapped[IntPK]
    architecture_id: Mapped[ArchitectureFK]
    activation: Mapped[str]
    quantity: Mapped[str]
    method: Mapped[str]
    inputs_json: Mapped[JsonText]
    params_hash: Mapped[Hash] = mapped_column(unique=True)
    value: Mapped[float]
    value_exact: Mapped[Fraction | None]
    error_bound: Mapped[float | None]

    architecture: Mapped[Any] = relationship("Architecture", lazy="raise")   # models.Architecture


class JacobianMoment(HasProvenance, Base):
    """Moment m_k of the limiting spectrum of J J^T at input norm q_in.

    Attributes
    ----------
    id : int
        Surrogate key.
    architecture_id : int
        The architecture.
    activation : str
        Activation name.
    q_in : Fraction
        Input norm |x|^2 / N, exact.
    k : int
        Moment index: m_k = lim (1/N) E tr[(J J^T)^k].
    value : float
        The moment.
    value_exact : Fraction or None
        The exact rational value when known.
    method : str
        How it was computed.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    architecture : Architecture
        The architecture (never lazy-loaded).

    Examples
    --------
    >>> from fractions import Fraction
    >>> m = JacobianMoment(architecture_id=1, activation="identity", q_in=Fraction(1), k=2, value=3.0,
    ...                    value_exact=Fraction(3), method="free", provenance_id=1)
    >>> m.k, m.value_exact     # identity, L=1, sw=1: FussCatalan_2(2)
    (2, Fraction(3, 1))
    """

    __tablename__ = "jacobian_moment"
    __table_args__ = (UniqueConstraint("architecture_id", "activation", "q_in", "k", "method"),)

    id: Mapped[IntPK]
    architecture_id: Mapped[ArchitectureFK]
    activation: Mapped[str]
    q_in: Mapped[Fraction]
    k: Mapped[int]
    value: Mapped[float]
    value_exact: Mapped[Fraction | None]
    method: Mapped[str]

    architecture: Mapped[Any] = relationship("Architecture", lazy="raise")   # models.Architecture


class SpectralDensity(HasProvenance, Base):
    """Limiting spectral density of J J^T on a grid.

    Attributes
    ----------
    id : int
        Surrogate key.
    architecture_id : int
        The architecture.
    activation : str
        Activation name.
    q_in : Fraction
        Input norm |x|^2 / N, exact.
    method : str
        How it was computed.
    grid_json : str
        The grid of eigenvalues.
    density_json : str
        The density on the grid.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    architecture : Architecture
        The architecture (never lazy-loaded).

    Examples
    --------
    >>> from fractions import Fraction
    >>> d = SpectralDensity(architecture_id=1, activation="tanh", q_in=Fraction(1, 2), method="stieltjes-s-transform",
    ...                     grid_json="[0.5, 1.0]", density_json="[0.3, 0.2]", provenance_id=1)
    >>> d.q_in, SpectralDensity.__tablename__
    (Fraction(1, 2), 'spectral_density')
    """

    __tablename__ = "spectral_density"
    __table_args__ = (UniqueConstraint("architecture_id", "activation", "q_in", "method"),)

    id: Mapped[IntPK]
    architecture_id: Mapped[ArchitectureFK]
    activation: Mapped[str]
    q_in: Mapped[Fraction]
    method: Mapped[str]
    grid_json: Mapped[JsonText]
    density_json: Mapped[JsonText]

    architecture: Mapped[Any] = relationship("Architecture", lazy="raise")   # models.Architecture


class GraphSumConvergence(HasProvenance, Base):
    """Truncated graph sum of a quantity up to ``order`` against its closed form.

    Attributes
    ----------
    id : int
        Surrogate key.
    architecture_id : int
        The architecture.
    activation : str
        Activation name.
    quantity : str
        What is summed (``nngp``, ``ntk``).
    order : int
        Truncation order of the graph sum.
    inputs_json : str
        The inputs (at most 512 characters: part of the natural key).
    graph_sum : float
        The truncated graph sum.
    closed_form : float
        The closed form it converges to.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    architecture : Architecture
        The architecture (never lazy-loaded).

    Examples
    --------
    >>> c = GraphSumConvergence(architecture_id=1, activation="sin", quantity="nngp", order=5,   # mlp:L=1,sw=1,sb=0
    ...                         inputs_json="[[0.5],[0.5]]", graph_sum=0.1968414306640625,
    ...                         closed_form=0.1967346701436833, provenance_id=1)
    >>> abs(c.graph_sum - c.closed_form) < 2e-4
    True
    """

    __tablename__ = "graph_sum_convergence"
    __table_args__ = (
        UniqueConstraint("architecture_id", "activation", "quantity", "order", "inputs_json",
                         name="uq_graph_sum_convergence__natural_key"),
    )

    id: Mapped[IntPK]
    architecture_id: Mapped[ArchitectureFK]
    activation: Mapped[str]
    quantity: Mapped[str]
    order: Mapped[Order]
    # String (not TEXT) because it is part of a unique key (PostgreSQL and SQLite index either).
    inputs_json: Mapped[str] = mapped_column(String(512))
    graph_sum: Mapped[float]
    closed_form: Mapped[float]

    architecture: Mapped[Any] = relationship("Architecture", lazy="raise")   # models.Architecture


class Simulation(HasProvenance, Base):
    """A Monte Carlo run (kernel, NTK, spectra, commutativity grid, linearity sweep, ...).

    Attributes
    ----------
    id : int
        Surrogate key.
    kind : str
        ``kernel``, ``ntk``, ``jacobian-spectrum``, ``fourpoint``, ``commutativity``, ``linearity``, ...
    params_hash : str
        Hash of the parameters (unique).
    architecture_id : int or None
        The architecture.
    activation : str
        Activation name (``''`` when none).
    ensemble : str
        Weight ensemble (default ``gaussian``).
    device : str
        ``cpu`` (default) or ``gpu``.
    seed : int
        Random seed.
    result_json : str
        The summary (fitted slopes, confidence intervals, ...).
    provenance_id : int
        The :class:`Provenance` row that computed it.
    points : list of SimulationPoint
        Its measured values (never lazy-loaded).

    Examples
    --------
    >>> s = Simulation(kind="linearity", params_hash="0" * 64, seed=0, result_json='{"slope": -0.5}', provenance_id=1)
    >>> s.kind, s.architecture_id is None
    ('linearity', True)
    """

    __tablename__ = "simulation"

    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(index=True)
    params_hash: Mapped[Hash] = mapped_column(unique=True)
    architecture_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("architecture.id"), index=True)
    activation: Mapped[str] = mapped_column(default="", server_default="")
    ensemble: Mapped[str] = mapped_column(default="gaussian", server_default="gaussian")
    device: Mapped[str] = mapped_column(default="cpu", server_default="cpu")
    seed: Mapped[int]
    result_json: Mapped[JsonText]

    points: Mapped[list[SimulationPoint]] = relationship(back_populates="simulation", lazy="raise")


class SimulationPoint(Base):
    """One measured value of a simulation at width N (and depth L); provenance is the simulation's.

    Attributes
    ----------
    id : int
        Surrogate key.
    simulation_id : int
        The simulation (deleting it deletes its points).
    N : int
        Width.
    L : int or None
        Depth.
    quantity : str
        What was measured.
    value : float
        The mean.
    stderr : float or None
        Its standard error.
    extra_json : str or None
        Anything else.
    simulation : Simulation
        The simulation (never lazy-loaded).

    Examples
    --------
    >>> pt = SimulationPoint(simulation_id=1, N=64, L=None, quantity="hessian_norm", value=0.21, stderr=0.01)
    >>> pt.N, pt.L, pt.stderr
    (64, None, 0.01)
    """

    __tablename__ = "simulation_point"
    __table_args__ = (UniqueConstraint("simulation_id", "N", "L", "quantity"),)

    id: Mapped[IntPK]
    simulation_id: Mapped[int] = mapped_column(IdType, ForeignKey("simulation.id", ondelete="CASCADE"), index=True)
    N: Mapped[int]
    L: Mapped[int | None]
    quantity: Mapped[str]
    value: Mapped[float]
    stderr: Mapped[float | None]
    extra_json: Mapped[str | None] = mapped_column(Text())

    simulation: Mapped[Simulation] = relationship(back_populates="points", lazy="raise")
