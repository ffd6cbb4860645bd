"""``graphexp density jacobian``: limiting spectral density of J J^T (Stieltjes inversion)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, JsonOut, emit_json, fail
from .limit import Store

app = typer.Typer(help="Limiting spectral densities (input-output Jacobian J J^T).", no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Square MLP: mlp:L=3,sw=1.5,sb=0.1.")]
Act = Annotated[str, typer.Option("--activation", help="relu, tanh, erf, sin, gelu, identity or poly:c0,c1,...")]
QIn = Annotated[float, typer.Option("--q-in", help="q_in = |x|^2 / N (>= 0).")]
Png = Annotated[str | None, typer.Option("--png", help="Draw the density into this PNG file.")]
Points = Annotated[int | None, typer.Option("--points", help="Uniform grid of this many points on (0, 1.2 lambda_max] (default: 400 points clustered at 0).")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="density")


@app.command("jacobian")
def jacobian(arch: Arch, activation: Act, q_in: QIn = 1.0, points: Points = None, png: Png = None,
             store: Store = False, db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Density of the absolutely continuous part of the limiting law of J J^T (atom at 0 reported)."""
    import numpy as np

    from ..limits import jacobian_atom, jacobian_density, jacobian_edge
    from ..spec import SpecError

    try:
        grid = None
        if points is not None:
            if points < 2:
                fail(f"--points must be >= 2, got {points}")
            lam_max = 1.2 * jacobian_edge(arch, activation, q_in)
            grid = np.linspace(lam_max / points, lam_max, points)
        g, rho = jacobian_density(arch, activation, q_in, grid=grid)
        atom = jacobian_atom(arch, activation, q_in)
    except SpecError as exc:
        fail(str(exc))
    if store:
        _store(db, arch, activation, q_in, g, rho)
    if png is not None:
        from ..plots import density_figure

        fig = density_figure(g, rho, f"{arch}, {activation}, q_in={q_in}" + (f" (atom {atom:g} at 0)" if atom else ""))
        try:
            fig.savefig(png, dpi=120, bbox_inches="tight")
        except OSError as exc:
            fail(f"cannot write {png!r}: {exc.strerror}")
    if json_out:
        # the contract is exactly {"grid", "density"}; the atom at 0 is in the text output and the PNG title
        emit_json({"grid": g.tolist(), "density": rho.tolist()})
        return
    typer.echo(f"{len(g)} points on (0, {g[-1]:.6g}], max density {rho.max():.6g}, atom at 0: {atom:g}"
               + (f"; drawn to {png}" if png else ""))


def _store(db, arch, activation, q_in, g, rho) -> None:
    from ..catalogue.limits_store import store_density
    from ._common import open_catalogue

    store_density(open_catalogue(db), arch, activation, q_in, g, rho)
