"""One step of a catalogue preset: a name and a function ``fn(engine, device) -> dict`` (what it stored).

Its own module so that :mod:`~graphexp_db.catalogue.presets` (which lists the steps) and the
modules that write steps (:mod:`~graphexp_db.catalogue.limits_store`) import it without importing
each other.

>>> Step("noop", lambda engine, device: {"device": device}).run(None, "cpu")
{'device': 'cpu'}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Step"]


@dataclass(frozen=True)
class Step:
    """A named, re-runnable unit of a preset (each step is idempotent: storing twice is harmless).

    Parameters
    ----------
    name : str
        The step's name, as ``graphexp build`` reports it.
    fn : callable
        ``fn(engine, device) -> dict``: stores its rows through the SQLAlchemy ``engine`` and returns
        a summary of what it stored; ``device`` is ``"cpu"`` or ``"gpu"``.

    Examples
    --------
    >>> step = Step("count", lambda engine, device: {"rows": 3, "device": device})
    >>> step.name, step.run(None)
    ('count', {'rows': 3, 'device': 'cpu'})
    """

    name: str
    fn: Callable

    def run(self, engine, device: str = "cpu") -> dict:
        return self.fn(engine, device)
