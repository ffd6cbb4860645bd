"""graphexp-db: graph expansions of deep neural networks.

The package is a facade over one module per stage:
``spec -> expand -> pair -> embed -> finite / limits -> catalogue``.

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
    leading_covariance,
    leading_ntk,
    ntk_series,
    trace_series,
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
]
