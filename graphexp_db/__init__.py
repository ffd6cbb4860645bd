"""graphexp-db: graph expansions of deep neural networks.

The package is a facade over one module per stage:
``spec -> expand -> pair -> embed -> finite / limits -> montecarlo -> studies -> catalogue``.

>>> import graphexp_db as gx
>>> gx.trace_series(1, 2, "gaussian")
{0: Fraction(2, 1), 1: Fraction(1, 1)}
"""

from ._version import __version__
from .canonical import canonical_graphs, certificate
from .embed import embed_batch, embed_one
from .expand import count_operator_graphs, gue_graph, iter_operator_graphs, jacobian_graph, trace_word_graph
from .finite import (
    covariance_series,
    fourpoint_series,
    fuss_catalan,
    gue_genus_table,
    harer_zagier,
    kernel_matrix_series,
    leading_covariance,
    leading_ntk,
    ntk_series,
    trace_series,
    truncated_graph_sums,
)
from .limits import (
    jacobian_density,
    jacobian_moments,
    kernels,
    nngp_exact,
    nngp_limit,
    ntk_exact,
    ntk_limit,
    resnet_covariance,
)
from .montecarlo import (
    fourpoint_estimate,
    hessian_norm,
    jacobian_moments_estimate,
    kernel_estimate,
)
from .pair import PairingSpace, count_pairings, iter_pairings, iter_partitions, orbits
from .spec import (
    Activation,
    DagSpec,
    Ensemble,
    MLPSpec,
    ResNetSpec,
    SpecError,
    parse_activation,
    parse_arch,
    parse_ensemble,
)
from .studies import commutativity, linearity, ntk_rate, universality

__all__ = [
    "__version__",
    "Activation",
    "DagSpec",
    "Ensemble",
    "MLPSpec",
    "PairingSpace",
    "ResNetSpec",
    "SpecError",
    "canonical_graphs",
    "certificate",
    "count_operator_graphs",
    "count_pairings",
    "covariance_series",
    "embed_batch",
    "embed_one",
    "fourpoint_series",
    "kernel_matrix_series",
    "fuss_catalan",
    "gue_genus_table",
    "gue_graph",
    "harer_zagier",
    "iter_operator_graphs",
    "iter_pairings",
    "iter_partitions",
    "jacobian_graph",
    "leading_covariance",
    "leading_ntk",
    "ntk_series",
    "orbits",
    "parse_activation",
    "parse_arch",
    "parse_ensemble",
    "trace_series",
    "trace_word_graph",
    "truncated_graph_sums",
    "kernels",
    "nngp_limit",
    "ntk_limit",
    "nngp_exact",
    "ntk_exact",
    "resnet_covariance",
    "jacobian_moments",
    "jacobian_density",
    "kernel_estimate",
    "fourpoint_estimate",
    "jacobian_moments_estimate",
    "hessian_norm",
    "ntk_rate",
    "universality",
    "commutativity",
    "linearity",
    "fill_expansion",
    "build",
    "query",
    "upgrade",
]

# Catalogue verbs are imported on first use, so that the pure core never pulls in SQLAlchemy
# (``graphexp expand`` is ``fill_expansion``: ``graphexp_db.expand`` is the expansion stage module).
_LAZY = {
    "fill_expansion": ("graphexp_db.catalogue.fill", "fill_expansion"),
    "query": ("graphexp_db.catalogue.query", "run_readonly"),
    "upgrade": ("graphexp_db.catalogue.migrate", "upgrade"),
}


def build(preset: str = "core", url: str | None = None, device: str = "cpu") -> list:
    """Fill the catalogue at ``url`` (default: the embedded SQLite file) with a named preset."""
    from .catalogue.engine import get_engine
    from .catalogue.migrate import ensure_schema
    from .catalogue.presets import PRESETS

    engine = get_engine(url)
    ensure_schema(engine)
    return [step.run(engine, device) for step in PRESETS[preset]]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'graphexp_db' has no attribute {name!r}")
