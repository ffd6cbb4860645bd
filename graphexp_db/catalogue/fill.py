"""Filling the catalogue: expansions (graphs, pairing orbits, embeddings, exact aggregates) and presets.

A fill is idempotent and resumable.  All operator graphs of an expansion are inserted first
(unique natural key ``(shape, quantity, order, certificate)``); then each graph's pairings,
embeddings and aggregate rows are written in *one* transaction that also writes the graph's
``graph_ensemble`` row (its completion flag for that ensemble).  Killing a fill loses at most the
graph in flight; running it again skips complete graphs and, thanks to ``ON CONFLICT DO NOTHING``
on every natural key, gives the same catalogue as one clean run.

Individual orbit rows are stored up to ``budget`` per graph (and only when the orbit computation
is affordable); exact aggregate rows (pairing counts by N-exponent and surface) are always stored,
so large orders stay queryable.

Fill order does not matter.  Rows shared by several expansions (operator graphs, pairings,
embeddings, aggregates) hold only what every fill computes identically; what depends on the
ensemble is keyed by it (``graph_ensemble``, ``pairing``, ``pairing_aggregate``) and what depends
on the activation or the numbers of the architecture is keyed by the expansion
(``evaluated_contribution``, ``expansion.summary_json``).  Stored orbit rows are a prefix of the
orbit representatives in rank order, so fills with different budgets store their union (the
largest budget's prefix) whatever their order.  Any order of fills, sequential or parallel, gives
the same catalogue.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..canonical import canonical_graphs
from ..embed import aggregate, embed_batch, embed_one, format_term
from ..expand import EDGE_LIMIT, QUANTITY_ABBREV, check_size, iter_operator_graphs, shape_of
from ..finite import DEFAULT_LIMIT, TooLarge
from ..pair import PairingSpace, automorphisms, count_pairings, count_partitions, iter_partitions, orbits
from ..spec import Activation, MLPSpec, SpecError, canonical_json, parse_activation, parse_arch, parse_ensemble
from . import models as m
from .fill_tasks import _sum_pairings
from .store import get_or_create_architecture, insert_ignore, new_provenance

__all__ = ["FillSummary", "fill_expansion", "plan_expansion", "DEFAULT_BUDGET", "ORBIT_LIMIT", "GRAPH_LIMIT", "EDGE_LIMIT"]

DEFAULT_BUDGET = 64
ORBIT_LIMIT = 150_000


@dataclass
class FillSummary:
    """What a fill did (printed by the CLI, returned by the API).

    Attributes
    ----------
    shape, quantity : str
        The expansion's shape (e.g. ``gue``, ``ginibre-p1``, an MLP's shape) and quantity.
    order : int
        Its order.
    ensemble, activation : str
        The weight ensemble and the activation ("" when none was given).
    n_graphs : int
        Number of operator graphs (canonical classes) of the expansion.
    n_pairings : int
        Total number of Wick pairings (cumulant partitions for non-Gaussian ensembles).
    graphs_done, graphs_skipped : int
        Graphs stored by this fill, and graphs already complete in the catalogue (resumed fills).
    orbit_rows, aggregate_rows : int
        Pairing-orbit rows and aggregate rows (counts by N-exponent and surface) written.
    seconds : float
        Wall time of the fill.
    by_exponent : dict
        ``{n_exponent: number of pairings}`` over every graph, stored or skipped.
    labels : list of str
        The graphs' labels ``<shape>.<quantity abbreviation>.o<order>.<index>``.

    Examples
    --------
    >>> summary = FillSummary("gue", "gue", 3, "gaussian", "", 1, 15, by_exponent={0: 5, -2: 10})
    >>> summary.to_json()["by_exponent"]   # sorted, as strings (exact beyond 2^63)
    {'-2': '10', '0': '5'}
    """

    shape: str
    quantity: str
    order: int
    ensemble: str
    activation: str
    n_graphs: int
    n_pairings: int
    graphs_done: int = 0
    graphs_skipped: int = 0
    orbit_rows: int = 0
    aggregate_rows: int = 0
    seconds: float = 0.0
    by_exponent: dict = field(default_factory=dict)  # exponent -> number of pairings
    labels: list = field(default_factory=list)

    def to_json(self) -> dict:
        """The summary as a JSON-ready dict (``by_exponent`` as strings, the first 10 labels)."""
        d = dict(self.__dict__)
        d["by_exponent"] = {str(k): str(v) for k, v in sorted(self.by_exponent.items())}
        d["labels"] = self.labels[:10]
        return d


GRAPH_LIMIT = 200_000


def plan_expansion(arch, quantity: str, order: int, *, ensemble="gaussian", p: int | None = None, force: bool = False,
                   limit: int = DEFAULT_LIMIT):
    """Graphs (canonical classes, label order) and their pairing counts, without writing anything.

    Before any graph is built, :func:`graphexp_db.expand.estimate_expansion` sizes the expansion
    from counting alone (closed forms and O(order) arithmetic, well under a second at any order):
    unless ``force``, :func:`graphexp_db.expand.check_size` raises :class:`TooLarge`, with the
    estimate and ``--force`` in its one-line message, when the graphs are over ``GRAPH_LIMIT``, the
    pairings over ``limit`` or a trace word over ``EDGE_LIMIT`` letters.

    Parameters
    ----------
    arch : spec or None
        Parsed architecture (:func:`graphexp_db.spec.parse_arch`); ``None`` for ``trace``/``gue``.
    quantity : str
        ``covariance``, ``ntk``, ``fourpoint``, ``jacobian``, ``trace`` or ``gue``.
    order : int
        Order of the expansion (for ``gue``, n of tr H^(2n); for ``trace``, k of the word).
    ensemble : str or Ensemble
        Weight ensemble; non-Gaussian ensembles are for ``trace`` only, ``complex`` for ``trace``
        only, ``gue`` takes ``gaussian``.
    p : int, optional
        Number of Ginibre factors of a ``trace`` word.
    force : bool
        Skip the size check.
    limit : int
        Most pairings allowed without ``force``.

    Returns
    -------
    tuple
        ``(graphs, sizes)``: ``graphs`` the list of ``(certificate, OperatorGraph)`` in label
        order, ``sizes`` the number of Wick pairings of each (cumulant partitions, zero weights
        included, for non-Gaussian ensembles).

    Raises
    ------
    TooLarge
        When the estimate is over a limit and ``force`` is false (no graph is built).
    SpecError
        For an ensemble the quantity does not take.

    Examples
    --------
    >>> graphs, sizes = plan_expansion(None, "gue", 4)   # tr H^8: one graph, 7!! pairings
    >>> len(graphs), sizes
    (1, [105])
    >>> plan_expansion(None, "trace", 2, p=1, ensemble="rademacher")[1]   # 3 pairings + one block of 4
    [4]
    >>> plan_expansion(None, "gue", 20)
    Traceback (most recent call last):
    ...
    graphexp_db.errors.TooLarge: gue order 20 needs 1 operator graph and about 3.2e+23 pairings (estimated before building them), over the limit 5,000,000 pairings (use --force)
    """
    ens = parse_ensemble(ensemble)
    if quantity not in ("trace", "gue") and not ens.is_gaussian:
        raise SpecError(f"{quantity} expansions use Gaussian weights; non-Gaussian ensembles are for trace words")
    if ens.is_complex and quantity != "trace":
        raise SpecError("complex weights are catalogued for Ginibre trace words (quantity trace)")
    if quantity == "gue" and ens.name != "gaussian":
        raise SpecError("gue has its own (Hermitian Gaussian) ensemble; leave --ensemble at gaussian")
    if not force:
        check_size(arch, quantity, order, p=p, ensemble=ens, limit=limit, graph_limit=GRAPH_LIMIT)
    graphs = canonical_graphs(iter_operator_graphs(arch, quantity, order, p=p))
    if ens.is_gaussian:
        sizes = [count_pairings(g, ens) for _, g in graphs]
    else:
        sizes = [count_partitions(g) for _, g in graphs]
    return graphs, sizes


def fill_expansion(
    engine,
    arch,
    quantity: str,
    order: int,
    *,
    ensemble="gaussian",
    activation: str | Activation | None = None,
    p: int | None = None,
    budget: int = DEFAULT_BUDGET,
    limit: int = DEFAULT_LIMIT,
    force: bool = False,
    progress=None,
    device: str = "cpu",
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = True,
    plan: tuple | None = None,
) -> FillSummary:
    """Enumerate and store one expansion ``(architecture, quantity, order, ensemble)``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    arch : spec or str or None
        Architecture (``None`` for ``trace``/``gue``).
    quantity : str
        ``covariance``, ``ntk``, ``fourpoint``, ``jacobian``, ``trace`` or ``gue``.
    order : int
        Order of the expansion.
    ensemble : str or Ensemble
        Weight ensemble, as in :func:`plan_expansion`.
    activation : str or Activation, optional
        When given (with an architecture), contributions are also stored evaluated at its Taylor
        coefficients and the architecture's sw, sb (inputs stay symbolic).
    p : int, optional
        Number of Ginibre factors (required for ``trace``).
    budget : int
        Most pairing-orbit rows stored per graph (aggregate rows are always stored).
    limit : int
        Most pairings allowed without ``force``.
    force : bool
        Fill even over the limits.
    progress : callable, optional
        ``progress(done_pairings, total_pairings)`` after every graph.
    device : str
        ``cpu``, ``gpu`` or ``auto``: the array backend of the pairing sums (recorded in provenance).
    workers, scheduler : optional
        Sum the pairings on Dask (a ``LocalCluster`` of ``workers``, or a running ``scheduler``):
        tasks are rank ranges of each graph's pairing space, so the catalogue is identical to
        the serial fill.
    processes : bool
        Whether a ``LocalCluster`` uses worker processes (else threads).
    plan : tuple, optional
        ``plan_expansion``'s result when the caller has already computed it (not recomputed).

    Returns
    -------
    FillSummary
        What was computed and written; the expansion row is marked ``complete``.

    Raises
    ------
    TooLarge
        when the number of pairings is over ``limit`` and ``force`` is false (nothing is written).
    SpecError
        For a ``trace`` expansion without ``p``, or an ensemble the quantity does not take.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> s = fill_expansion(engine, None, "gue", 3)   # tr H^6: 15 pairings, 5 planar, 10 of genus 1
    >>> s.labels, s.n_pairings, sorted(s.by_exponent.items()), s.orbit_rows, s.aggregate_rows
    (['gue.gue.o3.1'], 15, [(-2, 10), (0, 5)], 5, 2)
    >>> again = fill_expansion(engine, None, "gue", 3)   # resumed: the complete graph is skipped
    >>> again.graphs_done, again.graphs_skipped
    (0, 1)
    """
    from ..backend import device_name, get_xp

    t0 = time.perf_counter()
    xp = get_xp(device)
    device = device_name(xp)
    if isinstance(arch, str):
        arch = parse_arch(arch)
    ens = parse_ensemble(ensemble)
    act = parse_activation(activation) if activation else None
    if quantity == "trace" and not p:
        raise SpecError("trace expansions need --p (number of Ginibre factors)")
    graphs, sizes = plan if plan is not None else plan_expansion(arch, quantity, order, ensemble=ens, p=p, force=force, limit=limit)
    total = sum(sizes)
    if total > limit and not force:
        raise TooLarge(f"{quantity} order {order} needs {total:,} pairings ({len(graphs):,} graphs), over the limit {limit:,} (use --force)")
    shape = shape_of(arch, quantity, p)
    abbrev = QUANTITY_ABBREV[quantity]
    act_name = str(act) if act else ""
    summary = FillSummary(shape, quantity, order, str(ens), act_name, len(graphs), total)
    values = _values(arch, act)
    params = {"arch": str(arch) if arch is not None else None, "quantity": quantity, "order": order, "ensemble": str(ens),
              "activation": act_name, "p": p, "budget": budget}

    with Session(engine) as s, s.begin():
        prov = new_provenance(s, "graph-expansion", params, device=device)
        prov_id = prov.id
        arch_id = get_or_create_architecture(s, arch).id if isinstance(arch, (MLPSpec,)) or getattr(arch, "kind", "") == "dag" else None
        rows = []
        for index, (cert, g) in enumerate(graphs, start=1):
            label = f"{shape}.{abbrev}.o{order}.{index}"
            summary.labels.append(label)
            # n_pairings of the shared row is the Gaussian count, whatever this fill's ensemble
            n_gauss = sizes[index - 1] if ens.name == "gaussian" else count_pairings(g, "gaussian")
            rows.append(dict(shape=shape, quantity=quantity, order=order, index=index, label=label, certificate=cert,
                             graph_json=json.dumps(g.to_json()), n_vertices=g.n_slots, n_edges=g.n_edges,
                             coefficient=g.coefficient, n_pairings=n_gauss, n_orbits=None,
                             n_automorphisms=None, complete=False, provenance_id=prov_id))
        insert_ignore(s, m.OperatorGraph, rows, ["shape", "quantity", "order", "certificate"])
        ids = dict(s.execute(select(m.OperatorGraph.certificate, m.OperatorGraph.id).where(
            m.OperatorGraph.shape == shape, m.OperatorGraph.quantity == quantity, m.OperatorGraph.order == order)).all())
        insert_ignore(s, m.Expansion, [dict(architecture_id=arch_id, spec_hash=_spec_hash(arch), shape=shape, quantity=quantity,
                                            order=order, ensemble=str(ens), activation=act_name, n_graphs=len(graphs),
                                            n_pairings=total, status="running", provenance_id=prov_id)],
                      ["spec_hash", "shape", "quantity", "order", "ensemble", "activation"])

    done_graphs = _complete_graphs(engine, ids.values(), str(ens))
    results = _sum_pairings([g for _, g in graphs], sizes, ens, quantity, xp, workers, scheduler, processes)
    series: dict = defaultdict(Fraction)
    done = 0
    for (cert, g), size, (terms, census) in zip(graphs, sizes, results):
        gid = ids[cert]
        for (e, _surf, factors), w in terms.items():
            series[(e, factors)] += w
        for (e, _surf), c in census.items():
            summary.by_exponent[e] = summary.by_exponent.get(e, 0) + c
        if gid in done_graphs and not _needs_more_orbits(done_graphs[gid], g, ens, size, budget):
            summary.graphs_skipped += 1
        else:
            n_orb, n_agg = _store_graph(engine, g, gid, ens, size, census, budget, prov_id, quantity, values)
            summary.orbit_rows += n_orb
            summary.aggregate_rows += n_agg
            summary.graphs_done += 1
        done += size
        if progress is not None:
            progress(done, total)

    if values:
        _store_evaluated(engine, arch, shape, quantity, order, str(ens), act_name, list(ids.values()), values, prov_id)

    with Session(engine) as s, s.begin():
        summary_json = {
            "series": _series_json(series, None),
            "evaluated": _series_json(series, values) if values else None,
            "by_exponent": {str(k): str(v) for k, v in sorted(summary.by_exponent.items())},
        }
        s.execute(update(m.Expansion).where(m.Expansion.spec_hash == _spec_hash(arch), m.Expansion.shape == shape,
                                            m.Expansion.quantity == quantity, m.Expansion.order == order,
                                            m.Expansion.ensemble == str(ens), m.Expansion.activation == act_name)
                  .values(status="complete", summary_json=json.dumps(summary_json), provenance_id=prov_id))
        _finish(s, prov_id)
    summary.seconds = time.perf_counter() - t0
    return summary


# --------------------------------------------------------------------------- helpers
def _spec_hash(arch) -> str:
    return arch.spec_hash if arch is not None else ""


def _values(arch, act: Activation | None) -> dict | None:
    """Numbers substituted into contributions when an activation is given (inputs stay symbolic)."""
    if act is None or arch is None or not hasattr(arch, "sb"):
        return None
    try:
        coeffs = act.taylor(12)
    except SpecError:
        return None
    vals = {f"c{k}": c for k, c in enumerate(coeffs)}
    vals["sw"], vals["sb"] = arch.sw, arch.sb
    return vals


def _partial(factors, values: dict) -> tuple[Fraction, tuple]:
    coeff, rest = Fraction(1), []
    for sym, power in factors:
        if sym in values:
            coeff *= values[sym] ** power
        else:
            rest.append((sym, power))
    return coeff, tuple(rest)


def _series_json(series: dict, values: dict | None) -> dict:
    out: dict = defaultdict(lambda: defaultdict(Fraction))
    for (e, factors), w in series.items():
        if values is not None:
            c, rest = _partial(factors, values)
            out[str(-e)][format_term(Fraction(1), rest, 0)] += w * c
        else:
            out[str(-e)][format_term(Fraction(1), factors, 0)] += w
    return {j: {k: str(v) for k, v in sorted(terms.items()) if v} for j, terms in sorted(out.items(), key=lambda kv: int(kv[0]))}


def _complete_graphs(engine, gids, ensemble: str) -> dict[int, tuple[int | None, int]]:
    """Graphs complete for ``ensemble``: graph id -> (n_orbits, number of stored orbit rows)."""
    from sqlalchemy import func

    gids = list(gids)
    if not gids:
        return {}
    out: dict[int, tuple[int | None, int]] = {}
    with Session(engine) as s:
        for start in range(0, len(gids), 10_000):
            part = gids[start:start + 10_000]
            stored = (select(m.Pairing.graph_id, func.count().label("n")).where(m.Pairing.graph_id.in_(part),
                                                                               m.Pairing.ensemble == ensemble)
                      .group_by(m.Pairing.graph_id).subquery())
            rows = s.execute(select(m.GraphEnsemble.graph_id, m.GraphEnsemble.n_orbits, stored.c.n)
                             .outerjoin(stored, stored.c.graph_id == m.GraphEnsemble.graph_id)
                             .where(m.GraphEnsemble.graph_id.in_(part), m.GraphEnsemble.ensemble == ensemble,
                                    m.GraphEnsemble.complete.is_(True))).all()
            out.update({gid: (n_orbits, n or 0) for gid, n_orbits, n in rows})
    return out


def _needs_more_orbits(state: tuple[int | None, int], g, ens, size: int, budget: int) -> bool:
    """A complete graph whose stored orbit rows are fewer than this fill's budget asks for.

    Orbit rows are the first representatives in rank order, so storing more of them extends the
    stored prefix: fills with different budgets end with the largest budget's rows, in any order.
    """
    n_orbits, stored = state
    if budget <= 0 or not size:
        return False
    if n_orbits is None:  # not computed by an earlier fill (budget 0): compute when affordable
        return not (ens.is_gaussian or g.rule == "hermitian") or size <= ORBIT_LIMIT
    return stored < min(budget, n_orbits)


def _store_graph(engine, g, gid: int, ens, size: int, census: dict, budget: int, prov_id: int, quantity: str, values) -> tuple[int, int]:
    pair_rows, emb_rows = [], []
    n_orbits = None
    n_aut = None
    if size and budget > 0:
        if ens.is_gaussian or g.rule == "hermitian":
            space = PairingSpace(g, ens)
            if size <= ORBIT_LIMIT:
                perms = automorphisms(g)
                n_aut = len(perms)
                reps, osizes = orbits(space, perms)
                n_orbits = len(reps)
                chosen = list(zip(reps.tolist(), osizes.tolist()))[:budget]
            else:
                chosen = []
            for rank, mult in chosen:
                pairs = space.pairs(rank)
                pair_rows.append(dict(graph_id=gid, ensemble=str(ens), rank=rank, blocks_json=json.dumps([list(x) for x in pairs]),
                                      multiplicity=mult, provenance_id=prov_id))
                emb_rows.append((rank, _embedding_row(g, pairs, space, rank, quantity)))
        else:
            perms = automorphisms(g)
            n_aut = len(perms)
            orbit_of: dict[tuple, list] = {}
            for rank, (blocks, weight) in enumerate(iter_partitions(g, ens)):
                canon = _canonical_blocks(blocks, perms)
                if canon in orbit_of:
                    orbit_of[canon][1] += 1
                else:  # first member in enumeration order represents the orbit
                    orbit_of[canon] = [rank, 1, blocks, weight]
            n_orbits = len(orbit_of)
            for rank, mult, blocks, weight in sorted(orbit_of.values(), key=lambda o: o[0])[:budget]:
                pair_rows.append(dict(graph_id=gid, ensemble=str(ens), rank=rank, blocks_json=json.dumps([list(b) for b in blocks]),
                                      multiplicity=mult, provenance_id=prov_id))
                emb_rows.append((rank, _partition_embedding_row(g, blocks, weight)))
    agg_rows = [dict(graph_id=gid, ensemble=str(ens), n_exponent=e, surface=surf, count=int(c), contribution_json=None,
                     provenance_id=prov_id) for (e, surf), c in sorted(census.items())]
    if not agg_rows:  # no pairing at all: record it, so the graph counts as complete
        agg_rows = [dict(graph_id=gid, ensemble=str(ens), n_exponent=0, surface="none", count=0, contribution_json=None,
                         provenance_id=prov_id)]
    with Session(engine) as s, s.begin():
        insert_ignore(s, m.Pairing, pair_rows, ["graph_id", "ensemble", "rank"])
        if emb_rows:
            pid = dict(s.execute(select(m.Pairing.rank, m.Pairing.id).where(m.Pairing.graph_id == gid, m.Pairing.ensemble == str(ens))).all())
            insert_ignore(s, m.Embedding, [dict(pairing_id=pid[rank], **row) for rank, row in emb_rows], ["pairing_id"])
        insert_ignore(s, m.PairingAggregate, agg_rows, ["graph_id", "ensemble", "n_exponent", "surface"])
        insert_ignore(s, m.GraphEnsemble, [dict(graph_id=gid, ensemble=str(ens), n_pairings=size, n_orbits=n_orbits, complete=True,
                                                provenance_id=prov_id)], ["graph_id", "ensemble"])
        if n_orbits is not None:  # a budget-0 fill came first: fill in what it did not compute
            s.execute(update(m.GraphEnsemble).where(m.GraphEnsemble.graph_id == gid, m.GraphEnsemble.ensemble == str(ens),
                                                    m.GraphEnsemble.n_orbits.is_(None)).values(n_orbits=n_orbits))
        # the shared graph row: its automorphism count is a graph invariant (first computed wins, all
        # equal); n_orbits and complete are those of the Gaussian ensemble only
        if n_aut is not None:
            s.execute(update(m.OperatorGraph).where(m.OperatorGraph.id == gid, m.OperatorGraph.n_automorphisms.is_(None))
                      .values(n_automorphisms=n_aut))
        if ens.name == "gaussian":
            s.execute(update(m.OperatorGraph).where(m.OperatorGraph.id == gid).values(complete=True))
            if n_orbits is not None:
                s.execute(update(m.OperatorGraph).where(m.OperatorGraph.id == gid).values(n_orbits=n_orbits))
    return len(pair_rows), len(agg_rows)


def _embedding_row(g, pairs, space, rank: int, quantity: str, values=None) -> dict:
    emb = embed_one(g, pairs)
    terms = aggregate(g, embed_batch(g, space.unrank(rank, rank + 1)), marked=quantity == "ntk")
    contrib = [format_term(w, f, e) for (e, _s, f), w in terms.items()]
    cjson = {"terms": [{"N": e, "weight": str(w), "factors": dict(f)} for (e, _s, f), w in terms.items()],
             "quotient_certificate": emb.quotient_certificate}
    return dict(kind=emb.kind, V=emb.V, E=emb.E, F=emb.F, chi=emb.chi, genus=emb.genus, crosscaps=emb.crosscaps,
                orientable=emb.orientable, n_exponent=emb.n_exponent, leading=emb.leading,
                quotient_json=json.dumps([list(q) for q in emb.quotient_edges]),
                contribution=" + ".join(contrib) if contrib else "0", contribution_json=json.dumps(cjson))


def _evaluate_terms(contribution_json: str, values: dict) -> list[str] | None:
    """An embedding's symbolic terms with ``values`` substituted (``None`` when it has none)."""
    terms = json.loads(contribution_json).get("terms")
    if terms is None:
        return None
    out = []
    for t in terms:
        c, rest = _partial(tuple(t["factors"].items()), values)
        out.append(format_term(Fraction(t["weight"]) * c, rest, t["N"]))
    return out


