"""Sweeps on Dask: map a pure function over task dicts, serially or on a cluster (the only dask import).

Each task carries its own seed (:func:`graphexp_db.montecarlo.task_seed`, a ``SeedSequence`` keyed
by the task index), so the results do not depend on where or in what order tasks run: a sweep on a
``LocalCluster`` (the default when ``workers`` is given) or on ``scheduler=ADDR`` returns exactly
the list the serial loop returns.

Examples
--------
>>> map_tasks(abs, [-1, 2, -3])
[1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["map_tasks", "local_client"]


def map_tasks(fn: Callable[[Any], Any], tasks: Sequence[Any], *, workers: int | None = None, scheduler: str | None = None,
              processes: bool = True, progress: bool = False, description: str = "sweep") -> list:
    """``[fn(t) for t in tasks]``, on Dask when ``workers`` or ``scheduler`` is given.

    Parameters
    ----------
    fn : callable
        A picklable pure function of one task.
    tasks : sequence
        The task objects (dicts of plain values, each with its own seed).
    workers : int, optional
        Start a ``LocalCluster`` with this many workers (one thread each).
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); takes precedence over ``workers``.
    processes : bool
        Worker processes (default) or threads in this process (``False``, for tests).
    progress : bool
        Show a rich progress bar (on stderr) as tasks finish.
    description : str
        The progress bar's label.

    Returns
    -------
    list
        Results in task order.

    Raises
    ------
    ValueError
        When ``workers`` is less than 1.

    Examples
    --------
    >>> tasks = [{"seed": s, "N": 2 ** s} for s in range(4)]
    >>> map_tasks(lambda t: t["N"] + t["seed"], tasks)
    [1, 3, 6, 11]
    >>> map_tasks(abs, [-1, 2], workers=1, processes=False)   # on a one-worker LocalCluster, same order
    [1, 2]
    """
    tasks = list(tasks)
    if workers is None and scheduler is None:
        results = []
        with _bar(progress, description, len(tasks)) as advance:
            for t in tasks:
                results.append(fn(t))
                advance()
        return results
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    from dask.distributed import as_completed

    with local_client(workers or 1, scheduler, processes) as client:
        futures = client.map(fn, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list = [None] * len(tasks)
        with _bar(progress, description, len(tasks)) as advance:
            for fut in as_completed(futures):
                out[index[fut.key]] = fut.result()
                advance()
        return out


class local_client:
    """Context manager: a ``Client`` on ``scheduler`` or on a fresh ``LocalCluster`` of ``workers``.

    The cluster (when one was started) and the client are closed on exit.

    Parameters
    ----------
    workers : int
        Workers of the ``LocalCluster`` (one thread each); ignored when ``scheduler`` is given.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    processes : bool
        Worker processes (default) or threads in this process (``False``).

    Examples
    --------
    >>> with local_client(1, processes=False) as client:
    ...     client.submit(abs, -2).result()
    2
    """

    def __init__(self, workers: int = 2, scheduler: str | None = None, processes: bool = True):
        self.workers, self.scheduler, self.processes = workers, scheduler, processes
        self.cluster = self.client = None

    def __enter__(self):
        from dask.distributed import Client, LocalCluster

        if self.scheduler:
            self.client = Client(self.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=self.processes,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False


class _bar:
    def __init__(self, show: bool, description: str, total: int):
        self.show, self.description, self.total = show, description, total
        self.progress = None

    def __enter__(self):
        if not self.show:
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True))
        self.progress.__enter__()
        task = self.progress.add_task(self.description, total=self.total)
        return lambda: self.progress.advance(task)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False
