"""``graphexp moments jacobian``: moments m_1..m_K of the limiting spectrum of J J^T."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, Force, JsonOut, emit_json, fail
from .limit import Store

app = typer.Typer(help="Moments of limiting spectra (input-output Jacobian J J^T).", no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Square MLP: mlp:L=3,sw=1.5,sb=0.1.")]
Act = Annotated[str, typer.Option("--activation", help="relu, tanh, erf, sin, gelu, identity or poly:c0,c1,...")]
QIn = Annotated[float, typer.Option("--q-in", help="q_in = |x|^2 / N (>= 0).")]
KMax = Annotated[int, typer.Option("--kmax", help="Number of moments K (>= 1).")]
Method = Annotated[str, typer.Option("--method", help="free (S-transform series, any K) or noncrossing (sums over NC(k), K <= 12).")]


#: work limits without --force: elementary operations of the series (free) or NC(k) terms (noncrossing)
FREE_OPS_LIMIT = 5 * 10**7
NONCROSSING_TERMS_LIMIT = 2 * 10**6


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="moments")


def moments_cost(depth: int, kmax: int, method: str) -> float:
    """Work to compute m_1..m_K, in closed form (no moment is computed).

    ``free``: the S-transform series is a power-series composition per layer, about
    ``(L + 1) K^2`` operations; ``noncrossing``: a sum over NC(k) for every k <= K, about
    ``(L + 1) sum_k Catalan(k)`` terms (Catalan(k) ~ 4^k / (k^1.5 sqrt(pi))).

    >>> moments_cost(3, 8, "free"), moments_cost(1, 3, "noncrossing")
    (256.0, 16.0)
    """
    import math

    layers = depth + 1
    if method != "noncrossing":
        return float(layers) * float(kmax) ** 2
    if kmax <= 60:
        return float(layers * sum(math.comb(2 * k, k) // (k + 1) for k in range(1, kmax + 1)))
    return math.inf if kmax > 500 else layers * 4.0 ** kmax / (kmax ** 1.5 * math.sqrt(math.pi)) * 4 / 3


@app.command("jacobian")
def jacobian(arch: Arch, activation: Act, q_in: QIn = 1.0, kmax: KMax = 8, method: Method = "free",
             store: Store = False, db: DbUrl = None, json_out: JsonOut = False, force: Force = False) -> None:
    """m_k = lim (1/N) E tr[(J J^T)^k], k = 1..K (CONVENTIONS.md)."""
    from ..errors import TooLarge
    from ..limits import jacobian_moments
    from ..spec import MLPSpec, SpecError, parse_activation, parse_arch

    try:
        spec = parse_arch(arch)
        if not force and kmax >= 1:
            depth = spec.L if isinstance(spec, MLPSpec) else 1
            cost = moments_cost(depth, kmax, method)
            cap = NONCROSSING_TERMS_LIMIT if method == "noncrossing" else FREE_OPS_LIMIT
            if cost > cap:
                raise TooLarge(f"moments up to K={kmax:,} ({method}, L={depth}) need about {cost:.2g} operations, "
                               f"over the limit {cap:.2g} (use --force)")
        m = jacobian_moments(arch, activation, q_in, kmax, method=method)
        spec, act = parse_arch(arch), parse_activation(activation)
    except SpecError as exc:
        fail(str(exc))
    if store:
        _store(db, spec, act, q_in, m, method)
    if json_out:
        emit_json({"moments": m})
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"moments of J J^T: {arch}, {activation}, q_in={q_in}")
    t.add_column("k", justify="right")
    t.add_column("m_k", justify="right")
    for k, v in enumerate(m, 1):
        t.add_row(str(k), f"{v:.15g}")
    Console().print(t)


def _store(db, spec, act, q_in, m, method) -> None:
    from ..catalogue.limits_store import store_jacobian_moments
    from ._common import open_catalogue

    store_jacobian_moments(open_catalogue(db), spec, act, q_in, m, method)
