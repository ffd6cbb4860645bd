"""Hypothesis fuzz of every spec parser, the SQL allowlist and the CLI options (>= 2000 cases a run).

Each case must end in a result or in *one* one-line error of the project's error type
(:class:`graphexp_db.errors.GraphexpError`): never another exception, a traceback, a hang (every
case has a deadline) or a multi-line message.  The CLI cases go through the real command line
(typer's CliRunner, in process): exit 0, or exit 2 with exactly one ``error: ...`` line.  After the
CLI cases the catalogue fingerprint is unchanged and no file appeared.  ``CASES`` counts the cases
run (benchmarks/bench_hardening.py reports it).
"""

from __future__ import annotations

import string
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphexp_db.catalogue.readonly import check_readonly
from graphexp_db.errors import GraphexpError
from graphexp_db.spec import check_quantity, parse_activation, parse_arch, parse_ensemble, parse_number, parse_vector

CASES: Counter = Counter()

FAST = settings(max_examples=300, deadline=timedelta(seconds=3), database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
CLI = settings(max_examples=150, deadline=timedelta(seconds=20), database=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------- strategies
digits = st.text("0123456789", min_size=1, max_size=120)
exponent = st.one_of(st.integers(-400, 400), st.integers(-10**12, 10**12)).map(str)
number = st.one_of(
    st.integers(-10**80, 10**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.builds(lambda a, b: f"{a}.{b}", digits, digits),
    st.builds(lambda a, e: f"{a}e{e}", digits, exponent),
    st.builds(lambda a, e: f"{a}E+{e}", digits, exponent),
    st.builds(lambda a, b: f"{a}/{b}", digits, digits),
    st.sampled_from(["inf", "-inf", "nan", "1/0", "0x10", "1_000", "", " ", "--1", "1e", "e5", ".", "1..2", "½", "١٢", "1e999999999",
                     "9" * 5000, "0." + "0" * 300 + "1", "1/" + "0" * 50, "+", "1 2", "\x00", "1\n2"]),
    st.text(string.printable + "½٣", max_size=30),
)
small_int = st.integers(-3, 40).map(str)
key = st.sampled_from(["L", "sw", "sb", "p", "x", "", "L ", "=", "kind"])
param = st.builds(lambda k, v: f"{k}={v}", key, st.one_of(number, small_int, st.sampled_from(["inf", "INF", "infinity", "-inf"])))
colon_arch = st.builds(lambda kind, ps: f"{kind}:{','.join(ps)}", st.sampled_from(["mlp", "resnet", "dag", "MLP", "cnn", "", "mlp "]),
                       st.lists(param, max_size=5))
edge = st.lists(st.one_of(st.integers(-2, 12), st.integers(-10**15, 10**15), st.booleans(), st.floats(), st.text(max_size=3)),
                min_size=0, max_size=3)
json_value = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(), st.text(max_size=5)),
                          lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=4), c, max_size=4)), max_leaves=20)


def _dag_json(edges, sw, extra):
    import json

    obj = {"kind": "dag", "edges": edges, "sw": sw}
    obj.update(extra)
    try:
        return json.dumps(obj)
    except (ValueError, TypeError):
        return "{}"


dag_arch = st.builds(_dag_json, st.lists(edge, max_size=12), st.one_of(st.floats(), st.integers(-5, 5), st.text(max_size=4)),
                     st.dictionaries(st.sampled_from(["sb", "L", "zz", "kind"]), json_value, max_size=2))
nested = st.builds(lambda n, o, c: '{"kind":"dag","edges":' + o * n + c * n + "}", st.integers(1, 50_000), st.sampled_from(["[", "{"]),
                   st.sampled_from(["]", "}"]))
paths = st.sampled_from(["/dev/zero", "/dev/null", "/dev/urandom", "/etc", "/etc/passwd", "/nonexistent/x.json", "/proc/self/mem",
                         "/tmp", "x.json", "../x.json", "/", "/dev/stdin", "a/b"])
