"""cumulant surface labels: X<chi> for negative Euler characteristic

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 12:00:00

Cumulant blocks of non-Gaussian trace words carry only an Euler characteristic, stored as
``X<chi>``.  Until this revision the integer code ``2000 + chi`` of a negative chi was read back as
a crosscap code, so ``pairing_aggregate.surface`` held ``N996`` where ``X-4`` was meant (crosscap
numbers of real words are far below 900).  This data-only revision relabels those rows; the schema
does not change.  Downgrade writes the old labels back.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE pairing_aggregate SET surface = 'X' || CAST(CAST(SUBSTR(surface, 2) AS INTEGER) - 1000 AS VARCHAR(16)) "
               "WHERE surface LIKE 'N9%' AND CAST(SUBSTR(surface, 2) AS INTEGER) BETWEEN 900 AND 999")


def downgrade() -> None:
    op.execute("UPDATE pairing_aggregate SET surface = 'N' || CAST(CAST(SUBSTR(surface, 2) AS INTEGER) + 1000 AS VARCHAR(16)) "
               "WHERE surface LIKE 'X-%'")