def _store_evaluated(engine, arch, shape, quantity, order, ensemble: str, act_name: str, gids: list, values: dict,
                     prov_id: int) -> int:
    """Evaluated contributions of every stored pairing of the expansion's graphs (missing ones only).

    Computed from the shared embedding's symbolic terms, so they do not depend on which fill stored
    the embedding; keyed by ``(expansion, pairing)``.
    """
    with Session(engine) as s, s.begin():
        xid = s.scalar(select(m.Expansion.id).where(m.Expansion.spec_hash == _spec_hash(arch), m.Expansion.shape == shape,
                                                    m.Expansion.quantity == quantity, m.Expansion.order == order,
                                                    m.Expansion.ensemble == ensemble, m.Expansion.activation == act_name))
        have = set(s.scalars(select(m.EvaluatedContribution.pairing_id).where(m.EvaluatedContribution.expansion_id == xid)))
        rows = []
        for start in range(0, len(gids), 10_000):
            part = gids[start:start + 10_000]
            for pid, cj in s.execute(select(m.Pairing.id, m.Embedding.contribution_json).join(m.Embedding, m.Embedding.pairing_id == m.Pairing.id)
                                     .where(m.Pairing.graph_id.in_(part), m.Pairing.ensemble == ensemble)):
                if pid in have:
                    continue
                ev = _evaluate_terms(cj, values)
                if ev is None:
                    continue
                rows.append(dict(expansion_id=xid, pairing_id=pid, contribution=" + ".join(ev) if ev else "0",
                                 contribution_json=json.dumps(ev), provenance_id=prov_id))
        return insert_ignore(s, m.EvaluatedContribution, rows, ["expansion_id", "pairing_id"])


