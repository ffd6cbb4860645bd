"""``graphexp simulate``: Monte Carlo at finite width (NumPy or CuPy) and the studies of seeds 002/003.

Each subcommand parses its options, calls :mod:`graphexp_db.montecarlo` (estimators) or
:mod:`graphexp_db.studies` (sweeps), draws ``--png`` with :mod:`graphexp_db.plots` and writes it here
(the library does no file I/O), prints a rich table or ``--json``, and, when ``--db URL`` (or ``GRAPHEXP_DB``) is given, stores one ``simulation`` row and
its ``simulation_point`` rows with provenance (method ``monte-carlo``, parameters, device).  Re-running
the same command (same parameters and seed) stores nothing new.  Runs that overflow are reported on
stderr (exit 2) and never stored.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ._common import DbUrl, Device, JsonOut, emit_json, fail, open_catalogue, parse_float_pair, parse_floats

app = typer.Typer(help="Monte Carlo at finite width: kernels, NTK, Jacobian spectra, Hessian norms, studies.",
                  no_args_is_help=True)

Arch = Annotated[str, typer.Option("--arch", help="Architecture spec: mlp:L=..,sw=..,sb=.., resnet:L=..,sw=.., or DAG JSON.")]
Act = Annotated[str, typer.Option("--activation", help="relu, tanh, erf, sin, gelu, identity or poly:c0,c1,...")]
Ens = Annotated[str, typer.Option("--ensemble", help="Weight ensemble: gaussian, rademacher, uniform, sparse:p, complex.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (each sweep task derives its own from it).")]
Samples = Annotated[int, typer.Option("--samples", help="Independent networks (2 .. 10^7).", max=10**7)]
Width = Annotated[int, typer.Option("--width", help="Hidden width N (1 .. 32768).", max=32768)]
Widths = Annotated[str, typer.Option("--widths", help="Comma-separated widths N.")]
Workers = Annotated[int | None, typer.Option("--workers", help="Run the sweep on a Dask LocalCluster with K workers.")]
Scheduler = Annotated[str | None, typer.Option("--scheduler", help="Run the sweep on the Dask scheduler at ADDR.")]
Png = Annotated[str | None, typer.Option("--png", help="Write a PNG plot to FILE.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="simulate")


# --------------------------------------------------------------------------- commands
@app.command("kernel")
def kernel(arch: Arch, activation: Act = "relu",
           x: Annotated[str, typer.Option("--x", help="Input x, comma-separated.")] = "1,0",
           y: Annotated[str, typer.Option("--y", help="Input y, comma-separated.")] = "0.6,0.8",
           width: Width = 256, samples: Samples = 100, seed: Seed = 0, ensemble: Ens = "gaussian",
           device: Device = "cpu", db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Empirical NNGP E(f(x) f(y)) and NTK(x, y) at width N, with standard errors and the limits."""
    from .. import montecarlo as mc

    xv, yv = parse_float_pair(x, y)

    def run(xp):
        r = dict(mc.kernel_estimate(arch, activation, xv, yv, N=width, samples=samples, seed=seed, xp=xp, ensemble=ensemble))
        r.update(_limits(arch, activation, xv, yv, ensemble))
        return r

    r, dev = _guard(run, device, width=width, samples=samples)
    pts = [dict(N=width, L=None, quantity="nngp", value=r["nngp"], stderr=r["nngp_stderr"])]
    if r["ntk"] is not None:
        pts.append(dict(N=width, L=None, quantity="ntk", value=r["ntk"], stderr=r["ntk_stderr"]))
    _finish("kernel", r, dict(arch=arch, activation=activation, x=xv, y=yv, N=width, samples=samples, seed=seed,
                              ensemble=ensemble), pts, dev, db, json_out, caption=_limit_caption(r))


