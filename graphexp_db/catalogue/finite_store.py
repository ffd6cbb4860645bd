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
    """Store ``series`` (a :class:`graphexp_db.finite.FiniteSeries`); returns the row's key and whether it was new."""
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
    """Stored series as dicts (params, coefficients, provenance id), newest first."""
    from sqlalchemy import select

    with session_scope(engine) as s:
        q = select(m.FiniteWidth).order_by(m.FiniteWidth.id.desc())
        if kind is not None:
            q = q.where(m.FiniteWidth.kind == kind)
        return [{"params": json.loads(r.params_json), "coefficients": json.loads(r.coefficients_json),
                 "provenance_id": r.provenance_id} for r in s.scalars(q)]
