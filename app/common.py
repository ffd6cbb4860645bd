"""Shared UI plumbing of the pages: the cached engine, cached reads, definitions as column help.

Data access itself lives in ``graphexp_db.catalogue.query``; this module only caches it
(``st.cache_resource`` for the engine, ``st.cache_data`` with an unhashed ``_engine`` for results).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the app runs from a checkout, installed or not
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from graphexp_db import definitions  # noqa: E402
from graphexp_db.catalogue import query as q  # noqa: E402

TTL = 60


def db_url() -> str:
    """The catalogue URL: ``$GRAPHEXP_DB`` (set by ``graphexp serve``) or the default."""
    return q.resolve_url(os.environ.get("GRAPHEXP_DB"))


@st.cache_resource(show_spinner=False)
def _engine_for(url: str):
    from sqlalchemy import create_engine

    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        path = make_url(url).database
        if not path or not Path(path).exists():
            return None
        # The UI only reads: open the file read-only so nothing here can write to it.
        return create_engine(f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true")
    return create_engine(url, pool_pre_ping=True)


def get_engine():
    """The cached engine, or ``None`` (with an info box) when there is no catalogue yet."""
    url = db_url()
    try:
        eng = _engine_for(url)
    except Exception as err:  # a bad URL or a driver that is missing
        st.error(f"Cannot open the catalogue {url}: {' '.join(str(err).split())[:200]}")
        return None
    if eng is None:
        st.info(f"No catalogue at `{url}` yet. Fill one with `graphexp build --preset core` (or `make run`).")
    return eng


def safe(fn, *args, default=None, **kwargs):
    """Call a read function; show one error line instead of crashing the page."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:
        st.warning(f"Could not read the catalogue ({type(err).__name__}: {' '.join(str(err).split())[:200]}).")
        return default


@st.cache_data(ttl=TTL, show_spinner=False)
def counts(_engine, url: str):
    return q.catalogue_counts(_engine)


@st.cache_data(ttl=TTL, show_spinner=False)
def table_rows(_engine, url: str):
    return q.table_rows(_engine)


@st.cache_data(ttl=TTL, show_spinner=False)
def genus_distribution(_engine, url: str, quantity: str | None = None):
    return q.genus_distribution(_engine, quantity=quantity)


@st.cache_data(ttl=TTL, show_spinner=False)
def options(_engine, url: str):
    return q.catalogue_options(_engine)


@st.cache_data(ttl=TTL, show_spinner=False)
def search(_engine, url: str, **filters):
    return q.search_graphs(_engine, **filters)


@st.cache_data(ttl=TTL, show_spinner=False)
def detail(_engine, url: str, label: str):
    return q.graph_detail(_engine, label)


@st.cache_data(ttl=TTL, show_spinner=False)
def stored_table(_engine, url: str, table: str, limit: int = 5000):
    """Rows of one stored results table (limits, moments, simulations); ``None`` when absent."""
    import pandas as pd
    from sqlalchemy import inspect, text

    if table not in inspect(_engine).get_table_names():
        return None
    with _engine.connect() as conn:
        res = conn.execute(text(f'SELECT * FROM "{table}" LIMIT :n'), {"n": int(limit)})
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def column_config(columns) -> dict:
    """``st.dataframe`` column configs carrying the definitions as help text."""
    cfg = {}
    for c in columns:
        h = definitions.COLUMNS.get(str(c))
        if h:
            cfg[str(c)] = st.column_config.Column(str(c), help=h)
    return cfg


def helptext(name: str) -> str | None:
    return definitions.help_for(name) or None


def show_fig(fig, share: float = 0.6) -> None:
    """Draw a matplotlib figure at a readable size (a column of the page, not its full width)."""
    col, _ = st.columns([share, 1 - share])
    col.pyplot(fig, clear_figure=True)
