"""``graphexp limit nngp|ntk``: infinite-width kernels (CONVENTIONS.md), one pair or a whole matrix."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, Device, JsonOut, emit_json, fail, open_catalogue, parse_floats

app = typer.Typer(help="Infinite-width NNGP and NTK kernels (closed forms, quadrature, ResNet ODE limit).",
                  no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Architecture: mlp:L=3,sw=1.5,sb=0.1 | resnet:L=inf,sw=1 | DAG JSON.")]
Act = Annotated[str, typer.Option("--activation", help="relu, tanh, erf, sin, gelu, identity or poly:c0,c1,...")]
XOpt = Annotated[str | None, typer.Option("--x", help="Input x, comma-separated numbers.")]
YOpt = Annotated[str | None, typer.Option("--y", help="Input y, comma-separated numbers (default: x).")]
Inputs = Annotated[str | None, typer.Option("--inputs", help="Matrix mode: a .npy or .csv file of M inputs (one per row).")]
Out = Annotated[str | None, typer.Option("--out", help="Matrix mode: save the M x M matrix to this .npy file.")]
Store = Annotated[bool, typer.Option("--store", help="Also store the result with provenance in the catalogue (--db).")]
Inputs2 = Annotated[str | None, typer.Option("--inputs2", help="Matrix mode: a second .npy/.csv file of M2 inputs: the M x M2 cross matrix K(X, X').")]
Dtype = Annotated[str, typer.Option("--dtype", help="Precision of the result: float64 or float32 (computed in float64, rounded once).")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="limit")


def load_inputs(path: str):
    """Rows of a ``.npy`` or ``.csv`` file as a float array (one-line error otherwise)."""
    import numpy as np

    try:
        if path.endswith(".npy"):
            X = np.load(path, allow_pickle=False)
        elif path.endswith(".csv"):
            X = np.loadtxt(path, delimiter=",", ndmin=2)
        else:
            fail(f"--inputs must be a .npy or .csv file, got {path!r}")
    except (OSError, ValueError) as exc:
        fail(f"cannot read inputs {path!r}: {exc}")
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    return X


def _run(kind: str, arch, activation, x, y, inputs, out, device, json_out, store=False, db=None, inputs2=None,
         dtype: str = "float64") -> None:
    import numpy as np

    from ..backend import DeviceError, device_name, get_xp
    from ..limits import kernels
    from ..spec import SpecError, parse_activation, parse_arch

    try:
        spec = parse_arch(arch)
        act = parse_activation(activation)
        if dtype not in ("float32", "float64"):
            fail(f"--dtype must be float32 or float64, got {dtype!r}")
        if store and inputs is not None:
            fail("--store stores single values: use it with --x/--y, not --inputs")
        if inputs2 is not None and inputs is None:
            fail("--inputs2 needs --inputs (the rows of the cross matrix)")
        if inputs is not None:
            if x is not None or y is not None:
                fail("give either --inputs (matrix mode) or --x/--y, not both")
            Y = load_inputs(inputs2) if inputs2 is not None else None
            res = kernels(spec, activation, load_inputs(inputs), Y, device=device, dtype=dtype)
        else:
            if x is None:
                fail("give --x (and --y) or --inputs FILE")
            xs = parse_floats(x, "--x")
            ys = parse_floats(y, "--y") if y is not None else xs
            if len(xs) != len(ys):
                fail(f"inputs of different dimension: --x has {len(xs)} entries, --y has {len(ys)}")
            res = kernels(spec, activation, np.array([xs]), np.array([ys]), device=device, dtype=dtype)
    except (SpecError, DeviceError) as exc:
        fail(str(exc))
    mat = res.nngp if kind == "nngp" else res.ntk
    if inputs is None:
        value = float(mat[0, 0])
        if store:
            from ..catalogue.limits_store import store_limit

            store_limit(open_catalogue(db), kind, spec, act, xs, ys, value, device_name(get_xp(device)))
        if json_out:
            emit_json({"value": value})
        else:
            typer.echo(f"{kind} = {value:.15g}")
        return
    _emit_matrix(kind, mat, out, json_out)


def _emit_matrix(kind: str, mat, out, json_out: bool) -> None:
    """Matrix mode's output: saved with ``--out``, then JSON, the printed matrix, or a one-line note."""
    import numpy as np

    if out is not None:
        try:
            np.save(out, mat)
        except OSError as exc:
            fail(f"cannot write {out!r}: {exc.strerror}")
    if json_out:
        emit_json({"matrix": mat.tolist()})
    elif out is None:
        np.set_printoptions(linewidth=160, precision=10)
        typer.echo(str(mat))
    else:
        typer.echo(f"wrote {mat.shape[0]} x {mat.shape[1]} {kind} matrix to {out}")


