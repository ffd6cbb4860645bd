"""Statistics of Monte Carlo runs: standard errors, power-law fits with confidence intervals, and
the per-task seeds that make a sweep independent of where its tasks run.

Examples
--------
>>> fit_power_law([1, 4, 16], [1.0, 0.5, 0.25])["slope"]   # a planted power law N^(-1/2)
-0.5
>>> mean_stderr([1.0, 2.0, 3.0])
(2.0, 0.5773502691896258)
"""

from __future__ import annotations

import math

import numpy as np

from .networks import MonteCarloError

__all__ = ["fit_power_law", "task_seed", "mean_stderr"]


def fit_power_law(x, y, yerr=None, level: float = 0.95) -> dict:
    """Least-squares fit of log y = slope * log x + c, with a ``level`` confidence interval on the slope.

    With 3 or more points the interval is Student-t on the residuals (exact fits give a zero-width
    interval); with 2 points it comes from the propagated ``yerr`` (normal), or is the slope itself.

    Parameters
    ----------
    x : array_like
        Positive abscissae (widths N, depths L, ...), at least 2.
    y : array_like
        Positive values at ``x`` (an error, a deviation, a norm).
    yerr : array_like, optional
        Standard errors of ``y``; used only for the interval of a 2-point fit.
    level : float
        Confidence level of the slope interval.

    Returns
    -------
    dict
        ``slope`` (float), ``slope_ci`` (``[low, high]``) and ``prefactor`` (``exp(c)``, so that
        ``y ~ prefactor * x^slope``).

    Raises
    ------
    MonteCarloError
        With fewer than 2 points, or a value that is not positive.

    Examples
    --------
    >>> r = fit_power_law([32, 64, 128, 256], [2 * n ** -0.5 for n in (32, 64, 128, 256)])
    >>> round(r["slope"], 12), [round(c, 12) for c in r["slope_ci"]], round(r["prefactor"], 12)
    (-0.5, [-0.5, -0.5], 2.0)
    """
    from scipy import stats

    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(lx) < 2 or not (np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))):
        raise MonteCarloError("a power-law fit needs at least 2 points with positive values")
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    slope, c = float(coef[0]), float(coef[1])
    n = len(lx)
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    if n > 2:
        resid = ly - A @ coef
        se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
        half = float(stats.t.ppf(0.5 + level / 2, n - 2)) * se
    elif yerr is not None:
        sl = np.asarray(yerr, dtype=float) / np.asarray(y, dtype=float)
        se = math.sqrt(float(np.sum(sl**2))) / abs(lx[1] - lx[0])
        half = float(stats.norm.ppf(0.5 + level / 2)) * se
    else:
        half = 0.0
    return {"slope": slope, "slope_ci": [slope - half, slope + half], "prefactor": math.exp(c)}


def task_seed(seed: int, index: int) -> int:
    """Seed of task ``index`` of a sweep: SeedSequence(seed, spawn_key=(index,)), the same serial or on Dask.

    Parameters
    ----------
    seed : int
        The sweep's seed (``--seed``).
    index : int
        The task's position in the sweep.

    Returns
    -------
    int
        A non-negative 63-bit seed, a function of ``(seed, index)`` only.

    Examples
    --------
    >>> task_seed(0, 3) == task_seed(0, 3) != task_seed(0, 4)
    True
    """
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(index),)).generate_state(1, dtype=np.uint64)[0] >> 1)



def mean_stderr(values) -> tuple[float, float]:
    """Mean and standard error (sample standard deviation / sqrt(n)) of host values.

    Parameters
    ----------
    values : array_like
        At least two numbers (one per independent sample).

    Returns
    -------
    (float, float)
        ``(mean, std(ddof=1) / sqrt(n))``.

    Examples
    --------
    >>> mean_stderr([0.0, 2.0])
    (1.0, 1.0)
    """
    v = np.asarray(values, dtype=float)
    return float(np.mean(v)), float(np.std(v, ddof=1) / math.sqrt(len(v)))


def _stderr(a, xp):
    """Elementwise standard error over the leading (sample) axis, on the array's own backend."""
    return xp.std(a, axis=0, ddof=1) / math.sqrt(a.shape[0])
