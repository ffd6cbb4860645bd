"""Monte Carlo estimators (graphexp_db.montecarlo) against closed forms, finite differences and the limits engine.

Tolerances: Monte Carlo vs a limit agrees within 4 standard errors plus the stated O(1/N) bias
allowance; gradients vs central finite differences to 1e-6 relative; fits of planted power laws exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphexp_db import montecarlo as mc
from graphexp_db.spec import parse_ensemble

DAG = '{"kind":"dag","edges":[[0,1],[0,2],[1,2],[1,3],[2,3]],"sw":1.3,"sb":0.4}'
ARCHS = ["mlp:L=2,sw=1.2,sb=0.3", DAG]


def _flat(params):
    return np.concatenate([p.reshape(p.shape[0], -1) for p in params], axis=1)


def _unflat(v, shapes):
    out, o = [], 0
    for sh in shapes:
        n = int(np.prod(sh[1:]))
        out.append(v[:, o:o + n].reshape(sh))
        o += n
    return out


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("act", ["tanh", "relu", "gelu", "poly:0.1,1,0.5"])
def test_gradient_and_ntk_match_finite_differences(arch, act):
    rng = np.random.default_rng(0)
    net = mc.layer_net(arch, N=4, d=3)
    params = mc.init_params(net, 2, rng)
    X = rng.standard_normal((3, 3))
    shapes = [p.shape for p in params]
    theta = _flat(params)
    eps = 1e-6
    fd = np.empty((2, theta.shape[1], 3))
    for k in range(theta.shape[1]):
        e = np.zeros_like(theta)
        e[:, k] = eps
        fd[:, k] = (mc.output_fn(net, _unflat(theta + e, shapes), X, act)
                    - mc.output_fn(net, _unflat(theta - e, shapes), X, act)) / (2 * eps)
    grads = np.stack([_flat(mc.param_gradient(net, params, X[i:i + 1], act)) for i in range(3)], axis=2)
    assert np.max(np.abs(grads - fd)) < 1e-6 * max(1.0, np.max(np.abs(fd)))
    ntk_fd = np.einsum("spi,spj->sij", fd, fd)
    assert np.allclose(mc.ntk_matrix(net, params, X, act), ntk_fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("arch", ARCHS)
def test_hessian_vp_and_power_iteration_match_dense_hessian(arch):
    # hessian_norm(seed=1, samples=2) draws exactly these parameters: init_params(net, 2, default_rng(1))
    net = mc.layer_net(arch, N=3, d=2)
    params = mc.init_params(net, 2, np.random.default_rng(1))
    x = np.array([0.7, -1.1])
    shapes = [p.shape for p in params]
    theta = _flat(params)
    P = theta.shape[1]

    def f(t):
        return mc.output_fn(net, _unflat(t, shapes), x[None], "tanh")[:, 0]

    # dense Hessians from second differences of the output only (independent of the backward pass)
    H = np.zeros((2, P, P))
    h = 1e-4
    for i in range(P):
        for j in range(i, P):
            ei, ej = np.eye(P)[i] * h, np.eye(P)[j] * h
            H[:, i, j] = H[:, j, i] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (4 * h * h)
    v = np.random.default_rng(2).standard_normal((2, P))
    hv = _flat(mc.hessian_vp(net, params, x, "tanh", _unflat(v, shapes)))
    exact = np.einsum("sij,sj->si", H, v)
    assert np.max(np.abs(hv - exact)) < 1e-5 * np.max(np.abs(exact))
    r = mc.hessian_norm(arch, "tanh", x, N=3, samples=2, seed=1, iters=2000, tol=1e-12)
    dense = np.max(np.abs(np.linalg.eigvalsh(H)), axis=1)
    assert np.allclose(r["values"], dense, rtol=1e-4)


def test_nngp_relu_arccos_closed_form(xp):
    # MLP L=1, relu, sw=1, sb=0: K2 = (|x||y|/(2 pi d)) (sin t + (pi - t) cos t) -- computed here, not by limits.py
    x, y = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    t = math.acos(float(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y)))
    exact = (math.sin(t) + (math.pi - t) * math.cos(t)) / (2 * math.pi * 2)
    r = mc.kernel_estimate("mlp:L=1,sw=1,sb=0", "relu", x, y, N=128, samples=400, seed=3, xp=xp)
    assert abs(r["nngp"] - exact) < 4 * r["nngp_stderr"]


@pytest.mark.parametrize("arch,act", [("mlp:L=2,sw=1.2,sb=0.3", "tanh"), ("mlp:L=2,sw=1.4,sb=0.1", "relu"), (DAG, "erf")])
def test_kernels_match_limits_engine(arch, act, xp):
    from graphexp_db.limits import kernels

    X = np.array([[1.0, 0.0, 0.5], [0.6, 0.8, -0.2]])
    r = mc.kernel_matrices(arch, act, X, N=256, samples=120, seed=5, xp=xp)
    lim = kernels(arch, act, X)
    # 4 standard errors plus 3% for the O(1/N) bias of the NTK at N = 256
    assert np.all(np.abs(r["nngp"] - lim.nngp) < 4 * r["nngp_stderr"] + 0.03 * np.abs(lim.nngp).max())
    assert np.all(np.abs(r["ntk"] - lim.ntk) < 4 * r["ntk_stderr"] + 0.03 * np.abs(lim.ntk).max())


def test_resnet_covariance_matches_finite_depth_limit(xp):
    from graphexp_db.limits import resnet_covariance

    r = mc.resnet_covariance_estimate("resnet:L=4,sw=1", "relu", [1.0, 0.0], [0.6, 0.8], N=256, samples=60, seed=2, xp=xp)
    lim = resnet_covariance("resnet:L=4,sw=1", "relu", [1.0, 0.0], [0.6, 0.8])
    assert abs(r["value"] - lim) < 4 * r["stderr"] + 0.01


def test_jacobian_moments_match_free_probability(xp):
    from graphexp_db.counts import fuss_catalan
    from graphexp_db.limits import jacobian_moments

    r = mc.jacobian_moments_estimate("mlp:L=2,sw=1.3,sb=0.2", "tanh", q_in=1.0, N=512, samples=6, kmax=4, seed=0, xp=xp)
    lim = jacobian_moments("mlp:L=2,sw=1.3,sb=0.2", "tanh", 1.0, 4)
    for k, (m, e, l) in enumerate(zip(r["moments"], r["stderr"], lim), start=1):
        # fluctuation 4 stderr + O(1/N) bias allowance (about 25 k / N relative, CONVENTIONS.md)
        assert abs(m - l) < 4 * e + 30 * k / 512 * l, (k, m, l, e)
    lin = mc.jacobian_moments_estimate("mlp:L=1,sw=1", "identity", q_in=1.0, N=256, samples=8, kmax=3, seed=1, xp=xp)
    for k, (m, e) in enumerate(zip(lin["moments"], lin["stderr"]), start=1):
        exact = fuss_catalan(2, k)
        assert abs(m - exact) < 4 * e + 30 * k / 256 * exact


def test_fourpoint_identity_exact_one_over_n(xp):
    # identity MLP L=1, x = (1, 1): connected 4-point = 6/N exactly (graphexp_db.finite.fourpoint_series)
    r = mc.fourpoint_estimate("mlp:L=1", "identity", [1.0, 1.0], N=4, samples=40000, seed=0, xp=xp)
    assert abs(r["value"] - 6 / 4) < 4 * r["stderr"]


def test_fourpoint_matches_exact_finite_width_series(xp):
    from graphexp_db.finite import fourpoint_series
    from graphexp_db.spec import parse_arch

    series = fourpoint_series(parse_arch("mlp:L=1,sw=1,sb=0.5"), "poly:0,1,0.5", [1, 1])
    exact = sum(float(v) * 4.0 ** (-j) for j, v in series.items())
    r = mc.fourpoint_estimate("mlp:L=1,sw=1,sb=0.5", "poly:0,1,0.5", [1.0, 1.0], N=4, samples=40000, seed=0, xp=xp)
    assert abs(r["value"] - exact) < 4 * r["stderr"]


@pytest.mark.parametrize("name", ["gaussian", "rademacher", "uniform", "sparse:1/4"])
def test_ensembles_moments(name, xp):
    from graphexp_db.backend import to_numpy

    w = to_numpy(mc.sample_weights(name, (400000,), xp.random.default_rng(0), xp))
    m4 = float(parse_ensemble(name).moment(4))
    assert abs(np.mean(w)) < 0.01 and abs(np.mean(w**2) - 1) < 0.02
    assert abs(np.mean(w**4) - m4) < 0.05 * m4


def test_complex_ensemble():
    w = mc.sample_weights("complex", (200000,), np.random.default_rng(0))
    assert abs(np.mean(np.abs(w) ** 2) - 1) < 0.01 and abs(np.mean(w**2)) < 0.01
    r = mc.jacobian_moments_estimate("mlp:L=1,sw=1", "identity", q_in=1.0, N=64, samples=10, kmax=2, seed=0, ensemble="complex")
    assert abs(r["moments"][1] - 3) < 4 * r["stderr"][1] + 0.1
    with pytest.raises(mc.MonteCarloError, match="complex"):
        mc.jacobian_moments_estimate("mlp:L=1", "tanh", q_in=1.0, N=8, samples=2, kmax=2, ensemble="complex")


def test_universality_subleading_rademacher():
    r = mc.universality("mlp:L=1,sw=1", "tanh", ["gaussian", "rademacher"], N=32, samples=200, kmax=2, seed=0)
    g, rad = r["rows"]
    assert g["subleading_exact"] == 1.0 and rad["subleading_exact"] == -1.0
    for row in (g, rad):
        assert abs(row["subleading_mc"] - row["subleading_exact"]) < 4 * row["subleading_mc_stderr"]
        assert all(abs(z) < 5 for z in row["z"])


def test_fit_power_law_recovers_planted_law():
    N = np.array([16, 32, 64, 128, 256])
    r = mc.fit_power_law(N, 3.0 * N**-0.5)
    assert r["slope"] == pytest.approx(-0.5, abs=1e-12)
    assert r["slope_ci"] == pytest.approx([-0.5, -0.5], abs=1e-12)
    assert r["prefactor"] == pytest.approx(3.0, rel=1e-12)
    two = mc.fit_power_law([10, 100], [1.0, 0.1], yerr=[0.01, 0.001])
    assert two["slope"] == pytest.approx(-1.0) and two["slope_ci"][0] < -1.0 < two["slope_ci"][1]


def test_seeds_reproducible_and_distinct():
    a = mc.kernel_estimate("mlp:L=1", "relu", [1, 0], [0, 1], N=8, samples=5, seed=7)
    b = mc.kernel_estimate("mlp:L=1", "relu", [1, 0], [0, 1], N=8, samples=5, seed=7)
    c = mc.kernel_estimate("mlp:L=1", "relu", [1, 0], [0, 1], N=8, samples=5, seed=8)
    assert a == b and a != c
    assert mc.task_seed(1, 0) != mc.task_seed(1, 1) and mc.task_seed(1, 0) != mc.task_seed(2, 0)


def test_linearity_and_min_in_degree():
    assert mc.min_in_degree(mc.layer_net("mlp:L=3", N=10, d=2)) == 10
    dense = '{"kind":"dag","edges":[[0,1],[0,2],[1,2],[0,3],[1,3],[2,3]]}'
    assert mc.min_in_degree(mc.layer_net(dense, N=10, d=2)) == 12
    r = mc.linearity("mlp:L=2", "tanh", [16, 64, 256], samples=3, seed=0, steps=3)
    assert r["m"] == [16, 64, 256]
    assert r["hessian_norm"][0] > r["hessian_norm"][-1] and r["slope"] < 0
    assert r["ntk_change"][0] > r["ntk_change"][-1]


@pytest.mark.parametrize("bad", [
    lambda: mc.kernel_estimate("mlp:L=1", "relu", [1.0], [1.0], N=0, samples=4),
    lambda: mc.kernel_estimate("mlp:L=1", "relu", [1.0], [1.0], N=4, samples=1),
    lambda: mc.kernel_estimate("mlp:L=40,sw=500", "identity", [1.0], [1.0], N=4, samples=2),
    lambda: mc.resnet_covariance_estimate("resnet:L=inf", "relu", [1.0], [1.0], N=4, samples=2),
    lambda: mc.jacobian_moments_estimate('{"kind":"dag","edges":[[0,1]]}', "relu", q_in=1, N=4, samples=2, kmax=2),
])
def test_bad_input_raises(bad):
    with pytest.raises(mc.MonteCarloError):
        bad()


def test_results_are_frozen_and_read_like_the_old_dicts():
    import dataclasses

    r = mc.kernel_estimate("mlp:L=1", "tanh", [1.0, 0.0], [0.0, 1.0], N=4, samples=3, seed=0)
    assert isinstance(r, mc.KernelEstimate) and list(r) == ["nngp", "nngp_stderr", "ntk", "ntk_stderr"]
    assert dict(r) == r.to_dict() and r["ntk"] == r.ntk and "ntk" in r and len(r) == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nngp = 0.0
    j = mc.jacobian_moments_estimate("mlp:L=1", "tanh", q_in=1.0, N=4, samples=2, kmax=2, seed=0)
    assert "eigenvalues" not in j and list(j) == ["moments", "stderr", "N", "samples", "q_in", "kmax"]
    j = mc.jacobian_moments_estimate("mlp:L=1", "tanh", q_in=1.0, N=4, samples=2, kmax=2, seed=0, eigenvalues=True)
    assert list(j)[-1] == "eigenvalues" and j["eigenvalues"].shape == (8,)
    h = mc.hessian_norm("mlp:L=1", "tanh", [1.0, 1.0], N=4, samples=2, seed=0)
    assert h["values"] == h.values and len(h.values) == 2


@pytest.mark.parametrize("study", [
    lambda: mc.hessian_norm("mlp:L=1", "relu", [1.0, 1.0], N=4),
    lambda: mc.linearity("mlp:L=1", "relu", [8, 16], samples=2),
])
def test_hessian_of_kinked_activation_is_refused(study):
    # issue 10.2: relu'' is a Dirac delta; the finite-difference "norm" was 260 +- 260, now a clear error
    with pytest.raises(mc.MonteCarloError, match="Dirac delta at the kink"):
        study()


def test_old_study_names_resolve_to_the_studies_layer():
    from graphexp_db import studies

    assert mc.ntk_rate is studies.ntk_rate and mc.linearity is studies.linearity
    with pytest.raises(AttributeError):
        mc.no_such_name  # noqa: B018
