from fractions import Fraction

import pytest

from graphexp_db.spec import SpecError, parse_activation, parse_arch, parse_ensemble


def test_hash_is_canonical_and_order_independent():
    a = parse_arch("mlp:L=3,sw=1.5,sb=0.1")
    assert a.spec_hash == parse_arch("mlp:sb=1/10,sw=3/2,L=3").spec_hash
    assert a.spec_hash != parse_arch("mlp:L=3,sw=1.5,sb=0.2").spec_hash
    d1 = parse_arch('{"kind":"dag","edges":[[0,1],[1,2],[0,2]],"sw":1.0,"sb":0.0}')
    d2 = parse_arch('{"sb":0,"edges":[[0,2],[1,2],[0,1]],"kind":"dag","sw":1}')
    assert d1.spec_hash == d2.spec_hash and d1.sink == 2


def test_numbers_are_exact():
    assert parse_arch("mlp:L=1,sw=0.1").sw == Fraction(1, 10)
    assert parse_activation("poly:1/3,0.25").coeffs == (Fraction(1, 3), Fraction(1, 4))
    assert parse_ensemble("sparse:0.3").cumulant(4) == Fraction(3) / Fraction(3, 10) - 3


def test_dag_file(tmp_path):
    f = tmp_path / "net.json"
    f.write_text('{"kind":"dag","edges":[[0,1],[1,2],[0,2]]}')
    assert parse_arch(str(f)).n_nodes == 3


@pytest.mark.parametrize(
    "text,message",
    [
        ("mlp:L=0", "positive integer"),
        ("mlp:L=-2", "positive integer"),
        ("mlp:L=1.5", "positive integer"),
        ("mlp:L=2,sw=abc", "malformed sw"),
        ("mlp:L=2,sw=-1", "sw must be >= 0"),
        ("mlp:L=2,foo=1", "unknown parameter"),
        ("mlp:L", "malformed parameter"),
        ("cnn:L=2", "unknown architecture kind"),
        ('{"kind":"dag","edges":[[0,1],[1,2],[2,1]]}', "cycle"),
        ('{"kind":"dag","edges":[[0,1],[2,3],[1,3]]}', "unreachable"),
        ('{"kind":"dag","edges":[[0,1],[0,2]]}', "exactly one output"),
        ('{"kind":"dag","edges":[[0,1],', "malformed JSON"),
        ('{"kind":"dag","edges":[]}', "non-empty"),
    ],
)
def test_bad_architectures(text, message):
    with pytest.raises(SpecError, match=message) as err:
        parse_arch(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text", ["softplus", "poly:", "poly:1,x", "relu:2"])
def test_bad_activations(text):
    with pytest.raises(SpecError):
        parse_activation(text)


@pytest.mark.parametrize("text", ["sparse:0", "sparse:1.5", "sparse:-0.1", "sparse:", "cauchy", "gaussian:2"])
def test_bad_ensembles(text):
    with pytest.raises(SpecError):
        parse_ensemble(text)


@pytest.mark.parametrize(
    "name,m4", [("gaussian", 3), ("rademacher", 1), ("uniform", Fraction(9, 5)), ("sparse:1/4", 12)]
)
def test_ensemble_fourth_moments(name, m4):
    ens = parse_ensemble(name)
    assert ens.moment(2) == 1 and ens.moment(4) == m4
    assert ens.cumulant(4) == m4 - 3