@app.command("fourpoint")
def fourpoint(arch: Arch, activation: Act = "relu",
              x: Annotated[str, typer.Option("--x", help="Input x, comma-separated.")] = "1,0",
              width: Width = 16, samples: Samples = 10000, seed: Seed = 0, ensemble: Ens = "gaussian",
              device: Device = "cpu", db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Connected 4-point function E(f^4) - 3 E(f^2)^2 at width N, next to the exact 1/N series for polynomial activations."""
    from .. import montecarlo as mc

    xv = parse_floats(x, "--x")
    r, dev = _guard(lambda xp: dict(mc.fourpoint_estimate(arch, activation, xv, N=width, samples=samples, seed=seed, xp=xp,
                                                           ensemble=ensemble)), device, width=width, samples=samples)
    r["N_times_value"] = width * r["value"]
    from ..finite import fourpoint_series
    from ..spec import SpecError, parse_arch

    try:  # exact finite-width series (polynomial activations, small enough expansions)
        series = fourpoint_series(parse_arch(arch), activation, xv)
        r["exact_series"] = {str(j): float(v) for j, v in series.items()}
        r["exact_value"] = sum(float(v) * width ** (-j) for j, v in series.items())
    except SpecError:  # a non-polynomial activation, or too many pairings (TooLarge): Monte Carlo only
        pass
    _finish("fourpoint", r, dict(arch=arch, activation=activation, x=xv, N=width, samples=samples, seed=seed, ensemble=ensemble),
            [dict(N=width, L=None, quantity="fourpoint_connected", value=r["value"], stderr=r["stderr"])], dev, db, json_out)


@app.command("jacobian")
def jacobian(arch: Arch, activation: Act = "relu",
             q_in: Annotated[float, typer.Option("--q-in", help="q_in = |x|^2 / N.")] = 1.0,
             width: Width = 256, samples: Samples = 10, kmax: Annotated[int, typer.Option("--kmax", help="Highest moment k (1 .. 64).", min=1, max=64)] = 4,
             seed: Seed = 0, ensemble: Ens = "gaussian", device: Device = "cpu", db: DbUrl = None,
             png: Png = None, json_out: JsonOut = False) -> None:
    """Moments (1/N) tr[(J J^T)^k], k = 1..K, of the input-output Jacobian of a square MLP, with stderrs and limits."""
    from .. import montecarlo as mc

    def run(xp):
        from ..limits import jacobian_moments
        from ..spec import SpecError

        r = dict(mc.jacobian_moments_estimate(arch, activation, q_in=q_in, N=width, samples=samples, kmax=kmax, seed=seed,
                                              xp=xp, ensemble=ensemble, eigenvalues=bool(png)))
        try:
            act = "identity" if str(ensemble).strip().lower() == "complex" else activation
            r["limit"] = [float(v) for v in jacobian_moments(arch, act, q_in, kmax)]
        except SpecError:  # no limit for this spec: the limit is extra information, the MC result stands alone
            r["limit"] = None
        return r

    r, dev = _guard(run, device, width=width, samples=samples)
    if png:
        from ..plots import spectrum_figure

        _save(spectrum_figure(r.pop("eigenvalues"), r["N"]), png)
    pts = [dict(N=width, L=None, quantity=f"m{k + 1}", value=m, stderr=e) for k, (m, e) in enumerate(zip(r["moments"], r["stderr"]))]
    _finish("jacobian", r, dict(arch=arch, activation=activation, q_in=q_in, N=width, samples=samples, kmax=kmax, seed=seed,
                                ensemble=ensemble), pts, dev, db, json_out)


@app.command("ntk-rate")
def ntk_rate(arch: Arch, activation: Act = "relu", widths: Widths = "32,64,128,256", samples: Samples = 8,
             seed: Seed = 0, ensemble: Ens = "gaussian", device: Device = "cpu", workers: Workers = None,
             scheduler: Scheduler = None, db: DbUrl = None, png: Png = None, json_out: JsonOut = False) -> None:
    """|NTK_N - NTK_inf|_F over a fixed set of inputs vs N, with the fitted log-log slope (about -1/2) and CI."""
    from .. import studies
    from ..plots import ntk_rate_figure

    ws = _ints(widths, "--widths")
    r, dev = _guard(lambda xp: studies.ntk_rate(arch, activation, ws, samples=samples, seed=seed, ensemble=ensemble,
                                                device=_dev(xp), workers=workers, scheduler=scheduler, progress=True),
                    device, samples=samples)
    if png:
        _save(ntk_rate_figure(r), png)
    from ..catalogue.sim_store import ntk_rate_points

    pts = ntk_rate_points(r)
    _finish("ntk-rate", r, dict(arch=arch, activation=activation, widths=ws, samples=samples, seed=seed, ensemble=ensemble),
            pts, dev, db, json_out, keys=("widths", "error", "slope", "slope_ci"))


@app.command("universality")
def universality(arch: Arch, activation: Act = "tanh",
                 ensembles: Annotated[str, typer.Option("--ensembles", help="Semicolon-separated ensembles.")] = "gaussian;rademacher;uniform;sparse:1/2;complex",
                 width: Width = 128, samples: Samples = 16, kmax: Annotated[int, typer.Option("--kmax", help="Highest moment k (1 .. 64).", min=1, max=64)] = 4,
                 q_in: Annotated[float, typer.Option("--q-in")] = 1.0, seed: Seed = 0, device: Device = "cpu",
                 workers: Workers = None, scheduler: Scheduler = None, db: DbUrl = None, json_out: JsonOut = False) -> None:
    """Jacobian moments for each weight ensemble next to the (common) limit, and the non-universal 1/N term."""
    from .. import studies

    ens = [e.strip() for e in ensembles.split(";") if e.strip()]
    r, dev = _guard(lambda xp: studies.universality(arch, activation, ens, N=width, samples=samples, kmax=kmax, q_in=q_in,
                                                    seed=seed, device=_dev(xp), workers=workers, scheduler=scheduler,
                                                    progress=True), device, width=width, samples=samples)
    pts = [dict(N=width, L=None, quantity=f"{row['ensemble']}:m{k + 1}", value=m, stderr=e)
           for row in r["rows"] for k, (m, e) in enumerate(zip(row["moments"], row["stderr"]))]
    _finish("universality", r, dict(arch=arch, activation=activation, ensembles=ens, N=width, samples=samples, kmax=kmax,
                                    q_in=q_in, seed=seed), pts, dev, db, json_out, table=_universality_table)


@app.command("commutativity")
def commutativity(arch: Arch, activation: Act = "relu", widths: Widths = "32,64,128", depths: Annotated[str, typer.Option(
                  "--depths", help="Comma-separated depths L.")] = "2,8,32",
                  x: Annotated[str, typer.Option("--x")] = "1,0", y: Annotated[str, typer.Option("--y")] = "0.6,0.8",
                  samples: Samples = 8, seed: Seed = 0, ensemble: Ens = "gaussian", device: Device = "cpu",
                  workers: Workers = None, scheduler: Scheduler = None, db: DbUrl = None, png: Png = None,
                  json_out: JsonOut = False) -> None:
    """ResNet covariance on the N x L grid, error to the ODE limit along width-first/depth-first/diagonal paths."""
    from .. import studies
    from ..plots import commutativity_figure

    ws, ds = _ints(widths, "--widths"), _ints(depths, "--depths")
    xv, yv = parse_float_pair(x, y)
    r, dev = _guard(lambda xp: studies.commutativity(arch, activation, ws, ds, x=xv, y=yv, samples=samples, seed=seed,
                                                     ensemble=ensemble, device=_dev(xp), workers=workers,
                                                     scheduler=scheduler, progress=True), device, samples=samples)
    if png:
        _save(commutativity_figure(r), png)
    from ..catalogue.sim_store import commutativity_points

    pts = commutativity_points(r)
    _finish("commutativity", r, dict(arch=arch, activation=activation, widths=ws, depths=ds, x=xv, y=yv, samples=samples,
                                     seed=seed, ensemble=ensemble), pts, dev, db, json_out, keys=("limit", "grid"))


@app.command("linearity")
def linearity(arch: Arch, activation: Act = "tanh", widths: Widths = "32,64,128,256", samples: Samples = 4,
              steps: Annotated[int, typer.Option("--steps", help="Gradient-descent steps for the NTK change.")] = 10,
              drift: Annotated[bool, typer.Option("--drift/--no-drift", help="Also measure the NTK change after GD.")] = True,
              seed: Seed = 0, ensemble: Ens = "gaussian", device: Device = "cpu", workers: Workers = None,
              scheduler: Scheduler = None, db: DbUrl = None, png: Png = None, json_out: JsonOut = False) -> None:
    """Hessian spectral norm at init vs the minimum in-degree m (slope about -1/2 with CI), NTK change after GD vs m.

    Smooth activations only: relu is refused (its Hessian is a distribution at the kink)."""
    from .. import studies
    from ..plots import linearity_figure

    ws = _ints(widths, "--widths")
    r, dev = _guard(lambda xp: studies.linearity(arch, activation, ws, samples=samples, seed=seed, steps=steps, drift=drift,
                                                 ensemble=ensemble, device=_dev(xp), workers=workers, scheduler=scheduler,
                                                 progress=True), device, samples=samples)
    if png:
        _save(linearity_figure(r), png)
    from ..catalogue.sim_store import linearity_points

    pts = linearity_points(r, drift)
    _finish("linearity", r, dict(arch=arch, activation=activation, widths=ws, samples=samples, steps=steps, drift=drift,
                                 seed=seed, ensemble=ensemble), pts, dev, db, json_out, keys=("m", "hessian_norm", "slope", "slope_ci"))


# --------------------------------------------------------------------------- helpers
def _guard(run, device: str, width: int | None = None, samples: int | None = None):
    """Validate, pick the backend, run; every domain error becomes one line on stderr and exit 2."""
    from ..backend import DeviceError, device_name, get_xp
    from ..spec import SpecError

    if width is not None and width < 1:
        fail(f"--width must be >= 1, got {width}")
    if samples is not None and samples < 2:
        fail(f"--samples must be >= 2 (a standard error needs two), got {samples}")
    try:
        xp = get_xp(device)
        return run(xp), device_name(xp)
    except (SpecError, DeviceError, ValueError, FloatingPointError, OverflowError) as exc:
        fail(str(exc))
    except (OSError, TimeoutError) as exc:  # e.g. a Dask scheduler address that does not answer
        fail(f"{type(exc).__name__}: {exc}")


def _dev(xp) -> str:
    from ..backend import device_kind

    return device_kind(xp)


def _ints(text: str, what: str) -> list[int]:
    vals = parse_floats(text, what)
    if any(v != int(v) or v < 1 for v in vals):
        fail(f"{what} must be integers >= 1, got {text!r}")
    return [int(v) for v in vals]


#: ``limit_kind`` of ``simulate kernel``: the printed limits are the Gaussian-weight NNGP/NTK.  For a
#: non-Gaussian ensemble at a fixed input dimension d they are its d -> inf limit, not its N -> inf
#: limit at this d (CONVENTIONS.md, weight ensembles): the first layer is a sum of only d
#: non-Gaussian terms and the biases stay non-Gaussian.
LIMIT_KINDS = {True: "gaussian", False: "d->inf (first layer and biases taken Gaussian)"}


def _limits(arch: str, activation: str, x, y, ensemble: str) -> dict:
    """The infinite-width NNGP/NTK next to a kernel estimate, and which limit they are; {} when there is none."""
    from ..limits import kernels
    from ..spec import ResNetSpec, SpecError, parse_arch, parse_ensemble

    try:
        spec = parse_arch(arch)
        k = kernels(spec, activation, [x], [y])
    except SpecError:  # no limit for this spec (the estimate itself was valid): the limit is extra information
        return {}
    out = {"nngp_limit": float(k.nngp[0, 0]),
           "ntk_limit": None if isinstance(spec, ResNetSpec) or k.ntk is None else float(k.ntk[0, 0]),
           "limit_kind": LIMIT_KINDS[parse_ensemble(ensemble).name == "gaussian"]}
    ens = parse_ensemble(ensemble)
    if ens.is_gaussian:
        out["nngp_limit_fixed_d"] = out["nngp_limit"]   # Gaussian weights: the NNGP is the limit at every d
    else:
        # the exact N -> inf limit at this d: the N^0 term of the layer recursion (polynomial activations)
        from ..finite import covariance_series

        try:
            series = covariance_series(spec, activation, [str(v) for v in x], [str(v) for v in y], ensemble=ens, max_order=0)
            out["nngp_limit_fixed_d"] = float(series.get(0, 0))
        except SpecError:
            out["nngp_limit_fixed_d"] = None   # non-polynomial activation or a DAG: not available
    return out


def _limit_caption(result: dict) -> str | None:
    if result.get("limit_kind", "gaussian") == "gaussian":
        return None
    text = ("nngp_limit / ntk_limit are the Gaussian-weight limits, i.e. the d -> inf limit of this ensemble (first layer "
            "and biases taken Gaussian), not its N -> inf limit at this input dimension d")
    if result.get("nngp_limit_fixed_d") is not None:
        text += f"; the exact N -> inf limit at this d is nngp_limit_fixed_d = {result['nngp_limit_fixed_d']:.10g}"
    return text


def _finish(kind: str, result: dict, params: dict, points: list, device: str, db: str | None, json_out: bool,
            keys: tuple[str, ...] | None = None, table=None, caption: str | None = None) -> None:
    result = {k: _plain(v) for k, v in result.items()}
    result["device"] = device
    if db:
        result["simulation_id"] = _store(db, kind, params, result, points, device)
    if json_out:
        emit_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    if table is not None:
        table(result)
        return
    t = Table(title=f"simulate {kind} ({device})", caption=caption)
    t.add_column("quantity")
    t.add_column("value", overflow="fold")
    for k in keys or tuple(result):
        if k in result:
            t.add_row(k, _short(result[k]))
    Console().print(t)


def _universality_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"universality of Jacobian moments, N = {result['N']}")
    for c in ("ensemble", "k", "MC", "stderr", "limit", "z", "N(tr(XX*)^2/N - 2)", "exact m4-2"):
        t.add_column(c, justify="right")
    for row in result["rows"]:
        for k, (m, e, lim, z) in enumerate(zip(row["moments"], row["stderr"], row["limit"], row["z"])):
            t.add_row(row["ensemble"] if k == 0 else "", str(k + 1), f"{m:.5g}", f"{e:.2g}", f"{lim:.5g}", f"{z:+.2f}",
                      f"{row['subleading_mc']:.3f} ± {row['subleading_mc_stderr']:.3f}" if k == 0 else "",
                      f"{row['subleading_exact']:.3f}" if k == 0 else "")
    Console().print(t)


def _short(v: Any) -> str:
    import json

    s = json.dumps(v, default=str)
    return s if len(s) < 400 else s[:400] + " ..."


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def _store(db: str, kind: str, params: dict, result: dict, points: list, device: str) -> int:
    from ..catalogue.sim_store import store_simulation

    return store_simulation(open_catalogue(db), kind, params, result, points, device)


def _save(fig, path: str) -> None:
    """Write a figure of :mod:`graphexp_db.plots` to ``path`` (PNG); one line and exit 2 if it cannot be written."""
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        fail(f"cannot write {path!r}: {exc.strerror or exc}")
