"""Browse expansions: search operator graphs; ``?label=…`` opens the detail view of one graph."""

from __future__ import annotations

import json

import streamlit as st

import common as c
import drawing
from graphexp_db import definitions
from graphexp_db.catalogue import query as q

W = definitions.WIDGETS
engine = c.get_engine()
url = c.db_url()


def _detail(label: str) -> None:
    if st.button("← back to search", key="back"):
        st.query_params.clear()
        st.rerun()
    d = c.safe(c.detail, engine, url, label)
    if d is None:
        st.error(f"No operator graph with label {label!r}.")
        return
    g = d["graph"]
    gj = g.get("graph") or {}
    st.title(f"Operator graph {label}")
    m = st.columns(6)
    for col, key in zip(m, ["shape", "quantity", "order", "n_edges", "coefficient", "n_pairings"]):
        col.metric(key, str(g.get(key)), help=definitions.help_for(key) or None)
    pairings = d["pairings"]

    left, right = st.columns(2)
    with left:
        st.subheader("Operator graph")
        fig = drawing.draw_operator_graph(gj, label)
        st.pyplot(fig, clear_figure=True)
        st.caption("Vertices are index slots (N: hidden width, in: input coordinate, out: output, 1: bias column); edges are matrix entries, coloured by matrix.")
    with right:
        st.subheader("Pairing")
        if pairings is None or len(pairings) == 0:
            st.info("No pairing stored for this graph (it has none, or only aggregated counts are stored).")
            sel = None
        else:
            choices = list(range(len(pairings)))

            def fmt(i: int) -> str:
                r = pairings.iloc[i]
                gtxt = "" if r.get("genus") is None or str(r.get("genus")) == "nan" else f", genus {int(r['genus'])}"
                return f"rank {r['rank']} ({r['ensemble']}, N^{r.get('n_exponent')}{gtxt})"

            i = st.selectbox("Pairing", choices, format_func=fmt, key="pairing", help=W["pairing"])
            sel = pairings.iloc[i]
            blocks = sel.get("blocks") or []
            if gj.get("n_traces"):
                fig = drawing.draw_chord_diagram(gj, blocks, f"rank {sel['rank']}: chord diagram")
            else:
                quotient = sel.get("quotient") if "quotient" in pairings.columns else None
                if quotient:
                    fig = drawing.draw_quotient(quotient, f"rank {sel['rank']}: glued quotient")
                else:
                    fig = drawing.draw_chord_diagram(gj, blocks, f"rank {sel['rank']}: pairing of edges")
            st.pyplot(fig, clear_figure=True)
            st.caption(
                "Chord diagram: the word's letters in cyclic order, chords join paired letters."
                if gj.get("n_traces")
                else "Glued quotient: vertices are index classes after the pairing identifies indices (red: a bias's constant column); edges are the pairs."
            )

    if sel is not None:
        st.subheader("Embedding")
        keys = ["kind", "V", "E", "F", "chi", "genus", "crosscaps", "orientable", "n_exponent", "leading", "multiplicity", "contribution"]
        emb = {k: (None if str(sel.get(k)) == "nan" else sel.get(k)) for k in keys if k in pairings.columns}
        st.dataframe(
            [{"field": k, "value": "" if v is None else str(v), "meaning": definitions.help_for(k)} for k, v in emb.items()],
            hide_index=True, width="stretch", key="embedding_table",
        )

    st.subheader("All stored pairings")
    if pairings is not None and len(pairings):
        show = pairings.drop(columns=[x for x in ("blocks_json", "quotient_json", "blocks", "quotient") if x in pairings.columns])
        st.dataframe(show, hide_index=True, width="stretch", column_config=c.column_config(show.columns), key="pairings_table")
    aggs = d["aggregates"]
    if aggs is not None and len(aggs):
        st.caption("Exact pairing counts by surface and N-exponent")
        st.dataframe(aggs, hide_index=True, width="stretch", column_config=c.column_config(aggs.columns), key="aggregates_table")

    st.subheader("Downloads")
    doc = {
        "graph": {k: v for k, v in g.items() if k not in ("graph_json",)},
        "pairings": [] if pairings is None else json.loads(pairings.drop(columns=[x for x in ("blocks_json", "quotient_json") if x in pairings.columns]).to_json(orient="records")),
    }
    dcols = st.columns(4)
    dcols[0].download_button("JSON", json.dumps(doc, indent=1, default=str), file_name=f"{label}.json", mime="application/json", key="dl_json")
    dcols[1].download_button("DOT", q.graph_dot(gj, label), file_name=f"{label}.dot", mime="text/vnd.graphviz", key="dl_dot")
    dcols[2].download_button("graph6", q.graph_graph6(gj) + "\n", file_name=f"{label}.g6", mime="text/plain", key="dl_g6")
    csv = "" if pairings is None or not len(pairings) else pairings.drop(columns=[x for x in ("blocks", "quotient") if x in pairings.columns]).to_csv(index=False)
    dcols[3].download_button("CSV (pairings)", csv, file_name=f"{label}-pairings.csv", mime="text/csv", key="dl_csv")

    st.subheader("Reproduce")
    ens = None if sel is None else str(sel.get("ensemble"))
    cli, py = q.reproduce_commands(g, d.get("architecture"), ensemble=ens)
    st.code(cli, language="bash")
    st.code(py, language="python")


