"""``graphexp limit nngp|ntk --dtype float32`` and the cross-matrix mode ``--inputs2``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from graphexp_db.cli import app
from graphexp_db.limits import kernels

runner = CliRunner()


def test_cross_matrix_float32_file(tmp_path):
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "y.csv", Y, delimiter=",")
    out = tmp_path / "K.npy"
    r = runner.invoke(app, ["limit", "ntk", "--arch", "mlp:L=3,sw=1.4,sb=0.1", "--activation", "erf", "--inputs",
                            str(tmp_path / "x.npy"), "--inputs2", str(tmp_path / "y.csv"), "--dtype", "float32",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    K = np.load(out)
    ref = kernels("mlp:L=3,sw=1.4,sb=0.1", "erf", X, Y).ntk
    assert K.dtype == np.float32 and K.shape == (6, 4)
    assert np.max(np.abs(K - ref) / np.abs(ref)) < 1e-6


def test_pair_value_float32_json():
    r = runner.invoke(app, ["limit", "nngp", "--arch", "mlp:L=2", "--activation", "relu", "--x", "1,0.5", "--y",
                            "0.2,-1", "--dtype", "float32", "--json"])
    assert r.exit_code == 0, r.output
    v64 = kernels("mlp:L=2", "relu", np.array([[1, 0.5]]), np.array([[0.2, -1]])).nngp[0, 0]
    assert json.loads(r.stdout)["value"] == pytest.approx(v64, rel=1e-7)


@pytest.mark.parametrize("args,message", [
    (["--x", "1", "--dtype", "float16"], "--dtype"),
    (["--x", "1", "--inputs2", "y.npy"], "--inputs2 needs --inputs"),
])
def test_bad_dtype_or_inputs2_one_line_exit_2(args, message):
    r = runner.invoke(app, ["limit", "nngp", "--arch", "mlp:L=2", "--activation", "relu", *args, "--json"])
    assert r.exit_code == 2 and r.stdout == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and message in err
