"""The SQL catalogue: typed models, engines, migrations and idempotent writes.

Submodules: ``models`` (tables, views, exact types), ``engine`` (URLs, engines, sessions),
``migrate`` (Alembic, schema checks), ``store`` (provenance, ``insert_ignore``), ``fill``
(expansions into the catalogue) and ``query`` (read-only SQL and browse functions).  The names
below are re-exported lazily so that importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "default_url": "engine",
    "get_engine": "engine",
    "session_scope": "engine",
    "upgrade": "migrate",
    "ensure_schema": "migrate",
    "check_schema": "migrate",
    "current_revision": "migrate",
    "head_revision": "migrate",
    "SchemaOutdated": "migrate",
    "new_provenance": "store",
    "finish_provenance": "store",
    "insert_ignore": "store",
    "get_or_create_architecture": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