def _canonical_blocks(blocks, perms) -> tuple:
    """Smallest image of a partition of the edges under the automorphism group (orbit key)."""
    return min(tuple(sorted(tuple(sorted(int(p[e]) for e in b)) for b in blocks)) for p in perms)


def _partition_embedding_row(g, blocks, weight) -> dict:
    import numpy as np

    nxt = np.empty((1, g.n_edges), dtype=np.int32)
    for blk in blocks:
        nxt[0, list(blk)] = list(blk[1:]) + [blk[0]]
    b = embed_batch(g, None, blocks_next=nxt)
    assert b.F is not None   # cumulant blocks of a word: faces are counted
    e = int(b.n_exponent[0])
    return dict(kind="ribbon", V=int(b.V[0]), E=int(b.E[0]), F=int(b.F[0]), chi=int(b.chi[0]), genus=None, crosscaps=None,
                orientable=None, n_exponent=e, leading=e == 0, quotient_json="[]",
                contribution=format_term(weight, (), e), contribution_json=json.dumps({"cumulant_weight": str(weight)}))


def _finish(s: Session, prov_id: int) -> None:
    from datetime import datetime, timezone

    s.execute(update(m.Provenance).where(m.Provenance.id == prov_id).values(finished_at=datetime.now(timezone.utc)))


