"""Every matplotlib figure of graphexp-db, drawn from plain result data (used by the CLI and the app).

Each function returns a :class:`matplotlib.figure.Figure` built without ``pyplot``: no global
backend switch (no ``matplotlib.use``), no figure registry to leak, nothing written.  The caller
decides what to do with it: the CLI writes it with ``fig.savefig(path)`` (Agg is picked for PNG
files automatically), the Streamlit app hands it to ``st.pyplot(fig)``.  Importing this module does
not import matplotlib; the first figure does.

Examples
--------
>>> fig = loglog_figure([8, 16, 32], [1.0, 0.7, 0.5], [0.1, 0.1, 0.1],
...                     {"slope": -0.5, "slope_ci": [-0.6, -0.4], "prefactor": 2.8}, "N", "error", "rate")
>>> type(fig).__name__, len(fig.axes), fig.axes[0].get_xscale()
('Figure', 1, 'log')
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "loglog_figure",
    "ntk_rate_figure",
    "linearity_figure",
    "commutativity_figure",
    "spectrum_figure",
    "density_figure",
]


def loglog_figure(x, y, yerr, fit: dict, xlabel: str, ylabel: str, title: str):
    """Monte Carlo points with error bars on log-log axes, and the fitted power law with its CI.

    Parameters
    ----------
    x, y, yerr : sequences of float
        Abscissae, values and standard errors (positive values).
    fit : dict
        ``{"slope", "slope_ci", "prefactor"}`` from :func:`graphexp_db.montecarlo.fit_power_law`.
    xlabel, ylabel, title : str
        Axis labels and title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the points with error bars and the fitted line, its legend giving the slope and CI.

    Examples
    --------
    >>> fig = loglog_figure([1, 10], [1.0, 0.1], [0.01, 0.01], {"slope": -1.0, "slope_ci": [-1.0, -1.0],
    ...                     "prefactor": 1.0}, "m", "norm", "t")
    >>> fig.axes[0].get_title()
    't'
    """
    fig, ax = _figure((5, 4))
    ax.errorbar(x, y, yerr=yerr, fmt="o", label="Monte Carlo")
    xs = np.geomspace(min(x), max(x), 50)
    ax.plot(xs, fit["prefactor"] * xs ** fit["slope"], "--",
            label=f"slope {fit['slope']:.3f} [{fit['slope_ci'][0]:.3f}, {fit['slope_ci'][1]:.3f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def ntk_rate_figure(result: dict):
    """NTK convergence: |NTK_N - NTK_inf|_F against N (the dict of :func:`graphexp_db.studies.ntk_rate`).

    Parameters
    ----------
    result : dict
        ``widths``, ``error``, ``stderr`` and the fit (``slope``, ``slope_ci``, ``prefactor``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes of :func:`loglog_figure`, x = N.

    Examples
    --------
    >>> r = {"widths": [8, 32], "error": [0.4, 0.2], "stderr": [0.05, 0.03], "slope": -0.5,
    ...      "slope_ci": [-0.7, -0.3], "prefactor": 1.13}
    >>> ntk_rate_figure(r).axes[0].get_xlabel()
    'N'
    """
    return loglog_figure(result["widths"], result["error"], result["stderr"], result, "N", "|NTK_N - NTK_inf|_F",
                         "NTK convergence")


def linearity_figure(result: dict):
    """Transition to linearity: ||H||_2 against the minimum in-degree m (:func:`graphexp_db.studies.linearity`).

    Parameters
    ----------
    result : dict
        ``m``, ``hessian_norm``, ``hessian_stderr`` and the fit (``slope``, ``slope_ci``, ``prefactor``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes of :func:`loglog_figure`, x = m.

    Examples
    --------
    >>> r = {"m": [8, 32], "hessian_norm": [0.7, 0.35], "hessian_stderr": [0.05, 0.03], "slope": -0.5,
    ...      "slope_ci": [-0.7, -0.3], "prefactor": 2.0}
    >>> linearity_figure(r).axes[0].get_ylabel()
    '||H||_2'
    """
    return loglog_figure(result["m"], result["hessian_norm"], result["hessian_stderr"], result, "m (min in-degree)",
                         "||H||_2", "Transition to linearity")


def commutativity_figure(result: dict):
    """Heat map of log10 |C_(N,L) - C_ODE| over the width x depth grid (:func:`graphexp_db.studies.commutativity`).

    Parameters
    ----------
    result : dict
        ``limit`` (C_ODE) and ``grid``: one ``{"N", "L", "error"}`` per (width, depth), complete.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (depth across, width up) and a colour bar; errors are floored at 1e-16.

    Examples
    --------
    >>> grid = [{"N": n, "L": L, "error": 0.1 / n / L} for n in (8, 16) for L in (2, 4)]
    >>> fig = commutativity_figure({"limit": 0.48, "grid": grid})
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['2', '4']
    """
    at = {(g["N"], g["L"]): g for g in result["grid"]}
    W, D = sorted({g["N"] for g in result["grid"]}), sorted({g["L"] for g in result["grid"]})
    err = np.array([[at[(n, L)]["error"] for L in D] for n in W])
    fig, ax = _figure((6, 4))
    im = ax.imshow(np.log10(np.maximum(err, 1e-16)), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(D)), [str(L) for L in D])
    ax.set_yticks(range(len(W)), [str(n) for n in W])
    ax.set_xlabel("depth L")
    ax.set_ylabel("width N")
    ax.set_title(f"log10 |C_(N,L) - C_ODE|, C_ODE = {result['limit']:.4f}")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def spectrum_figure(eigenvalues, N: int):
    """Histogram of pooled eigenvalues of J J^T (``jacobian_moments_estimate(..., eigenvalues=True)``).

    Parameters
    ----------
    eigenvalues : array_like
        Eigenvalues pooled over the samples.
    N : int
        The width, shown in the legend.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: an 80-bin density histogram.

    Examples
    --------
    >>> spectrum_figure(np.linspace(0, 2, 100), N=10).axes[0].get_xlabel()
    'lambda'
    """
    fig, ax = _figure((5, 4))
    ax.hist(eigenvalues, bins=80, density=True, alpha=0.7, label=f"eigenvalues of J J^T (N = {N})")
    ax.set_xlabel("lambda")
    ax.set_ylabel("density")
    ax.set_title("Jacobian spectrum (Monte Carlo)")
    ax.legend()
    fig.tight_layout()
    return fig


def density_figure(grid, density, title: str):
    """The limiting spectral density of J J^T on a log scale (:func:`graphexp_db.limits.jacobian_density`).

    Parameters
    ----------
    grid : array_like
        Eigenvalues lambda.
    density : array_like
        The density at each lambda (positive, for the log scale).
    title : str
        The axes title (the architecture and activation).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the density curve, log y axis.

    Examples
    --------
    >>> density_figure([0.5, 1.0], [0.3, 0.2], "mlp:L=1").axes[0].get_yscale()
    'log'
    """
    fig, ax = _figure((6, 4))
    ax.plot(grid, density)
    ax.set_xlabel("eigenvalue of J J^T")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.set_title(title)
    return fig


def _figure(size):
    # matplotlib.figure.Figure, not pyplot: no global state, safe in threads (Streamlit) and workers
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.subplots()