arch_text = st.one_of(colon_arch, dag_arch, nested, paths, st.text(max_size=60), json_value.map(lambda v: __import__("json").dumps(v)))
activation = st.one_of(st.builds(lambda cs: "poly:" + ",".join(cs), st.lists(number, max_size=80)),
                       st.sampled_from(["relu", "tanh", "erf", "sin", "gelu", "identity", "poly", "poly:", "RELU", "relu:1", "softplus", ""]),
                       st.text(max_size=40))
ensemble = st.one_of(st.builds(lambda p: f"sparse:{p}", number),
                     st.sampled_from(["gaussian", "complex", "rademacher", "uniform", "sparse", "real", "gue", "", "sparse:"]),
                     st.text(max_size=20))
vector = st.one_of(st.lists(number, max_size=20).map(",".join), st.text(max_size=50), st.integers(0, 30_000).map(lambda n: ",".join(["1"] * n)))


def _one_line_error(exc: BaseException) -> None:
    assert isinstance(exc, GraphexpError), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert msg and "\n" not in msg and len(msg) < 2000, msg


def _call(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except GraphexpError as exc:
        _one_line_error(exc)
        return None


# --------------------------------------------------------------------------- parsers
@FAST
@given(number)
def test_fuzz_parse_number(text):
    CASES["parse_number"] += 1
    q = _call(parse_number, text)
    if q is not None:
        assert max(len(str(abs(q.numerator))), len(str(q.denominator))) < 400


@FAST
@given(arch_text)
def test_fuzz_parse_arch(text):
    CASES["parse_arch"] += 1
    spec = _call(parse_arch, text)
    if spec is not None:
        assert spec.spec_hash == parse_arch(str(spec)).spec_hash if spec.kind != "dag" else len(spec.edges) >= 1


@FAST
@given(activation)
def test_fuzz_parse_activation(text):
    CASES["parse_activation"] += 1
    _call(parse_activation, text)


@FAST
@given(ensemble)
def test_fuzz_parse_ensemble(text):
    CASES["parse_ensemble"] += 1
    _call(parse_ensemble, text)


@FAST
@given(vector)
def test_fuzz_parse_vector(text):
    CASES["parse_vector"] += 1
    v = _call(parse_vector, text)
    if v is not None:
        assert 1 <= len(v) <= 10_000


@FAST
@given(st.sampled_from(["covariance", "ntk", "fourpoint", "jacobian", "trace", "gue", "x", ""]),
       st.one_of(st.none(), colon_arch), st.one_of(st.integers(-5, 100), st.integers(-10**20, 10**20)),
       st.one_of(st.none(), st.integers(-3, 100), st.integers(-10**20, 10**20)), st.one_of(st.none(), ensemble))
def test_fuzz_check_quantity(quantity, arch, order, p, ens):
    CASES["check_quantity"] += 1
    spec = _call(parse_arch, arch) if arch is not None else None
    _call(check_quantity, quantity, spec, order, p=p, ensemble=ens)


sql_atoms = st.sampled_from([
    "SELECT", "FROM", "operator_graph", "pairing", "WHERE", "1", "'x'", "''", '"', "'", "(", ")", ",", ";", "--", "/*", "*/", "U&", "E'",
    "$$", "\\", "pg_read_file", "lower", "count", "(*)", "::", "regproc", "xml", "query_to_xml", "UNION", "WITH", "RECURSIVE", "AS",
    "INSERT", "DELETE", "SET", "ROLE", "pg_catalog", ".", "[", "]", "`", "\x00", "\u200b", "ｓｅｌｅｃｔ", "\n", " ", "OPERATOR", "EXPLAIN",
    "ANALYZE", "ts_stat", "xpath", "load_extension", "generate_series", "||", "CAST", "TABLE", "VALUES", "?", "$1", ":x", "@", "#",
])
sql_text = st.one_of(st.lists(sql_atoms, max_size=30).map(" ".join), st.lists(sql_atoms, max_size=30).map("".join), st.text(max_size=200))


@settings(max_examples=400, deadline=timedelta(seconds=5), database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sql_text, st.sampled_from(["sqlite", "postgres"]))
def test_fuzz_check_readonly(sql, dialect):
    CASES["check_readonly"] += 1
    out = _call(check_readonly, sql, dialect)
    if out is not None:
        # what passes is one statement and still passes after the trimming (stable)
        assert check_readonly(out, dialect) == out


# --------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def catalogue():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
    from test_app_catalogue import build_scratch_catalogue, catalogue_checksum

    d = Path(tempfile.mkdtemp(prefix="gx-fuzz-"))
    url = f"sqlite:///{d / 'catalogue.sqlite'}"
    build_scratch_catalogue(url)
    yield d, url, (catalogue_checksum, catalogue_checksum(url))
    import shutil

    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def cli():
    import typer.testing as tt

    from graphexp_db.cli import app

    runner = tt.CliRunner()
    command, rebuild = tt._get_command(app), tt._get_command
    tt._get_command = lambda _app: command  # build the click command once (typer rebuilds it per invoke)

    def invoke(args, env=None):
        r = runner.invoke(app, args, env=env)
        err = r.stderr or ""
        assert r.exception is None or isinstance(r.exception, SystemExit), f"{args}: {r.exception!r}"
        assert "Traceback" not in err and "Traceback" not in (r.stdout or "")
        assert r.exit_code in (0, 2), (args, r.exit_code, err)
        if r.exit_code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
        return r

    yield invoke
    tt._get_command = rebuild


@CLI
@given(arch=arch_text, act=activation, x=vector, y=st.one_of(st.none(), vector))
def test_fuzz_cli_limit(cli, catalogue, arch, act, x, y):
    CASES["cli limit"] += 1
    d, url, _ = catalogue
    args = ["limit", "nngp", "--arch", arch, "--activation", act, "--x", x] + (["--y", y] if y is not None else [])
    cli(args, env={"GRAPHEXP_DB": url})


@CLI
@given(q=st.sampled_from(["covariance", "ntk", "fourpoint", "jacobian", "trace", "gue", "bogus"]), arch=st.one_of(st.none(), arch_text),
       p=st.one_of(st.none(), st.integers(-3, 40).map(str), st.text(max_size=5)), ens=ensemble,
       order=st.one_of(st.integers(65, 10**30).map(str), st.sampled_from(["-1", "x", "1e3", "", "2147483648"])))
def test_fuzz_cli_expand_refused_before_work(cli, catalogue, q, arch, p, ens, order):
    """Orders out of range: every combination must be refused at once, with one line (nothing filled)."""
    CASES["cli expand"] += 1
    d, url, _ = catalogue
    args = ["expand", "--quantity", q, "--order", order, "--ensemble", ens] + (["--arch", arch] if arch else []) + (["--p", p] if p else [])
    r = cli(args, env={"GRAPHEXP_DB": url})
    assert r.exit_code == 2


@CLI
@given(sql=sql_text, limit=st.one_of(st.integers(-5, 10**13), st.text(max_size=6)), timeout=st.one_of(st.floats(), st.text(max_size=6)))
def test_fuzz_cli_query(cli, catalogue, sql, limit, timeout):
    CASES["cli query"] += 1
    d, url, _ = catalogue
    cli(["query", "--db", url, "--limit", str(limit), "--timeout", str(timeout), "--", sql])


def test_fuzz_left_catalogue_and_files_alone(catalogue):
    """Runs after the CLI fuzz (file order): the catalogue is unchanged and only it is in its folder."""
    d, url, (checksum, before) = catalogue
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith("catalogue.sqlite")) == []
    assert checksum(url) == before


def test_fuzz_ran_at_least_2000_cases(request):
    ran = sum(CASES.values())
    print(f"fuzz cases run: {ran} {dict(CASES)}")
    if len(request.session.items) >= 12:  # the whole module ran (not a -k selection)
        assert ran >= 2000
