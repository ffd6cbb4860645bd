"""graphexp-db web UI: the multipage entry point (``graphexp serve`` runs this file)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="graphexp-db", page_icon=":material/hub:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True, url_path="home"),
    st.Page("app_pages/browse.py", title="Browse expansions", icon=":material/account_tree:", url_path="browse"),
    st.Page("app_pages/limits.py", title="Limits and moments", icon=":material/functions:", url_path="limits"),
    st.Page("app_pages/commutativity.py", title="Width/depth commutativity", icon=":material/grid_on:", url_path="commutativity"),
    st.Page("app_pages/linearity.py", title="Transition to linearity", icon=":material/trending_down:", url_path="linearity"),
    st.Page("app_pages/sql.py", title="SQL console", icon=":material/terminal:", url_path="sql"),
]

page = st.navigation(PAGES)
with st.sidebar:
    from common import db_url  # noqa: E402
    from graphexp_db._version import __version__  # noqa: E402

    st.caption(f"graphexp-db {__version__} · catalogue: `{db_url()}`")


def _control_flow(err: BaseException) -> bool:
    """Streamlit's own rerun / stop / page-switch signals must pass through."""
    return type(err).__name__ in ("RerunException", "StopException", "ScriptControlException") or any(
        k.__name__ in ("ScriptControlException",) for k in type(err).__mro__
    )


st.session_state["charts"] = {}  # the data handed to this run's charts (common.record_chart)
try:
    page.run()
except Exception as err:  # every traceback becomes one line
    if _control_flow(err):
        raise
    from common import one_line  # noqa: E402

    st.error(f"This page stopped: {one_line(err)}")
