"""The modules added for issues 11/12 stay in the pure core (no database, UI, CLI, GPU or Dask
imports), and the genus kernel's numpy fallback (no numba) gives the same exact sums."""

import subprocess
import sys

import pytest

NEW = ["genus_kernel", "kernels", "jacobian", "noncrossing", "limits"]


@pytest.mark.parametrize("module", NEW)
def test_new_core_modules_import_no_io_libraries(module):
    code = (
        f"import sys, graphexp_db.{module}; "
        "bad = [m for m in ('sqlalchemy', 'streamlit', 'typer', 'cupy', 'alembic', 'dask', 'matplotlib') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"graphexp_db.{module} imports {out}"


def test_without_numba_the_reference_path_gives_the_same_sums():
    code = ("from graphexp_db import genus_kernel as gk\n"
            "from graphexp_db.finite import gue_genus_table, harer_zagier, trace_series\n"
            "assert not gk.compiled_available()\n"
            "assert gue_genus_table(5)[5] == harer_zagier(5)\n"
            "assert trace_series(2, 2) == {0: 3, 1: 3, 2: 3}\n"
            "print('ok')")
    env = {**__import__("os").environ, "GRAPHEXP_NO_NUMBA": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
