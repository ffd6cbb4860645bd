"""Dask sweeps (graphexp_db.distributed, called by graphexp_db.studies) give exactly the serial results with the same seeds."""

from __future__ import annotations

import pytest

pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")

from graphexp_db import studies  # noqa: E402
from graphexp_db.distributed import local_client, map_tasks  # noqa: E402


def test_map_tasks_local_cluster_equals_serial():
    tasks = list(range(7))
    assert map_tasks(pow2, tasks, workers=2, processes=False) == map_tasks(pow2, tasks) == [t * t for t in tasks]


def pow2(t):
    return t * t


def test_studies_on_dask_equal_serial():
    with local_client(workers=2, processes=False) as client:
        addr = client.scheduler.address
        kw = dict(samples=3, seed=11)
        assert studies.ntk_rate("mlp:L=1,sw=1.1,sb=0.1", "relu", [8, 16, 32], scheduler=addr, **kw) == \
            studies.ntk_rate("mlp:L=1,sw=1.1,sb=0.1", "relu", [8, 16, 32], **kw)
        assert studies.commutativity("resnet:L=2", "tanh", [8, 16], [2, 4], scheduler=addr, **kw) == \
            studies.commutativity("resnet:L=2", "tanh", [8, 16], [2, 4], **kw)
        assert studies.linearity("mlp:L=1", "tanh", [8, 16], scheduler=addr, steps=2, **kw) == \
            studies.linearity("mlp:L=1", "tanh", [8, 16], steps=2, **kw)


def test_cli_workers_flag_equals_serial():
    import json

    from typer.testing import CliRunner

    from graphexp_db.cli import app

    args = ["simulate", "commutativity", "--arch", "resnet:L=2", "--activation", "relu", "--widths", "8,16",
            "--depths", "2,3", "--samples", "2", "--seed", "4", "--json"]
    runner = CliRunner()
    serial = runner.invoke(app, args)
    dist = runner.invoke(app, [*args, "--workers", "2"])
    assert serial.exit_code == 0 and dist.exit_code == 0, dist.output
    assert json.loads(serial.stdout) == json.loads(dist.stdout)
