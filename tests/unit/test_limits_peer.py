"""Peer parity: our NNGP/NTK equal neural-tangents' stax kernels (parameterization='ntk').

neural-tangents pins old jax and declares tensorflow; the recipe that works here (and in CI) is
    pip install "jax==0.4.30" "jaxlib==0.4.30" absl-py frozendict
    pip install --no-deps neural-tangents==0.6.5
Its ``experimental`` subpackage imports tensorflow through jax2tf; we stub that one subpackage
(unused here) before importing, see :func:`import_stax`.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from graphexp_db.limits import kernels


def import_stax():
    """Import ``neural_tangents.stax`` without tensorflow (skip with the reason otherwise)."""
    sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except Exception as err:  # noqa: BLE001 - any import failure means "peer not installed"
        pytest.skip(f"neural_tangents not importable ({type(err).__name__}: {err}); see the module docstring")
    return stax


@pytest.mark.parametrize("act", ["relu", "erf"])
@pytest.mark.parametrize("L", [1, 3, 10])
def test_kernels_equal_neural_tangents(act, L):
    stax = import_stax()
    sw, sb = 1.3, 0.2
    nt_act = {"relu": stax.Relu(), "erf": stax.Erf()}[act]   # Erf(a=1, b=1, c=0) = plain erf
    layers = []
    for _ in range(L):
        layers += [stax.Dense(512, W_std=sw, b_std=sb, parameterization="ntk"), nt_act]
    layers.append(stax.Dense(1, W_std=sw, b_std=sb, parameterization="ntk"))
    _, _, kernel_fn = stax.serial(*layers)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 6))
    Y = rng.standard_normal((15, 6))
    peer = kernel_fn(X, Y, ("nngp", "ntk"))
    ours = kernels(f"mlp:L={L},sw={sw},sb={sb}", act, X, Y)
    for a, b in ((ours.nngp, peer.nngp), (ours.ntk, peer.ntk)):
        b = np.asarray(b)
        assert np.max(np.abs(a - b) / np.abs(b)) <= 1e-6
