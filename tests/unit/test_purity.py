"""The combinatorial core stays pure: no database, UI, CLI or GPU imports (STYLE.md)."""

import subprocess
import sys

import pytest

CORE = ["spec", "expand", "pair", "embed", "canonical", "finite"]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io_libraries(module):
    code = (
        f"import sys, graphexp_db.{module}; "
        "bad = [m for m in ('sqlalchemy', 'streamlit', 'typer', 'cupy', 'alembic', 'dask') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"graphexp_db.{module} imports {out}"