def store_finite_width(engine, kind: str, params: dict, *, device: str = "cpu") -> dict:
    """Compute an exact finite-width series and store it (idempotent on the parameters' hash).

    ``kind``: ``trace`` (params ensemble, p, k), ``covariance``/``ntk`` (arch, activation, x, y) or
    ``fourpoint`` (arch, activation, x).  Returns ``{"coefficients": {j: exact string}}``.
    """
    import hashlib

    from ..finite import covariance_series, fourpoint_series, ntk_series, trace_series

    if kind == "trace":
        series = trace_series(int(params["p"]), int(params["k"]), "gaussian" if params["ensemble"] == "real" else params["ensemble"])
    else:
        arch = parse_arch(params["arch"])
        x = params["x"].split(",")
        if kind == "fourpoint":
            series = fourpoint_series(arch, params["activation"], x)
        else:
            fn = covariance_series if kind == "covariance" else ntk_series
            series = fn(arch, params["activation"], x, params["y"].split(","))
    coeffs = {str(j): str(v) for j, v in series.items()}
    key = canonical_json({"kind": kind, **params})
    with Session(engine) as s, s.begin():
        prov = new_provenance(s, f"finite-width-{kind}", params, device=device)
        insert_ignore(s, m.FiniteWidth, [dict(kind=kind, params_hash=hashlib.sha256(key.encode()).hexdigest()[:32],
                                              params_json=key, coefficients_json=json.dumps(coeffs), provenance_id=prov.id)],
                      ["params_hash"])
        _finish(s, prov.id)
    return {"kind": kind, "coefficients": coeffs}
