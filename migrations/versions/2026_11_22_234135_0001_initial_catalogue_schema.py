"""initial catalogue schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 23:41:35.995920

Every table of the catalogue and the views ``genus_distribution`` and ``leading_pairings``
(written by autogenerate from ``graphexp_db/catalogue/models.py``, then checked by hand: the
boolean server default is ``sa.false()`` so that it renders on PostgreSQL, long unique
constraint names are shortened to ``*__natural_key``, and the views are frozen copies of
``models.VIEWS``).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of graphexp_db.catalogue.models.VIEWS at this revision (portable SQLite/PostgreSQL SQL).
VIEWS = {
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


def upgrade() -> None:
    op.create_table('provenance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('method', sa.String(), nullable=False),
    sa.Column('code_version', sa.String(), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('device', sa.String(), server_default='cpu', nullable=False),
    sa.Column('host', sa.String(), server_default='', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provenance'))
    )
    with op.batch_alter_table('provenance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provenance__method'), ['method'], unique=False)

    op.create_table('architecture',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('spec_hash', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('spec', sa.String(), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('shape', sa.String(), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=True),
    sa.Column('sw', sa.Text(), nullable=False),
    sa.Column('sb', sa.Text(), nullable=True),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_architecture__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_architecture')),
    sa.UniqueConstraint('spec_hash', name=op.f('uq_architecture__spec_hash'))
    )
    with op.batch_alter_table('architecture', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_architecture__provenance_id'), ['provenance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_architecture__shape'), ['shape'], unique=False)

    op.create_table('finite_width',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('params_hash', sa.String(length=64), nullable=False),
    sa.Column('params_json', sa.Text(), nullable=False),
    sa.Column('coefficients_json', sa.Text(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_finite_width__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finite_width')),
    sa.UniqueConstraint('params_hash', name=op.f('uq_finite_width__params_hash'))
    )
    with op.batch_alter_table('finite_width', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finite_width__kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_finite_width__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('total', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_job__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    sa.UniqueConstraint('key', name=op.f('uq_job__key'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('operator_graph',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shape', sa.String(), nullable=False),
    sa.Column('quantity', sa.String(), nullable=False),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(), nullable=False),
    sa.Column('certificate', sa.Text(), nullable=False),
    sa.Column('graph_json', sa.Text(), nullable=False),
    sa.Column('n_vertices', sa.Integer(), nullable=False),
    sa.Column('n_edges', sa.Integer(), nullable=False),
    sa.Column('coefficient', sa.Text(), nullable=False),
    sa.Column('n_pairings', sa.Text(), nullable=False),
    sa.Column('n_orbits', sa.Integer(), nullable=True),
    sa.Column('n_automorphisms', sa.Text(), nullable=True),
    sa.Column('complete', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_operator_graph__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_graph')),
    sa.UniqueConstraint('label', name=op.f('uq_operator_graph__label')),
    sa.UniqueConstraint('shape', 'quantity', 'order', 'certificate', name=op.f('uq_operator_graph__shape_quantity_order_certificate'))
    )
    with op.batch_alter_table('operator_graph', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_graph__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('expansion',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('architecture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('spec_hash', sa.String(length=16), server_default='', nullable=False),
    sa.Column('shape', sa.String(), nullable=False),
    sa.Column('quantity', sa.String(), nullable=False),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.Column('ensemble', sa.String(), nullable=False),
    sa.Column('activation', sa.String(), server_default='', nullable=False),
    sa.Column('n_graphs', sa.Integer(), nullable=False),
    sa.Column('n_pairings', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='running', nullable=False),
    sa.Column('summary_json', sa.Text(), nullable=True),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['architecture_id'], ['architecture.id'], name=op.f('fk_expansion__architecture_id__architecture')),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_expansion__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expansion')),
    sa.UniqueConstraint('spec_hash', 'shape', 'quantity', 'order', 'ensemble', 'activation', name=op.f('uq_expansion__natural_key'))
    )
    with op.batch_alter_table('expansion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expansion__architecture_id'), ['architecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expansion__provenance_id'), ['provenance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expansion__shape'), ['shape'], unique=False)

    op.create_table('graph_sum_convergence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('architecture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activation', sa.String(), nullable=False),
    sa.Column('quantity', sa.String(), nullable=False),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.Column('inputs_json', sa.String(length=512), nullable=False),
    sa.Column('graph_sum', sa.Float(), nullable=False),
    sa.Column('closed_form', sa.Float(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['architecture_id'], ['architecture.id'], name=op.f('fk_graph_sum_convergence__architecture_id__architecture')),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_graph_sum_convergence__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_graph_sum_convergence')),
    sa.UniqueConstraint('architecture_id', 'activation', 'quantity', 'order', 'inputs_json', name=op.f('uq_graph_sum_convergence__natural_key'))
    )
    with op.batch_alter_table('graph_sum_convergence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_graph_sum_convergence__architecture_id'), ['architecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_graph_sum_convergence__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('jacobian_moment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('architecture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activation', sa.String(), nullable=False),
    sa.Column('q_in', sa.Text(), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('value_exact', sa.Text(), nullable=True),
    sa.Column('method', sa.String(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['architecture_id'], ['architecture.id'], name=op.f('fk_jacobian_moment__architecture_id__architecture')),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_jacobian_moment__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jacobian_moment')),
    sa.UniqueConstraint('architecture_id', 'activation', 'q_in', 'k', 'method', name=op.f('uq_jacobian_moment__architecture_id_activation_q_in_k_method'))
    )
    with op.batch_alter_table('jacobian_moment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jacobian_moment__architecture_id'), ['architecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jacobian_moment__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('limit_value',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('architecture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activation', sa.String(), nullable=False),
    sa.Column('quantity', sa.String(), nullable=False),
    sa.Column('method', sa.String(), nullable=False),
    sa.Column('inputs_json', sa.Text(), nullable=False),
    sa.Column('params_hash', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('value_exact', sa.Text(), nullable=True),
    sa.Column('error_bound', sa.Float(), nullable=True),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['architecture_id'], ['architecture.id'], name=op.f('fk_limit_value__architecture_id__architecture')),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_limit_value__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_limit_value')),
    sa.UniqueConstraint('params_hash', name=op.f('uq_limit_value__params_hash'))
    )
    with op.batch_alter_table('limit_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_limit_value__architecture_id'), ['architecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_limit_value__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('pairing',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('graph_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ensemble', sa.String(), nullable=False),
    sa.Column('rank', sa.Text(), nullable=False),
    sa.Column('blocks_json', sa.Text(), nullable=False),
    sa.Column('multiplicity', sa.Text(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['graph_id'], ['operator_graph.id'], name=op.f('fk_pairing__graph_id__operator_graph'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_pairing__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pairing')),
    sa.UniqueConstraint('graph_id', 'ensemble', 'rank', name=op.f('uq_pairing__graph_id_ensemble_rank'))
    )
    with op.batch_alter_table('pairing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairing__graph_id'), ['graph_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pairing__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('pairing_aggregate',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('graph_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ensemble', sa.String(), nullable=False),
    sa.Column('n_exponent', sa.Integer(), nullable=False),
    sa.Column('surface', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Text(), nullable=False),
    sa.Column('contribution_json', sa.Text(), nullable=True),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['graph_id'], ['operator_graph.id'], name=op.f('fk_pairing_aggregate__graph_id__operator_graph'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_pairing_aggregate__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pairing_aggregate')),
    sa.UniqueConstraint('graph_id', 'ensemble', 'n_exponent', 'surface', name=op.f('uq_pairing_aggregate__graph_id_ensemble_n_exponent_surface'))
    )
    with op.batch_alter_table('pairing_aggregate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairing_aggregate__graph_id'), ['graph_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pairing_aggregate__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('simulation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('params_hash', sa.String(length=64), nullable=False),
    sa.Column('architecture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('activation', sa.String(), server_default='', nullable=False),
    sa.Column('ensemble', sa.String(), server_default='gaussian', nullable=False),
    sa.Column('device', sa.String(), server_default='cpu', nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['architecture_id'], ['architecture.id'], name=op.f('fk_simulation__architecture_id__architecture')),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_simulation__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation')),
    sa.UniqueConstraint('params_hash', name=op.f('uq_simulation__params_hash'))
    )
    with op.batch_alter_table('simulation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_simulation__architecture_id'), ['architecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_simulation__kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_simulation__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('spectral_density',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('architecture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activation', sa.String(), nullable=False),
    sa.Column('q_in', sa.Text(), nullable=False),
    sa.Column('method', sa.String(), nullable=False),
    sa.Column('grid_json', sa.Text(), nullable=False),
    sa.Column('density_json', sa.Text(), nullable=False),
    sa.Column('provenance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['architecture_id'], ['architecture.id'], name=op.f('fk_spectral_density__architecture_id__architecture')),
    sa.ForeignKeyConstraint(['provenance_id'], ['provenance.id'], name=op.f('fk_spectral_density__provenance_id__provenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spectral_density')),
    sa.UniqueConstraint('architecture_id', 'activation', 'q_in', 'method', name=op.f('uq_spectral_density__architecture_id_activation_q_in_method'))
    )
    with op.batch_alter_table('spectral_density', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spectral_density__architecture_id'), ['architecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spectral_density__provenance_id'), ['provenance_id'], unique=False)

    op.create_table('embedding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pairing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('V', sa.Integer(), nullable=False),
    sa.Column('E', sa.Integer(), nullable=False),
    sa.Column('F', sa.Integer(), nullable=True),
    sa.Column('chi', sa.Integer(), nullable=False),
    sa.Column('genus', sa.Integer(), nullable=True),
    sa.Column('crosscaps', sa.Integer(), nullable=True),
    sa.Column('orientable', sa.Boolean(), nullable=True),
    sa.Column('n_exponent', sa.Integer(), nullable=False),
    sa.Column('leading', sa.Boolean(), nullable=False),
    sa.Column('quotient_json', sa.Text(), nullable=False),
    sa.Column('contribution', sa.Text(), nullable=False),
    sa.Column('contribution_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['pairing_id'], ['pairing.id'], name=op.f('fk_embedding__pairing_id__pairing'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_embedding')),
    sa.UniqueConstraint('pairing_id', name=op.f('uq_embedding__pairing_id'))
    )
    with op.batch_alter_table('embedding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_embedding__genus'), ['genus'], unique=False)
        batch_op.create_index(batch_op.f('ix_embedding__n_exponent'), ['n_exponent'], unique=False)

    op.create_table('simulation_point',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('simulation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('N', sa.Integer(), nullable=False),
    sa.Column('L', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.String(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('stderr', sa.Float(), nullable=True),
    sa.Column('extra_json', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['simulation_id'], ['simulation.id'], name=op.f('fk_simulation_point__simulation_id__simulation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation_point')),
    sa.UniqueConstraint('simulation_id', 'N', 'L', 'quantity', name=op.f('uq_simulation_point__simulation_id_N_L_quantity'))
    )
    with op.batch_alter_table('simulation_point', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_simulation_point__simulation_id'), ['simulation_id'], unique=False)

    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body.strip()}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with op.batch_alter_table('simulation_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_simulation_point__simulation_id'))

    op.drop_table('simulation_point')
    with op.batch_alter_table('embedding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embedding__n_exponent'))
        batch_op.drop_index(batch_op.f('ix_embedding__genus'))

    op.drop_table('embedding')
    with op.batch_alter_table('spectral_density', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spectral_density__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_spectral_density__architecture_id'))

    op.drop_table('spectral_density')
    with op.batch_alter_table('simulation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_simulation__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_simulation__kind'))
        batch_op.drop_index(batch_op.f('ix_simulation__architecture_id'))

    op.drop_table('simulation')
    with op.batch_alter_table('pairing_aggregate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairing_aggregate__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_pairing_aggregate__graph_id'))

    op.drop_table('pairing_aggregate')
    with op.batch_alter_table('pairing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairing__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_pairing__graph_id'))

    op.drop_table('pairing')
    with op.batch_alter_table('limit_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_limit_value__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_limit_value__architecture_id'))

    op.drop_table('limit_value')
    with op.batch_alter_table('jacobian_moment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jacobian_moment__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_jacobian_moment__architecture_id'))

    op.drop_table('jacobian_moment')
    with op.batch_alter_table('graph_sum_convergence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_graph_sum_convergence__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_graph_sum_convergence__architecture_id'))

    op.drop_table('graph_sum_convergence')
    with op.batch_alter_table('expansion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expansion__shape'))
        batch_op.drop_index(batch_op.f('ix_expansion__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_expansion__architecture_id'))

    op.drop_table('expansion')
    with op.batch_alter_table('operator_graph', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_graph__provenance_id'))

    op.drop_table('operator_graph')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job__provenance_id'))

    op.drop_table('job')
    with op.batch_alter_table('finite_width', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finite_width__provenance_id'))
        batch_op.drop_index(batch_op.f('ix_finite_width__kind'))

    op.drop_table('finite_width')
    with op.batch_alter_table('architecture', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_architecture__shape'))
        batch_op.drop_index(batch_op.f('ix_architecture__provenance_id'))

    op.drop_table('architecture')
    with op.batch_alter_table('provenance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provenance__method'))

    op.drop_table('provenance')
