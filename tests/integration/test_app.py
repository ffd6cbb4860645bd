"""Every page of the web UI with streamlit.testing.v1.AppTest against a scratch catalogue."""

from __future__ import annotations

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

    def make(page: str | None = None, **query):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        if page:
            at.switch_page(f"app_pages/{page}.py")
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


def test_home(app):
    at = app()
    assert at.title[0].value == "graphexp-db"
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["operator graphs"].replace(",", "")) > 0
    assert "How to cite" in [s.value for s in at.subheader]
    assert any("arXiv:2407.08459" in m.value for m in at.markdown)
    assert at.selectbox(key="home_quantity").value == "gue"
    assert len(at.dataframe) >= 2


def test_home_random_button_opens_detail(app):
    at = app()
    at.button(key="random").click().run()
    assert not at.exception
    # switch_page to browse with ?label=…: the detail view is shown
    assert any(t.value.startswith("Operator graph ") for t in at.title)


def test_browse_search_and_filters(app):
    at = app("browse")
    assert at.title[0].value == "Browse expansions"
    assert at.multiselect(key="columns").value
    assert at.selectbox(key="sort_by").value == "label"
    df = _df(at, "label", "quantity")
    n_all = len(df)
    assert n_all > 0 and "label" in df.columns
    at.multiselect(key="f_quantity").set_value(["gue"]).run()
    df = _df(at, "label", "quantity")
    assert set(df["quantity"]) == {"gue"} and len(df) < n_all
    at.checkbox(key="f_leading").check().run()
    assert not at.exception
    at.selectbox(key="sort_by").set_value("order").run()
    at.toggle(key="descending").set_value(True).run()
    df = _df(at, "label", "quantity")
    assert list(df["order"]) == sorted(df["order"], reverse=True)


def test_browse_search_prefilled_from_query(app):
    at = app("browse", quantity="trace", order="3")
    df = _df(at, "label", "quantity")
    assert set(df["quantity"]) == {"trace"} and set(df["order"]) == {3}


def test_browse_detail_deep_link(app, catalogue):
    at = app("browse", label=catalogue[1])
    assert at.title[0].value == f"Operator graph {catalogue[1]}"
    assert {"Operator graph", "Pairing", "Embedding", "Downloads", "Reproduce"} <= {s.value for s in at.subheader}
    assert _n_images(at) >= 2  # the operator graph and the pairing drawing
    codes = [c.value for c in at.code]
    assert any("graphexp expand" in c for c in codes) and any("graphexp_db import" in c for c in codes)
    emb = _df(at, "field", "value")
    assert {"V", "E", "chi", "n_exponent"} <= set(emb["field"])
    assert len(at.get("download_button")) == 4


def test_browse_detail_chord_diagram_for_trace_words(app):
    at = app("browse", label="gue.gue.o2.1")
    assert not at.exception
    sel = at.selectbox(key="pairing")
    assert len(sel.options) == 3
    sel.set_value(2).run()
    assert not at.exception
    assert _n_images(at) >= 2
    emb = _df(at, "field", "value")
    assert "genus" in set(emb["field"])


def test_browse_unknown_label(app):
    at = app("browse", label="no-such-label")
    assert any("No operator graph" in e.value for e in at.error)


def test_limits_page(app):
    at = app("limits")
    assert at.title[0].value == "Limits and moments"
    assert at.text_input(key="arch").value.startswith("mlp:")
    at.text_input(key="activation").set_value("poly:0,1,0.5")
    at.button(key="compute_kernels").click().run()
    assert not at.exception
    if c_limits_available():
        k = _df(at, "kernel", "value")
        vals = dict(zip(k["kernel"], k["value"]))
        from fractions import Fraction

        # the closed-form recursion and the leading-order graph sum agree (polynomial activation)
        assert abs(float(vals["NNGP"]) - float(Fraction(vals["NNGP (graph sum)"]))) < 1e-9
        assert abs(float(vals["NTK"]) - float(Fraction(vals["NTK (graph sum)"]))) < 1e-9
    at.button(key="compute_series").click().run()
    assert not at.exception and not at.error
    assert _n_images(at) >= 1  # the log-log convergence plot
    at.button(key="compute_moments").click().run()
    assert not at.exception
    if c_limits_available():
        moments = _df(at, "k", "m_k")
        # identity activation, L = 2, sw = 1: m_k = FussCatalan_3(k) = 1, 4, 22, ...
        assert [round(v, 9) for v in moments["m_k"][:3]] == [1, 4, 22]
    assert "Stored results" in [s.value for s in at.subheader]


def test_limits_bad_input_one_line(app):
    at = app("limits")
    at.text_input(key="x").set_value("1,abc")
    at.button(key="compute_kernels").click().run()
    assert not at.exception
    assert any("Bad input" in e.value for e in at.error)


def test_commutativity_page(app):
    at = app("commutativity")
    assert at.title[0].value == "Width/depth commutativity"
    at.number_input(key="L_max").set_value(4)
    at.button(key="compute_resnet").click().run()
    assert not at.exception
    assert at.info or at.dataframe  # stored grid, or an informative box when none is stored
    assert _n_images(at) >= 2  # the heat map and the paths of the stored grid


def test_linearity_page(app):
    at = app("linearity")
    assert at.title[0].value == "Transition to linearity"
    at.selectbox(key="dag_preset").set_value("diamond").run()
    assert not at.exception
    assert any("In-degrees" in cap.value for cap in at.caption)
    assert _n_images(at) >= 2  # the DAG drawing and the Hessian-norm log-log plot
    slope = [m for m in at.metric if m.label == "fitted log-log slope"]
    assert slope and slope[0].value.startswith("-0.500")


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
