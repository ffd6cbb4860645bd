"""Small readers shared by the browse and search functions: which tables exist, a statement as a
DataFrame, and the natural sort of labels."""

from __future__ import annotations

import math
import re
from typing import Any


def _tables(engine) -> set[str]:
    from sqlalchemy import inspect

    insp = inspect(engine)
    return set(insp.get_table_names()) | set(insp.get_view_names())


def _frame(engine, sql: str, params: dict | None = None):
    import pandas as pd
    from sqlalchemy import text

    with engine.connect() as conn:
        res = conn.execute(text(sql), params or {})
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def _kind_of_shape(shape: Any) -> str:
    s = str(shape or "")
    return re.split(r"[-:]", s, maxsplit=1)[0] if s else ""


def _columns(engine, table: str) -> set[str]:
    from sqlalchemy import inspect

    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    except Exception:
        return set()


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def natural_key(label: Any) -> tuple:
    """Sort key ordering digit runs as numbers: ``mlp-L2.cov.o2.9`` before ``mlp-L2.cov.o2.10``.

    >>> sorted(["g.o2.10", "g.o2.9", "g.o10.1"], key=natural_key)
    ['g.o2.9', 'g.o2.10', 'g.o10.1']
    """
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(label)) if t != "")
