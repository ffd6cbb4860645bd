"""Alembic migrations of the catalogue (as Prefect's test_migrations.py): one head, models equal
migrations, downgrade/upgrade round trip, fresh create_all path, stale databases refused; on
SQLite and PostgreSQL (skipped with a reason when it is down)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from graphexp_db.catalogue import migrate
from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.migrate import (
    MIGRATIONS_DIR,
    SchemaOutdated,
    alembic_config,
    check_schema,
    current_revision,
    ensure_schema,
    head_revision,
)
from graphexp_db.catalogue.models import VIEWS, Base

BACKENDS = ["sqlite_url", "pg_url"]


@pytest.fixture(params=BACKENDS)
def url(request):
    return request.getfixturevalue(request.param)


def _diff(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def _views(engine):
    return set(inspect(engine).get_view_names())


def test_single_head():
    heads = ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()
    assert len(heads) == 1 and heads[0] == head_revision()


def test_config_works_from_any_directory(tmp_path, monkeypatch, sqlite_url):
    monkeypatch.chdir(tmp_path)
    cfg = alembic_config(sqlite_url)
    assert cfg.get_main_option("script_location") == str(MIGRATIONS_DIR) and MIGRATIONS_DIR.is_absolute()


def test_migrations_match_models(url):
    """Run the real migration scripts, then `alembic check`: nothing left to autogenerate."""
    from alembic import command

    engine = get_engine(url)
    command.upgrade(alembic_config(engine), "head")
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == []
    command.check(alembic_config(engine))  # raises when models and migrations differ
    assert _views(engine) == set(VIEWS)


def test_downgrade_upgrade_round_trip(url):
    engine = get_engine(url)
    assert migrate.upgrade(engine) == head_revision()
    assert migrate.downgrade(engine, "base") is None
    assert not set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    assert not _views(engine)
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == [] and _views(engine) == set(VIEWS)


def test_fresh_database_gets_create_all_and_stamp(url):
    engine = get_engine(url)
    assert current_revision(engine) is None
    ensure_schema(engine)  # empty: creates everything
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == [] and _views(engine) == set(VIEWS)
    ensure_schema(engine)  # current: a no-op
    assert migrate.upgrade(engine) == head_revision()  # idempotent


def test_older_revision_is_refused_with_one_line(url):
    from alembic import command

    engine = get_engine(url)
    command.upgrade(alembic_config(engine), "0001")
    for check in (check_schema, ensure_schema):
        with pytest.raises(SchemaOutdated) as info:
            check(engine)
        assert str(info.value) == "catalogue schema is out of date: run `graphexp db upgrade`"
    assert migrate.upgrade(engine) == head_revision()


def test_unknown_revision_is_refused_with_one_line(url):
    from graphexp_db.errors import CatalogueError

    engine = get_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000old'"))
    for check in (check_schema, ensure_schema, migrate.upgrade):
        with pytest.raises(CatalogueError) as info:
            check(engine)
        assert "revision '0000old', unknown to this graphexp-db" in str(info.value) and "\n" not in str(info.value)


def test_missing_column_at_head_is_refused_with_one_line(url):
    from graphexp_db.errors import CatalogueError

    engine = get_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE graph_ensemble DROP COLUMN n_orbits"))
    with pytest.raises(CatalogueError, match=r"lacks graph_ensemble\.n_orbits"):
        ensure_schema(engine)


def test_unstamped_schema_of_our_own_is_stamped_by_the_next_command(url):
    engine = get_engine(url)
    Base.metadata.create_all(engine)  # e.g. created by an older, non-atomic version, killed before the stamp
    with pytest.raises(SchemaOutdated):
        check_schema(engine)
    ensure_schema(engine)  # any command: finishes and stamps, no manual upgrade
    check_schema(engine)
    assert migrate.upgrade(engine) == head_revision()


def test_upgrade_refuses_unversioned_database_that_differs(sqlite_url):
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE operator_graph (id INTEGER PRIMARY KEY, label TEXT)"))
    with pytest.raises(SchemaOutdated, match="differ from the models"):
        migrate.upgrade(engine)


def test_0003_relabels_negative_chi_cumulant_surfaces(url):
    """A catalogue filled before 0003 stored X<chi < 0> as N<1000 + chi>; 0003 relabels those rows,
    and its downgrade writes the old labels back."""
    from graphexp_db.catalogue.fill import fill_expansion

    engine = get_engine(url)
    ensure_schema(engine)
    fill_expansion(engine, None, "trace", 3, ensemble="rademacher", p=1)

    def labels():
        with engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(text("SELECT DISTINCT surface FROM pairing_aggregate WHERE ensemble = 'rademacher'")))

    fresh = labels()
    assert fresh == ["X-1", "X-2", "X0", "X1", "X2"]
    migrate.downgrade(engine, "0002")
    assert labels() == ["N998", "N999", "X0", "X1", "X2"]     # what a 0002-era fill stored
    assert migrate.upgrade(engine) == head_revision() == "0003"
    assert labels() == fresh