@app.command("nngp")
def nngp(arch: Arch, activation: Act, x: XOpt = None, y: YOpt = None, inputs: Inputs = None, out: Out = None,
         device: Device = "cpu", store: Store = False, db: DbUrl = None, json_out: JsonOut = False,
         inputs2: Inputs2 = None, dtype: Dtype = "float64") -> None:
    """NNGP output kernel K_(L+1)(x, y) (ResNet: covariance C_L; resnet:L=inf is the ODE limit)."""
    _run("nngp", arch, activation, x, y, inputs, out, device, json_out, store, db, inputs2, dtype)


@app.command("ntk")
def ntk(arch: Arch, activation: Act, x: XOpt = None, y: YOpt = None, inputs: Inputs = None, out: Out = None,
        device: Device = "cpu", store: Store = False, db: DbUrl = None, json_out: JsonOut = False,
        inputs2: Inputs2 = None, dtype: Dtype = "float64") -> None:
    """Neural tangent kernel T_(L+1)(x, y), NTK parametrisation (MLP, DAG; ResNet: last hidden layer)."""
    _run("ntk", arch, activation, x, y, inputs, out, device, json_out, store, db, inputs2, dtype)


@app.command("convergence")
def convergence(
    arch: Arch,
    activation: Act,
    x: XOpt = None,
    y: YOpt = None,
    orders: Annotated[str, typer.Option("--orders", help="Taylor degrees D (orders 0..D of the catalogue), e.g. 1,3,5,7,9.")] = "1,3,5,7,9,11,13,15",
    store: Store = False,
    db: DbUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Leading-order graph sums with the activation's Taylor series cut at degree D, next to the
    closed-form NNGP/NTK: for entire activations (sin, erf) they converge as D grows."""
    from ..finite import graph_sum_convergence
    from ..spec import SpecError, parse_activation, parse_arch

    xs, ys = _pair_inputs(x, y)
    degs = _int_list(orders, "--orders")
    try:
        spec, act = parse_arch(arch), parse_activation(activation)
        if len(xs) != len(ys):
            raise SpecError(f"x and y have different dimensions ({len(xs)} and {len(ys)})")
        if any(d < 0 for d in degs) or not degs:
            raise SpecError("--orders must be non-negative integers")
        if max(degs) > 40 or len(degs) > 64:
            raise SpecError(f"--orders takes at most 64 Taylor degrees of at most 40, got {len(degs)} up to {max(degs)}")
        if store:
            from ..catalogue.limits_store import store_graph_sum_convergence

            table = store_graph_sum_convergence(open_catalogue(db), spec, act, xs, ys, degs)
        else:
            table = graph_sum_convergence(spec, act, xs, ys, degs)
    except SpecError as exc:
        fail(str(exc))
    if json_out:
        emit_json({"table": table})
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"truncated graph sums vs closed form: {spec}, {act}")
    for col in ("D", "quantity", "graph sum", "closed form", "|error|"):
        t.add_column(col, justify="right")
    for r in table:
        t.add_row(str(r["order"]), r["quantity"], f"{r['graph_sum']:.12g}", f"{r['closed_form']:.12g}", f"{r['error']:.2e}")
    Console().print(t)


@app.command("depth-convergence")
def depth_convergence(
    arch: Arch,
    activation: Act,
    x: XOpt = None,
    y: YOpt = None,
    depths: Annotated[str, typer.Option("--depths", help="Comma-separated finite depths L.")] = "2,4,8,16,32,64,128,256,512,1024",
    json_out: JsonOut = False,
) -> None:
    """ResNet: error of the finite-L NNGP/NTK to the ODE limit (resnet:L=inf) against L, with the log-log slope."""
    from ..limits import resnet_depth_convergence
    from ..spec import SpecError

    xs, ys = _pair_inputs(x, y)
    ds = _int_list(depths, "--depths")
    spec_text = arch if "L=" in arch else arch.strip() + (",L=inf" if ":" in arch else ":L=inf")
    try:
        r = resnet_depth_convergence(spec_text, activation, xs, ys, ds)
    except SpecError as exc:
        fail(str(exc))
    if json_out:
        emit_json(r)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"ResNet depth convergence ({activation}): slope nngp {r['slope']['nngp']:.3f}, ntk {r['slope']['ntk']:.3f}")
    for col in ("L", "|C_L - C_inf|", "|Theta_L - Theta_inf|"):
        t.add_column(col, justify="right")
    for L, a, b in zip(r["depths"], r["error"]["nngp"], r["error"]["ntk"]):
        t.add_row(str(L), f"{a:.3e}", f"{b:.3e}")
    Console().print(t)


def _pair_inputs(x: str | None, y: str | None) -> tuple[list[float], list[float]]:
    if x is None:
        fail("--x is needed")
    xs = parse_floats(x, "--x")
    return xs, (parse_floats(y, "--y") if y is not None else xs)


def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        fail(f"malformed {what} {text!r} (expected comma-separated integers)")
