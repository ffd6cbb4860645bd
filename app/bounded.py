"""Run what a visitor asked for under a time budget and a memory budget (issue 13, point 4).

Text typed into a page reaches the spec parser and the numerical code; a hostile or careless input
(``sw=1e999999999``, a DAG with a million edges, ``K = 10**6``) must not hang or exhaust the server.
Every UI computation therefore goes through :func:`run_bounded`:

1. **Input caps before anything runs**: every string argument is at most ``MAX_TEXT`` characters.
2. **A separate process** (forked from the server, so nothing is re-imported) runs the call with
   ``RLIMIT_AS`` set to its current size plus ``mem_mb`` and ``RLIMIT_CPU`` set to the time budget;
   the server waits at most ``time_s`` seconds and then kills it.
3. The outcome is a :class:`Outcome`: the value, or a one-line reason, with ``budget`` naming the
   budget that was hit (``"time"`` or ``"memory"``), so the page can say so.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import resource
import time
import traceback
from dataclasses import dataclass
from typing import Any

# Default budgets; ``GRAPHEXP_UI_TIME_S`` / ``GRAPHEXP_UI_MEM_MB`` override them at each call.
TIME_S = 10.0
MEM_MB = 1024


def _budgets(time_s, mem_mb) -> tuple[float, int]:
    t = float(os.environ.get("GRAPHEXP_UI_TIME_S", TIME_S)) if time_s is None else float(time_s)
    m = int(os.environ.get("GRAPHEXP_UI_MEM_MB", MEM_MB)) if mem_mb is None else int(mem_mb)
    return t, m
MAX_TEXT = 2000

# Errors that mean "the input was rejected" rather than "the code is broken": shown as one line.
_INPUT_ERRORS = ("SpecError", "ValueError", "ArithmeticError", "ZeroDivisionError", "OverflowError", "MonteCarloError",
                 "LimitError", "FiniteError", "TypeError", "KeyError", "IndexError", "NotImplementedError")


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: str | None = None
    budget: str | None = None  # "time", "memory" or "input" when a budget or cap stopped the call
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(conn, module: str, fn: str, args, kwargs, time_s: float, mem_mb: int) -> None:
    try:
        limit = _vm_bytes() + int(mem_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        cpu = max(1, int(time_s) + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ValueError, OSError):
        pass
    try:
        f = getattr(importlib.import_module(module), fn)
        conn.send(("ok", f(*args, **kwargs)))
    except MemoryError:
        conn.send(("memory", "the computation passed its memory budget"))
    except BaseException as err:  # noqa: BLE001 - everything goes back as one line
        name = type(err).__name__
        msg = " ".join(str(err).split())[:300]
        kind = "input" if name in _INPUT_ERRORS or any(name == n for n in _INPUT_ERRORS) else "error"
        if kind == "error":
            msg = f"{msg} [{traceback.extract_tb(err.__traceback__)[-1].name if err.__traceback__ else ''}]"
        try:
            conn.send((kind, f"{name}: {msg}" if msg else name))
        except Exception:  # unpicklable payload
            conn.send(("error", name))
    finally:
        conn.close()


def _check_inputs(args, kwargs, max_text: int) -> str | None:
    def walk(v, depth=0):
        if depth > 4:
            return None
        if isinstance(v, str) and len(v) > max_text:
            return f"an input is {len(v)} characters long; the web UI accepts at most {max_text}"
        if isinstance(v, (list, tuple)):
            if len(v) > 10_000:
                return f"an input list has {len(v)} entries; the web UI accepts at most 10000"
            for x in v:
                r = walk(x, depth + 1)
                if r:
                    return r
        if isinstance(v, dict):
            for x in v.values():
                r = walk(x, depth + 1)
                if r:
                    return r
        return None

    for v in list(args) + list(kwargs.values()):
        r = walk(v)
        if r:
            return r
    return None


def run_bounded(module: str, fn: str, *args, time_s: float | None = None, mem_mb: int | None = None, max_text: int = MAX_TEXT,
                **kwargs) -> Outcome:
    """Call ``module.fn(*args, **kwargs)`` in a child process under a time and a memory budget.

    >>> run_bounded("math", "sqrt", 4.0).value
    2.0
    >>> run_bounded("math", "sqrt", -1.0).error
    'ValueError: math domain error'
    >>> run_bounded("time", "sleep", 5, time_s=0.5).budget
    'time'
    """
    time_s, mem_mb = _budgets(time_s, mem_mb)
    t0 = time.monotonic()
    why = _check_inputs(args, kwargs, max_text)
    if why:
        return Outcome(error=why, budget="input")
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, module, fn, args, kwargs, time_s, mem_mb), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(time_s):
            try:
                kind, payload = parent.recv()
            except (EOFError, OSError):
                kind, payload = "died", None
        else:
            kind, payload = "time", None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
        parent.close()
    dt = time.monotonic() - t0
    if kind == "ok":
        return Outcome(value=payload, elapsed_s=dt)
    if kind == "time":
        return Outcome(error=f"stopped: the computation passed the web UI's time budget of {time_s:g} s", budget="time", elapsed_s=dt)
    if kind == "memory":
        return Outcome(error=f"stopped: the computation passed the web UI's memory budget of {mem_mb} MB", budget="memory", elapsed_s=dt)
    if kind == "died":
        code = proc.exitcode
        if code is not None and code < 0 and -code in (9, 24):  # SIGKILL / SIGXCPU from the CPU limit
            return Outcome(error=f"stopped: the computation passed the web UI's time budget of {time_s:g} s", budget="time", elapsed_s=dt)
        return Outcome(error=f"stopped: the computation ended without an answer (exit code {code}); it probably passed "
                             f"the web UI's memory budget of {mem_mb} MB", budget="memory", elapsed_s=dt)
    return Outcome(error=str(payload), budget=None, elapsed_s=dt)


def budget_note(time_s: float | None = None, mem_mb: int | None = None) -> str:
    """The sentence the pages show under their inputs."""
    time_s, mem_mb = _budgets(time_s, mem_mb)
    return (f"Computations started here run in a separate process with a budget of {time_s:g} s and {mem_mb} MB, "
            f"inputs of at most {MAX_TEXT} characters; larger work belongs to the CLI.")
