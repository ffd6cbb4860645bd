"""``graphexp expand``: enumerate and store one expansion, with a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import DbUrl, Device, Force, JsonOut, emit_json, fail


def register(app: typer.Typer) -> None:
    app.command("expand")(expand)


def expand(
    quantity: Annotated[str, typer.Option("--quantity", help="covariance, ntk, fourpoint, jacobian, trace or gue.")],
    order: Annotated[int, typer.Option("--order", help="Largest Taylor degree (trees), k (trace words) or n (gue).")],
    arch: Annotated[str | None, typer.Option("--arch", help="Architecture spec (not needed for trace and gue).")] = None,
    activation: Annotated[str | None, typer.Option("--activation", help="Also evaluate contributions for this activation.")] = None,
    ensemble: Annotated[str, typer.Option("--ensemble", help="gaussian, complex (trace), rademacher, uniform, sparse:p (trace).")] = "gaussian",
    p: Annotated[int | None, typer.Option("--p", help="Number of Ginibre factors (quantity trace).")] = None,
    budget: Annotated[int, typer.Option("--budget", help="Individual orbit rows stored per graph; beyond it only exact aggregates.")] = 64,
    workers: Annotated[int | None, typer.Option("--workers", help="Sum pairings on a local Dask cluster of K workers.", min=1)] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Sum pairings on a running Dask scheduler (tcp://host:8786).")] = None,
    db: DbUrl = None,
    device: Device = "cpu",
    json_out: JsonOut = False,
    force: Force = False,
) -> None:
    """Enumerate operator graphs, Wick pairings (orbits) and embeddings, store them, print a summary.

    Without --activation the contributions stay symbolic in the activation coefficients c_k;
    with it they are also evaluated (input moments S<a>_<b> stay symbolic).
    """
    from ..errors import DeviceError, GraphexpError, SchemaOutdated, SpecError, TooLarge
    from ..expand import check_size
    from ..spec import check_quantity, parse_activation, parse_arch, parse_ensemble

    try:
        spec = parse_arch(arch) if arch else None
        check_quantity(quantity, spec, None, p=p, ensemble=ensemble)  # cheap: before any size estimate
        if quantity == "trace" and p is None:
            p = 1
        if not force:  # closed-form size estimate first: refuse in well under a second, nothing built
            check_size(spec, quantity, order, p=p, ensemble=parse_ensemble(ensemble))
        check_quantity(quantity, spec, order)  # the hard range of --order (also with --force)
    except SpecError as exc:
        fail(str(exc))

    from ..backend import get_xp
    from ..catalogue.engine import get_engine, translate_errors
    from ..catalogue.fill import fill_expansion, plan_expansion
    from ..catalogue.migrate import ensure_schema
    from ..finite import DEFAULT_LIMIT

    try:
        get_xp(device)
        if activation:
            parse_activation(activation)
        # validate and size the expansion before anything touches the database
        graphs, sizes = plan_expansion(spec, quantity, order, ensemble=ensemble, p=p, force=force)
        if sum(sizes) > DEFAULT_LIMIT and not force:
            raise TooLarge(f"{quantity} order {order} needs {sum(sizes):,} pairings ({len(graphs):,} graphs), "
                           f"over the limit {DEFAULT_LIMIT:,} (use --force)")
        engine = get_engine(db)
        ensure_schema(engine)
    except (GraphexpError, DeviceError, SchemaOutdated) as exc:
        fail(str(exc))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=json_out, disable=json_out) as bar:
            task = bar.add_task(f"{quantity} o{order} pairings", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            with translate_errors(engine.url):  # disk full, read-only, lost server: one line, committed work kept
                summary = fill_expansion(engine, spec, quantity, order, ensemble=ensemble, activation=activation, p=p,
                                         budget=budget, force=force, progress=progress, device=device, workers=workers,
                                         scheduler=scheduler, plan=(graphs, sizes))
    except GraphexpError as exc:
        fail(str(exc))
    if json_out:
        emit_json(summary.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{summary.shape} {quantity} order {order} ({summary.ensemble})")
    t.add_column("field")
    t.add_column("value", justify="right")
    for k in ("n_graphs", "n_pairings", "graphs_done", "graphs_skipped", "orbit_rows", "aggregate_rows"):
        t.add_row(k, f"{getattr(summary, k):,}")
    for e, c in sorted(summary.by_exponent.items(), reverse=True):
        t.add_row(f"pairings with N^{e}", f"{c:,}")
    t.add_row("seconds", f"{summary.seconds:.2f}")
    if summary.labels:
        t.add_row("labels", f"{summary.labels[0]} .. {summary.labels[-1]}")
    Console().print(t)
