"""Caps of the read-only console and the result type: limits, :func:`query_caps`, :class:`QueryResult`,
and the batch fetcher that stops at the row or byte cap (used by both database sandboxes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_ROW_CAP = 10_000
DEFAULT_TIMEOUT_S = 10.0
#: Largest accepted row cap and time limit (PostgreSQL's statement_timeout stops at ~24.8 days).
MAX_ROW_CAP = 1_000_000
MAX_TIMEOUT_S = 600.0
#: The result kept in memory stops at this many bytes (the result is then marked truncated).
MAX_RESULT_BYTES = 32 * 2**20
#: One value (SQLite ``SQLITE_LIMIT_LENGTH``) / one row (PostgreSQL guard) at most.
MAX_VALUE_BYTES = 4 * 2**20
#: Growth of this process's memory allowed while one SQLite query runs.
MEMORY_BUDGET_BYTES = 192 * 2**20
#: SQLite virtual-machine instructions one query may execute.
SQLITE_MAX_STEPS = 2_000_000_000
#: PostgreSQL per-operation memory and temporary-file space of one query.
PG_WORK_MEM = "16MB"
PG_TEMP_FILE_LIMIT = "256MB"
MAX_QUERY_CHARS = 20_000
#: Name of the read-only PostgreSQL role (``graphexp db reader`` creates it).
READ_ROLE = "graphexp_reader"
_FETCH_BATCH = 64


def query_caps() -> dict:
    """The caps every console query runs under, for the CLI help and the web UI.

    >>> caps = query_caps()
    >>> caps["row_cap_max"], caps["timeout_s_max"], caps["memory_budget_mb"]
    (1000000, 600.0, 192)
    """
    return {
        "row_cap_default": DEFAULT_ROW_CAP,
        "row_cap_max": MAX_ROW_CAP,
        "timeout_s_default": DEFAULT_TIMEOUT_S,
        "timeout_s_max": MAX_TIMEOUT_S,
        "result_mb_max": MAX_RESULT_BYTES // 2**20,
        "value_mb_max": MAX_VALUE_BYTES // 2**20,
        "memory_budget_mb": MEMORY_BUDGET_BYTES // 2**20,
        "query_chars_max": MAX_QUERY_CHARS,
        "postgres_work_mem": PG_WORK_MEM,
        "postgres_temp_file_limit": PG_TEMP_FILE_LIMIT,
        "postgres_role": READ_ROLE,
        "summary": (
            f"read-only; at most {DEFAULT_ROW_CAP:,} rows by default (max {MAX_ROW_CAP:,}), "
            f"{DEFAULT_TIMEOUT_S:g} s by default (max {MAX_TIMEOUT_S:g} s), "
            f"{MAX_RESULT_BYTES // 2**20} MB of results, {MAX_VALUE_BYTES // 2**20} MB per value, "
            f"{MEMORY_BUDGET_BYTES // 2**20} MB of working memory"
        ),
    }


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a read-only query; ``truncated`` when the row cap cut the result.

    ``meta`` says which cap cut it (``"cut_by"``: ``"rows"`` or ``"bytes"``) and the caps used.
    """

    columns: list[str]
    rows: list[tuple]
    truncated: bool = False
    elapsed_s: float = 0.0
    row_cap: int = DEFAULT_ROW_CAP
    meta: dict = field(default_factory=dict)

    def to_frame(self):
        """The result as a pandas DataFrame (duplicate column names are made unique)."""
        import pandas as pd

        cols, seen = [], {}
        for c in self.columns:
            n = seen.get(c, 0)
            seen[c] = n + 1
            cols.append(c if n == 0 else f"{c}_{n}")
        return pd.DataFrame([list(r) for r in self.rows], columns=cols)

    def to_json(self) -> dict:
        """``{"columns": [...], "rows": [[...]], "truncated": bool}`` with JSON-safe cells."""
        return {"columns": list(self.columns), "rows": [[_json_cell(v) for v in r] for r in self.rows], "truncated": self.truncated}


def _cell_size(v) -> int:
    if v is None or isinstance(v, (bool, int, float)):
        return 16
    if isinstance(v, str):
        return 49 + len(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return 33 + len(v)
    return 64 + len(str(v))


def _collect(fetch, row_cap: int, max_bytes: int, meta: dict) -> tuple[list[tuple], bool]:
    """Fetch rows batch by batch until the row cap or the byte cap; return (rows, truncated)."""
    rows: list[tuple] = []
    size = 0
    while True:
        batch = fetch(min(_FETCH_BATCH, row_cap + 1 - len(rows)))
        if not batch:
            return rows, False
        for r in batch:
            if len(rows) >= row_cap:
                meta["cut_by"] = "rows"
                return rows, True
            r = tuple(r)
            size += 56 + sum(_cell_size(v) for v in r)
            if size > max_bytes:
                meta["cut_by"] = "bytes"
                return rows, True
            rows.append(r)

def _json_cell(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)

