"""graphexp-db: graph expansions of deep neural networks.

The package is a facade over one module per stage:
``spec -> expand -> pair -> embed -> finite / limits -> catalogue``.

>>> import graphexp_db as gx
>>> gx.trace_series(1, 2, "gaussian")
{0: Fraction(2, 1), 1: Fraction(1, 1)}
"""

import sys
import types

from ._version import __version__

# Every verb is imported on first use (PEP 562), so that ``import graphexp_db.cli`` (``graphexp
# --help``) loads no numpy, networkx or pynauty, and the pure core never pulls in SQLAlchemy.
_EXPORTS = {
    "canonical": ("canonical_graphs", "certificate"),
    "embed": ("embed_batch", "embed_one"),
    "expand": ("count_operator_graphs", "gue_graph", "iter_operator_graphs", "jacobian_graph", "trace_word_graph"),
    "finite": ("covariance_series", "fourpoint_series", "fuss_catalan", "gue_genus_table", "harer_zagier",
               "kernel_matrix_series", "leading_covariance", "leading_ntk", "ntk_series", "trace_series",
               "truncated_graph_sums"),
    "limits": ("jacobian_density", "jacobian_moments", "kernels", "nngp_exact", "nngp_limit", "ntk_exact", "ntk_limit",
               "resnet_covariance"),
    "montecarlo": ("fourpoint_estimate", "hessian_norm", "jacobian_moments_estimate", "kernel_estimate"),
    "studies": ("commutativity", "linearity", "ntk_rate", "universality"),
    "pair": ("PairingSpace", "count_pairings", "iter_pairings", "iter_partitions", "orbits"),
    "spec": ("Activation", "DagSpec", "Ensemble", "MLPSpec", "ResNetSpec", "SpecError", "parse_activation", "parse_arch",
             "parse_ensemble"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

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
    import importlib

    if name in _WHERE:
        return getattr(importlib.import_module(f"graphexp_db.{_WHERE[name]}"), name)
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'graphexp_db' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Facade(types.ModuleType):
    """``graphexp_db.kernels`` is the verb (as before the module of that name existed): importing
    the submodule ``graphexp_db.kernels`` binds it on the package, so a data descriptor keeps the
    verb in front (the submodule stays reachable through ``sys.modules``)."""

    @property
    def kernels(self):
        from .limits import kernels

        return kernels

    @kernels.setter
    def kernels(self, value) -> None:  # the import system binds the submodule here: keep the verb
        pass


sys.modules[__name__].__class__ = _Facade
