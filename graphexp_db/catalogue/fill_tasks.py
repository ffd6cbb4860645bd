"""The pure, distributable part of a fill (:mod:`graphexp_db.catalogue.fill`): exact terms and census
of one rank range of one graph's pairings (or of its rotation-orbit representatives), and the
serial or Dask map over every graph's ranges.

>>> from graphexp_db.expand import gue_graph
>>> terms, census = _terms_task(dict(graph=gue_graph(2), ensemble="gaussian", marked=False, device="cpu",
...                                  start=0, stop=None, orbit=False))
>>> sorted((e, s, int(w)) for (e, s, _), w in terms.items())
[(-2, 'S1', 1), (0, 'S0', 2)]
"""

from __future__ import annotations

from ..backend import device_kind, get_xp, is_gpu
from ..finite import graph_terms

__all__: list[str] = []

TASK_PAIRINGS = 1 << 18  # pairings per distributed task (a rank range of one graph)
ORBIT_TASK = 1 << 22  # ranks per task of orbit sums (most of them are skipped, not unranked)


def _terms_task(task: dict) -> tuple[dict, dict]:
    """Pure: terms and census of one rank range of one graph's pairings (a Dask task); with
    ``orbit``, of the orbit representatives in the range, weighted by their orbit sizes."""
    census: dict = {}
    if task.get("orbit"):
        from ..genus_kernel import orbit_terms

        terms = orbit_terms(task["graph"], task["ensemble"], census=census, start=task["start"], stop=task["stop"])
        return terms, census
    xp = get_xp(task["device"])
    terms = graph_terms(task["graph"], task["ensemble"], marked=task["marked"], census=census,
                        xp=xp if is_gpu(xp) else None, start=task["start"], stop=task["stop"])
    return terms, census


def _sum_pairings(graphs, sizes, ens, quantity: str, xp, workers, scheduler, processes) -> list[tuple[dict, dict]]:
    """Terms and census of every graph, serially or on Dask over rank ranges (same result)."""
    device = device_kind(xp)
    tasks, owner = [], []
    for i, (g, size) in enumerate(zip(graphs, sizes)):
        if not size:
            continue
        splittable = ens.is_gaussian or g.rule == "hermitian"
        reps = _orbit_ranks(g, ens) if splittable and device == "cpu" else None
        step, end = (TASK_PAIRINGS, size) if reps is None else (ORBIT_TASK, reps)
        for lo in range(0, end, step) if splittable else [0]:
            tasks.append(dict(graph=g, ensemble=str(ens), marked=quantity == "ntk", device=device, start=lo,
                              stop=min(lo + step, end) if splittable else None, orbit=reps is not None))
            owner.append(i)
    if workers is None and scheduler is None:
        parts = [_terms_task(t) for t in tasks]
    else:
        from ..distributed import map_tasks

        parts = map_tasks(_terms_task, tasks, workers=workers, scheduler=scheduler, processes=processes,
                          description="pairings")
    out: list[tuple[dict, dict]] = [({}, {}) for _ in graphs]
    for i, (terms, census) in zip(owner, parts):
        t_acc, c_acc = out[i]
        for k, w in terms.items():
            t_acc[k] = t_acc.get(k, 0) + w
        for k, c in census.items():
            c_acc[k] = c_acc.get(k, 0) + c
    return out


def _orbit_ranks(g, ens) -> int | None:
    """The ranks holding every orbit representative of a cyclic word (GUE, complex ``tr (W W^*)^k``)
    when the compiled kernel sums its pairings over rotation orbits (the same exact terms and
    census as every pairing), else None (then every pairing is enumerated)."""
    from ..genus_kernel import compiled_available, orbit_ranks

    return orbit_ranks(g, ens) if compiled_available() else None
