"""Alembic environment of the graphexp-db catalogue (the Config is built in code, see
``graphexp_db/catalogue/migrate.py``: ``alembic_config(url)``).

As Prefect's ``_migrations/env.py``: SQLite runs in batch mode (``render_as_batch``), since it
cannot ``ALTER`` most things in place; the exact-number TypeDecorators are rendered as plain
``sa.Text()`` so that revisions do not import application code.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.types import TypeDecorator

from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.models import Base

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    # BigCount / ExactRational are text in the database: render their implementation type.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
        transaction_per_migration=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=config.get_main_option("sqlalchemy.url", "").startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or get_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
