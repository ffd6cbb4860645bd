"""Home: what the catalogue holds, genus distributions, a random expansion, how to cite."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

import common as c
from graphexp_db import definitions
from graphexp_db.catalogue import query as q

st.title("graphexp-db")
st.write(
    "A knowledge base of **graph expansions of deep neural networks**: operator graphs, Wick pairings, "
    "their surface embeddings and genus, the infinite-width limits they sum to and the finite-width corrections beyond them."
)

engine = c.get_engine()
if engine is not None:
    url = c.db_url()
    rows = c.safe(c.table_rows, engine, url, default={}) or {}
    cols = st.columns(4)
    for col, (name, title) in zip(cols, [("operator_graph", "operator graphs"), ("pairing", "pairing orbits"), ("embedding", "embeddings"), ("simulation", "simulations")]):
        col.metric(title, f"{rows.get(name, 0):,}", help=definitions.help_for(name) or None)

    st.subheader("What the catalogue holds")
    counts = c.safe(c.counts, engine, url)
    if counts is None or len(counts) == 0:
        st.info("Nothing is stored yet. Fill the catalogue with `graphexp build --preset core` or `graphexp expand …`.")
    else:
        counts = counts.copy()
        counts["search"] = [
            "browse?" + urlencode({"shape": s, "quantity": qq, "order": int(o)}) for s, qq, o in zip(counts["shape"], counts["quantity"], counts["order"])
        ]
        cfg = c.column_config(counts.columns)
        cfg["search"] = st.column_config.LinkColumn("search", help="Open the matching search in Browse expansions.", display_text="open search")
        st.dataframe(counts, column_config=cfg, hide_index=True, width="stretch", key="counts_table")

    st.subheader("Genus distributions")
    dist = c.safe(c.genus_distribution, engine, url)
    if dist is None or len(dist) == 0:
        st.info("No aggregated pairing counts stored yet (table pairing_aggregate).")
    else:
        qs = sorted(dist["quantity"].unique())
        qsel = st.selectbox("Quantity", qs, index=qs.index("gue") if "gue" in qs else 0, key="home_quantity", help=definitions.help_for("quantity"))
        sub = dist[dist["quantity"] == qsel]
        pivot = sub.assign(count=sub["count"].map(int)).pivot_table(index=["shape", "order", "ensemble"], columns="surface", values="count", aggfunc="sum", fill_value=0)
        st.dataframe(pivot, width="stretch", key="genus_pivot")
        by_order = sub.assign(count=sub["count"].map(float)).pivot_table(index="order", columns="surface", values="count", aggfunc="sum", fill_value=0)
        st.bar_chart(by_order, x_label="order", y_label="pairings", height=260)
        st.caption(definitions.COLUMNS["surface"])

    st.subheader("Random expansion")
    if st.button("Open a random operator graph", key="random", help=definitions.WIDGETS["random"]):
        label = c.safe(q.random_label, engine)
        if label:
            st.switch_page("app_pages/browse.py", query_params={"label": label})
        else:
            st.info("No operator graph stored yet.")

st.subheader("How to cite")
st.write(definitions.CITATION)
st.code("graphexp-db: a knowledge base of graph expansions of deep neural networks (software).", language="text")
