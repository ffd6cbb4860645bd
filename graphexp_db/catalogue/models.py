"""Typed SQLAlchemy 2 models of the catalogue (tables and views documented in ``docs/schema.md``).

One :class:`Base` carries the naming convention (so that constraint names are stable and Alembic
can drop them on SQLite's batch mode) and the ``type_annotation_map`` (``Fraction`` maps to
:class:`ExactRational`); both, the column types and the shared ``Annotated`` column kinds live in
:mod:`.model_base`.  Exact numbers are never stored as floats:

* :class:`ExactRational` stores a :class:`fractions.Fraction` as text ``'p/q'`` (or ``'p'``);
* :class:`BigCount` stores a Python ``int`` of any size as decimal text, because SQLite integers
  stop at 64 bits and pairing counts such as ``(2n-1)!!`` pass that quickly.

Every result table has a ``provenance_id`` (method, code version, parameters, time, device).
Natural keys are ``UNIQUE`` so that fills are idempotent with ``ON CONFLICT DO NOTHING``
(:func:`graphexp_db.catalogue.store.insert_ignore`).

Examples
--------
>>> from fractions import Fraction
>>> from sqlalchemy import create_engine, select
>>> from sqlalchemy.orm import Session
>>> engine = create_engine("sqlite://")
>>> Base.metadata.create_all(engine)
>>> with Session(engine) as s:
...     p = Provenance(method="doctest", code_version="0", parameters="{}", host="h")
...     s.add(p)
...     s.flush()
...     s.add(Architecture(spec_hash="0123456789abcdef", kind="mlp", spec="mlp:L=1,sw=3/2,sb=0",
...                        spec_json="{}", shape="mlp-L1", depth=1, sw=Fraction(3, 2), sb=Fraction(0),
...                        provenance_id=p.id))
...     s.commit()
...     s.scalar(select(Architecture.sw))
Fraction(3, 2)
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .model_base import (
    ArchitectureFK,
    Base,
    BigCount,
    Count,
    ExactRational,
    GraphFK,
    Hash,
    Hash16,
    IdType,
    IntPK,
    JsonText,
    Order,
    utcnow,
)

__all__ = [
    "Base",
    "ExactRational",
    "BigCount",
    "Provenance",
    "Architecture",
    "Expansion",
    "OperatorGraph",
    "Pairing",
    "Embedding",
    "PairingAggregate",
    "GraphEnsemble",
    "EvaluatedContribution",
    "FiniteWidth",
    "LimitValue",
    "JacobianMoment",
    "SpectralDensity",
    "GraphSumConvergence",
    "Simulation",
    "SimulationPoint",
    "VIEWS",
    "utcnow",
]


class HasProvenance:
    """Mixin: a required ``provenance_id`` and a ``provenance`` relationship (never lazy-loaded)."""

    provenance_id: Mapped[int] = mapped_column(IdType, ForeignKey("provenance.id"), index=True)

    @declared_attr
    def provenance(cls) -> Mapped[Provenance]:
        return relationship("Provenance", lazy="raise")


# --------------------------------------------------------------------------- tables
class Provenance(Base):
    """Who computed a row, how and when: method, code version, parameters (JSON), host, device."""

    __tablename__ = "provenance"

    id: Mapped[IntPK]
    method: Mapped[str] = mapped_column(index=True)
    code_version: Mapped[str]
    parameters: Mapped[JsonText]
    device: Mapped[str] = mapped_column(default="cpu", server_default="cpu")
    host: Mapped[str] = mapped_column(default="", server_default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Architecture(HasProvenance, Base):
    """One architecture spec (hash of the canonical form is the natural key)."""

    __tablename__ = "architecture"

    id: Mapped[IntPK]
    spec_hash: Mapped[Hash16] = mapped_column(unique=True)
    kind: Mapped[str]
    spec: Mapped[str]
    spec_json: Mapped[JsonText]
    shape: Mapped[str] = mapped_column(index=True)
    depth: Mapped[int | None]
    sw: Mapped[Fraction]
    sb: Mapped[Fraction | None]

    expansions: Mapped[list[Expansion]] = relationship(back_populates="architecture", lazy="raise")


class Expansion(HasProvenance, Base):
    """One expansion run ``(architecture, quantity, order, ensemble, activation)`` and its summary.

    The natural key uses ``spec_hash`` (``''`` for pure trace words, which have no architecture)
    rather than the nullable ``architecture_id``: NULLs are distinct in ``UNIQUE`` constraints.
    """

    __tablename__ = "expansion"
    __table_args__ = (
        UniqueConstraint("spec_hash", "shape", "quantity", "order", "ensemble", "activation", name="uq_expansion__natural_key"),
    )

    id: Mapped[IntPK]
    architecture_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("architecture.id"), index=True)
    spec_hash: Mapped[str] = mapped_column(String(16), default="", server_default="")
    shape: Mapped[str] = mapped_column(index=True)
    quantity: Mapped[str]
    order: Mapped[Order]
    ensemble: Mapped[str]
    activation: Mapped[str] = mapped_column(default="", server_default="")
    n_graphs: Mapped[int]
    n_pairings: Mapped[Count]
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="running")
    summary_json: Mapped[str | None] = mapped_column(Text())

    architecture: Mapped[Architecture | None] = relationship(back_populates="expansions", lazy="raise")


class OperatorGraph(HasProvenance, Base):
    """A canonical operator graph of ``(shape, quantity, order)`` with an LMFDB-style label.

    The row is shared by every expansion of its ``(shape, quantity, order)``, whatever their
    ensemble, activation or numeric parameters, so it holds only what is common to all of them:
    ``n_pairings`` is the number of Gaussian (real) Wick pairings, a function of the graph alone;
    ``n_orbits`` and ``complete`` are those of the Gaussian ensemble (written only by Gaussian
    fills); per-ensemble values are in :class:`GraphEnsemble`.
    """

    __tablename__ = "operator_graph"
    __table_args__ = (UniqueConstraint("shape", "quantity", "order", "certificate"),)

    id: Mapped[IntPK]
    shape: Mapped[str]
    quantity: Mapped[str]
    order: Mapped[Order]
    index: Mapped[int]
    label: Mapped[str] = mapped_column(unique=True)
    certificate: Mapped[str] = mapped_column(Text())
    graph_json: Mapped[JsonText]
    n_vertices: Mapped[int]
    n_edges: Mapped[int]
    coefficient: Mapped[Count]
    n_pairings: Mapped[Count]
    n_orbits: Mapped[int | None]
    n_automorphisms: Mapped[int | None] = mapped_column(BigCount())
    complete: Mapped[bool] = mapped_column(default=False, server_default=false())

    pairings: Mapped[list[Pairing]] = relationship(back_populates="graph", lazy="raise")
    aggregates: Mapped[list[PairingAggregate]] = relationship(back_populates="graph", lazy="raise")


class Pairing(HasProvenance, Base):
    """A Wick pairing (orbit representative, by rank) of a graph's edges, with its orbit size."""

    __tablename__ = "pairing"
    __table_args__ = (UniqueConstraint("graph_id", "ensemble", "rank"),)

    id: Mapped[IntPK]
    graph_id: Mapped[GraphFK]
    ensemble: Mapped[str]
    rank: Mapped[Count]
    blocks_json: Mapped[JsonText]
    multiplicity: Mapped[Count]

    graph: Mapped[OperatorGraph] = relationship(back_populates="pairings", lazy="raise")
    embedding: Mapped[Embedding | None] = relationship(back_populates="pairing", lazy="raise")


