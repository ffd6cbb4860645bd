"""Every page of the web UI with streamlit.testing.v1.AppTest against a scratch catalogue."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_app_catalogue import build_scratch_catalogue, catalogue_checksum  # noqa: E402

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")
TIMEOUT = 30


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    path = tmp_path_factory.mktemp("app") / "catalogue.sqlite"
    url = f"sqlite:///{path}"
    label = build_scratch_catalogue(url)
    return url, label


@pytest.fixture
def app(catalogue, monkeypatch):
    monkeypatch.setenv("GRAPHEXP_DB", catalogue[0])

    def make(_page: str | None = None, /, **query):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        if _page:
            at.switch_page(f"app_pages/{_page}.py")
            for k, v in query.items():
                at.query_params[k] = v
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make


def _df(at, *cols):
    """The first dataframe whose columns include ``cols`` (dataframes without selection carry no key)."""
    for d in at.dataframe:
        v = d.value
        if all(c in v.columns for c in cols):
            return v
    raise AssertionError(f"no dataframe with columns {cols}")


def c_limits_available() -> bool:
    try:
        from graphexp_db import limits  # noqa: F401
    except ImportError:
        return False
    return True


def _n_images(at) -> int:
    return sum(type(e).__name__ == "Image" for e in at.main)


def _texts(at) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "error", "warning", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def _charts(at) -> dict:
    """The data handed to each chart of the last run (``common.record_chart``)."""
    return at.session_state["charts"] if "charts" in at.session_state else {}


def _sql(url: str, sql: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    eng = create_engine(url, poolclass=NullPool)
    with eng.connect() as conn:
        rows = conn.execute(text(sql)).all()
    eng.dispose()
    return rows


# --------------------------------------------------------------------------- home
def test_home(app):
    at = app()
    assert at.title[0].value == "graphexp-db"
    from graphexp_db._version import __version__

    assert any(__version__ in cap.value for cap in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["operator graphs"].replace(",", "")) > 0
    assert "How to cite" in [s.value for s in at.subheader]
    assert any("arXiv:2407.08459" in m.value for m in at.markdown)
    bib = [c.value for c in at.code if "@software" in c.value]
    assert bib and f"version = {{{__version__}}}" in bib[0] and "arXiv:2310.01683" in bib[0]
    assert at.selectbox(key="home_quantity").value == "gue"
    assert len(at.dataframe) >= 2
    chart = _charts(at)["genus_by_order"]
    assert chart["quantity"] == "gue"
    o6 = chart["data"][chart["data"]["order"] == 6]
    assert dict(zip(o6["surface"], o6["count"])) == {"S0": "132", "S1": "2310", "S2": "6468", "S3": "1485"}  # Harer-Zagier, n = 6


def test_home_random_button_opens_detail(app):
    at = app()
    at.button(key="random").click().run()
    assert not at.exception
    assert any(t.value.startswith("Operator graph ") for t in at.title)


def test_home_label_opens_the_same_detail_as_browse(app, catalogue):
    home = app(label=catalogue[1])
    browse = app("browse", label=catalogue[1])
    assert home.title[0].value == browse.title[0].value == f"Operator graph {catalogue[1]}"
    assert [c.value for c in home.code] == [c.value for c in browse.code]


# --------------------------------------------------------------------------- browse
def test_browse_url_contract_genus_search_is_exact(app):
    """/browse?quantity=gue&order=6&genus=3 lists gue.gue.o6.1 although none of its stored orbit rows
    has genus 3 (they stop at the budget): the search reads the aggregates of all 10395 pairings."""
    at = app("browse", quantity="gue", order="6", genus="3")
    df = _df(at, "label", "by_surface")
    assert list(df["label"]) == ["gue.gue.o6.1"]
    row = df.iloc[0]
    # Harer-Zagier: tr H^12 has 132, 2310, 6468, 1485 pairings of genus 0..3
    assert row["by_surface"] == "S0: 132, S1: 2310, S2: 6468, S3: 1485"
    assert (row["min_genus"], row["max_genus"], row["n_leading"]) == (0, 3, "132")
    assert not bool(row["orbit_rows_complete"])
    assert at.multiselect(key="quantity").value == ["gue"]
    assert at.slider(key="rng_order").value == (6, 6) and at.slider(key="rng_genus").value == (3, 3)


def test_browse_genus_and_nexp_sliders_span_the_aggregates(app, catalogue):
    at = app("browse")
    (gmax,) = _sql(catalogue[0], "SELECT MAX(CAST(SUBSTR(surface, 2) AS INTEGER)) FROM pairing_aggregate WHERE surface LIKE 'S%'")[0]
    (nmin,) = _sql(catalogue[0], "SELECT MIN(n_exponent) FROM pairing_aggregate WHERE surface <> 'none'")[0]
    assert gmax == 3 and at.slider(key="rng_genus").max == gmax
    assert at.slider(key="rng_nexp").min == nmin == -6


def test_browse_search_and_filters(app):
    at = app("browse")
    assert at.title[0].value == "Browse expansions"
    assert at.multiselect(key="columns").value
    assert at.selectbox(key="sort").value == "label"
    df = _df(at, "label", "quantity")
    n_all = len(df)
    assert n_all > 0 and "label" in df.columns
    at.multiselect(key="quantity").set_value(["gue"]).run()
    df = _df(at, "label", "quantity")
    assert set(df["quantity"]) == {"gue"} and len(df) < n_all
    at.checkbox(key="leading").check().run()
    assert not at.exception
    at.selectbox(key="sort").set_value("order").run()
    at.checkbox(key="desc").check().run()
    df = _df(at, "label", "quantity")
    assert list(df["order"]) == sorted(df["order"], reverse=True)


def test_browse_search_prefilled_from_query(app):
    at = app("browse", quantity="trace", order="3")
    df = _df(at, "label", "quantity")
    assert set(df["quantity"]) == {"trace"} and set(df["order"]) == {3}


def test_browse_pagination_true_total_and_natural_sort(app, catalogue):
    (n,) = _sql(catalogue[0], "SELECT COUNT(*) FROM operator_graph")[0]
    assert n == 15
    at = app("browse", per_page="10", page="2")
    assert any(f"**{n:,}** operator graph(s) match; rows 11–15 on page 2 of 2" in m.value for m in at.markdown), [m.value for m in at.markdown][:3]
    df = _df(at, "row", "label")
    assert list(df["row"]) == list(range(11, 16))
    labels = [r[0] for r in _sql(catalogue[0], "SELECT label FROM operator_graph")]
    from graphexp_db.catalogue.browse import natural_key

    assert list(df["label"]) == sorted(labels, key=natural_key)[10:15]
    mlp = [lab for lab in sorted(labels, key=natural_key) if lab.startswith("mlp-L2.cov.o2.")]
    assert [int(x.rsplit(".", 1)[1]) for x in mlp] == sorted(int(x.rsplit(".", 1)[1]) for x in mlp)


def test_browse_detail_deep_link(app, catalogue):
    at = app("browse", label=catalogue[1])
    assert at.title[0].value == f"Operator graph {catalogue[1]}"
    assert {"Operator graph", "Pairing", "Embedding", "Downloads", "Reproduce"} <= {s.value for s in at.subheader}
    assert _n_images(at) >= 2  # the operator graph and the pairing drawing
    codes = [c.value for c in at.code]
    assert any("graphexp expand" in c for c in codes) and any("graphexp_db import" in c for c in codes)
    emb = _df(at, "field", "value", "meaning")
    assert {"V", "E", "chi", "n_exponent"} <= set(emb["field"])
    meaning = dict(zip(emb["field"], emb["meaning"]))
    assert meaning["V"].startswith("Vertices: hidden index classes")  # a quotient graph, not a ribbon graph
    assert len(at.get("download_button")) == 4
    assert any("simple-graph export" in cap.value for cap in at.caption)
    fields = set()
    for d in at.dataframe:
        v = d.value
        if list(v.columns) == ["field", "value"]:
            fields |= set(v["field"])
    assert {"method", "code version", "device", "started (UTC)", "spec as written"} <= fields


def test_browse_detail_names_the_orbit_budget(app):
    at = app("browse", label="gue.gue.o6.1")
    text = _texts(at)
    assert "orbit rows stored: 64 of 902 orbits" in text and "10395 pairings" in text
    agg = _df(at, "surface", "count")
    assert dict(zip(agg["surface"], agg["count"])) == {"S0": "132", "S1": "2310", "S2": "6468", "S3": "1485"}


def test_browse_back_keeps_the_search(app):
    at = app("browse", quantity="gue", label="gue.gue.o6.1")
    assert at.title[0].value == "Operator graph gue.gue.o6.1"
    at.button(key="back").click().run()
    assert not at.exception
    assert at.title[0].value == "Browse expansions"
    assert "label" not in at.query_params
    # AppTest does not carry widget-bound parameters (quantity) from one run to the next as a browser's
    # URL does; test_browser.py checks that the URL after "back" still holds the search.  The
    # unbound range filters are kept here too:
    at = app("browse", order="6", genus="3", label="gue.gue.o6.1")
    at.button(key="back").click().run()
    assert at.query_params.get("order") == "6" and at.query_params.get("genus") == "3" and "label" not in at.query_params
    assert list(_df(at, "label", "quantity")["label"]) == ["gue.gue.o6.1"]


def test_browse_detail_chord_diagram_for_trace_words(app):
    at = app("browse", label="gue.gue.o2.1")
    assert not at.exception
    sel = at.selectbox(key="pairing")
    assert len(sel.options) == 3
    sel.set_value(2).run()
    assert not at.exception
    assert _n_images(at) >= 2
    emb = _df(at, "field", "value", "meaning")
    assert "genus" in set(emb["field"])
    meaning = dict(zip(emb["field"], emb["meaning"]))
    assert meaning["V"] == "Vertices: the number of traces in the word." and meaning["kind"].startswith("ribbon")


def test_browse_unknown_label(app):
    at = app("browse", label="no-such-label")
    assert any("No operator graph" in e.value for e in at.error)


def test_reproduce_blocks_run(tmp_path):
    """The Reproduce block of a DAG graph runs: the CLI line fills a catalogue with the same label and
    the Python snippet rebuilds the same graph (its n_edges and pairing count are printed)."""
    import contextlib
    import io
    import shlex
    import subprocess

    from sqlalchemy import create_engine

    from graphexp_db.catalogue.browse import graph_detail
    from graphexp_db.catalogue.engine import get_engine
    from graphexp_db.catalogue.fill import fill_expansion
    from graphexp_db.catalogue.migrate import ensure_schema
    from graphexp_db.formats import reproduce_commands
    from graphexp_db.spec import parse_arch

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    eng = get_engine(url)
    ensure_schema(eng)
    fill_expansion(eng, parse_arch('{"kind":"dag","edges":[[0,1],[0,2],[1,2]]}'), "covariance", 1)
    eng.dispose()
    eng = create_engine(url)
    label = "dag-eb72d7af.cov.o1.2"
    d = graph_detail(eng, label)
    cli, py = reproduce_commands(d["graph"], d["architecture"])
    assert "dag-eb72d7af'" not in cli and '"edges"' in cli
    out_url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for line in cli.splitlines():
        argv = shlex.split(line)
        assert argv[0] == "graphexp"
        r = subprocess.run([sys.executable, "-m", "graphexp_db.cli", *argv[1:], "--db", out_url], capture_output=True, text=True, env=env,
                           cwd=str(ROOT), timeout=120)
        assert r.returncode == 0, r.stderr
    assert label in r.stdout.replace("\n", "") or _sql(out_url, f"SELECT label FROM operator_graph WHERE label = '{label}'") == [(label,)]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(py, {})
    assert buf.getvalue().split() == [str(d["graph"]["n_edges"]), str(d["graph"]["n_pairings"])]
    eng.dispose()


# --------------------------------------------------------------------------- limits
def test_limits_page(app):
    at = app("limits")
    assert at.title[0].value == "Limits and moments"
    assert at.text_input(key="arch").value.startswith("mlp:")
    at.text_input(key="activation").set_value("poly:0,1,0.5")
    at.button(key="compute_kernels").click().run()
    assert not at.exception
    k = _df(at, "kernel", "value")
    vals = dict(zip(k["kernel"], k["value"]))
    from fractions import Fraction

    # the closed-form recursion and the leading-order graph sum agree (polynomial activation)
    assert abs(float(vals["NNGP"]) - float(Fraction(vals["NNGP (graph sum)"]))) < 1e-9
    assert abs(float(vals["NTK"]) - float(Fraction(vals["NTK (graph sum)"]))) < 1e-9
    assert "/" not in vals["NNGP (graph sum)"]  # a power-of-ten denominator shows as its decimal
    at.button(key="compute_series").click().run()
    assert not at.exception and not at.error
    assert _n_images(at) >= 1  # the log-log convergence plot
    at.button(key="compute_moments").click().run()
    assert not at.exception
    moments = _df(at, "k", "m_k")
    # identity activation, L = 2, sw = 1: m_k = FussCatalan_3(k) = 1, 4, 22, ...
    assert [round(v, 9) for v in moments["m_k"][:3]] == [1, 4, 22]
    dens = _charts(at)["density"]
    assert dens["yscale"] == "log" and dens["depth"] == "2"
    series = set(dens["data"]["series"])
    assert any(s.startswith("limit density, L = 2") for s in series) and any(s.startswith("Monte Carlo N = 256, L = 2") for s in series)
    mc = dens["data"][dens["data"]["series"].str.startswith("Monte Carlo")]
    assert len(mc) == 60 and (mc["density"] >= 0).all() and abs(float((mc["density"] * 0).sum())) == 0
    assert "Stored results" in [s.value for s in at.subheader]


def test_limits_finite_series_against_monte_carlo(app):
    """The chart's data: the series sum_j a_j N^-j of the layer recursion (relu, N^0..N^-1) and Monte Carlo
    means at N = 4..32 with standard errors, which agree within 4 sigma while the limit alone does not."""
    from graphexp_db.finite import covariance_series
    from graphexp_db.spec import parse_arch

    at = app("limits")
    at.button(key="compute_series").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ch = _charts(at)["finite_series"]
    assert ch["x"] == "N" and ch["y"] == "E[f(x) f(y)]"
    s = covariance_series(parse_arch("mlp:L=2,sw=1.5,sb=0.1"), "relu", [1, 0.5, -0.3], [0.2, -1, 0.7], max_order=1)
    assert set(s) == {0, 1} and ch["limit"] == pytest.approx(s[0], rel=1e-12)
    data = ch["data"]
    ser = data[data["kind"] == "series"]
    assert ser["N"].min() == pytest.approx(4) and ser["N"].max() == pytest.approx(1024)
    for N, v in zip(ser["N"], ser["value"]):
        assert v == pytest.approx(s[0] + s[1] / N, rel=1e-12)
    mc = data[data["kind"] == "monte carlo"]
    assert list(mc["N"]) == [4, 8, 16, 32]
    z = [(m - (s[0] + s[1] / N)) / e for N, m, e in zip(mc["N"], mc["value"], mc["stderr"])]
    assert all(abs(v) < 4 for v in z), z
    assert abs(float(mc["value"].iloc[0]) - s[0]) > 4 * float(mc["stderr"].iloc[0])   # the 1/N term is visible


def test_limits_inputs_come_from_the_url(app):
    at = app("limits", arch="mlp:L=3,sw=1", activation="erf", jarch="mlp:L=1,sw=1", k_max="3")
    assert at.text_input(key="arch").value == "mlp:L=3,sw=1" and at.text_input(key="activation").value == "erf"
    assert at.text_input(key="jarch").value == "mlp:L=1,sw=1" and at.number_input(key="k_max").value == 3


def test_limits_bad_input_one_line(app):
    at = app("limits")
    at.text_input(key="x").set_value("1,abc")
    at.button(key="compute_kernels").click().run()
    assert not at.exception
    assert any("Bad input" in e.value for e in at.error)
    at.text_input(key="x").set_value("1,0.5,-0.3")
    at.text_input(key="arch").set_value("mlp:L=two")
    at.text_input(key="activation").set_value("poly:0,1")
    at.button(key="compute_kernels").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value and "L" in at.error[0].value


def test_limits_budget_is_stated_when_hit(app, monkeypatch):
    # a budget far below what the Monte Carlo spectrum (N = 256) needs: the page says which budget stopped it
    monkeypatch.setenv("GRAPHEXP_UI_TIME_S", "0.05")
    at = app("limits")
    assert any("budget of 0.05 s" in cap.value for cap in at.caption)
    at.button(key="compute_moments").click().run()
    assert not at.exception
    msgs = [e.value for e in at.error] + [cap.value for cap in at.caption]
    assert any("time budget of 0.05 s" in m for m in msgs), msgs
    assert all("\n" not in e.value for e in at.error)
    # hostile numbers are rejected or stopped, never a hang: one line either way
    monkeypatch.setenv("GRAPHEXP_UI_TIME_S", "3")
    at.text_input(key="arch").set_value("mlp:L=2,sw=1e999999999")
    at.button(key="compute_kernels").click().run()
    assert not at.exception
    assert len(at.error) == 1 and ("time budget of 3 s" in at.error[0].value or "SpecError" in at.error[0].value)


def test_limits_stored_results_are_readable(app):
    at = app("limits")
    lim = _df(at, "architecture", "inputs")
    assert "architecture_id" not in lim.columns and "params_hash" not in lim.columns and "inputs_json" not in lim.columns
    assert lim["architecture"].iloc[0] == "mlp:L=2,sw=1.4142135623730951,sb=0"  # not 14142135623730951/10^16
    assert lim["value_exact"].iloc[0] == "0.75" and lim["inputs"].iloc[0] == "x = (1, 0); y = (0.5, 0.5)"
    stored = _charts(at)["stored_density"]
    assert stored["yscale"] == "log" and all("L = 2" in s for s in set(stored["data"]["series"]))
    assert any(e.label.startswith("Provenance of row 1 of limit_value") for e in at.expander)


# --------------------------------------------------------------------------- studies
def _study_ids(url: str, kind: str) -> dict[str, int]:
    return {a: int(i) for i, a in _sql(url, f"SELECT id, activation FROM simulation WHERE kind = '{kind}' ORDER BY id")}


def test_commutativity_one_study_at_a_time(app, catalogue):
    from test_app_catalogue import COMMUTATIVITY

    ids = _study_ids(catalogue[0], "commutativity")
    at = app("commutativity")
    assert at.title[0].value == "Width/depth commutativity"
    for act in ("tanh", "relu"):
        if act == "relu":
            at = app("commutativity", study=str(ids["relu"]))
        limit, a = COMMUTATIVITY[act]
        ch = _charts(at)
        heat = ch["heatmap"]
        assert heat["study"] == ids[act] and heat["colour"] == "error" and heat["colour_scale"] == "log"
        assert heat["limit"] == pytest.approx(limit)
        grid = heat["data"]
        assert len(grid) == 9  # one study's 3 x 3 grid, never two studies averaged
        assert list(grid["error"]) == pytest.approx([a / n + a / L for n, L in zip(grid["N"], grid["L"])])
        metric = {m.label: m.value for m in at.metric}
        assert float(metric["ODE limit C_ODE(x, y)"]) == pytest.approx(limit)
        wf, df, joint = ch["width_first"], ch["depth_first"], ch["joint"]
        assert wf["x"] == "L" and list(wf["data"]["L"]) == [2, 4, 8] and set(wf["data"]["N"]) == {32}
        assert list(wf["data"]["error"]) == pytest.approx([a / 32 + a / L for L in (2, 4, 8)])
        assert df["x"] == "N" and list(df["data"]["N"]) == [8, 16, 32] and set(df["data"]["L"]) == {8}
        assert joint["x"] == "step" and list(zip(joint["data"]["N"], joint["data"]["L"])) == [(8, 2), (16, 4), (32, 8)]
        assert all(v["study"] == ids[act] for v in ch.values())
    assert any(e.label.startswith(f"Provenance of study #{ids['relu']}") for e in at.expander)


def test_commutativity_compute_button(app):
    at = app("commutativity")
    at.number_input(key="L_max").set_value(4)
    at.button(key="compute_resnet").click().run()
    assert not at.exception and not at.error
    rows = at.dataframe[-1].value
    assert list(rows["L"]) == ["1", "2", "4", "inf"]
    errs = list(rows["|C_L − C_ODE|"])
    assert errs[-1] == 0 and errs[0] > errs[1] > errs[2] > 0  # the Euler scheme converges like 1/L


def test_linearity_per_dag_and_per_quantity(app, catalogue):
    from test_app_catalogue import DAG_DIAMOND, LINEARITY_WIDTHS

    arch = {s: int(i) for i, s in _sql(catalogue[0], "SELECT a.id, a.spec FROM simulation s JOIN architecture a ON a.id = s.architecture_id "
                                                      "WHERE s.kind = 'linearity'")}
    at = app("linearity")
    assert at.title[0].value == "Transition to linearity"
    first = _charts(at)
    assert set(first) == {"hessian_norm", "ntk_change"}
    for q, slope in (("hessian_norm", -0.5), ("ntk_change", -1.0)):
        ch = first[q]
        assert ch["x"] == "m" and ch["y"] == q and list(ch["data"]["m"]) == list(LINEARITY_WIDTHS)
        assert ch["slope"] == pytest.approx(slope) and ch["slope_ci"][0] <= slope <= ch["slope_ci"][1]
    assert list(first["hessian_norm"]["data"]["value"]) == pytest.approx([m**-0.5 for m in LINEARITY_WIDTHS])
    slopes = {m.label: m.value for m in at.metric}
    assert slopes["fitted log-log slope (‖H‖₂)"] == "-0.500" and slopes["fitted log-log slope (NTK drift)"] == "-1.000"
    # the DAG picker changes the plotted data: the diamond's Hessian norms are 2 m^-1/2
    at = app("linearity", dag=str(arch[DAG_DIAMOND]))
    second = _charts(at)["hessian_norm"]
    assert second["study"] != first["hessian_norm"]["study"]
    assert list(second["data"]["value"]) == pytest.approx([2 * m**-0.5 for m in LINEARITY_WIDTHS])
    assert any("In-degrees" in cap.value for cap in at.caption) and _n_images(at) >= 3


def test_sql_console(app, catalogue):
    before = catalogue_checksum(catalogue[0])
    at = app("sql")
    assert at.title[0].value == "SQL console"
    at.text_area(key="sql").set_value("SELECT label, quantity FROM operator_graph ORDER BY label")
    at.number_input(key="row_cap").set_value(3)
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    df = at.dataframe[-1].value
    assert list(df.columns) == ["label", "quantity"] and len(df) == 3
    assert any("row cap" in cap.value for cap in at.caption)
    at.text_area(key="sql").set_value("DROP TABLE operator_graph")
    at.button(key="run").click().run()
    assert len(at.error) == 1 and "refused" in at.error[0].value and "\n" not in at.error[0].value
    at.text_area(key="sql").set_value("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT COUNT(*) FROM r")
    at.number_input(key="time_limit").set_value(0.5)
    at.button(key="run").click().run()
    assert len(at.error) == 1 and "time limit" in at.error[0].value
    assert catalogue_checksum(catalogue[0]) == before


def test_sql_text_from_the_url_runs(app):
    at = app("sql", sql="SELECT COUNT(*) AS n FROM operator_graph WHERE quantity = 'gue'", row_cap="5")
    assert at.text_area(key="sql").value.startswith("SELECT COUNT(*) AS n") and at.number_input(key="row_cap").value == 5
    df = at.dataframe[0].value
    assert list(df.columns) == ["n"] and int(df["n"].iloc[0]) == 3


def test_no_catalogue_is_informative(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHEXP_DB", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    for page in (None, "browse", "limits", "commutativity", "linearity", "sql"):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        if page:
            at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
    assert not (tmp_path / "missing.sqlite").exists()


def test_serve_command_line(monkeypatch, catalogue):
    """`graphexp serve` runs streamlit headless on the given host/port with GRAPHEXP_DB set."""
    from typer.testing import CliRunner

    from graphexp_db.cli import app as cli_app
    from graphexp_db.cli import serve as serve_mod

    seen = {}

    def fake_run(cmd, env):
        seen["cmd"], seen["env"] = cmd, env
        return 0

    monkeypatch.setattr(serve_mod, "_run", fake_run)
    monkeypatch.setattr(serve_mod, "_ensure_schema", lambda url: seen.setdefault("schema", url))
    r = CliRunner().invoke(cli_app, ["serve", "--db", catalogue[0], "--port", "8765", "--host", "127.0.0.1"])
    assert r.exit_code == 0, r.output
    cmd = seen["cmd"]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app/streamlit_app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8765" and cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert seen["env"]["GRAPHEXP_DB"] == catalogue[0] and seen["schema"] == catalogue[0]


def test_sql_console_runs_schema_examples(app):
    """The example queries of docs/schema.md load into the console and run without error."""
    from graphexp_db.catalogue.query import example_queries

    examples = example_queries()
    if not examples:
        pytest.skip("docs/schema.md has no ```sql examples yet")
    at = app("sql")
    sel = at.selectbox(key="example")
    for title in sel.options[1:]:
        at.selectbox(key="example").set_value(title).run()
        assert at.text_area(key="sql").value.strip()
        at.button(key="run").click().run()
        assert not at.exception
        assert not at.error, (title, [e.value for e in at.error])


def test_readme_simulate_commutativity_with_db_stores_and_shows(tmp_path, monkeypatch):
    """The README's `graphexp simulate commutativity --arch resnet:sw=1 … --db URL` stores the study
    (it used to crash with a traceback) and the page shows it with the spec as the user wrote it."""
    from typer.testing import CliRunner

    from graphexp_db.cli import app as cli_app

    url = f"sqlite:///{tmp_path / 'sim.sqlite'}"
    r = CliRunner().invoke(cli_app, ["simulate", "commutativity", "--arch", "resnet:sw=1", "--activation", "tanh", "--widths", "4,8",
                                     "--depths", "2,4", "--samples", "2", "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    monkeypatch.setenv("GRAPHEXP_DB", url)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("app_pages/commutativity.py").run()
    assert not at.exception and not at.error
    assert "resnet:sw=1 · tanh" in at.selectbox(key="sel_study").options[0]
    assert len(_charts(at)["heatmap"]["data"]) == 4


def test_bounded_runner_budgets():
    """Issue 13.4: every UI computation runs in a child process with a time and a memory budget."""
    sys.path.insert(0, str(ROOT / "app"))
    import bounded

    assert bounded.run_bounded("math", "sqrt", 4.0).value == 2.0
    out = bounded.run_bounded("time", "sleep", 30, time_s=1.0)
    assert out.budget == "time" and out.elapsed_s < 5 and "time budget of 1 s" in out.error
    out = bounded.run_bounded("builtins", "bytearray", 4 * 10**9, mem_mb=256)
    assert out.budget == "memory" and "memory budget of 256 MB" in out.error
    out = bounded.run_bounded("graphexp_db.spec", "parse_arch", "mlp:L=" + "1" * 5000)
    assert out.budget == "input" and "at most 2000" in out.error
    out = bounded.run_bounded("graphexp_db.spec", "parse_arch", "mlp:L=two")
    assert out.budget is None and out.error.startswith("SpecError:") and "\n" not in out.error


def test_pages_turn_errors_into_one_line(monkeypatch, tmp_path):
    """A file that is not a catalogue: every page answers with one-line messages, never a traceback."""
    bad = tmp_path / "garbage.sqlite"
    bad.write_bytes(b"this is not an SQLite database" * 100)
    monkeypatch.setenv("GRAPHEXP_DB", f"sqlite:///{bad}")
    for page in (None, "browse", "limits", "commutativity", "linearity", "sql"):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        if page:
            at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        msgs = [e.value for e in at.error] + [w.value for w in at.warning]
        assert all("\n" not in m and "Traceback" not in m for m in msgs), (page, msgs)


def test_display_helpers_exact_numbers_and_natural_sort():
    sys.path.insert(0, str(ROOT / "app"))
    from fractions import Fraction

    import common

    assert common.exact_text("14142135623730951/10000000000000000") == "1.4142135623730951"  # the decimal the user typed
    assert common.exact_text(Fraction(-1, 8)) == "-0.125" and common.exact_text("1/3") == "1/3" and common.exact_text(3) == "3"
    assert common.exact_text(None) == "" and common.exact_text(0.1) == "0.1"
    assert common.decimal_spec("mlp:L=2,sw=14142135623730951/10000000000000000,sb=1/3") == "mlp:L=2,sw=1.4142135623730951,sb=1/3"
    labels = ["mlp-L2.cov.o2.10", "mlp-L10.cov.o1.1", "mlp-L2.cov.o2.9", "mlp-L2.cov.o10.1"]
    assert sorted(labels, key=common.natural_key) == ["mlp-L2.cov.o2.9", "mlp-L2.cov.o2.10", "mlp-L2.cov.o10.1", "mlp-L10.cov.o1.1"]
    assert common.parse_range("6", 0, 8) == (6, 6) and common.parse_range("1..3", 0, 8) == (1, 3)
    assert common.parse_range("2-1", 0, 8) is None and common.parse_range("x", 0, 8) is None and common.parse_range("5..99", 0, 8) == (5, 8)
