"""``graphexp finite-width``: 1/N expansions (trace words, covariance, NTK, 4-point functions)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, Force, JsonOut, emit_json, fail

app = typer.Typer(help="Finite-width results as series in 1/N (coefficient of N^-j): exact for polynomial activations.",
                  no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Architecture spec, e.g. mlp:L=2,sw=1.2,sb=0.3 or a DAG JSON.")]
Act = Annotated[str, typer.Option("--activation", help="Activation: poly:c0,c1,... or identity (exact), relu, tanh, erf, sin, gelu.")]
XOpt = Annotated[str, typer.Option("--x", help="Input x as comma-separated numbers (exact decimals).")]
YOpt = Annotated[str, typer.Option("--y", help="Input y as comma-separated numbers.")]
MaxOrder = Annotated[int | None, typer.Option(
    "--max-order", min=0, max=64,
    help="Keep N^0..N^-J, exactly (default: the complete polynomial for polynomial activations, J = 1 otherwise).")]
Method = Annotated[str, typer.Option(
    "--method", help="auto (layer recursion where it applies, else graphs), recursion, or graphs (every operator graph "
                     "and Wick pairing).")]
Store = Annotated[bool, typer.Option("--store", help="Keep the series in the catalogue (--db) with provenance.")]
Ens = Annotated[str, typer.Option("--ensemble", help="Weights and biases: gaussian, rademacher, uniform or sparse:p "
                                  "(non-Gaussian: MLPs with polynomial activations; the N^0 term is the exact limit at this d).")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="finite-width")


def _exact_text(q) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def series_json(series, extra: dict | None = None) -> dict:
    """The JSON contract: coefficients (float), coefficients_exact (exact), errors (floating), method."""
    out: dict = {"coefficients": {str(j): float(v) for j, v in series.items()}}
    if getattr(series, "exact", True):
        out["coefficients_exact"] = {str(j): _exact_text(v) for j, v in series.items()}
    else:
        out["errors"] = {str(j): float(e) for j, e in series.errors.items()}
    if hasattr(series, "method"):
        out["method"] = series.method
        out["max_order"] = series.max_order
        out["oracle"] = series.oracle
        out["ensemble"] = series.ensemble
    out.update(extra or {})
    return out


def _render(series, json_out: bool, title: str, extra: dict | None = None, note: str | None = None) -> None:
    if json_out:
        emit_json(series_json(series, {**(extra or {}), **({"note": note} if note else {})}))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    exact = getattr(series, "exact", True)
    t = Table(title=escape(title))
    t.add_column("j (N^-j)", justify="right")
    if exact:
        t.add_column("exact", justify="right")
    t.add_column("float", justify="right")
    if not exact:
        t.add_column("error", justify="right")
    for j, v in series.items():
        row = [str(j)] + ([_exact_text(v)] if exact else []) + [f"{float(v):.10g}"]
        if not exact:
            row.append(f"{series.errors.get(j, 0.0):.2g}")
        t.add_row(*row)
    con = Console()
    con.print(t)
    if hasattr(series, "method"):
        how = ""
        if series.method == "recursion":
            ens = getattr(series, "ensemble", "gaussian")
            how = f" ({series.oracle} Gaussian moments)" if ens == "gaussian" else f" (exact {ens} weight cumulants)"
        con.print(f"method: {series.method}{how}")
    if note:
        con.print(escape(note))


def _split(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        fail(f"empty input vector {text!r}")
    return parts


@app.command("trace")
def trace(
    ensemble: Annotated[str, typer.Option("--ensemble", help="real (gaussian), complex, rademacher, uniform, sparse:p.")] = "real",
    p: Annotated[int, typer.Option("--p", help="Number of factors W_p...W_1 (1..16).", min=1, max=16)] = 1,
    k: Annotated[int, typer.Option("--k", help="Power k of the trace word (1..64; the pairing count is checked first).",
                                   min=1, max=64)] = 2,
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


def _tree(kind: str, arch: str, activation: str, x: str, y: str | None, json_out: bool, force: bool,
          max_order: int | None, method: str, store: bool, db: str | None, ensemble: str = "gaussian") -> None:
    from ..finite import DEFAULT_LIMIT, DEFAULT_MAX_ORDER, covariance_series, fourpoint_series, ntk_series
    from ..spec import SpecError, parse_activation, parse_arch

    limit = 10**12 if force else DEFAULT_LIMIT
    note = None
    try:
        spec = parse_arch(arch)
        act = parse_activation(activation)
        xs = _split(x)
        ys = _split(y) if y is not None else None
        if ys is not None and len(ys) != len(xs):
            raise SpecError(f"x and y have different dimensions ({len(xs)} and {len(ys)})")
        if max_order is None and not act.is_polynomial:
            note = (f"{act} is not a polynomial: the series in 1/N does not terminate; showing N^0..N^-{DEFAULT_MAX_ORDER} "
                    "(--max-order J for more)")
        kw: dict = dict(limit=limit, max_order=max_order, method=method, ensemble=ensemble)
        if kind == "covariance":
            series = covariance_series(spec, act, xs, ys, **kw)
        elif kind == "ntk":
            series = ntk_series(spec, act, xs, ys, **kw)
        else:
            series = fourpoint_series(spec, act, xs, ys, **kw)
    except SpecError as exc:
        fail(str(exc))
    extra = {}
    if store:
        from ..catalogue.finite_store import store_series
        from ._common import open_catalogue

        engine = open_catalogue(db)
        extra["stored"] = store_series(engine, kind, spec, act, xs, ys, series)
    what = {"covariance": "E[f(x) f(y)]", "ntk": "E[Theta(x, y)]",
            "fourpoint": "connected 4-point function" + (" (x, x, y, y)" if ys is not None else " at x")}[kind]
    _render(series, json_out, f"{what} of {spec} with {act}", extra, note)


@app.command("covariance")
def covariance(arch: Arch, activation: Act, x: XOpt, y: YOpt, max_order: MaxOrder = None, method: Method = "auto",
               json_out: JsonOut = False, force: Force = False, store: Store = False, db: DbUrl = None,
               ensemble: Ens = "gaussian") -> None:
    """E[f(x) f(y)] as a series in 1/N (exact polynomial for polynomial activations)."""
    _tree("covariance", arch, activation, x, y, json_out, force, max_order, method, store, db, ensemble)


@app.command("ntk")
def ntk(arch: Arch, activation: Act, x: XOpt, y: YOpt, max_order: MaxOrder = None, method: Method = "auto",
        json_out: JsonOut = False, force: Force = False, store: Store = False, db: DbUrl = None,
        ensemble: Ens = "gaussian") -> None:
    """E[Theta(x, y)] (NTK parametrisation, all weights and biases) as a series in 1/N (Gaussian weights)."""
    _tree("ntk", arch, activation, x, y, json_out, force, max_order, method, store, db, ensemble)


@app.command("fourpoint")
def fourpoint(
    arch: Arch,
    activation: Act,
    x: XOpt,
    y: Annotated[str | None, typer.Option("--y", help="Optional: the connected (x, x, y, y) function instead of the one at x.")] = None,
    max_order: MaxOrder = None,
    method: Method = "auto",
    json_out: JsonOut = False,
    force: Force = False,
    store: Store = False,
    db: DbUrl = None,
    ensemble: Ens = "gaussian",
) -> None:
    """Connected 4-point function E[f(x)^4] - 3 E[f(x)^2]^2 (or the (x, x, y, y) one with --y) in 1/N."""
    _tree("fourpoint", arch, activation, x, y, json_out, force, max_order, method, store, db, ensemble)
