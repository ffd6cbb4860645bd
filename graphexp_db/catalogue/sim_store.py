"""Storing Monte Carlo studies: one ``simulation`` row (unique on the hash of its parameters,
device included) with its ``simulation_point`` rows and a provenance row.  Storing the same run
twice writes nothing new."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from ..spec import canonical_json, parse_arch
from .engine import session_scope
from .models import Simulation, SimulationPoint
from .store import finish_provenance, get_or_create_architecture, insert_ignore, new_provenance

__all__ = ["store_simulation", "commutativity_points", "linearity_points", "ntk_rate_points"]


def store_simulation(engine, kind: str, params: dict, result: dict, points: list, device: str) -> int:
    """Store one study; returns the simulation id (the existing one when already stored)."""
    spec = parse_arch(params["arch"])
    full = {"kind": kind, **params, "arch": str(spec), "device": device}
    params_hash = hashlib.sha256(canonical_json(full).encode()).hexdigest()
    with session_scope(engine) as s:
        found = s.scalars(select(Simulation.id).where(Simulation.params_hash == params_hash)).one_or_none()
        if found is not None:
            return int(found)
        prov = new_provenance(s, "monte-carlo", full, device=device)
        arch = get_or_create_architecture(s, spec, prov.id)
        row = dict(kind=kind, params_hash=params_hash, architecture_id=arch.id, activation=str(params.get("activation", "")),
                   ensemble=str(params.get("ensemble", "gaussian")), device=device, seed=int(params.get("seed", 0)),
                   result_json=json.dumps(result, default=str), provenance_id=prov.id)
        insert_ignore(s, Simulation, [row], ["params_hash"])
        sim_id = s.scalars(select(Simulation.id).where(Simulation.params_hash == params_hash)).one()
        rows = [dict(simulation_id=sim_id, N=int(p["N"]), L=p.get("L"), quantity=p["quantity"], value=float(p["value"]),
                     stderr=None if p.get("stderr") is None else float(p["stderr"]),
                     extra_json=json.dumps(p["extra"]) if p.get("extra") else None) for p in points]
        insert_ignore(s, SimulationPoint, rows, ["simulation_id", "N", "L", "quantity"])
        finish_provenance(s, prov)
        return int(sim_id)


def commutativity_points(result: dict) -> list[dict]:
    """Grid points of a commutativity study (``montecarlo.commutativity``)."""
    return [dict(N=g["N"], L=g["L"], quantity="resnet_covariance", value=g["value"], stderr=g["stderr"]) for g in result["grid"]]


def linearity_points(result: dict, drift: bool = True) -> list[dict]:
    """Hessian norms (and NTK changes) against m of a linearity study (``montecarlo.linearity``)."""
    pts = [dict(N=n, L=None, quantity="hessian_norm", value=h, stderr=s, extra={"m": m})
           for n, m, h, s in zip(result["widths"], result["m"], result["hessian_norm"], result["hessian_stderr"])]
    if drift:
        pts += [dict(N=n, L=None, quantity="ntk_change", value=h, stderr=s, extra={"m": m})
                for n, m, h, s in zip(result["widths"], result["m"], result["ntk_change"], result["ntk_change_stderr"])]
    return pts


def ntk_rate_points(result: dict) -> list[dict]:
    """Frobenius errors of the empirical NTK against width (``montecarlo.ntk_rate``)."""
    return [dict(N=n, L=None, quantity="ntk_frobenius_error", value=e, stderr=s)
            for n, e, s in zip(result["widths"], result["error"], result["stderr"])]
