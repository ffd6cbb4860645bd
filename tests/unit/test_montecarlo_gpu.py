"""The same estimators on CuPy: agree with the NumPy run within Monte Carlo error (different RNG streams)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gpu

cp = pytest.importorskip("cupy", reason="CuPy is not installed (GPU tests need a CUDA GPU with cupy)")

from graphexp_db import montecarlo as mc  # noqa: E402
from graphexp_db.backend import DeviceError, device_name, get_xp  # noqa: E402


@pytest.fixture
def gpu():
    try:
        return get_xp("gpu")
    except DeviceError as exc:
        pytest.skip(f"no usable CUDA device: {exc}")


def test_kernel_gpu_matches_cpu(gpu):
    assert device_name(gpu).startswith("gpu")
    kw = dict(N=128, samples=200, seed=0)
    g = mc.kernel_estimate("mlp:L=2,sw=1.2,sb=0.3", "tanh", [1, 0], [0.6, 0.8], xp=gpu, **kw)
    c = mc.kernel_estimate("mlp:L=2,sw=1.2,sb=0.3", "tanh", [1, 0], [0.6, 0.8], xp=np, **kw)
    for k in ("nngp", "ntk"):
        assert abs(g[k] - c[k]) < 5 * np.hypot(g[k + "_stderr"], c[k + "_stderr"])


def test_jacobian_and_hessian_gpu(gpu):
    from graphexp_db.limits import jacobian_moments

    r = mc.jacobian_moments_estimate("mlp:L=2,sw=1.3", "tanh", q_in=1.0, N=512, samples=4, kmax=3, seed=0, xp=gpu)
    lim = jacobian_moments("mlp:L=2,sw=1.3", "tanh", 1.0, 3)
    assert all(abs(m - l) < 4 * e + 0.2 * l for m, e, l in zip(r["moments"], r["stderr"], lim))
    h = mc.hessian_norm("mlp:L=2", "tanh", np.ones(4), N=64, samples=2, seed=0, xp=gpu)
    assert np.isfinite(h["value"]) and h["value"] > 0
