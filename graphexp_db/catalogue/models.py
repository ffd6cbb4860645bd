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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .model_base import (
    Base,
    BigCount,
    Count,
    ExactRational,
    GraphFK,
    Hash16,
    HasProvenance,
    IdType,
    IntPK,
    JsonText,
    Order,
    Provenance,
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


# --------------------------------------------------------------------------- tables
class Architecture(HasProvenance, Base):
    """One architecture spec (hash of the canonical form is the natural key).

    Attributes
    ----------
    id : int
        Surrogate key.
    spec_hash : str
        16 hex digits of the canonical spec's SHA-256 (unique).
    kind : str
        ``mlp``, ``resnet`` or ``dag``.
    spec : str
        Canonical spec string (``mlp:L=3,sw=3/2,sb=1/10``; DAGs as canonical JSON).
    spec_json : str
        Canonical JSON of the spec.
    shape : str
        Combinatorial shape (``mlp-L3``); operator graphs depend only on it.
    depth : int or None
        L for MLP/ResNet (``None`` for ``resnet:L=inf``), hidden nodes on a longest path for DAGs.
    sw : Fraction
        sigma_w, exact.
    sb : Fraction or None
        sigma_b, exact (``None`` for ResNets, which have no biases).
    provenance_id : int
        The :class:`Provenance` row that computed it.
    expansions : list of Expansion
        Its expansions (never lazy-loaded: use a join or ``selectinload``).

    Examples
    --------
    >>> from fractions import Fraction
    >>> from graphexp_db.spec import parse_arch
    >>> s = parse_arch("mlp:L=3,sw=1.5,sb=0.1")
    >>> a = Architecture(spec_hash=s.spec_hash, kind=s.kind, spec=str(s), spec_json="{}", shape=s.shape,
    ...                  depth=s.L, sw=s.sw, sb=s.sb, provenance_id=1)
    >>> a.spec, a.sw == Fraction(3, 2), len(a.spec_hash)
    ('mlp:L=3,sw=3/2,sb=1/10', True, 16)
    """

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

    Attributes
    ----------
    id : int
        Surrogate key.
    architecture_id : int or None
        The architecture (``None`` for trace words ``ginibre-p*``, ``gue``).
    spec_hash : str
        The architecture's hash, ``''`` for trace words.
    shape, quantity : str
        Combinatorial shape and quantity (``covariance``, ``ntk``, ``fourpoint``, ``jacobian``, ``trace``, ``gue``).
    order : int
        Expansion order (:data:`graphexp_db.graph.ORDER_DOC`).
    ensemble : str
        Weight ensemble (``gaussian``, ``complex``, ``rademacher``, ``uniform``, ``sparse:p``).
    activation : str
        The activation contributions were evaluated with; ``''`` = symbolic in its Taylor coefficients.
    n_graphs : int
        Operator graphs (canonical classes).
    n_pairings : int
        Pairings over all graphs, exact (stored as text).
    status : str
        ``running`` (also left by an interrupted fill: re-run to resume) or ``complete``.
    summary_json : str or None
        The exact series by power of 1/N and pairing counts by N-exponent.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    architecture : Architecture or None
        Its architecture (never lazy-loaded).

    Examples
    --------
    >>> e = Expansion(spec_hash="", shape="gue", quantity="gue", order=3, ensemble="gaussian",
    ...               n_graphs=1, n_pairings=15, provenance_id=1)
    >>> e.architecture_id is None, e.n_pairings
    (True, 15)
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

    Attributes
    ----------
    id : int
        Surrogate key.
    shape, quantity : str
        The expansion the graph belongs to.
    order : int
        Its order.
    index : int
        1-based position in the canonical order of the expansion.
    label : str
        ``<shape>.<quantity abbrev>.o<order>.<index>``, e.g. ``mlp-L2.cov.o3.17`` (unique).
    certificate : str
        Canonical form (pynauty certificate, edge colours and multi-edges encoded).
    graph_json : str
        The graph (:meth:`graphexp_db.graph.OperatorGraph.to_json`).
    n_vertices, n_edges : int
        Sizes.
    coefficient : int
        Multiplicity (symmetry factor) in the expansion, exact.
    n_pairings : int
        Gaussian Wick pairings of its edges, exact.
    n_orbits : int or None
        Gaussian pairing orbits under its automorphisms (``None`` when not computed).
    n_automorphisms : int or None
        Order of its automorphism group (at most 4096: beyond, a subgroup's).
    complete : bool
        Its Gaussian pairings, embeddings and aggregates are stored.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    pairings : list of Pairing
        Stored pairing orbits (never lazy-loaded).
    aggregates : list of PairingAggregate
        Pairing counts by surface (never lazy-loaded).

    Examples
    --------
    >>> g = OperatorGraph(shape="gue", quantity="gue", order=2, index=1, label="gue.gue.o2.1", certificate="c",
    ...                   graph_json="{}", n_vertices=4, n_edges=4, coefficient=1, n_pairings=3, provenance_id=1)
    >>> g.label, g.n_pairings, OperatorGraph.__tablename__
    ('gue.gue.o2.1', 3, 'operator_graph')
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
    """A Wick pairing (orbit representative, by rank) of a graph's edges, with its orbit size.

    Attributes
    ----------
    id : int
        Surrogate key.
    graph_id : int
        The operator graph (deleting it deletes its pairings).
    ensemble : str
        Weight ensemble.
    rank : int
        Rank of the orbit representative in the graph's pairing space, exact.
    blocks_json : str
        The pairing: a list of blocks, each a list of edge ids.
    multiplicity : int
        Orbit size, exact; the orbit sizes of a graph add up to its number of pairings.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    graph : OperatorGraph
        The graph (never lazy-loaded).
    embedding : Embedding or None
        Its glued object (never lazy-loaded).

    Examples
    --------
    >>> p = Pairing(graph_id=1, ensemble="gaussian", rank=0, blocks_json="[[0, 1], [2, 3]]", multiplicity=2,
    ...             provenance_id=1)
    >>> p.rank, p.multiplicity, [c.name for c in Pairing.__table__.c if c.name in ("graph_id", "rank")]
    (0, 2, ['graph_id', 'rank'])
    """

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

    Attributes
    ----------
    id : int
        Surrogate key.
    pairing_id : int
        The pairing (unique).
    kind : str
        ``ribbon`` (trace words, with faces) or ``quotient`` (tree expansions).
    V, E : int
        Vertices and edges (ribbon: traces and blocks; quotient: index classes and pairs).
    F : int or None
        Faces (index classes) of a ribbon graph; ``None`` for quotient graphs.
    chi : int
        Euler characteristic (ribbon: V + E + F - n for n letters; quotient: V - E).
    genus : int or None
        Orientable genus (``None`` when non-orientable or not a surface).
    crosscaps : int or None
        Crosscaps (``None`` when orientable or not a surface).
    orientable : bool or None
        Orientability (``None`` when not a surface).
    n_exponent : int
        e in N^e of the pairing's term.
    leading : bool
        e = 0: the term survives the infinite-width limit.
    quotient_json : str
        Edges of the quotient graph ``[row_class, col_class, matrix]``.
    contribution : str
        The term, human-readable (``weight * c1^2 * sw^4 * S1_1 * N^-1``).
    contribution_json : str
        The term, exact, and the quotient's certificate.
    pairing : Pairing
        Its pairing (never lazy-loaded).

    Examples
    --------
    >>> e = Embedding(pairing_id=1, kind="ribbon", V=1, E=2, F=3, chi=2, genus=0, crosscaps=None, orientable=True,
    ...               n_exponent=0, leading=True, quotient_json="[]", contribution="1", contribution_json="{}")
    >>> e.V - e.E + e.F == e.chi, e.n_exponent == e.chi - 2   # tr H^4, planar pairing
    (True, True)
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
    """Exact number of pairings of a graph by N-exponent and surface (``S<g>``, ``N<h>``, ``Q``).

    Attributes
    ----------
    id : int
        Surrogate key.
    graph_id : int
        The operator graph.
    ensemble : str
        Weight ensemble.
    n_exponent : int
        e in N^e.
    surface : str
        ``S<g>`` (orientable, genus g), ``N<h>`` (h crosscaps), ``X<chi>`` (hypermap of a non-Gaussian
        partition), ``Q`` (quotient graph) or ``none`` (no pairing).
    count : int
        Number of pairings, exact.
    contribution_json : str or None
        Their summed contribution.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    graph : OperatorGraph
        The graph (never lazy-loaded).

    Examples
    --------
    >>> a = PairingAggregate(graph_id=1, ensemble="gaussian", n_exponent=-2, surface="S1", count=1, provenance_id=1)
    >>> a.surface, a.count
    ('S1', 1)
    """

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
    """What a graph's pairings are in one weight ensemble: their number, orbits, completion.

    Attributes
    ----------
    id : int
        Surrogate key.
    graph_id : int
        The operator graph (deleting it deletes these rows).
    ensemble : str
        Weight ensemble.
    n_pairings : int
        Pairings (cumulant partitions for non-Gaussian ensembles) of its edges, exact.
    n_orbits : int or None
        Orbits under the graph's automorphisms (``None`` when not computed).
    complete : bool
        The pairings, embeddings and aggregates of this ensemble are stored.
    provenance_id : int
        The :class:`Provenance` row that computed it.
    graph : OperatorGraph
        The graph (never lazy-loaded).

    Examples
    --------
    >>> r = GraphEnsemble(graph_id=1, ensemble="rademacher", n_pairings=4, n_orbits=2, complete=True, provenance_id=1)
    >>> r.ensemble, r.n_pairings, r.complete
    ('rademacher', 4, True)
    """

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

    Attributes
    ----------
    id : int
        Surrogate key.
    expansion_id : int
        The expansion (deleting it deletes these rows).
    pairing_id : int
        The pairing (and so its embedding).
    contribution : str
        The evaluated term, human-readable (``576 * S0_2 * S2_0``); input moments stay symbolic.
    contribution_json : str
        The evaluated terms as a JSON list of strings.
    provenance_id : int
        The :class:`Provenance` row that computed it.

    Examples
    --------
    >>> c = EvaluatedContribution(expansion_id=2, pairing_id=7, contribution="576 * S0_2 * S2_0",
    ...                           contribution_json='["576 * S0_2 * S2_0"]', provenance_id=1)
    >>> (c.expansion_id, c.pairing_id), c.contribution
    ((2, 7), '576 * S0_2 * S2_0')
    """

    __tablename__ = "evaluated_contribution"
    __table_args__ = (UniqueConstraint("expansion_id", "pairing_id"),)

    id: Mapped[IntPK]
    expansion_id: Mapped[int] = mapped_column(IdType, ForeignKey("expansion.id", ondelete="CASCADE"), index=True)
    pairing_id: Mapped[int] = mapped_column(IdType, ForeignKey("pairing.id", ondelete="CASCADE"), index=True)
    contribution: Mapped[str] = mapped_column(Text())
    contribution_json: Mapped[JsonText]


# the result tables (finite-width series, limits, Jacobian moments, densities, graph-sum
# convergence, simulations) live in models_results; importing them here registers them on Base
from .models_results import (  # noqa: E402
    FiniteWidth,
    GraphSumConvergence,
    JacobianMoment,
    LimitValue,
    Simulation,
    SimulationPoint,
    SpectralDensity,
)

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
