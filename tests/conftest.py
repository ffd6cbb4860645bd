"""Shared fixtures and options.

``--runslow``: tests marked ``slow`` run only with it (networkx's conftest); otherwise they are
skipped with the reason "needs --runslow".

``xp``: the array namespace, ``numpy`` always and ``cupy`` when a usable CUDA device is there (the
cupy case is marked ``gpu`` and skipped with a reason otherwise), as zarr's ``tests/conftest.py``
parametrises its stores: an array test that takes ``xp`` runs on every backend the machine has.

Database URLs for the catalogue tests (Optuna's STORAGE_MODES, one per backend):
``sqlite_url``: a fresh SQLite file under the test's tmp directory.
``pg_url``: the local PostgreSQL server (``127.0.0.1:5432``, database ``test``, trust auth) with a
fresh schema per test (``search_path`` set through the URL), dropped afterwards; the test is
skipped with a visible reason when the server does not answer.
"""

from __future__ import annotations

import uuid

import pytest

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="needs --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request):
    """The array namespace of a test: numpy, then cupy where a CUDA device is usable."""
    if request.param == "numpy":
        import numpy

        return numpy
    pytest.importorskip("cupy", reason="cupy is not installed (GPU extra): the numpy case of this test ran")
    from graphexp_db.backend import DeviceError, get_xp

    try:
        return get_xp("gpu")
    except DeviceError as exc:
        pytest.skip(f"no usable CUDA device ({exc}): the numpy case of this test ran")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh (not yet created) SQLite catalogue file."""
    return f"sqlite:///{tmp_path / 'catalogue.sqlite'}"


def _pg_admin():
    try:
        import psycopg
    except ImportError as err:  # pragma: no cover - psycopg is a dev dependency
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: psycopg is not installed ({err})")
    try:
        return psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True, connect_timeout=3)
    except Exception as err:  # noqa: BLE001 - any failure to connect means "skip"
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {' '.join(str(err).split())[:200]}")


@pytest.fixture
def pg_url():
    """URL of an empty schema in the local PostgreSQL ``test`` database (skipped when it is down)."""
    admin = _pg_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    # %3D is '=': the libpq option "-csearch_path=<schema>" (also exercises '%' escaping for Alembic).
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        from graphexp_db.catalogue.engine import dispose_engine

        dispose_engine(url)
        try:
            # A test that leaves a transaction open must not hang the session: give up after 10 s.
            admin.execute("SET lock_timeout = '10s'")
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except Exception as err:  # noqa: BLE001
            import warnings

            warnings.warn(f"could not drop test schema {schema}: {err}", stacklevel=1)
        finally:
            admin.close()
