"""Browse expansions: search operator graphs; ``?label=…`` opens the detail view of one graph.

Every part of the view lives in the URL: filters (``kind``, ``shape``, ``quantity``, ``order``,
``ensemble``, ``genus``, ``nexp``, ``leading``, ``label_like``), ``sort``, ``desc``, ``columns``,
``per_page``, ``page`` and ``label``.  ``/browse?quantity=gue&order=6&genus=3`` lists
``gue.gue.o6.1``; opening a graph adds ``label=…`` to the same URL, so "back" (the button or the
browser's) returns to the same search.
"""

from __future__ import annotations

import json
import math

import streamlit as st

import common as c
import drawing
from graphexp_db import definitions, formats
from graphexp_db.catalogue import browse as b

W = definitions.WIDGETS
engine = c.get_engine()
url = c.db_url()
PER_PAGE = ["50", "10", "25", "100", "500", "1000"]  # the first is the default

EMBEDDING_HELP = {
    "ribbon": {
        "kind": "ribbon: the trace word glued into a surface (a ribbon graph / hypermap with faces).",
        "V": "Vertices: the number of traces in the word.",
        "E": "Edges: the blocks of the pairing (pairs for Gaussian weights; larger cumulant blocks for other ensembles).",
        "F": "Faces: the index classes after the identification (boundary cycles of the surface).",
        "chi": "Euler characteristic chi = V + E + F - n, n = letters of the word; for pairings (n = 2E) this is V - E + F.",
    },
    "quotient": {
        "kind": "quotient: the glued quotient graph of a tree expansion (no surface).",
        "V": "Vertices: hidden index classes + the output index + one leaf per pair of input or bias edges.",
        "E": "Edges: the blocks (pairs) of the pairing.",
        "F": "Faces: not defined for a quotient graph.",
        "chi": "chi = V - E = 1 - cycle rank; the N-exponent is chi - 1 (0 iff the quotient is a tree).",
    },
}


