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
def search_index(_engine, url: str, **filters):
    """All matches of a search, sorted (cached: paging through them does not run the search again)."""
    from graphexp_db.catalogue import browse

    return browse.search_index(_engine, **filters)


def search(_engine, url: str, *, offset: int = 0, limit: int | None = None, **filters):
    """One page of a search with its exact summaries; ``attrs["total"]`` is the true number of matches."""
    from graphexp_db.catalogue import browse

    index = search_index(_engine, url, **filters)
    return browse.search_page(_engine, index, offset=offset, limit=limit, ensemble=filters.get("ensemble"))


@st.cache_data(ttl=TTL, show_spinner=False)
def detail(_engine, url: str, label: str):
    return q.graph_detail(_engine, label)


@st.cache_data(ttl=TTL, show_spinner=False)
def provenance(_engine, url: str, prov_id) -> dict | None:
    """One provenance row as a dict (``None`` when absent)."""
    import pandas as pd
    from sqlalchemy import inspect, text

    if prov_id is None or "provenance" not in inspect(_engine).get_table_names():
        return None
    try:
        pid = int(prov_id)
    except (TypeError, ValueError):
        return None
    with _engine.connect() as conn:
        res = conn.execute(text("SELECT * FROM provenance WHERE id = :i"), {"i": pid})
        df = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    return None if not len(df) else {k: (None if str(v) in ("nan", "NaT", "None") else v) for k, v in df.iloc[0].to_dict().items()}


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


@st.cache_resource(show_spinner=False)
def _plot_lock():
    import threading

    return threading.RLock()


def locked(fn):
    """Run a figure builder under the plotting lock (``tight_layout`` and tick labels render text)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _plot_lock():
            return fn(*args, **kwargs)

    return wrapper


def pyplot(fig, container=None) -> None:
    """``st.pyplot`` under one process-wide lock: matplotlib's text and mathtext rendering (log-axis
    tick labels) is not thread-safe, and every visitor's session runs in its own thread."""
    import matplotlib.pyplot as plt

    with _plot_lock():
        (container or st).pyplot(fig, clear_figure=True)
        plt.close(fig)


def show_fig(fig, share: float = 0.6) -> None:
    """Draw a matplotlib figure at a readable size (a column of the page, not its full width)."""
    col, _ = st.columns([share, 1 - share])
    pyplot(fig, col)


# --------------------------------------------------------------------------- display helpers
def one_line(err) -> str:
    """An exception (or text) as one short line: ``Type: message``."""
    if isinstance(err, BaseException):
        msg = " ".join(str(err).split())
        text_ = f"{type(err).__name__}: {msg}" if msg else type(err).__name__
    else:
        text_ = " ".join(str(err).split())
    return text_ if len(text_) <= 240 else text_[:239] + "…"


def exact_text(v) -> str:
    """An exact number for display: an integer, a finite decimal when the denominator divides a power
    of ten (``14142135623730951/10**16`` -> ``1.4142135623730951``, the decimal the user typed), else
    the fraction ``p/q``.  Non-numbers come back as ``str(v)`` (``''`` for ``None``/NaN)."""
    from fractions import Fraction

    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bool):
        return str(v)
    try:
        q = v if isinstance(v, Fraction) else Fraction(str(v).strip())
    except (ValueError, ZeroDivisionError, TypeError):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if q.denominator == 1:
        return str(q.numerator)
    d, twos, fives = q.denominator, 0, 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{q.numerator}/{q.denominator}"
    digits = max(twos, fives)
    scaled = abs(q.numerator) * (10**digits // q.denominator)
    s = str(scaled).rjust(digits + 1, "0")
    out = f"{s[:-digits]}.{s[-digits:]}".rstrip("0").rstrip(".")
    return ("-" if q < 0 else "") + out


def natural_key(label) -> tuple:
    """Sort key that orders the digit runs of a label as numbers (``o2.9`` before ``o2.10``)."""
    import re

    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(label)) if t != "")


def record_chart(name: str, data, **meta) -> None:
    """Remember the data handed to a chart (tests read ``st.session_state['charts'][name]``) and show it
    in a collapsed table under the chart."""
    charts = st.session_state.setdefault("charts", {})
    charts[name] = {"data": data, **meta}
    with st.expander(f"Data behind the chart: {meta.get('title', name)}"):
        st.dataframe(data, hide_index=True, width="stretch", key=f"chartdata_{name}")


