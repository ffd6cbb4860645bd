"""Storing finite-width series (``graphexp finite-width ... --store``) in ``finite_width``.

One provenance row per store (method ``finite-width-<kind>-<route>``, the route being the layer
recursion or the graph sums) and one ``finite_width`` row keyed by the hash of the canonical
parameters (kind, spec, activation, inputs, max order, route): storing twice is harmless.
``coefficients_json`` holds ``{"exact": {j: "p/q"}}`` for exact series, or ``{"float": {j: value},
"errors": {j: bound}}`` for floating ones.
"""

from __future__ import annotations

import hashlib
import json

from ..spec import canonical_json
from . import models as m
from .engine import session_scope
from .store import finish_provenance, insert_ignore, new_provenance

__all__ = ["store_series", "load_series"]


def _params(kind, spec, act, xs, ys, series) -> dict:
    params = {"kind": kind, "arch": str(spec), "activation": str(act), "x": ",".join(map(str, xs)),
              "max_order": series.max_order, "method": series.method, "ensemble": series.ensemble}
    if ys is not None:
        params["y"] = ",".join(map(str, ys))
    return params


def store_series(engine, kind: str, spec, act, xs, ys, series, device: str = "cpu") -> dict:
    """Store ``series`` (a :class:`graphexp_db.finite.FiniteSeries`); returns the row's key and whether it was new.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    kind : str
        ``covariance``, ``ntk`` or ``fourpoint`` (what the series is of).
    spec : MLPSpec, ResNetSpec or DagSpec
        The architecture.
    act : Activation or str
        The activation phi.
    xs : sequence
        The input x (its entries are stored as text).
    ys : sequence or None
        The second input y (``None`` for the one-input 4-point function).
    series : FiniteSeries
        The coefficients ``{j: a_j}`` of ``sum_j a_j N^-j``, with their route, truncation and errors.
    device : str
        ``'cpu'`` or ``'gpu'``, recorded in the provenance row.

    Returns
    -------
    dict
        ``params_hash`` (str, the row's key: a hash of the canonical parameters) and ``new`` (bool,
        False when the same series was stored before).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.finite import ntk_series
    >>> from graphexp_db.spec import parse_activation, parse_arch
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> spec, act = parse_arch("mlp:L=1"), parse_activation("identity")
    >>> series = ntk_series(spec, act, [1, 0], [1, 0])      # K2 + K1 = 1 at every width
    >>> [store_series(engine, "ntk", spec, act, [1, 0], [1, 0], series)["new"] for _ in range(2)]
    [True, False]
    """
    params = _params(kind, spec, act, xs, ys, series)
    key = canonical_json(params)
    coeffs: dict[str, object]
    if series.exact:
        coeffs = {"exact": {str(j): str(v) for j, v in series.items()}}
    else:
        coeffs = {"float": {str(j): float(v) for j, v in series.items()},
                  "errors": {str(j): float(e) for j, e in series.errors.items()}, "oracle": series.oracle}
    params_hash = hashlib.sha256(key.encode()).hexdigest()[:32]
    with session_scope(engine) as s:
        prov = new_provenance(s, f"finite-width-{kind}-{series.method}", params, device=device)
        n = insert_ignore(s, m.FiniteWidth, [dict(kind=kind, params_hash=params_hash, params_json=key,
                                                 coefficients_json=json.dumps(coeffs), provenance_id=prov.id)],
                          ["params_hash"])
        finish_provenance(s, prov)
    return {"params_hash": params_hash, "new": bool(n)}


def load_series(engine, kind: str | None = None) -> list[dict]:
    """Stored series as dicts (params, coefficients, provenance id), newest first.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A catalogue at the current schema.
    kind : str, optional
        Only series of this kind (``covariance``, ``ntk``, ``fourpoint``); ``None``: all.

    Returns
    -------
    list of dict
        Per stored series: ``params`` (the canonical parameters: kind, arch, activation, x, y,
        max_order, method, ensemble), ``coefficients`` (``{"exact": {j: "p/q"}}`` or ``{"float": ...,
        "errors": ..., "oracle": ...}``) and ``provenance_id``.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from graphexp_db.finite import ntk_series
    >>> from graphexp_db.spec import parse_activation, parse_arch
    >>> engine = create_engine("sqlite://")
    >>> m.Base.metadata.create_all(engine)
    >>> spec, act = parse_arch("mlp:L=1"), parse_activation("identity")
    >>> _ = store_series(engine, "ntk", spec, act, [1, 0], [1, 0], ntk_series(spec, act, [1, 0], [1, 0]))
    >>> [(r["params"]["arch"], r["coefficients"]) for r in load_series(engine)], load_series(engine, "covariance")
    ([('mlp:L=1,sw=1,sb=0', {'exact': {'0': '1'}})], [])
    """
    from sqlalchemy import select

    with session_scope(engine) as s:
        q = select(m.FiniteWidth).order_by(m.FiniteWidth.id.desc())
        if kind is not None:
            q = q.where(m.FiniteWidth.kind == kind)
        return [{"params": json.loads(r.params_json), "coefficients": json.loads(r.coefficients_json),
                 "provenance_id": r.provenance_id} for r in s.scalars(q)]
