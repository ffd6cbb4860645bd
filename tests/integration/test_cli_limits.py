"""CLI contracts of ``graphexp limit``, ``graphexp moments jacobian`` and ``graphexp density jacobian``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from graphexp_db.cli import app
from graphexp_db.limits import fuss_catalan, jacobian_moments, kernels, nngp_limit, ntk_limit

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, list(args))


def test_limit_pair_json():
    r = _invoke("limit", "nngp", "--arch", "mlp:L=2,sw=1.3,sb=0.2", "--activation", "relu",
                "--x", "1,0.5", "--y", "0.2,-1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"value": nngp_limit("mlp:L=2,sw=1.3,sb=0.2", "relu", [1, 0.5], [0.2, -1])}
    r = _invoke("limit", "ntk", "--arch", "mlp:L=2,sw=1.3,sb=0.2", "--activation", "erf",
                "--x", "1,0.5", "--y", "0.2,-1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["value"] == pytest.approx(ntk_limit("mlp:L=2,sw=1.3,sb=0.2", "erf", [1, 0.5], [0.2, -1]))


def test_limit_resnet_ode_nngp():
    r = _invoke("limit", "nngp", "--arch", "resnet:L=inf,sw=1", "--activation", "tanh", "--x", "1,0.5", "--json")
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.stdout)) == {"value"}


@pytest.mark.parametrize("ext", ["npy", "csv"])
def test_limit_matrix_mode(tmp_path, ext):
    X = np.random.default_rng(0).standard_normal((5, 3))
    path = tmp_path / f"inputs.{ext}"
    np.save(path, X) if ext == "npy" else np.savetxt(path, X, delimiter=",")
    ref = kernels("mlp:L=2,sw=1.2,sb=0.1", "tanh", X)
    r = _invoke("limit", "ntk", "--arch", "mlp:L=2,sw=1.2,sb=0.1", "--activation", "tanh",
                "--inputs", str(path), "--json")
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(json.loads(r.stdout)["matrix"], ref.ntk, rtol=1e-12)
    out = tmp_path / "K.npy"
    r = _invoke("limit", "nngp", "--arch", "mlp:L=2,sw=1.2,sb=0.1", "--activation", "tanh",
                "--inputs", str(path), "--out", str(out))
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(np.load(out), ref.nngp, rtol=1e-12)


def test_moments_json():
    r = _invoke("moments", "jacobian", "--arch", "mlp:L=2,sw=1", "--activation", "identity",
                "--q-in", "1", "--kmax", "5", "--json")
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["moments"]
    assert m == pytest.approx([fuss_catalan(3, k) for k in range(1, 6)], rel=1e-12)
    r = _invoke("moments", "jacobian", "--arch", "mlp:L=2,sw=1.2", "--activation", "tanh",
                "--q-in", "0.5", "--kmax", "6", "--method", "noncrossing", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["moments"] == pytest.approx(jacobian_moments("mlp:L=2,sw=1.2", "tanh", 0.5, 6), rel=1e-10)


def test_density_json_and_png(tmp_path):
    png = tmp_path / "rho.png"
    r = _invoke("density", "jacobian", "--arch", "mlp:L=1,sw=1.2", "--activation", "relu",
                "--q-in", "1", "--png", str(png), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"grid", "density"}
    assert len(out["grid"]) == len(out["density"]) > 10
    assert all(d >= 0 for d in out["density"])
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args,message", [
    (["limit", "nngp", "--arch", "mlp:L=2", "--activation", "relu", "--x", "1,2", "--y", "1"], "different dimension"),
    (["limit", "nngp", "--arch", "mlp:L=2", "--activation", "relu", "--x", "1,nan"], "NaN or inf"),
    (["limit", "ntk", "--arch", "mlp:L=3", "--activation", "relu", "--x", "1", "--inputs", "x.npy"], "not both"),
    (["limit", "nngp", "--arch", "mlp:L=2", "--activation", "softplus", "--x", "1"], "unknown activation"),
    (["limit", "nngp", "--arch", "mlp:L=2", "--activation", "relu"], "--inputs"),
    (["moments", "jacobian", "--arch", "mlp:L=2", "--activation", "tanh", "--kmax", "0"], "kmax must be >= 1"),
    (["moments", "jacobian", "--arch", "mlp:L=2", "--activation", "tanh", "--q-in", "-1"], "q_in"),
    (["moments", "jacobian", "--arch", "mlp:L=100,sw=100", "--activation", "identity", "--kmax", "20"], "overflow"),
    (["density", "jacobian", "--arch", "resnet:L=2", "--activation", "tanh"], "square MLPs"),
])
def test_bad_input_one_line_exit_2(args, message):
    r = _invoke(*args, "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_store_in_catalogue_is_idempotent_and_exact(sqlite_url):
    from fractions import Fraction

    from sqlalchemy import create_engine, select

    from graphexp_db.catalogue.models import JacobianMoment, LimitValue, Provenance, SpectralDensity
    from graphexp_db.limits import nngp_exact

    args = ["limit", "nngp", "--arch", "mlp:L=2,sw=1.3,sb=0.2", "--activation", "poly:0,1,1/2",
            "--x", "1,0.5", "--y", "0.2,-1", "--store", "--db", sqlite_url, "--json"]
    for _ in range(2):
        r = _invoke(*args)
        assert r.exit_code == 0, r.output
    r = _invoke("moments", "jacobian", "--arch", "mlp:L=2,sw=1.3", "--activation", "identity", "--kmax", "4",
                "--store", "--db", sqlite_url, "--json")
    assert r.exit_code == 0, r.output
    r = _invoke("density", "jacobian", "--arch", "mlp:L=1", "--activation", "relu", "--store", "--db", sqlite_url, "--json")
    assert r.exit_code == 0, r.output
    engine = create_engine(sqlite_url)
    with engine.connect() as c:
        rows = c.execute(select(LimitValue.value, LimitValue.value_exact, LimitValue.provenance_id)).all()
        assert len(rows) == 1
        exact = nngp_exact("mlp:L=2,sw=1.3,sb=0.2", "poly:0,1,1/2", [1, Fraction(1, 2)], [Fraction(1, 5), -1])
        assert rows[0].value_exact == exact and rows[0].value == pytest.approx(float(exact), rel=1e-12)
        moments = c.execute(select(JacobianMoment.k, JacobianMoment.value_exact).order_by(JacobianMoment.k)).all()
        assert [m.value_exact for m in moments] == [Fraction(169, 100) ** (3 * k) * fuss_catalan(3, k) for k in range(1, 5)]
        assert c.execute(select(SpectralDensity.method)).scalar_one() == "stieltjes-s-transform"
        assert c.execute(select(Provenance.method).where(Provenance.id == rows[0].provenance_id)).scalar_one().startswith("limit-")


def test_resnet_depth_convergence_is_reported_with_its_rate():
    import json

    from typer.testing import CliRunner

    from graphexp_db.cli import app

    r = CliRunner().invoke(app, ["limit", "depth-convergence", "--arch", "resnet:sw=1", "--activation", "erf",
                                 "--x", "1,0", "--y", "0.6,0.8", "--depths", "4,16,64,256", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["depths"] == [4, 16, 64, 256]
    assert -1.1 < out["slope"]["nngp"] < -0.9 and -1.1 < out["slope"]["ntk"] < -0.9
    assert out["error"]["nngp"][-1] < 1e-3
