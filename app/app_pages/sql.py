"""SQL console: one read-only query at a time, with a row cap, a time limit and downloads."""

from __future__ import annotations

import io

import streamlit as st

import common as c
from graphexp_db import definitions
from graphexp_db.catalogue import query as q

W = definitions.WIDGETS
st.title("SQL console")
st.caption(
    "Read-only: one SELECT / WITH … SELECT / VALUES / EXPLAIN query. Anything that writes is refused before it runs, "
    "and the query runs on a read-only connection."
)

examples = q.example_queries()
DEFAULT = "SELECT quantity, \"order\", COUNT(*) AS n_graphs\nFROM operator_graph\nGROUP BY quantity, \"order\"\nORDER BY quantity, \"order\""
if examples:
    titles = ["(choose an example)"] + [f"{i + 1}. {t}" for i, (t, _) in enumerate(examples)]

    def _load_example() -> None:
        i = titles.index(st.session_state["example"])
        if i > 0:
            st.session_state["sql"] = examples[i - 1][1]

    st.selectbox("Example queries (docs/schema.md)", titles, key="example", on_change=_load_example, help=W["example"])
else:
    st.caption("No example queries found yet (docs/schema.md has no SQL blocks).")

url_sql = st.query_params.get("sql")
if "sql" not in st.session_state and not url_sql:
    st.session_state["sql"] = DEFAULT
sql = st.text_area("Query", key="sql", height=160, help=W["sql"] + " The query text is kept in the URL (?sql=…) so a view can be shared.",
                   bind="query-params", max_chars=100_000)
a, b, _ = st.columns([1, 1, 2])
row_cap = a.number_input("Row cap", min_value=1, max_value=100_000, value=10_000, step=1000, key="row_cap", help=W["row_cap"], bind="query-params")
time_limit = b.number_input("Time limit (s)", min_value=0.1, max_value=30.0, value=10.0, step=1.0, key="time_limit", help=W["time_limit"],
                            bind="query-params")
run = st.button("Run", type="primary", key="run")
# A shared link (?sql=…) shows its result on arrival.
if url_sql and not st.session_state.get("_sql_autorun_done"):
    st.session_state["_sql_autorun_done"] = True
    run = True

if run:
    st.session_state.pop("sql_result", None)
    st.session_state.pop("sql_error", None)
    try:
        st.session_state["sql_result"] = q.run_readonly(c.db_url(), sql, row_cap=int(row_cap), timeout_s=float(time_limit))
    except q.ReadOnlyError as err:
        st.session_state["sql_error"] = str(err)

if st.session_state.get("sql_error"):
    st.error(st.session_state["sql_error"])
res = st.session_state.get("sql_result")
if res is not None:
    df = res.to_frame()
    note = f"{len(df)} row(s) in {res.elapsed_s:.3f} s"
    if res.truncated:
        note += f" — cut at the row cap of {res.row_cap}"
    st.caption(note)
    st.dataframe(df, hide_index=True, width="stretch", column_config=c.column_config(df.columns), key="sql_table")
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Download CSV", df.to_csv(index=False), file_name="query.csv", mime="text/csv", key="dl_csv")
    try:
        buf = io.BytesIO()
        df.astype({col: str for col in df.columns if df[col].dtype == object}).to_parquet(buf, index=False)
        d2.download_button("Download Parquet", buf.getvalue(), file_name="query.parquet", mime="application/octet-stream", key="dl_parquet")
    except Exception as err:  # pyarrow missing
        d2.caption(f"Parquet unavailable ({type(err).__name__}).")

with st.expander("Tables and columns"):
    engine = c.get_engine()
    if engine is not None:
        from sqlalchemy import inspect

        try:
            insp = inspect(engine)
            for t in sorted(insp.get_table_names()) + sorted(insp.get_view_names()):
                st.markdown(f"**{t}**: " + ", ".join(col["name"] for col in insp.get_columns(t)))
        except Exception as err:
            st.caption(f"Schema unavailable: {err}")
