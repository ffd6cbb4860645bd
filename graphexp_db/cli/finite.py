"""``graphexp finite-width``: exact 1/N expansions (trace words, covariance, 4-point function)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import Force, JsonOut, emit_json, fail

app = typer.Typer(help="Exact finite-width results as polynomials in 1/N (coefficient of N^-j).", no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Architecture spec, e.g. mlp:L=2,sw=1.2,sb=0.3 or a DAG JSON.")]
Act = Annotated[str, typer.Option("--activation", help="Polynomial activation poly:c0,c1,... (or identity).")]
XOpt = Annotated[str, typer.Option("--x", help="Input x as comma-separated numbers (exact decimals).")]
YOpt = Annotated[str, typer.Option("--y", help="Input y as comma-separated numbers.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="finite-width")


def _render(series: dict, json_out: bool, title: str, extra: dict | None = None) -> None:
    from fractions import Fraction

    def exact(q: Fraction) -> str:
        return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"

    if json_out:
        out = {
            "coefficients": {str(j): float(v) for j, v in series.items()},
            "coefficients_exact": {str(j): exact(v) for j, v in series.items()},
        }
        out.update(extra or {})
        emit_json(out)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    t.add_column("j (N^-j)", justify="right")
    t.add_column("exact", justify="right")
    t.add_column("float", justify="right")
    for j, v in series.items():
        t.add_row(str(j), exact(v), f"{float(v):.10g}")
    Console().print(t)


def _split(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        fail(f"empty input vector {text!r}")
    return parts


@app.command("trace")
def trace(
    ensemble: Annotated[str, typer.Option("--ensemble", help="real (gaussian), complex, rademacher, uniform, sparse:p.")] = "real",
    p: Annotated[int, typer.Option("--p", help="Number of factors W_p...W_1.", min=1)] = 1,
    k: Annotated[int, typer.Option("--k", help="Power k of the trace word.", min=1)] = 2,
    json_out: JsonOut = False,
    force: Force = False,
) -> None:
    """(1/N) E tr[(W_p...W_1 W_1^T...W_p^T)^k] as an exact polynomial in 1/N (entries of variance 1/N)."""
    from ..finite import DEFAULT_LIMIT, trace_series
    from ..spec import SpecError

    try:
        series = trace_series(p, k, ensemble, limit=10**12 if force else DEFAULT_LIMIT)
    except SpecError as exc:
        fail(str(exc))
    _render(series, json_out, f"(1/N) E tr[(W_{p}..W_1 W_1^T..W_{p}^T)^{k}], {ensemble}")


def _tree(kind: str, arch: str, activation: str, x: str, y: str | None, json_out: bool, force: bool) -> None:
    from ..finite import DEFAULT_LIMIT, covariance_series, fourpoint_series, ntk_series
    from ..spec import SpecError, parse_arch

    limit = 10**12 if force else DEFAULT_LIMIT
    try:
        spec = parse_arch(arch)
        xs = _split(x)
        ys = _split(y) if y is not None else None
        if ys is not None and len(ys) != len(xs):
            raise SpecError(f"x and y have different dimensions ({len(xs)} and {len(ys)})")
        if kind == "covariance":
            series = covariance_series(spec, activation, xs, ys, limit=limit)
        elif kind == "ntk":
            series = ntk_series(spec, activation, xs, ys, limit=limit)
        else:
            series = fourpoint_series(spec, activation, xs, limit=limit)
    except SpecError as exc:
        fail(str(exc))
    _render(series, json_out, f"{kind} of {spec} with {activation}")


@app.command("covariance")
def covariance(arch: Arch, activation: Act, x: XOpt, y: YOpt, json_out: JsonOut = False, force: Force = False) -> None:
    """E[f(x) f(y)] as an exact polynomial in 1/N (sum over all operator graphs and Wick pairings)."""
    _tree("covariance", arch, activation, x, y, json_out, force)


@app.command("ntk")
def ntk(arch: Arch, activation: Act, x: XOpt, y: YOpt, json_out: JsonOut = False, force: Force = False) -> None:
    """E[Theta(x, y)] (NTK parametrisation) as an exact polynomial in 1/N."""
    _tree("ntk", arch, activation, x, y, json_out, force)


@app.command("fourpoint")
def fourpoint(
    arch: Arch,
    activation: Act,
    x: XOpt,
    y: Annotated[str | None, typer.Option("--y", help="Ignored: the connected 4-point function is taken at x.")] = None,
    json_out: JsonOut = False,
    force: Force = False,
) -> None:
    """Connected 4-point function E[f(x)^4] - 3 E[f(x)^2]^2 as an exact polynomial in 1/N."""
    _tree("fourpoint", arch, activation, x, None, json_out, force)