def provenance_box(prov: dict | None, *, spec_text: str | None = None, title: str = "Provenance") -> None:
    """The provenance of one stored object: method, code version, parameters, time, device, host and
    the spec as the user wrote it."""
    import json

    with st.expander(title, expanded=False):
        if not prov:
            st.caption("No provenance row is linked to this object.")
            return
        params = prov.get("parameters")
        try:
            pj = json.loads(params) if isinstance(params, str) else (params or {})
        except ValueError:
            pj = {"raw": params}
        written = spec_text or (pj.get("spec_as_written") if isinstance(pj, dict) else None)
        if not written and isinstance(pj, dict):
            written = pj.get("arch") or pj.get("spec")
        rows = [
            ("method", prov.get("method")),
            ("code version", prov.get("code_version")),
            ("device", prov.get("device")),
            ("host", prov.get("host")),
            ("started (UTC)", prov.get("started_at")),
            ("finished (UTC)", prov.get("finished_at") or "not finished (running or interrupted)"),
            ("spec as written", written or "—"),
        ]
        st.dataframe([{"field": k, "value": "" if v is None else str(v)} for k, v in rows], hide_index=True, width="stretch",
                     key=f"prov_{prov.get('id')}_{title}")
        st.caption("parameters (canonical JSON, exact numbers as text)")
        st.code(json.dumps(pj, indent=1, sort_keys=True), language="json")


# --------------------------------------------------------------------------- URL state for range sliders
def parse_range(text, lo: int, hi: int):
    """``"6"`` -> (6, 6), ``"4..6"`` -> (4, 6) (negative bounds as ``"-6..-2"``), clipped to [lo, hi]; ``None`` when unusable."""
    import re

    if text is None:
        return None
    m = re.fullmatch(r"\s*(-?\d{1,6})\s*(?:(?:\.\.|:|_|to)\s*(-?\d{1,6}))?\s*", str(text))
    if not m:
        return None
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) is not None else a
    a, b = min(a, b), max(a, b)
    a, b = max(a, lo), min(b, hi)
    return (a, b) if a <= b else None


def range_text(v: tuple) -> str:
    return str(v[0]) if v[0] == v[1] else f"{v[0]}..{v[1]}"


def url_range_slider(label: str, param: str, lo: int, hi: int, *, help: str | None = None, container=None):
    """A range slider whose value lives in the URL as ``?param=6`` or ``?param=4..6`` (absent = full
    range).  A URL typed or shared by hand wins over the widget's remembered value."""
    box = container or st
    if hi <= lo:
        hi = lo + 1
    key = f"rng_{param}"
    last = st.session_state.setdefault("_url_last", {})
    raw = st.query_params.get(param)
    if raw != last.get(param) or key not in st.session_state:
        want = parse_range(raw, lo, hi) if raw is not None else None
        st.session_state[key] = want or (lo, hi)
    cur = st.session_state.get(key)
    if not (isinstance(cur, (tuple, list)) and len(cur) == 2 and lo <= cur[0] <= cur[1] <= hi):
        st.session_state[key] = (lo, hi)
    val = tuple(box.slider(label, lo, hi, key=key, help=help))
    new = None if val == (lo, hi) else range_text(val)
    if new is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != new:
        st.query_params[param] = new
    last[param] = new
    return val, val != (lo, hi)


def decimal_spec(spec) -> str:
    """A spec string with every fraction whose denominator divides a power of ten written as the
    decimal it came from (``sw=14142135623730951/10000000000000000`` -> ``sw=1.4142135623730951``)."""
    import re

    if spec is None:
        return ""
    return re.sub(r"(?<![\w.])(-?\d+)/(\d+)(?![\w.])", lambda m: exact_text(f"{m.group(1)}/{m.group(2)}"), str(spec))


def url_select(label: str, param: str, options: list[str], *, format_func=str, help: str | None = None, container=None):
    """A selectbox whose raw option value (not its label) lives in the URL as ``?param=value``; the
    first option is the default and leaves the URL clean.  A hand-typed URL wins over the remembered value."""
    box = container or st
    key = f"sel_{param}"
    options = [str(o) for o in options]
    last = st.session_state.setdefault("_url_last", {})
    raw = st.query_params.get(param)
    if raw != last.get(param) or key not in st.session_state:
        st.session_state[key] = raw if raw in options else options[0]
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    val = box.selectbox(label, options, format_func=format_func, key=key, help=help)
    new = None if val == options[0] else val
    if new is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != new:
        st.query_params[param] = new
    last[param] = new
    return val
