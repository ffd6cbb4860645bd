"""The activation registry (graphexp_db.activations): one entry per named activation, consistent with
the spec's names, and each entry's phi', Taylor jets and flags checked against phi itself."""

from __future__ import annotations

import numpy as np
import pytest

from graphexp_db.activations import REGISTRY, dphi, phi
from graphexp_db.gaussian import _QUAD_FUNCS, CLOSED_FORMS
from graphexp_db.montecarlo import KINKED_ACTIVATIONS
from graphexp_db.moments import method_of
from graphexp_db.spec import ACTIVATIONS, parse_activation

Z = np.linspace(-2.3, 2.1, 9) + 0.05     # away from relu's kink


def test_registry_names_are_the_spec_names():
    assert set(ACTIVATIONS) == set(REGISTRY) | {"identity", "poly"}
    assert all(name == info.name for name, info in REGISTRY.items())
    # every consumer derives its lists from the registry
    assert set(_QUAD_FUNCS) == {n for n, a in REGISTRY.items() if a.dual == "quadrature"}
    assert set(CLOSED_FORMS) == {n for n, a in REGISTRY.items() if a.dual == "closed-form"} | {"identity", "poly"}
    assert set(KINKED_ACTIVATIONS) == {"relu"}
    assert {n: method_of(n) for n in REGISTRY} == {n: a.oracle for n, a in REGISTRY.items()}


@pytest.mark.parametrize("name", sorted(REGISTRY) + ["identity", "poly:0.5,-1,0,1/3"])
def test_phi_prime_is_the_derivative_of_phi(name):
    act, h = parse_activation(name), 1e-6
    fd = (phi(act, Z + h) - phi(act, Z - h)) / (2 * h)
    assert np.allclose(dphi(act, Z), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", sorted(n for n, a in REGISTRY.items() if a.jet is not None))
def test_jets_are_the_derivatives_of_phi(name):
    info, h = REGISTRY[name], 1e-4
    d = info.jet(Z, 4)
    assert np.allclose(d[0], phi(parse_activation(name), Z), rtol=1e-14, atol=1e-15)
    for k in range(1, 5):   # central differences of the (k-1)-th jet
        fd = (info.jet(Z + h, k - 1)[k - 1] - info.jet(Z - h, k - 1)[k - 1]) / (2 * h)
        assert np.allclose(d[k], fd, rtol=1e-5, atol=1e-6), (name, k)
