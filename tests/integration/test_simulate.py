"""``graphexp simulate`` through typer's CliRunner: JSON contracts, bad input (exit 2, one line), storing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from graphexp_db.cli import app

runner = CliRunner()


def _json(args):
    r = runner.invoke(app, ["simulate", *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_jacobian_contract():
    out = _json(["jacobian", "--arch", "mlp:L=2,sw=1.2", "--activation", "tanh", "--q-in", "1", "--width", "32",
                 "--samples", "4", "--kmax", "3", "--seed", "0"])
    assert len(out["moments"]) == 3 and len(out["stderr"]) == 3 and len(out["limit"]) == 3


def test_kernel_contract():
    out = _json(["kernel", "--arch", "mlp:L=1,sw=1,sb=0.1", "--activation", "relu", "--x", "1,0", "--y", "0.6,0.8",
                 "--width", "16", "--samples", "10"])
    assert {"nngp", "nngp_stderr", "ntk", "ntk_stderr"} <= set(out)


def test_linearity_contract(tmp_path):
    png = tmp_path / "lin.png"
    out = _json(["linearity", "--arch", "mlp:L=2", "--activation", "tanh", "--widths", "8,16,32", "--samples", "2",
                 "--steps", "2", "--png", str(png)])
    assert out["m"] == [8, 16, 32] and len(out["hessian_norm"]) == 3
    assert isinstance(out["slope"], float) and len(out["slope_ci"]) == 2
    assert png.stat().st_size > 1000


def test_ntk_rate_contract(tmp_path):
    out = _json(["ntk-rate", "--arch", "mlp:L=1,sw=1.2,sb=0.2", "--activation", "relu", "--widths", "8,16,32",
                 "--samples", "3", "--png", str(tmp_path / "rate.png")])
    assert out["widths"] == [8, 16, 32] and len(out["error"]) == 3 and len(out["slope_ci"]) == 2


def test_commutativity_contract(tmp_path):
    png = tmp_path / "heat.png"
    out = _json(["commutativity", "--arch", "resnet:L=4,sw=1", "--activation", "relu", "--widths", "8,16",
                 "--depths", "2,4", "--samples", "3", "--png", str(png)])
    assert isinstance(out["limit"], float) and len(out["grid"]) == 4
    assert {"N", "L", "value", "stderr"} <= set(out["grid"][0])
    assert set(out["paths"]) == {"width_first", "depth_first", "diagonal"} and png.exists()


def test_universality_and_fourpoint():
    out = _json(["universality", "--arch", "mlp:L=1", "--activation", "tanh", "--ensembles", "gaussian;sparse:1/2;complex",
                 "--width", "16", "--samples", "3", "--kmax", "2"])
    assert [r["ensemble"] for r in out["rows"]] == ["gaussian", "sparse:1/2", "complex"]
    out = _json(["fourpoint", "--arch", "mlp:L=1", "--activation", "identity", "--x", "1,1", "--width", "4", "--samples", "50"])
    assert {"value", "stderr", "N_times_value"} <= set(out)


@pytest.mark.parametrize("args,needle", [
    (["kernel", "--arch", "mlp:L=1", "--width", "0"], "width"),
    (["kernel", "--arch", "mlp:L=1", "--samples", "1"], "samples"),
    (["linearity", "--arch", "mlp:L=1", "--widths", "0,8"], "widths"),
    (["kernel", "--arch", "mlp:L=40,sw=500", "--activation", "identity", "--samples", "2", "--width", "4"], "overflow"),
    (["kernel", "--arch", "mlp:L=1", "--device", "gpu"], "gpu"),
    (["jacobian", "--arch", "mlp:Q=1"], "mlp"),
    (["kernel", "--arch", "mlp:L=1", "--activation", "softplus"], "activation"),
])
def test_bad_input_one_line_exit_2(args, needle, monkeypatch):
    import graphexp_db.backend as backend

    monkeypatch.setattr(backend, "_cupy", lambda: None)  # no GPU, also on a machine that has one
    r = runner.invoke(app, ["simulate", *args, "--json"])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0].lower(), r.stderr


def test_device_auto_falls_back(monkeypatch):
    import graphexp_db.backend as backend

    monkeypatch.setattr(backend, "_cupy", lambda: None)
    out = _json(["kernel", "--arch", "mlp:L=1", "--device", "auto", "--width", "4", "--samples", "3"])
    assert out["device"] == "cpu"


def test_store_with_provenance_idempotent(sqlite_url):
    from sqlalchemy import create_engine, func, select

    from graphexp_db.catalogue.models import Provenance, Simulation, SimulationPoint

    args = ["jacobian", "--arch", "mlp:L=1", "--activation", "tanh", "--width", "8", "--samples", "3", "--kmax", "2",
            "--db", sqlite_url]
    first = _json(args)
    second = _json(args)
    assert first["simulation_id"] == second["simulation_id"]
    bad = runner.invoke(app, ["simulate", "kernel", "--arch", "mlp:L=40,sw=500", "--activation", "identity",
                              "--width", "4", "--samples", "2", "--db", sqlite_url])
    assert bad.exit_code == 2
    eng = create_engine(sqlite_url)
    with eng.connect() as c:
        assert c.scalar(select(func.count()).select_from(Simulation)) == 1
        assert c.scalar(select(func.count()).select_from(SimulationPoint)) == 2
        sim = c.execute(select(Simulation.kind, Simulation.device, Simulation.provenance_id)).one()
        prov = c.execute(select(Provenance.method, Provenance.device).where(Provenance.id == sim.provenance_id)).one()
    assert sim.kind == "jacobian" and prov.method == "monte-carlo" and prov.device == "cpu"
    eng.dispose()


def test_commutativity_accepts_a_resnet_spec_without_depth():
    """The contract is `--arch resnet:sw=…`: depths come from --depths."""
    import json

    from typer.testing import CliRunner

    from graphexp_db.cli import app

    r = CliRunner().invoke(app, ["simulate", "commutativity", "--arch", "resnet:sw=1", "--activation", "tanh",
                                 "--widths", "16,32", "--depths", "2,4", "--samples", "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {(g["N"], g["L"]) for g in out["grid"]} == {(16, 2), (16, 4), (32, 2), (32, 4)}
    assert out["limit"] > 0


@pytest.mark.parametrize("ensemble,kind", [("gaussian", "gaussian"),
                                           ("rademacher", "d->inf (first layer and biases taken Gaussian)"),
                                           ("sparse:1/2", "d->inf (first layer and biases taken Gaussian)")])
def test_kernel_says_which_limit_it_prints(ensemble, kind):
    # issue 8.4: at a fixed d a non-Gaussian net's N -> inf limit is not the Gaussian NNGP; the output says so
    args = ["kernel", "--arch", "mlp:L=1", "--activation", "tanh", "--width", "8", "--samples", "4", "--ensemble", ensemble]
    out = _json(args)
    assert out["limit_kind"] == kind and isinstance(out["nngp_limit"], float) and isinstance(out["ntk_limit"], float)
    text = runner.invoke(app, ["simulate", *args]).stdout
    assert ("d -> inf limit of this ensemble" in " ".join(text.split())) == (ensemble != "gaussian")


def test_linearity_refuses_relu():
    # issue 10.2: the Hessian of a relu net is a distribution at the kink; refused, not a noisy number
    r = runner.invoke(app, ["simulate", "linearity", "--arch", "mlp:L=1", "--activation", "relu", "--widths", "8,16",
                            "--samples", "2", "--json"])
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "relu" in lines[0] and "Dirac delta" in lines[0]
