"""gelu duals: the closed-form inner Gaussian integral equals the full 2-D trapezoid rule."""

import numpy as np

from graphexp_db import gaussian as G
from graphexp_db.spec import parse_activation


def test_gelu_closed_inner_matches_the_2d_rule():
    rng = np.random.default_rng(1)
    kxx, kyy = rng.uniform(0.1, 9, 100), rng.uniform(0.1, 9, 100)
    kxy = rng.uniform(-0.999, 0.999, 100) * np.sqrt(kxx * kyy)
    e1, d1 = G.dual(parse_activation("gelu"), kxx, kxy, kyy, n=400)
    x, w = G._trapezoid(400)
    a = np.sqrt(kxx)
    b = kxy / a
    c = np.sqrt(np.maximum(kyy - b * b, 0))
    u = a[:, None] * x
    v = b[:, None, None] * x[:, None] + c[:, None, None] * x[None, :]
    f, fp = G._QUAD_FUNCS["gelu"]
    e0 = (f(u, np) * (f(v, np) @ w)) @ w
    d0 = (fp(u, np) * (fp(v, np) @ w)) @ w
    assert np.max(np.abs(e1 - e0) / np.abs(e0)) < 1e-12
    assert np.max(np.abs(d1 - d0) / np.abs(d0)) < 1e-12