class Embedding(Base):
    """The glued object of one pairing: quotient / ribbon graph, Euler characteristic, genus, N-exponent.

    Its provenance is its pairing's.
    """

    __tablename__ = "embedding"

    id: Mapped[IntPK]
    pairing_id: Mapped[int] = mapped_column(IdType, ForeignKey("pairing.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    V: Mapped[int]
    E: Mapped[int]
    F: Mapped[int | None]
    chi: Mapped[int]
    genus: Mapped[int | None] = mapped_column(index=True)
    crosscaps: Mapped[int | None]
    orientable: Mapped[bool | None]
    n_exponent: Mapped[int] = mapped_column(index=True)
    leading: Mapped[bool]
    quotient_json: Mapped[JsonText]
    contribution: Mapped[str] = mapped_column(Text())
    contribution_json: Mapped[JsonText]

    pairing: Mapped[Pairing] = relationship(back_populates="embedding", lazy="raise")


class PairingAggregate(HasProvenance, Base):
    """Exact number of pairings of a graph by N-exponent and surface (``S<g>``, ``N<h>``, ``Q``)."""

    __tablename__ = "pairing_aggregate"
    __table_args__ = (UniqueConstraint("graph_id", "ensemble", "n_exponent", "surface"),)

    id: Mapped[IntPK]
    graph_id: Mapped[GraphFK]
    ensemble: Mapped[str]
    n_exponent: Mapped[int]
    surface: Mapped[str] = mapped_column(String(16))
    count: Mapped[Count]
    contribution_json: Mapped[str | None] = mapped_column(Text())

    graph: Mapped[OperatorGraph] = relationship(back_populates="aggregates", lazy="raise")


class GraphEnsemble(HasProvenance, Base):
    """What a graph's pairings are in one weight ensemble: their number, orbits, completion."""

    __tablename__ = "graph_ensemble"
    __table_args__ = (UniqueConstraint("graph_id", "ensemble"),)

    id: Mapped[IntPK]
    graph_id: Mapped[GraphFK]
    ensemble: Mapped[str]
    n_pairings: Mapped[Count]
    n_orbits: Mapped[int | None]
    complete: Mapped[bool] = mapped_column(default=False, server_default=false())

    graph: Mapped[OperatorGraph] = relationship(lazy="raise")


class EvaluatedContribution(HasProvenance, Base):
    """A stored pairing's contribution evaluated for one expansion's activation, sw and sb.

    Embeddings are shared by every expansion of their graph; the evaluated value depends on the
    expansion (its architecture's numbers and its activation), so it is keyed by both.
    """

    __tablename__ = "evaluated_contribution"
    __table_args__ = (UniqueConstraint("expansion_id", "pairing_id"),)

    id: Mapped[IntPK]
    expansion_id: Mapped[int] = mapped_column(IdType, ForeignKey("expansion.id", ondelete="CASCADE"), index=True)
    pairing_id: Mapped[int] = mapped_column(IdType, ForeignKey("pairing.id", ondelete="CASCADE"), index=True)
    contribution: Mapped[str] = mapped_column(Text())
    contribution_json: Mapped[JsonText]


class FiniteWidth(HasProvenance, Base):
    """An exact finite-width series (coefficients of N^-j as exact strings), keyed by its parameters."""

    __tablename__ = "finite_width"

    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(index=True)
    params_hash: Mapped[Hash] = mapped_column(unique=True)
    params_json: Mapped[JsonText]
    coefficients_json: Mapped[JsonText]


class LimitValue(HasProvenance, Base):
    """An infinite-width limit (NNGP, NTK, ...) at given inputs."""

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

    architecture: Mapped[Architecture] = relationship(lazy="raise")


class JacobianMoment(HasProvenance, Base):
    """Moment m_k of the limiting spectrum of J J^T at input norm q_in."""

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

    architecture: Mapped[Architecture] = relationship(lazy="raise")


class SpectralDensity(HasProvenance, Base):
    """Limiting spectral density of J J^T on a grid."""

    __tablename__ = "spectral_density"
    __table_args__ = (UniqueConstraint("architecture_id", "activation", "q_in", "method"),)

    id: Mapped[IntPK]
    architecture_id: Mapped[ArchitectureFK]
    activation: Mapped[str]
    q_in: Mapped[Fraction]
    method: Mapped[str]
    grid_json: Mapped[JsonText]
    density_json: Mapped[JsonText]

    architecture: Mapped[Architecture] = relationship(lazy="raise")


class GraphSumConvergence(HasProvenance, Base):
    """Truncated graph sum of a quantity up to ``order`` against its closed form."""

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

    architecture: Mapped[Architecture] = relationship(lazy="raise")


class Simulation(HasProvenance, Base):
    """A Monte Carlo run (kernel, NTK, spectra, commutativity grid, linearity sweep, ...)."""

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
    """One measured value of a simulation at width N (and depth L); provenance is the simulation's."""

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


# --------------------------------------------------------------------------- views
# Portable SQL (SQLite and PostgreSQL).  The migration holds a frozen copy of these statements.
# ``count`` is text: CAST(... AS NUMERIC) is exact on PostgreSQL and an integer on SQLite up to 2**63-1.
VIEWS: dict[str, str] = {
    "genus_distribution": """
SELECT g.shape, g.quantity, g."order", a.ensemble, a.surface, a.n_exponent,
       CASE WHEN a.surface LIKE 'S%' THEN CAST(SUBSTR(a.surface, 2) AS INTEGER) END AS genus,
       CASE WHEN a.surface LIKE 'N%' THEN CAST(SUBSTR(a.surface, 2) AS INTEGER) END AS crosscaps,
       SUM(CAST(a.count AS NUMERIC)) AS n_pairings,
       COUNT(DISTINCT a.graph_id) AS n_graphs
FROM pairing_aggregate a JOIN operator_graph g ON g.id = a.graph_id
GROUP BY g.shape, g.quantity, g."order", a.ensemble, a.surface, a.n_exponent
""",
    "leading_pairings": """
SELECT g.label, g.shape, g.quantity, g."order", p.ensemble, p.rank, p.multiplicity,
       e.kind, e."V", e."E", e."F", e.chi, e.genus, e.n_exponent, e.contribution
FROM embedding e JOIN pairing p ON p.id = e.pairing_id JOIN operator_graph g ON g.id = p.graph_id
WHERE e."leading" = TRUE
""",
}


def _create_views(target: Any, connection: Any, **kw: Any) -> None:
    for name, body in VIEWS.items():
        connection.execute(text(f"DROP VIEW IF EXISTS {name}"))
        connection.execute(text(f"CREATE VIEW {name} AS {body.strip()}"))


def _drop_views(target: Any, connection: Any, **kw: Any) -> None:
    for name in VIEWS:
        connection.execute(text(f"DROP VIEW IF EXISTS {name}"))


# create_all / drop_all keep the views in step with the tables (the migration creates them too).
event.listen(Base.metadata, "after_create", _create_views)
event.listen(Base.metadata, "before_drop", _drop_views)
