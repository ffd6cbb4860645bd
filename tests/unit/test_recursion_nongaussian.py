"""Non-Gaussian weights in the layer recursion (rademacher, uniform, sparse:p), against references
that share nothing with it:

* exact enumeration of every sign pattern of small rademacher networks (N = 1, 2, 3);
* the same engine fed Gaussian cumulants equals the Gaussian (kernel / Price) engine exactly;
* Monte Carlo for uniform and sparse weights;
* the N^0 term at fixed d is the exact limit of the non-Gaussian first layer, not the NNGP.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from typer.testing import CliRunner

from graphexp_db.cli import app
from graphexp_db.expand import layer_dag
from graphexp_db.recursion import _CumulantEngine, series
from graphexp_db.spec import parse_activation, parse_arch, parse_ensemble

X2, Y2 = [F(1), F(2)], [F(1), F(-1)]
SB = 0.5


def _value(coeffs, N):
    return float(sum(v * F(1, N) ** j for j, v in coeffs.items()))


def _phi(c):
    return lambda z: sum(ck * z**k for k, ck in enumerate(c))


def _all_signs(n):
    return np.array(list(itertools.product((-1.0, 1.0), repeat=n)))


def _rademacher_parts(L, N, d):
    """Every sign pattern of the weights and biases of an MLP(L): [W1, b1, ..., W_(L+1), b_(L+1)]."""
    sizes = [(N, d), (N,)] + [(N, N), (N,)] * (L - 1) + [(N,), ()]
    S = _all_signs(sum(math.prod(s) for s in sizes))
    parts, at = [], 0
    for s in sizes:
        k = math.prod(s)
        parts.append(S[:, at:at + k].reshape((len(S),) + s))
        at += k
    return parts


def _rademacher_mlp_outputs(L, N, c, inputs):
    """f at each input for every sign pattern of an MLP(L) of width N (sw = 1, sb = 1/2)."""
    phi = _phi(c)
    parts = _rademacher_parts(L, N, len(inputs[0]))
    out = []
    for x in inputs:
        x = np.array([float(v) for v in x])
        h = parts[0] @ x / math.sqrt(len(x)) + SB * parts[1]
        for layer in range(L - 1):
            W, b = parts[2 + 2 * layer], parts[3 + 2 * layer]
            h = np.einsum("snk,sk->sn", W, phi(h)) / math.sqrt(N) + SB * b
        out.append(np.einsum("sk,sk->s", parts[-2], phi(h)) / math.sqrt(N) + SB * parts[-1])
    return out


def _rademacher_mlp_ntk(L, N, c, x, y):
    """Theta(x, y) for every sign pattern of an MLP(L) of width N."""
    return _mlp_ntk(_rademacher_parts(L, N, len(x)), L, N, c, x, y)


def _mlp_ntk(parts, L, N, c, x, y):
    """Theta(x, y) = grad f(x) . grad f(y) (NTK parametrisation, sw = 1, sb = 1/2) of each network in
    ``parts`` ([W1, b1, ..., W_(L+1), b_(L+1)], leading axis: the networks), by backpropagation:
    layer l contributes (a_(l-1)(x).a_(l-1)(y) / fan_in + sb^2) (delta_l(x).delta_l(y))."""
    phi, dphi = _phi(c), _phi(tuple(k * ck for k, ck in enumerate(c))[1:])
    Ws = [parts[0]] + [parts[2 + 2 * k] for k in range(L - 1)] + [parts[-2][:, None, :]]
    bs = [parts[2 * k + 1] for k in range(L)] + [parts[-1][:, None]]

    def forward(inp):
        a = [np.broadcast_to(np.array([float(v) for v in inp]), (len(parts[0]), len(inp)))]
        hs = []
        for W, b in zip(Ws, bs):
            hs.append(np.einsum("snk,sk->sn", W, a[-1]) / math.sqrt(a[-1].shape[1]) + SB * b)
            a.append(phi(hs[-1]))
        deltas = [np.ones_like(hs[-1])]                     # df/dh at the output
        for layer in range(L, 0, -1):
            back = np.einsum("sn,snk->sk", deltas[0], Ws[layer]) / math.sqrt(N)
            deltas.insert(0, back * dphi(hs[layer - 1]))
        return a, deltas

    (ax, dx), (ay, dy) = forward(x), forward(y)
    return sum((np.einsum("sk,sk->s", ax[l], ay[l]) / ax[l].shape[1] + SB**2) * np.einsum("sn,sn->s", dx[l], dy[l])
               for l in range(L + 1))


@pytest.mark.parametrize("L,N", [(1, 1), (1, 3), (2, 1), (2, 2)])
def test_rademacher_ntk_mean_equals_exact_enumeration(L, N):
    c = (0.0, 1.0, 0.5)
    s = series(parse_arch(f"mlp:L={L},sw=1,sb=1/2"), "poly:0,1,1/2", [X2, Y2], "ntk", ensemble="rademacher")
    exact = float(np.mean(_rademacher_mlp_ntk(L, N, c, X2, Y2)))
    assert _value(s, N) == pytest.approx(exact, rel=1e-12)
    gauss = series(parse_arch(f"mlp:L={L},sw=1,sb=1/2"), "poly:0,1,1/2", [X2, Y2], "ntk")
    assert s != gauss          # the weight cumulants enter (first layer at fixed d, kappa_4 at 1/N)


@pytest.mark.parametrize("ensemble", ["uniform", "sparse:1/2"])
def test_uniform_and_sparse_ntk_mean_match_monte_carlo(ensemble):
    L, N, c, S = 2, 3, (0.0, 1.0, 0.5), 400_000
    arch = parse_arch("mlp:L=2,sw=1,sb=1/2")
    s = series(arch, "poly:0,1,1/2", [X2, Y2], "ntk", ensemble=ensemble)
    draw, rng, d = DRAW[ensemble], np.random.default_rng(11), len(X2)
    theta = np.concatenate([_mlp_ntk([draw(rng, (B,) + shape) for shape in [(N, d), (N,), (N, N), (N,), (N,), ()]], L, N, c, X2, Y2)
                            for B in [50_000] * (S // 50_000)])
    err = theta.std() / math.sqrt(S)
    assert abs(theta.mean() - _value(s, N)) < 4 * err, (theta.mean(), _value(s, N), err)
    assert abs(theta.mean() - float(s[0])) > 4 * err      # the 1/N terms are resolved


@pytest.mark.parametrize("N", [1, 2])
def test_rademacher_depth2_covariance_equals_exact_enumeration(N):
    c = (0.0, 1.0, 0.5)
    s = series(parse_arch("mlp:L=2,sw=1,sb=1/2"), "poly:0,1,1/2", [X2, Y2], "covariance", ensemble="rademacher")
    fx, fy = _rademacher_mlp_outputs(2, N, c, [X2, Y2])
    assert _value(s, N) == pytest.approx(float(np.mean(fx * fy)), rel=1e-12)


@pytest.mark.parametrize("N", [1, 2, 3])
def test_rademacher_fourpoint_equals_exact_enumeration(N):
    c = (0.0, 1.0, 1.0)
    s = series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [X2], "fourpoint", ensemble="rademacher")
    (f,) = _rademacher_mlp_outputs(1, N, c, [X2])
    exact = np.mean(f**4) - 3 * np.mean(f**2) ** 2
    assert _value(s, N) == pytest.approx(float(exact), rel=1e-12)
    assert s[0] == F(-2) * F(1, 2) ** 4    # kappa_4 of the rademacher output bias: c4 sb^4


@pytest.mark.parametrize("quantity", ["covariance", "ntk", "fourpoint", "fourpoint-mixed"])
def test_gaussian_cumulants_reproduce_the_gaussian_engine(quantity):
    arch = parse_arch("mlp:L=3,sw=1.1,sb=0.3")
    act = "poly:0.1,1,-1/5"
    xs = [[F("1"), F("0.5"), F("-0.3")], [F("0.2"), F("-1"), F("0.7")]]
    xs = xs[:1] if quantity == "fourpoint" else xs
    cum = _CumulantEngine(layer_dag(arch), arch, parse_activation(act), parse_ensemble("gaussian"), xs, quantity, None).run()
    assert cum == series(arch, act, xs, quantity)


def _mlp_mc(L, N, c, inputs, draw, S, rng, batch=50_000):
    phi = _phi(c)
    inp = np.array([[float(v) for v in x] for x in inputs])
    d = inp.shape[1]
    out = []
    for start in range(0, S, batch):
        B = min(batch, S - start)
        h = np.einsum("bnd,md->bmn", draw(rng, (B, N, d)), inp) / math.sqrt(d) + SB * draw(rng, (B, 1, N))
        for _ in range(L - 1):
            h = np.einsum("bnk,bmk->bmn", draw(rng, (B, N, N)), phi(h)) / math.sqrt(N) + SB * draw(rng, (B, 1, N))
        out.append(np.einsum("bk,bmk->bm", draw(rng, (B, N)), phi(h)) / math.sqrt(N) + SB * draw(rng, (B, 1)))
    return np.concatenate(out)


DRAW = {
    "uniform": lambda rng, s: rng.uniform(-math.sqrt(3), math.sqrt(3), s),
    "sparse:1/2": lambda rng, s: rng.standard_normal(s) * (rng.random(s) < 0.5) * math.sqrt(2),
}


@pytest.mark.parametrize("ensemble", ["uniform", "sparse:1/2"])
def test_uniform_and_sparse_covariance_match_monte_carlo(ensemble):
    N = 4
    s = series(parse_arch("mlp:L=2,sw=1,sb=1/2"), "poly:0,1,1/2", [X2, Y2], "covariance", ensemble=ensemble)
    f = _mlp_mc(2, N, (0.0, 1.0, 0.5), [X2, Y2], DRAW[ensemble], 1_000_000, np.random.default_rng(5))
    prod = f[:, 0] * f[:, 1]
    z = (prod.mean() - _value(s, N)) / (prod.std() / math.sqrt(len(prod)))
    assert abs(z) < 4, (ensemble, z)
    z0 = (prod.mean() - float(s[0])) / (prod.std() / math.sqrt(len(prod)))
    assert abs(z0) > 4    # the 1/N terms are resolved


def test_fixed_d_limit_is_the_exact_first_layer_law_not_the_nngp():
    # N -> inf with d = 2 fixed, one hidden layer: E[phi(h_x) phi(h_y)] + sb^2 over the 2^3 sign
    # patterns of (W1 row, b1), exactly; the Gaussian NNGP differs
    c = (F(0), F(1), F(1))
    phi = _phi(c)
    total = 0.0
    for w1, w2, b in itertools.product((-1, 1), repeat=3):
        # h = (w.x)/sqrt(2) + b/2 (sqrt(2) is irrational: floats)
        ux = (w1 * 1 + w2 * 2) / math.sqrt(2) + 0.5 * b
        uy = (w1 * 1 - w2 * 1) / math.sqrt(2) + 0.5 * b
        total += phi(ux) * phi(uy)
    exact_limit = total / 8 + 0.25
    s = series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [X2, Y2], "covariance", ensemble="rademacher")
    gauss = series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [X2, Y2], "covariance")
    assert float(s[0]) == pytest.approx(exact_limit, rel=1e-12)
    assert abs(float(gauss[0]) - float(s[0])) > 1


def test_cli_ensemble_contract_and_refusals():
    runner = CliRunner()
    r = runner.invoke(app, ["finite-width", "covariance", "--arch", "mlp:L=2,sw=1,sb=0.5", "--activation", "poly:0,1,1/2",
                            "--x", "1,2", "--y", "1,-1", "--ensemble", "rademacher", "--json"])
    assert r.exit_code == 0, r.output
    import json

    out = json.loads(r.stdout)
    assert out["ensemble"] == "rademacher" and out["method"] == "recursion"
    assert out["coefficients_exact"] == {"0": "71675/16384", "1": "-22993/8192"}
    for args, needle in [(["covariance", "--ensemble", "rademacher", "--method", "graphs"], "layer recursion"),
                         (["ntk", "--ensemble", "rademacher", "--activation", "tanh"], "polynomial activation"),
                         (["covariance", "--ensemble", "complex"], "trace words")]:
        r = runner.invoke(app, ["finite-width", args[0], "--arch", "mlp:L=2", "--activation", "poly:0,1,1/2", "--x", "1,2",
                                "--y", "1,-1", *args[1:]])
        assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.output


@pytest.mark.parametrize("ensemble", ["rademacher", "uniform", "sparse:1/3"])
def test_non_gaussian_truncation_keeps_the_leading_coefficients(ensemble):
    arch = parse_arch("mlp:L=3,sw=1,sb=1/2")
    for quantity, xs in [("covariance", [X2, Y2]), ("fourpoint", [X2])]:
        full = series(arch, "poly:0,1,1/2", xs, quantity, ensemble=ensemble)
        assert len(full) >= 3
        for J in (0, 1, 2):
            assert series(arch, "poly:0,1,1/2", xs, quantity, ensemble=ensemble, max_order=J) == {j: v for j, v in full.items() if j <= J}


def test_simulate_kernel_reports_the_exact_fixed_d_limit():
    import json

    r = CliRunner().invoke(app, ["simulate", "kernel", "--arch", "mlp:L=2,sw=1,sb=0.5", "--activation", "poly:0,1,1/2",
                                 "--x", "1,2", "--y", "1,-1", "--width", "128", "--samples", "4000", "--ensemble", "rademacher",
                                 "--seed", "0", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["nngp_limit_fixed_d"] == float(F(71675, 16384))           # the N^0 term, exactly
    # the Monte Carlo estimate at N = 128 sits at the fixed-d limit (+ a1/N), far from the Gaussian NNGP
    expected = float(F(71675, 16384) - F(22993, 8192) / 128)
    assert abs(out["nngp"] - expected) < 4 * out["nngp_stderr"]
    assert abs(out["nngp"] - out["nngp_limit"]) > 4 * out["nngp_stderr"]


def test_the_pairing_route_refuses_network_graphs_with_non_gaussian_weights():
    # its cumulant partitions give 3.28 at N^0 for this covariance where every sign pattern gives
    # 4.37 (test above): refused with one line instead of a wrong number
    from graphexp_db.graph_sums import _graphs, _poly, graph_terms, tree_values
    from graphexp_db.spec import SpecError

    arch, act = parse_arch("mlp:L=2,sw=1,sb=1/2"), _poly(parse_activation("poly:0,1,1/2"))
    g = next(iter(_graphs(arch, "covariance", act, tree_values(arch, act, [X2, Y2]))))
    with pytest.raises(SpecError, match="layer recursion"):
        graph_terms(g, "rademacher")
    assert graph_terms(g, "gaussian")
