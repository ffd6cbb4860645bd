"""fill-order independent layout: graph_ensemble, evaluated_contribution; drop job

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 08:00:00

Rows shared by several expansions used to carry values of whichever fill wrote them first or
last (issue 13.1).  This revision moves them to rows keyed by what they depend on:

* ``graph_ensemble (graph_id, ensemble)``: number of pairings, orbits and completion of a graph in
  one weight ensemble, rebuilt from ``pairing_aggregate`` (written in the same transaction as the
  old ``complete`` flag, so its sums are exact) and the stored orbit rows;
* ``evaluated_contribution (expansion_id, pairing_id)``: the ``evaluated`` list that used to sit in
  ``embedding.contribution_json``, attributed to the expansion whose fill stored the pairing
  (same provenance row); other expansions get theirs when their fill is run again;
* ``operator_graph.n_pairings`` becomes the Gaussian (real) pairing count of the graph, a function
  of the graph alone (recounted from ``graph_json`` where no Gaussian fill stored it), and
  ``n_orbits`` / ``complete`` those of the Gaussian ensemble;
* the unused ``job`` table is dropped (issue 11).

No row of any other table is lost; downgrade puts the evaluated lists back into the embeddings
(those of the first expansion per pairing) and drops the two tables.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _gaussian_pairings(graph_json: str) -> int:
    # frozen copy of pair.count_pairings(graph, "gaussian"): (n-1)!! per matrix with n edges
    counts: dict[str, int] = defaultdict(int)
    for e in json.loads(graph_json)["edges"]:
        counts[e[0]] += 1
    total = 1
    for n in counts.values():
        if n % 2:
            return 0
        for j in range(n - 1, 0, -2):
            total *= j
    return total


def upgrade() -> None:
    op.create_table('graph_ensemble',
    sa.Column('id', ID, nullable=False),
    sa.Column('graph_id', ID, nullable=False),
    sa.Column('ensemble', sa.String(), nullable=False),
    sa.Column('n_pairings', sa.Text(), nullable=False),
    sa.Column('n_orbits', sa.Integer(), nullable=True),
    sa.Column('complete', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('provenance_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['graph_id'], ['operator_graph.id'], name=op.f('fk_graph_ensemble__graph_id__operator_graph'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_graph_ensemble__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_graph_ensemble')),
    sa.UniqueConstraint('graph_id', 'ensemble', name=op.f('uq_graph_ensemble__graph_id_ensemble'))
    )
    with op.batch_alter_table('graph_ensemble', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_graph_ensemble__graph_id'), ['graph_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_graph_ensemble__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('evaluated_contribution',
    sa.Column('id', ID, nullable=False),
    sa.Column('expansion_id', ID, nullable=False),
    sa.Column('pairing_id', ID, nullable=False),
    sa.Column('contribution', sa.Text(), nullable=False),
    sa.Column('contribution_json', sa.Text(), nullable=False),
    sa.Column('provenance_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['expansion_id'], ['expansion.id'], name=op.f('fk_evaluated_contribution__expansion_id__expansion'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pairing_id'], ['pairing.id'], name=op.f('fk_evaluated_contribution__pairing_id__pairing'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_evaluated_contribution__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluated_contribution')),
    sa.UniqueConstraint('expansion_id', 'pairing_id', name=op.f('uq_evaluated_contribution__expansion_id_pairing_id'))
    )
    with op.batch_alter_table('evaluated_contribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluated_contribution__expansion_id'), ['expansion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluated_contribution__pairing_id'), ['pairing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluated_contribution__provenance_id'), ['provenance_id'], unique=False)

    conn = op.get_bind()
    _move_graph_ensembles(conn)
    _move_evaluated(conn)

    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job__provenance_id'))
    op.drop_table('job')


def _move_graph_ensembles(conn) -> None:
    t = sa.table
    c = sa.column
    agg = t('pairing_aggregate', c('graph_id'), c('ensemble'), c('count'), c('provenance_id'))
    pairing = t('pairing', c('graph_id'), c('ensemble'), c('multiplicity'))
    graph = t('operator_graph', c('id'), c('graph_json'), c('n_orbits'), c('n_pairings'), c('complete'))
    ge = t('graph_ensemble', c('graph_id'), c('ensemble'), c('n_pairings'), c('n_orbits'), c('complete'), c('provenance_id'))
    totals: dict[tuple, int] = defaultdict(int)
    prov: dict[tuple, int] = {}
    for gid, ens, count, pid in conn.execute(sa.select(agg.c.graph_id, agg.c.ensemble, agg.c.count, agg.c.provenance_id)):
        totals[(gid, ens)] += int(count)
        prov[(gid, ens)] = min(pid, prov.get((gid, ens), pid))
    stored_n: dict[tuple, int] = defaultdict(int)
    stored_mult: dict[tuple, int] = defaultdict(int)
    for gid, ens, mult in conn.execute(sa.select(pairing.c.graph_id, pairing.c.ensemble, pairing.c.multiplicity)):
        stored_n[(gid, ens)] += 1
        stored_mult[(gid, ens)] += int(mult)
    ensembles_of: dict[int, int] = defaultdict(int)
    for gid, _ens in totals:
        ensembles_of[gid] += 1
    old = {gid: (gj, n_orbits) for gid, gj, n_orbits, _n, _c in conn.execute(sa.select(graph))}
    rows = []
    for (gid, ens), total in sorted(totals.items()):
        if total and stored_mult[(gid, ens)] == total:
            n_orbits = stored_n[(gid, ens)]  # every orbit is stored: exact
        elif ensembles_of[gid] == 1:
            n_orbits = old[gid][1]  # only one ensemble ever wrote the graph row
        else:
            n_orbits = None  # written by whichever fill came last: unknown, recomputed by a re-run
        rows.append(dict(graph_id=gid, ensemble=ens, n_pairings=str(total), n_orbits=n_orbits, complete=True,
                         provenance_id=prov[(gid, ens)]))
    for start in range(0, len(rows), 1000):
        conn.execute(sa.insert(ge), rows[start:start + 1000])
    gauss = {r["graph_id"]: r for r in rows if r["ensemble"] == "gaussian"}
    for gid, (gj, _n_orbits) in old.items():
        g = gauss.get(gid)
        conn.execute(sa.update(graph).where(graph.c.id == gid).values(
            n_pairings=g["n_pairings"] if g else str(_gaussian_pairings(gj)),
            n_orbits=g["n_orbits"] if g else None,
            complete=g is not None))


def _move_evaluated(conn) -> None:
    t = sa.table
    c = sa.column
    emb = t('embedding', c('id'), c('pairing_id'), c('contribution_json'))
    pairing = t('pairing', c('id'), c('graph_id'), c('ensemble'), c('provenance_id'))
    graph = t('operator_graph', c('id'), c('shape'), c('quantity'), c('order'))
    xp = t('expansion', c('id'), c('shape'), c('quantity'), c('order'), c('ensemble'), c('provenance_id'))
    ev = t('evaluated_contribution', c('expansion_id'), c('pairing_id'), c('contribution'), c('contribution_json'), c('provenance_id'))
    expansions = {(row.shape, row.quantity, row.order, row.ensemble, row.provenance_id): row.id
                  for row in conn.execute(sa.select(xp))}
    q = (sa.select(emb.c.id, emb.c.pairing_id, emb.c.contribution_json, pairing.c.ensemble, pairing.c.provenance_id,
                   graph.c.shape, graph.c.quantity, graph.c.order)
         .select_from(emb.join(pairing, pairing.c.id == emb.c.pairing_id).join(graph, graph.c.id == pairing.c.graph_id)))
    moved, stripped = [], []
    for eid, pid, cj, ens, prov, shape, quantity, order in conn.execute(q).all():
        data = json.loads(cj) if cj else {}
        if "evaluated" not in data:
            continue
        values = data.pop("evaluated")
        xid = expansions.get((shape, quantity, order, ens, prov))
        if xid is not None:
            moved.append(dict(expansion_id=xid, pairing_id=pid, contribution=" + ".join(values) if values else "0",
                              contribution_json=json.dumps(values), provenance_id=prov))
        stripped.append((eid, json.dumps(data)))
    for start in range(0, len(moved), 1000):
        conn.execute(sa.insert(ev), moved[start:start + 1000])
    for eid, cj in stripped:
        conn.execute(sa.update(emb).where(emb.c.id == eid).values(contribution_json=cj))


def downgrade() -> None:
    op.create_table('job',
    sa.Column('id', ID, nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('total', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provenance_id', ID, nullable=True),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_job__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    sa.UniqueConstraint('key', name=op.f('uq_job__key'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job__provenance_id'), ['provenance_id'], unique=False)

    conn = op.get_bind()
    t = sa.table
    c = sa.column
    emb = t('embedding', c('id'), c('pairing_id'), c('contribution_json'))
    ev = t('evaluated_contribution', c('expansion_id'), c('pairing_id'), c('contribution_json'))
    first: dict[int, str] = {}
    for pid, cj in conn.execute(sa.select(ev.c.pairing_id, ev.c.contribution_json).order_by(ev.c.expansion_id)):
        first.setdefault(pid, cj)
    for eid, pid, cj in conn.execute(sa.select(emb.c.id, emb.c.pairing_id, emb.c.contribution_json)).all():
        if pid in first:
            data = json.loads(cj) if cj else {}
            data["evaluated"] = json.loads(first[pid])
            conn.execute(sa.update(emb).where(emb.c.id == eid).values(contribution_json=json.dumps(data)))

    with op.batch_alter_table('evaluated_contribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluated_contribution__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_evaluated_contribution__pairing_id'))
        batch_op.drop_index(batch_op.f('ix_evaluated_contribution__expansion_id'))
    op.drop_table('evaluated_contribution')
    with op.batch_alter_table('graph_ensemble', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_graph_ensemble__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_graph_ensemble__graph_id'))
    op.drop_table('graph_ensemble')
