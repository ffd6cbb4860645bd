"""graphexp-db: graph expansions of deep neural networks.

The package is a facade over one module per stage:
``spec -> expand -> pair -> embed -> finite / limits -> catalogue``.
"""

from ._version import __version__
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
    "ResNetSpec",
    "SpecError",
    "parse_activation",
    "parse_arch",
    "parse_ensemble",
]
