"""A real browser over `graphexp serve`: Debian's chromium driven headless by Playwright.

Follows the URL contract (filters in the URL, ``/?label=`` = ``/browse?label=``, the back button keeps
the search, a page past row 5000), opens a deep link (drawings render), the study pages, runs a SQL
query and downloads the CSV; a screenshot per page goes to tests/artifacts/ (the README's tour).  Skipped, with the reason shown, when /usr/bin/chromium or the
playwright package is missing (`.ci/run` installs Debian's chromium before `make test`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_app_catalogue import add_many_graphs, build_scratch_catalogue, catalogue_checksum  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); the real-browser test needs it")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed (pip install playwright)")
    path = tmp_path_factory.mktemp("browser") / "catalogue.sqlite"
    url = f"sqlite:///{path}"
    label = build_scratch_catalogue(url)
    add_many_graphs(url, 5200)  # resnet-L2.ntk.o2.1 .. 5200: pagination past row 5000
    port = _free_port()
    log = open(tmp_path_factory.mktemp("log") / "serve.log", "w+")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from graphexp_db.cli import main; main()", "serve", "--db", url, "--port", str(port), "--host", "127.0.0.1"],
        cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            proc.kill()
            pytest.fail(f"graphexp serve did not come up: {log.read()[-2000:]}")
        time.sleep(0.3)
    try:
        yield base, url, label
    finally:
        # serve forwards SIGTERM to streamlit; the process group catches anything left over
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        log.close()


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 2600})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the script run (no 'running' indicator)."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def _images(page, n: int) -> None:
    js = ("() => Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img, [data-testid=\"stFullScreenFrame\"] img, "
          "[data-testid=\"stImageContainer\"] img')).filter(i => i.complete && i.naturalWidth > 50).length")
    try:
        page.wait_for_function(f"{js[:-6]}.length >= {n}" if False else f"() => ({js})() >= {n}", timeout=45_000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "failed-images.png"), full_page=True)
        raise AssertionError(f"{page.url}: {page.evaluate(js)} of {n} images loaded (screenshot: tests/artifacts/failed-images.png)") from None


def test_deep_link_draws_graph_and_pairing(served, page):
    base, _, label = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base}/browse?label={label}")
    page.get_by_text(f"Operator graph {label}").first.wait_for()
    _images(page, 2)
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser-detail.png"), full_page=True)
    code = page.locator('[data-testid="stCode"]', has_text="graphexp expand").first
    code.wait_for()
    assert "graphexp expand" in " ".join(code.inner_text().split())
    assert page.locator('[data-testid="stException"]').count() == 0


def test_plot_renders(served, page):
    base = served[0]
    page.goto(f"{base}/limits")
    page.get_by_text("Limits and moments").first.wait_for()
    act = page.get_by_role("textbox", name="Activation").first
    act.fill("poly:0,1,0.5")
    act.press("Enter")
    _wait_idle(page)
    page.get_by_role("button", name="Finite-width series").click()
    _images(page, 1)  # the log-log convergence plot with its fitted slope
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser-limits.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.goto(f"{base}/linearity")
    page.get_by_text("Transition to linearity").first.wait_for()
    _images(page, 1)  # the DAG drawing
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser-linearity.png"), full_page=True)
    page.goto(f"{base}/commutativity")
    page.get_by_text("Width/depth commutativity").first.wait_for()
    _images(page, 2)  # heat map and paths of the stored grid
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser-commutativity.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_sql_query_and_csv_download(served, page, tmp_path):
    base, url, _ = served
    before = catalogue_checksum(url)
    page.goto(f"{base}/sql")
    box = page.get_by_role("textbox", name="Query")
    box.wait_for()
    box.fill("SELECT label, quantity, \"order\" FROM operator_graph ORDER BY label")
    box.press("Control+Enter")
    page.get_by_role("button", name="Run").click()
    page.get_by_role("button", name="Download CSV").wait_for()
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser-sql.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    out = tmp_path / "query.csv"
    info.value.save_as(str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "label,quantity,order" and len(lines) > 3

    box.fill("DELETE FROM operator_graph")
    box.press("Control+Enter")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("refused:").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser-sql-refused.png"), full_page=True)
    assert catalogue_checksum(url) == before


def _table_text(page) -> str:
    """Text of the results grid (glide data grid renders to canvas; its a11y table holds the cells)."""
    return " ".join(page.locator('[data-testid="stDataFrame"]').first.inner_text().split())


def _results_labels(page) -> str:
    page.wait_for_selector('[data-testid="stDataFrame"]')
    _wait_idle(page)
    return page.locator('[data-testid="stDataFrame"] table').first.inner_text() if page.locator('[data-testid="stDataFrame"] table').count() else ""


def test_url_contract_back_button_and_deep_pages(served, page):
    base = served[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # 1. the filters come from the URL and the exact genus search lists tr H^12
    page.goto(f"{base}/browse?quantity=gue&order=6&genus=3")
    page.get_by_text("operator graph(s) match").first.wait_for()
    _wait_idle(page)
    assert page.get_by_text("1 operator graph(s) match").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "tour-browse-search.png"), full_page=True)
    # 2. open the detail through the "Open detail of" box: the URL keeps the search and adds label
    box = page.get_by_role("combobox", name="Open detail of")
    box.click()
    page.get_by_role("option", name="gue.gue.o6.1").click()
    page.get_by_text("Operator graph gue.gue.o6.1").first.wait_for()
    _images(page, 2)
    _wait_idle(page)
    assert "label=gue.gue.o6.1" in page.url and "quantity=gue" in page.url and "genus=3" in page.url
    page.screenshot(path=str(ARTIFACTS / "tour-browse-detail.png"), full_page=True)
    # 3. the browser's back button returns to the same search
    page.go_back()
    page.get_by_text("operator graph(s) match").first.wait_for()
    _wait_idle(page)
    assert "label=" not in page.url and "quantity=gue" in page.url and "genus=3" in page.url
    assert page.get_by_text("1 operator graph(s) match").count() >= 1
    # 4. /?label=L opens the same detail as /browse?label=L
    page.goto(f"{base}/?label=gue.gue.o3.1")
    page.get_by_text("Operator graph gue.gue.o3.1").first.wait_for()
    _wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    # 5. a page past row 5000, with the true total
    page.goto(f"{base}/browse?shape=resnet-L2&per_page=1000&page=6")
    page.get_by_text("5,200 operator graph(s) match; rows 5,001–5,200 on page 6 of 6").first.wait_for()
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "tour-browse-page6.png"), full_page=True)
    box = page.get_by_role("combobox", name="Open detail of")
    box.click()
    box.fill("resnet-L2.ntk.o2.5200")
    page.get_by_role("option", name="resnet-L2.ntk.o2.5200").click()
    page.get_by_text("Operator graph resnet-L2.ntk.o2.5200").first.wait_for()
    assert "page=6" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0


def test_widget_changes_reach_the_url(served, page):
    base = served[0]
    page.goto(f"{base}/browse")
    page.get_by_text("operator graph(s) match").first.wait_for()
    _wait_idle(page)
    page.get_by_role("checkbox", name="Leading order only").check(force=True)
    _wait_idle(page)
    page.wait_for_function("() => location.search.includes('leading=true')", timeout=20_000)
    page.goto(f"{base}/sql?sql=SELECT+COUNT(*)+AS+n+FROM+operator_graph")
    page.get_by_role("button", name="Download CSV").wait_for()
    _wait_idle(page)
    assert "sql=" in page.url
    page.screenshot(path=str(ARTIFACTS / "tour-sql.png"), full_page=True)


def test_study_pages_screenshots(served, page):
    base = served[0]
    page.goto(f"{base}/commutativity")
    page.get_by_text("ODE limit C_ODE").first.wait_for()
    _images(page, 2)
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "tour-commutativity.png"), full_page=True)
    page.goto(f"{base}/linearity")
    page.get_by_text("fitted log-log slope").first.wait_for()
    _images(page, 3)
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "tour-linearity.png"), full_page=True)
    page.goto(f"{base}/limits?jarch=mlp:L%3D2,sw%3D1&jact=relu")
    page.get_by_role("button", name="Compute moments").click()
    page.get_by_text("Data behind the chart: spectral density of J J^T, L = 2").first.wait_for(timeout=60_000)
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "tour-limits.png"), full_page=True)
    page.goto(f"{base}/")
    page.get_by_text("How to cite").first.wait_for()
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "tour-home.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
