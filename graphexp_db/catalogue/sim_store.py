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
    """Store one study; returns the simulation id (the existing one when already stored).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    kind : str
        The study (``graphexp simulate`` subcommand): ``kernel``, ``fourpoint``, ``jacobian``,
        ``ntk-rate``, ``universality``, ``commutativity`` or ``linearity``.
    params : dict
        The study's inputs; ``arch`` is required (a bare ``resnet`` spec of a commutativity study
        means ``resnet:L=inf``), ``activation``, ``ensemble`` and ``seed`` are copied to columns.
    result : dict
        The study's result, stored as JSON.
    points : list of dict
        The measured points (``N``, ``L``, ``quantity``, ``value``, optional ``stderr`` and
        ``extra``), e.g. from :func:`ntk_rate_points`.
    device : str
        ``'cpu'`` or ``'gpu'`` (part of the key: a GPU run is a different simulation).

    Returns
    -------
    int
        The ``simulation`` row's id.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.catalogue.models import Base
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> result = {"widths": [64, 256], "error": [0.2, 0.1], "stderr": [0.01, 0.005]}
    >>> params = {"arch": "mlp:L=2", "activation": "relu", "seed": 0}
    >>> [store_simulation(engine, "ntk-rate", params, result, ntk_rate_points(result), "cpu") for _ in range(2)]
    [1, 1]
    >>> store_simulation(engine, "ntk-rate", params, result, ntk_rate_points(result), "gpu")
    2
    """
    written = params["arch"]
    text = written
    if kind == "commutativity" and isinstance(text, str) and text.strip().startswith("resnet") and "L=" not in text:
        # the study's depths come from its grid; its architecture is the ODE limit (as montecarlo.commutativity reads it)
        text = text.strip() + (",L=inf" if ":" in text else ":L=inf")
    spec = parse_arch(text)
    full = {"kind": kind, **params, "arch": str(spec), "device": device}
    params_hash = hashlib.sha256(canonical_json(full).encode()).hexdigest()
    with session_scope(engine) as s:
        found = s.scalars(select(Simulation.id).where(Simulation.params_hash == params_hash)).one_or_none()
        if found is not None:
            return int(found)
        # the provenance keeps the spec as the user wrote it (the hash above does not depend on it)
        prov = new_provenance(s, "monte-carlo", {**full, "spec_as_written": written} if isinstance(written, str) and written != str(spec) else full,
                              device=device)
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
    """Grid points of a commutativity study (``montecarlo.commutativity``).

    Parameters
    ----------
    result : dict
        The study's result; its ``grid`` is a list of ``{"N", "L", "value", "stderr", ...}``.

    Returns
    -------
    list of dict
        One ``resnet_covariance`` point per grid entry (width N, depth L).

    Examples
    --------
    >>> commutativity_points({"grid": [{"N": 64, "L": 8, "value": 1.25, "stderr": 0.01}]})
    [{'N': 64, 'L': 8, 'quantity': 'resnet_covariance', 'value': 1.25, 'stderr': 0.01}]
    """
    return [dict(N=g["N"], L=g["L"], quantity="resnet_covariance", value=g["value"], stderr=g["stderr"]) for g in result["grid"]]


def linearity_points(result: dict, drift: bool = True) -> list[dict]:
    """Hessian norms (and NTK changes) against m of a linearity study (``montecarlo.linearity``).

    Parameters
    ----------
    result : dict
        The study's result: ``widths``, ``m`` (the neuron in-degree width), ``hessian_norm``,
        ``hessian_stderr`` and, for ``drift``, ``ntk_change`` and ``ntk_change_stderr`` (lists of equal length).
    drift : bool
        Also return the ``ntk_change`` points.

    Returns
    -------
    list of dict
        The ``hessian_norm`` points, then the ``ntk_change`` points; each carries ``extra={"m": m}``.

    Examples
    --------
    >>> result = {"widths": [64], "m": [128], "hessian_norm": [0.09], "hessian_stderr": [0.002],
    ...           "ntk_change": [0.01], "ntk_change_stderr": [0.001]}
    >>> [(p["quantity"], p["value"], p["extra"]) for p in linearity_points(result)]
    [('hessian_norm', 0.09, {'m': 128}), ('ntk_change', 0.01, {'m': 128})]
    >>> len(linearity_points(result, drift=False))
    1
    """
    pts = [dict(N=n, L=None, quantity="hessian_norm", value=h, stderr=s, extra={"m": m})
           for n, m, h, s in zip(result["widths"], result["m"], result["hessian_norm"], result["hessian_stderr"])]
    if drift:
        pts += [dict(N=n, L=None, quantity="ntk_change", value=h, stderr=s, extra={"m": m})
                for n, m, h, s in zip(result["widths"], result["m"], result["ntk_change"], result["ntk_change_stderr"])]
    return pts


def ntk_rate_points(result: dict) -> list[dict]:
    """Frobenius errors of the empirical NTK against width (``montecarlo.ntk_rate``).

    Parameters
    ----------
    result : dict
        The study's result: ``widths``, ``error`` and ``stderr`` (lists of equal length).

    Returns
    -------
    list of dict
        One ``ntk_frobenius_error`` point per width.

    Examples
    --------
    >>> ntk_rate_points({"widths": [64, 256], "error": [0.2, 0.1], "stderr": [0.01, 0.005]})[1]
    {'N': 256, 'L': None, 'quantity': 'ntk_frobenius_error', 'value': 0.1, 'stderr': 0.005}
    """
    return [dict(N=n, L=None, quantity="ntk_frobenius_error", value=e, stderr=s)
            for n, e, s in zip(result["widths"], result["error"], result["stderr"])]
