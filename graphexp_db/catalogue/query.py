"""Read-only SQL and the browse functions of the catalogue (compatibility facade).

The code lives in three modules; this one re-exports them so existing imports keep working:

- :mod:`graphexp_db.catalogue.readonly`: the read-only SQL console (``check_readonly``,
  ``run_readonly``, ``QueryResult``, ``example_queries``, ``resolve_url``);
- :mod:`graphexp_db.catalogue.browse`: the read functions of the browse pages
  (``catalogue_counts``, ``search_graphs``, ``graph_detail`` ...);
- :mod:`graphexp_db.formats`: DOT / graph6 renderings and reproduce commands (pure core).
"""

from __future__ import annotations

from ..errors import ReadOnlyError
from ..formats import graph_dot, graph_graph6, reproduce_commands, slot_name
from .browse import (
    SEARCH_COLUMNS,
    catalogue_counts,
    catalogue_options,
    genus_distribution,
    graph_detail,
    random_label,
    search_graphs,
    table_rows,
)
from .readonly import (
    DEFAULT_ROW_CAP,
    DEFAULT_TIMEOUT_S,
    MAX_ROW_CAP,
    MAX_TIMEOUT_S,
    READ_ROLE,
    QueryResult,
    _run_postgres,
    _run_sqlite,
    check_readonly,
    ensure_reader_role,
    example_queries,
    query_caps,
    resolve_read_url,
    resolve_url,
    run_readonly,
)

__all__ = [
    "QueryResult",
    "ReadOnlyError",
    "check_readonly",
    "run_readonly",
    "example_queries",
    "catalogue_counts",
    "catalogue_options",
    "genus_distribution",
    "search_graphs",
    "graph_detail",
    "random_label",
    "table_rows",
    "graph_dot",
    "graph_graph6",
    "reproduce_commands",
    "SEARCH_COLUMNS",
    "resolve_url",
    "slot_name",
    "DEFAULT_ROW_CAP",
    "DEFAULT_TIMEOUT_S",
    "MAX_ROW_CAP",
    "MAX_TIMEOUT_S",
    "READ_ROLE",
    "query_caps",
    "ensure_reader_role",
    "resolve_read_url",
]

_PRIVATE = (_run_postgres, _run_sqlite)  # re-exported for tests that drive one layer alone
