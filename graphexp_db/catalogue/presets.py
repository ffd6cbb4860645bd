"""Named catalogue presets (``graphexp build --preset``).

``core`` is the small default catalogue ``make run`` builds: GUE words up to n = 8 (Harer–Zagier),
Ginibre products p <= 3, k <= 4 (real and complex), non-Gaussian trace words, Jacobian words of
MLP(1), MLP(2), and the covariance / NTK / 4-point operator graphs of small MLPs and a DAG, plus the
exact finite-width series the README shows, and small Monte Carlo studies (ResNet width/depth
commutativity, transition to linearity on an MLP and a DenseNet-like DAG) for the UI pages.
"""

from __future__ import annotations

import json

from ..spec import parse_arch
from .limits_store import paper_steps
from .steps import Step

__all__ = ["Step", "PRESETS"]


def _expansion(arch, quantity, order, ensemble="gaussian", p=None, activation=None) -> Step:
    def run(engine, device):
        from .fill import fill_expansion

        s = fill_expansion(engine, parse_arch(arch) if arch else None, quantity, order, ensemble=ensemble, p=p,
                           activation=activation, device=device)
        return {"shape": s.shape, "quantity": quantity, "order": order, "ensemble": s.ensemble, "graphs": s.n_graphs,
                "pairings": s.n_pairings, "done": s.graphs_done, "skipped": s.graphs_skipped}

    label = f"{arch or ''} {quantity} o{order} {ensemble}{f' p={p}' if p else ''}".strip()
    return Step(label, run)


def _finite(kind: str, **params) -> Step:
    def run(engine, device):
        from .fill import store_finite_width

        return store_finite_width(engine, kind, params, device=device)

    return Step(f"finite-width {kind} {json.dumps(params, sort_keys=True)}", run)


DENSE_DAG = '{"kind":"dag","edges":[[0,1],[1,2],[0,2],[2,3],[1,3],[0,3]]}'


def _simulation(kind: str, arch: str, activation: str, widths, depths=None) -> Step:
    """A small Monte Carlo study, so the UI's ResNet and DAG pages have data after `make run`."""

    def run(engine, device):
        from .. import studies
        from ..backend import device_name, get_xp
        from .sim_store import commutativity_points, linearity_points, ntk_rate_points, store_simulation

        dev = device_name(get_xp(device))
        params = dict(arch=arch, activation=activation, widths=list(widths), samples=8 if kind == "commutativity" else 4,
                      seed=0, ensemble="gaussian")
        if kind == "commutativity":
            params.update(depths=list(depths), x=[1.0, 0.0], y=[0.6, 0.8])
            r = studies.commutativity(arch, activation, widths, depths, samples=8, seed=0, device=device)
            points = commutativity_points(r)
        elif kind == "ntk-rate":
            params["samples"] = 8
            r = studies.ntk_rate(arch, activation, widths, samples=8, seed=0, device=device)
            points = ntk_rate_points(r)
        else:
            params.update(steps=10, drift=True)
            r = studies.linearity(arch, activation, widths, samples=4, seed=0, device=device)
            points = linearity_points(r)
        result = json.loads(json.dumps(r, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
        sim_id = store_simulation(engine, kind, params, result, points, dev)
        return {"simulation": kind, "id": sim_id}

    return Step(f"simulate {kind} {arch} {activation}", run)


def _core() -> list[Step]:
    steps = [_expansion(None, "gue", n) for n in range(1, 9)]
    for p in (1, 2, 3):
        for k in (1, 2, 3, 4):
            steps.append(_expansion(None, "trace", k, "gaussian", p))
            steps.append(_expansion(None, "trace", k, "complex", p))
    for ens in ("rademacher", "uniform", "sparse:1/2"):
        for k in (1, 2, 3):
            steps.append(_expansion(None, "trace", k, ens, 1))
    for L, kmax in ((1, 4), (2, 3)):
        for k in range(1, kmax + 1):
            steps.append(_expansion(f"mlp:L={L}", "jacobian", k))
    for order in (0, 1, 2, 3):
        steps.append(_expansion("mlp:L=1", "covariance", order))
        steps.append(_expansion("mlp:L=1", "ntk", order))
    for order in (0, 1, 2):
        steps.append(_expansion("mlp:L=2", "covariance", order))
        steps.append(_expansion("mlp:L=1", "fourpoint", order))
    for order in (0, 1):
        steps.append(_expansion("mlp:L=2", "ntk", order))
        steps.append(_expansion('{"kind":"dag","edges":[[0,1],[1,2],[0,2]]}', "covariance", order))
    for ens in ("real", "complex"):
        for p in (1, 2, 3):
            for k in (1, 2, 3, 4):
                steps.append(_finite("trace", ensemble=ens, p=p, k=k))
    steps.append(_finite("covariance", arch="mlp:L=2,sw=1.2,sb=0.3", activation="poly:0.1,1,0.5", x="1,0.5,-0.3", y="0.2,-1,0.7"))
    steps.append(_finite("fourpoint", arch="mlp:L=1,sw=1.2,sb=0.3", activation="poly:0.1,1,0.5", x="1,0.5,-0.3"))
    steps.append(_simulation("ntk-rate", "mlp:L=2", "relu", (32, 64, 128, 256)))
    steps.append(_simulation("commutativity", "resnet:L=inf,sw=1", "tanh", (32, 64, 128), (2, 4, 8, 16)))
    steps.append(_simulation("linearity", DENSE_DAG, "tanh", (16, 32, 64, 128)))
    steps.append(_simulation("linearity", "mlp:L=2", "tanh", (16, 32, 64, 128)))
    return steps


#: preset name -> its steps (``graphexp build --preset NAME`` runs them in order); the steps only
#: hold closures, so building both lists at import costs nothing
PRESETS: dict[str, list[Step]] = {"core": _core(), "paper": paper_steps()}
