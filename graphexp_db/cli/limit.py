"""``graphexp limit nngp|ntk``: infinite-width kernels (CONVENTIONS.md), one pair or a whole matrix."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, Device, JsonOut, emit_json, fail, parse_floats

app = typer.Typer(help="Infinite-width NNGP and NTK kernels (closed forms, quadrature, ResNet ODE limit).",
                  no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Architecture: mlp:L=3,sw=1.5,sb=0.1 | resnet:L=inf,sw=1 | DAG JSON.")]
Act = Annotated[str, typer.Option("--activation", help="relu, tanh, erf, sin, gelu, identity or poly:c0,c1,...")]
XOpt = Annotated[str | None, typer.Option("--x", help="Input x, comma-separated numbers.")]
YOpt = Annotated[str | None, typer.Option("--y", help="Input y, comma-separated numbers (default: x).")]
Inputs = Annotated[str | None, typer.Option("--inputs", help="Matrix mode: a .npy or .csv file of M inputs (one per row).")]
Out = Annotated[str | None, typer.Option("--out", help="Matrix mode: save the M x M matrix to this .npy file.")]
Store = Annotated[bool, typer.Option("--store", help="Also store the result with provenance in the catalogue (--db).")]


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


def method_of(spec, act) -> str:
    """How a kernel is computed: ``closed-form``, ``quadrature`` (+ ``ode-rk4`` for resnet:L=inf)."""
    from ..gaussian import CLOSED_FORMS

    base = "closed-form" if act.name in CLOSED_FORMS else "quadrature"
    if spec.kind == "resnet":
        return base + ("+ode-rk4" if spec.L is None else "+recursion")
    return base + "+recursion"


def store_rows(db, method: str, params: dict, spec, device: str, make_rows) -> int:
    """Open the catalogue, add one provenance row and the rows ``make_rows(arch_id, prov_id)``.

    ``make_rows`` returns ``(model, rows, keys)``; rows already present (same natural key) are
    skipped, so storing twice is harmless.  Returns the number of rows inserted.
    """
    from ..catalogue.engine import get_engine, session_scope
    from ..catalogue.migrate import SchemaOutdated, ensure_schema
    from ..catalogue.store import finish_provenance, get_or_create_architecture, insert_ignore, new_provenance

    try:
        engine = get_engine(db)
        ensure_schema(engine)
    except SchemaOutdated as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - bad URL, unreachable server: one line
        fail(f"cannot open catalogue {db!r}: {exc}")
    with session_scope(engine) as s:
        prov = new_provenance(s, method, params, device=device)
        arch = get_or_create_architecture(s, spec, prov.id)
        model, rows, keys = make_rows(arch.id, prov.id)
        n = insert_ignore(s, model, rows, keys)
        finish_provenance(s, prov)
    return n


def _store_limit(db, kind, spec, act, xs, ys, value, device) -> None:
    import hashlib
    from fractions import Fraction

    from ..catalogue.models import LimitValue
    from ..limits import nngp_exact, ntk_exact
    from ..spec import canonical_json

    x_exact = [Fraction(str(v)) for v in xs]
    y_exact = [Fraction(str(v)) for v in ys]
    exact = None
    if act.is_polynomial and spec.kind != "resnet":
        exact = (nngp_exact if kind == "nngp" else ntk_exact)(spec, act, x_exact, y_exact)
    quantity = "resnet-covariance" if spec.kind == "resnet" else kind
    method = method_of(spec, act)
    inputs = canonical_json({"x": x_exact, "y": y_exact})
    key = {"arch": spec.spec_hash, "activation": str(act), "quantity": quantity, "inputs": inputs}
    params_hash = hashlib.sha256(canonical_json(key).encode()).hexdigest()
    params = {"arch": str(spec), "activation": str(act), "quantity": quantity, "x": x_exact, "y": y_exact}

    def rows(arch_id, prov_id):
        return LimitValue, [dict(architecture_id=arch_id, activation=str(act), quantity=quantity, method=method,
                                 inputs_json=inputs, params_hash=params_hash, value=value, value_exact=exact,
                                 error_bound=1e-10 if "quadrature" in method else None,
                                 provenance_id=prov_id)], ["params_hash"]

    store_rows(db, "limit-" + method, params, spec, device, rows)


def _run(kind: str, arch, activation, x, y, inputs, out, device, json_out, store=False, db=None) -> None:
    import numpy as np

    from ..backend import DeviceError
    from ..backend import device_name, get_xp
    from ..limits import kernels
    from ..spec import SpecError, parse_activation, parse_arch

    try:
        spec = parse_arch(arch)
        act = parse_activation(activation)
        if store and inputs is not None:
            fail("--store stores single values: use it with --x/--y, not --inputs")
        if kind == "ntk" and spec.kind == "resnet":
            fail("the NTK of a ResNet is not implemented; use `graphexp limit nngp` (covariance C_L)")
        if inputs is not None:
            if x is not None or y is not None:
                fail("give either --inputs (matrix mode) or --x/--y, not both")
            res = kernels(spec, activation, load_inputs(inputs), device=device)
        else:
            if x is None:
                fail("give --x (and --y) or --inputs FILE")
            xs = parse_floats(x, "--x")
            ys = parse_floats(y, "--y") if y is not None else xs
            if len(xs) != len(ys):
                fail(f"inputs of different dimension: --x has {len(xs)} entries, --y has {len(ys)}")
            res = kernels(spec, activation, np.array([xs]), np.array([ys]), device=device)
    except (SpecError, DeviceError) as exc:
        fail(str(exc))
    mat = res.nngp if kind == "nngp" else res.ntk
    if inputs is None:
        value = float(mat[0, 0])
        if store:
            _store_limit(db, kind, spec, act, xs, ys, value, device_name(get_xp(device)))
        if json_out:
            emit_json({"value": value})
        else:
            typer.echo(f"{kind} = {value:.15g}")
        return
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
         device: Device = "cpu", store: Store = False, db: DbUrl = None, json_out: JsonOut = False) -> None:
    """NNGP output kernel K_(L+1)(x, y) (ResNet: covariance C_L; resnet:L=inf is the ODE limit)."""
    _run("nngp", arch, activation, x, y, inputs, out, device, json_out, store, db)


@app.command("ntk")
def ntk(arch: Arch, activation: Act, x: XOpt = None, y: YOpt = None, inputs: Inputs = None, out: Out = None,
        device: Device = "cpu", store: Store = False, db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Neural tangent kernel T_(L+1)(x, y), NTK parametrisation (MLP and DAG)."""
    _run("ntk", arch, activation, x, y, inputs, out, device, json_out, store, db)
