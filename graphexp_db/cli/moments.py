"""``graphexp moments jacobian``: moments m_1..m_K of the limiting spectrum of J J^T."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, JsonOut, emit_json, fail
from .limit import Store

app = typer.Typer(help="Moments of limiting spectra (input-output Jacobian J J^T).", no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Square MLP: mlp:L=3,sw=1.5,sb=0.1.")]
Act = Annotated[str, typer.Option("--activation", help="relu, tanh, erf, sin, gelu, identity or poly:c0,c1,...")]
QIn = Annotated[float, typer.Option("--q-in", help="q_in = |x|^2 / N (>= 0).")]
KMax = Annotated[int, typer.Option("--kmax", help="Number of moments K (>= 1).")]
Method = Annotated[str, typer.Option("--method", help="free (S-transform series, any K) or noncrossing (sums over NC(k), K <= 12).")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="moments")


@app.command("jacobian")
def jacobian(arch: Arch, activation: Act, q_in: QIn = 1.0, kmax: KMax = 8, method: Method = "free",
             store: Store = False, db: DbUrl = None, json_out: JsonOut = False) -> None:
    """m_k = lim (1/N) E tr[(J J^T)^k], k = 1..K (CONVENTIONS.md)."""
    from ..limits import jacobian_moments
    from ..spec import SpecError, parse_activation, parse_arch

    try:
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