def _fmt_count(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return c.exact_text(v)


def _detail(label: str) -> None:
    if st.button("← back to search", key="back", help="Back to the search this graph was opened from (the browser's back button works too)."):
        if "label" in st.query_params:
            del st.query_params["label"]
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
        col.metric(key, _fmt_count(g.get(key)) if key in ("coefficient", "n_pairings") else str(g.get(key)), help=definitions.help_for(key) or None)
    pairings = d["pairings"]
    summ = c.safe(b.graph_aggregates, engine, [int(g["id"])], default={}) or {}
    per = summ.get(int(g["id"]), {})
    n_orbits = g.get("n_orbits")
    lines = []
    for ens, sm in sorted(per.items()):
        # the ensemble's own counts (graph_ensemble) where stored, else the shared row's (Gaussian) counts
        npair = sm.get("n_pairings", g.get("n_pairings") if ens == "gaussian" else None)
        norb = sm.get("n_orbits", n_orbits if ens == "gaussian" else None)
        agg_ok = bool(sm["has_rows"]) and (npair is None or sm["aggregated"] == int(str(npair)))
        orb_ok = norb is not None and sm["orbit_rows"] >= int(norb)
        lines.append(
            f"**{ens}**: `aggregates_complete` = {agg_ok} (exact counts of all {_fmt_count(sm['aggregated'])} pairings by surface and "
            f"N-exponent, below); orbit rows stored: {sm['orbit_rows']} of {_fmt_count(norb)} orbits, `orbit_rows_complete` = "
            + ("unknown" if norb is None else str(orb_ok))
            + ("" if orb_ok or norb is None else " (the fill stores orbit rows only up to its per-graph budget)")
        )
    if lines:
        st.markdown("\n".join(f"- {x}" for x in lines))
    c.provenance_box(c.safe(c.provenance, engine, url, g.get("provenance_id")),
                     spec_text=None if not d.get("architecture") else c.decimal_spec(d["architecture"].get("spec")),
                     title="Provenance of this graph")

    left, right = st.columns(2)
    with left:
        st.subheader("Operator graph")
        fig = c.locked(drawing.draw_operator_graph)(gj, label)
        c.pyplot(fig)
        st.caption("Vertices are index slots (N: hidden width, in: input coordinate, out: output, 1: bias column); edges are matrix entries, coloured by matrix.")
    sel = None
    with right:
        st.subheader("Pairing")
        if pairings is None or len(pairings) == 0:
            st.info("No pairing orbit row stored for this graph (it has none, or the fill stored only the exact aggregates).")
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
                fig = c.locked(drawing.draw_chord_diagram)(gj, blocks, f"rank {sel['rank']}: chord diagram")
            else:
                quotient = sel.get("quotient") if "quotient" in pairings.columns else None
                if quotient:
                    fig = c.locked(drawing.draw_quotient)(quotient, f"rank {sel['rank']}: glued quotient")
                else:
                    fig = c.locked(drawing.draw_chord_diagram)(gj, blocks, f"rank {sel['rank']}: pairing of edges")
            c.pyplot(fig)
            st.caption(
                "Chord diagram: the word's letters in cyclic order, chords join paired letters."
                if gj.get("n_traces")
                else "Glued quotient: vertices are index classes after the pairing identifies indices (red: a bias's constant column); edges are the pairs."
            )

    if sel is not None:
        st.subheader("Embedding")
        keys = ["kind", "V", "E", "F", "chi", "genus", "crosscaps", "orientable", "n_exponent", "leading", "multiplicity", "contribution"]
        emb = {k: (None if str(sel.get(k)) == "nan" else sel.get(k)) for k in keys if k in pairings.columns}
        kind_help = EMBEDDING_HELP.get(str(emb.get("kind")), {})
        st.dataframe(
            [{"field": k, "value": "" if v is None else str(v), "meaning": kind_help.get(k) or definitions.help_for(k)} for k, v in emb.items()],
            hide_index=True, width="stretch", key="embedding_table",
        )

    st.subheader("All stored pairings")
    if pairings is not None and len(pairings):
        show = pairings.drop(columns=[x for x in ("blocks_json", "quotient_json", "blocks", "quotient") if x in pairings.columns])
        st.dataframe(show, hide_index=True, width="stretch", column_config=c.column_config(show.columns), key="pairings_table")
        if n_orbits is not None and len(pairings) < int(n_orbits):
            st.caption(f"{len(pairings)} of {int(n_orbits)} orbit rows are stored (orbit_rows_complete is false); the exact counts of all pairings are below.")
    aggs = d["aggregates"]
    if aggs is not None and len(aggs):
        st.caption("Exact pairing counts by surface and N-exponent (all pairings: aggregates_complete)")
        aggs = aggs.assign(count=aggs["count"].map(_fmt_count))
        st.dataframe(aggs, hide_index=True, width="stretch", column_config=c.column_config(aggs.columns), key="aggregates_table")

    st.subheader("Downloads")
    doc = {
        "graph": {k: v for k, v in g.items() if k not in ("graph_json",)},
        "pairings": [] if pairings is None else json.loads(pairings.drop(columns=[x for x in ("blocks_json", "quotient_json") if x in pairings.columns]).to_json(orient="records")),
    }
    multi, loops = formats.graph6_dropped(gj)
    dcols = st.columns(4)
    dcols[0].download_button("JSON", json.dumps(doc, indent=1, default=str), file_name=f"{label}.json", mime="application/json", key="dl_json")
    dcols[1].download_button("DOT", formats.graph_dot(gj, label), file_name=f"{label}.dot", mime="text/vnd.graphviz", key="dl_dot")
    dcols[2].download_button("graph6 (simple graph)", formats.graph_graph6(gj) + "\n", file_name=f"{label}.g6", mime="text/plain", key="dl_g6",
                             help="graph6 stores simple undirected graphs only: directions, colours, multi-edges and loops are dropped. Use DOT or JSON for the full graph.")
    csv = "" if pairings is None or not len(pairings) else pairings.drop(columns=[x for x in ("blocks", "quotient") if x in pairings.columns]).to_csv(index=False)
    dcols[3].download_button("CSV (pairings)", csv, file_name=f"{label}-pairings.csv", mime="text/csv", key="dl_csv")
    st.caption(f"graph6 is a simple-graph export: this graph loses {multi} multi-edge(s) and {loops} loop(s) there; DOT and JSON keep them.")

    st.subheader("Reproduce")
    ens = None if sel is None else str(sel.get("ensemble"))
    cli, py = formats.reproduce_commands(g, d.get("architecture"), ensemble=ens)
    st.code(cli, language="bash")
    st.code(py, language="python")


def _controls(opts: dict) -> dict:
    """The search controls, all in the sidebar and all in the URL.  They are drawn in the detail view
    too, so the search a graph was opened from stays in the URL (and "back" finds it)."""
    with st.sidebar:
        st.header("Filters")
        kinds = st.multiselect("Architecture", opts["kind"], key="kind", bind="query-params", help=W["kind"])
        shapes = st.multiselect("Shape", opts["shape"], key="shape", bind="query-params", help=W["shape"])
        quantities = st.multiselect("Quantity", opts["quantity"], key="quantity", bind="query-params", help=W["quantity"])
        lo, hi = opts["order"]
        order, order_set = c.url_range_slider("Order", "order", lo, hi, help=W["order"])
        ens = c.url_select("Ensemble", "ensemble", ["(any)"] + list(opts["ensemble"]), help=W["ensemble"])
        glo, ghi = opts["genus"]
        genus, genus_set = c.url_range_slider("Genus", "genus", glo, ghi, help=W["genus"])
        nlo, nhi = opts["n_exponent"]
        nexp, nexp_set = c.url_range_slider("N-exponent", "nexp", nlo, nhi, help=W["n_exponent"])
        leading = st.checkbox("Leading order only", key="leading", bind="query-params", help=W["leading_only"])
        like = st.text_input("Label contains", key="label_like", bind="query-params", help=W["label_like"], max_chars=200)
        st.caption("Genus and N-exponent filters use the exact aggregates of all pairings, not only the stored orbit rows.")
        st.header("Results")
        default_cols = ["label", "shape", "quantity", "order", "n_edges", "n_pairings", "min_genus", "max_genus", "max_n_exponent", "n_leading",
                        "by_surface", "orbit_rows_complete"]
        shown = st.multiselect("Columns", list(b.SEARCH_COLUMNS), default=default_cols, key="columns", bind="query-params", help=W["columns"])
        sort_by = st.selectbox("Sort by", list(b.SORTABLE), index=0, key="sort", bind="query-params", help=W["sort_by"])
        desc = st.checkbox("Descending", key="desc", bind="query-params", help=W["descending"])
        per_page = int(st.selectbox("Per page", PER_PAGE, key="per_page", bind="query-params", help="Rows per page."))
        page = int(st.number_input("Page", 1, 10**7, 1, key="page", bind="query-params",
                                   help="Results are paginated; the page number is part of the URL."))
    filters = dict(
        kind=kinds or None, shape=shapes or None, quantity=quantities or None, order_min=order[0] if order_set else None,
        order_max=order[1] if order_set else None, ensemble=None if ens == "(any)" else ens, leading_only=leading, label_like=like or None,
    )
    if genus_set:
        filters.update(genus_min=genus[0], genus_max=genus[1])
    if nexp_set:
        filters.update(n_exponent_min=nexp[0], n_exponent_max=nexp[1])
    return dict(filters=filters, shown=shown, sort=sort_by, desc=desc, per_page=per_page, page=page)


def _search(ctl: dict) -> None:
    st.title("Browse expansions")
    st.caption(definitions.PAGES["browse"])
    filters, shown, sort_by, desc, per_page, page = (ctl[k] for k in ("filters", "shown", "sort", "desc", "per_page", "page"))
    df = c.safe(c.search, engine, url, sort=sort_by, descending=desc, offset=(page - 1) * per_page, limit=per_page, **filters)
    if df is None:
        return
    total = int(df.attrs.get("total", 0))
    n_pages = max(1, math.ceil(total / per_page))
    if page > n_pages:
        st.caption(f"Page {page} is past the last page ({n_pages}); showing the last page.")
        page = n_pages
        df = c.safe(c.search, engine, url, sort=sort_by, descending=desc, offset=(page - 1) * per_page, limit=per_page, **filters)
        if df is None:
            return
    first = (page - 1) * per_page + 1
    st.write(f"**{total:,}** operator graph(s) match" + (f"; rows {first:,}–{first + len(df) - 1:,} on page {page} of {n_pages}." if total else "."))
    if not total:
        st.info("Nothing matches these filters.")
        return
    if "label" not in shown:
        shown = ["label"] + list(shown)
    view = df[[x for x in shown if x in df.columns]].copy()
    for col in ("coefficient", "n_pairings", "n_orbits", "n_leading"):
        if col in view.columns:
            view[col] = view[col].map(_fmt_count)
    view.insert(0, "row", range(first, first + len(view)))
    cfg = c.column_config(view.columns)
    event = st.dataframe(view, hide_index=True, width="stretch", column_config=cfg, on_select="rerun", selection_mode="single-row", key="results",
                         height=min(38 + 35 * len(view), 720))
    picked = None
    rows = getattr(getattr(event, "selection", None), "rows", None) or []   # no selection support / none picked
    if rows and rows[0] < len(view):
        picked = view.iloc[rows[0]]["label"]
    st.download_button("Download this page (CSV)", view.to_csv(index=False), file_name=f"graphs-page{page}.csv", mime="text/csv", key="dl_results")
    st.selectbox("Open detail of", ["—"] + list(view["label"]), key="open_label", help=W["open_label"], on_change=_open_from_select)
    if picked:
        # keep the search in the URL: "back" removes only ``label``
        st.query_params["label"] = picked
        st.rerun()


def _open_from_select() -> None:
    v = st.session_state.get("open_label")
    if v and v != "—":
        st.query_params["label"] = v
        st.session_state["open_label"] = "—"


if engine is not None:
    opts = c.safe(c.options, engine, url, default=None)
    label = st.query_params.get("label")
    if not opts or not opts["shape"]:
        st.title("Browse expansions")
        st.info("No operator graphs stored yet. Fill the catalogue with `graphexp build --preset core`.")
    else:
        ctl = _controls(opts)
        if label:
            _detail(label)
        else:
            _search(ctl)
else:
    st.title("Browse expansions")
