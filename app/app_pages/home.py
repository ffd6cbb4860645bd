"""Home: what the catalogue holds, genus distributions, a random expansion, how to cite."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

import common as c
from graphexp_db import definitions
from graphexp_db._version import __version__, code_version  # noqa: E402
from graphexp_db.catalogue import query as q

# ``/?label=L`` opens the same detail view as ``/browse?label=L``.
_label = st.query_params.get("label")
if _label:
    st.switch_page("app_pages/browse.py", query_params={"label": _label})

st.title("graphexp-db")
st.caption(f"Version {__version__} (code {code_version()})")
st.write(
    "A knowledge base of **graph expansions of deep neural networks**: operator graphs, Wick pairings, "
    "their surface embeddings and genus, the infinite-width limits they sum to and the finite-width corrections beyond them."
)

engine = c.get_engine()
if engine is not None:
    url = c.db_url()
    rows = c.safe(c.table_rows, engine, url, default={}) or {}
    cols = st.columns(4)
    helps = {"pairing": "Stored pairing-orbit rows: one per orbit up to the fill's per-graph budget (64), so a sample for large graphs. "
                        "The exact counts of all pairings are in the aggregates (genus distributions below)."}
    for col, (name, title) in zip(cols, [("operator_graph", "operator graphs"), ("pairing", "stored orbit rows"), ("embedding", "embeddings"),
                                         ("simulation", "simulations")]):
        col.metric(title, f"{rows.get(name, 0):,}", help=helps.get(name) or definitions.help_for(name) or None)

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
        c.record_chart("genus_by_order", sub[["shape", "order", "ensemble", "surface", "n_exponent", "count"]].astype({"count": str}),
                       title=f"pairings of {qsel} by order and surface (exact aggregates)", quantity=qsel)
        st.caption(definitions.COLUMNS["surface"])

    st.subheader("Random expansion")
    if st.button("Open a random operator graph", key="random", help=definitions.WIDGETS["random"]):
        label = c.safe(q.random_label, engine)
        if label:
            st.switch_page("app_pages/browse.py", query_params={"label": label})
        else:
            st.info("No operator graph stored yet.")

st.subheader("How to cite")
st.write(f"The software: graphexp-db {__version__} (CITATION.cff in the repository). The mathematics: " + definitions.CITATION)
st.code(
    "@software{graphexp_db,\n"
    "  title   = {graphexp-db: a knowledge base of graph expansions of deep neural networks},\n"
    f"  version = {{{__version__}}},\n"
    "  year    = {2026},\n"
    "  note    = {Operator graphs, Wick pairings, genus expansions, limits and Monte Carlo in one SQL catalogue}\n"
    "}\n"
    "@article{graph_expansions_2024,\n"
    "  author  = {Muca Cirone, Nicola and Hamdan, Jad and Salvi, Cristopher},\n"
    "  title   = {Graph Expansions of Deep Neural Networks and their Universal Scaling Limits},\n"
    "  journal = {arXiv preprint arXiv:2407.08459},\n"
    "  year    = {2024}\n"
    "}\n"
    "@article{commutative_width_depth_2023,\n"
    "  author  = {Hayou, Soufiane},\n"
    "  title   = {Commutative Width and Depth Scaling in Deep Neural Networks},\n"
    "  journal = {arXiv preprint arXiv:2310.01683},\n"
    "  year    = {2023}\n"
    "}\n"
    "@article{transition_linearity_dag_2022,\n"
    "  author  = {Zhu, Libin and Liu, Chaoyue and Belkin, Mikhail},\n"
    "  title   = {Transition to Linearity of General Neural Networks with Directed Acyclic Graph Architecture},\n"
    "  journal = {arXiv preprint arXiv:2205.11786},\n"
    "  year    = {2022}\n"
    "}",
    language="bibtex",
)
