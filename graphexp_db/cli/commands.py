"""The list of command modules; each defines ``register(app)``."""

from __future__ import annotations

import importlib

_NAMES = ("db", "query", "build", "expand", "genus", "finite", "serve", "limit", "moments", "density", "simulate")
MODULES = []
for _name in _NAMES:
    MODULES.append(importlib.import_module(f"graphexp_db.cli.{_name}"))