def _search() -> None:
    st.title("Browse expansions")
    st.caption(definitions.PAGES["browse"])
    opts = c.safe(c.options, engine, url, default=None)
    if not opts or not opts["shape"]:
        st.info("No operator graphs stored yet. Fill the catalogue with `graphexp build --preset core`.")
        return
    qp = st.query_params

    def pre(name: str, choices: list) -> list:
        vals = qp.get_all(name)
        return [v for v in vals if v in choices]

    with st.sidebar:
        st.header("Filters")
        kinds = st.multiselect("Architecture", opts["kind"], key="f_kind", help=W["kind"])
        shapes = st.multiselect("Shape", opts["shape"], default=pre("shape", opts["shape"]), key="f_shape", help=W["shape"])
        quantities = st.multiselect("Quantity", opts["quantity"], default=pre("quantity", opts["quantity"]), key="f_quantity", help=W["quantity"])
        lo, hi = opts["order"]
        o = qp.get("order")
        o = int(o) if o and o.lstrip("-").isdigit() and lo <= int(o) <= hi else None
        if hi > lo:
            order = st.slider("Order", lo, hi, (o, o) if o is not None else (lo, hi), key="f_order", help=W["order"])
        else:
            order = (lo, hi)
        ens = st.selectbox("Ensemble", ["(any)"] + opts["ensemble"], key="f_ensemble", help=W["ensemble"])
        glo, ghi = opts["genus"]
        genus = st.slider("Genus", glo, max(ghi, glo + 1), (glo, max(ghi, glo + 1)), key="f_genus", help=W["genus"])
        nlo, nhi = opts["n_exponent"]
        nexp = st.slider("N-exponent", min(nlo, nhi - 1), nhi, (min(nlo, nhi - 1), nhi), key="f_nexp", help=W["n_exponent"])
        leading = st.checkbox("Leading order only", key="f_leading", help=W["leading_only"])
        like = st.text_input("Label contains", key="f_like", help=W["label_like"])

    filters = dict(
        kind=kinds or None, shape=shapes or None, quantity=quantities or None, order_min=order[0], order_max=order[1],
        ensemble=None if ens == "(any)" else ens, leading_only=leading, label_like=like or None,
    )
    if genus != (glo, max(ghi, glo + 1)):
        filters.update(genus_min=genus[0], genus_max=genus[1])
    if nexp != (min(nlo, nhi - 1), nhi):
        filters.update(n_exponent_min=nexp[0], n_exponent_max=nexp[1])
    df = c.safe(c.search, engine, url, **filters)
    if df is None:
        return
    st.write(f"**{len(df)}** operator graph(s) match.")
    if not len(df):
        st.info("Nothing matches these filters.")
        return
    all_cols = list(df.columns)
    default_cols = [x for x in ("label", "shape", "quantity", "order", "n_edges", "n_pairings", "min_genus", "max_genus", "max_n_exponent", "n_leading") if x in all_cols]
    a, b, d = st.columns([3, 1, 1])
    shown = a.multiselect("Columns", all_cols, default=default_cols, key="columns", help=W["columns"])
    sort_by = b.selectbox("Sort by", all_cols, index=all_cols.index("label"), key="sort_by", help=W["sort_by"])
    desc = d.toggle("Descending", key="descending", help=W["descending"])
    view = df.sort_values(sort_by, ascending=not desc, kind="stable", na_position="last")
    if "label" not in shown:
        shown = ["label"] + shown
    view = view[shown].copy()
    cfg = c.column_config(view.columns)
    event = st.dataframe(view, hide_index=True, width="stretch", column_config=cfg, on_select="rerun", selection_mode="single-row", key="results")
    picked = None
    try:
        rows = event.selection.rows
        if rows:
            picked = view.iloc[rows[0]]["label"]
    except Exception:
        pass
    st.download_button("Download results (CSV)", view.to_csv(index=False), file_name="graphs.csv", mime="text/csv", key="dl_results")
    label = st.selectbox("Open detail of", ["—"] + list(view["label"]), key="open_label", help=W["open_label"])
    if picked or label != "—":
        target = picked or label
        st.query_params.clear()
        st.query_params["label"] = target
        st.rerun()


if engine is not None:
    label = st.query_params.get("label")
    if label:
        _detail(label)
    else:
        _search()
else:
    st.title("Browse expansions")
