"""``graphexp --help`` stays light: importing the CLI (and printing the help) loads no numpy,
networkx, pynauty, scipy, sympy or SQLAlchemy (issue 12; the timing itself is a benchmark)."""

import subprocess
import sys

import pytest

HEAVY = ("numpy", "networkx", "pynauty", "scipy", "sympy", "sqlalchemy", "numba")


@pytest.mark.parametrize("code", [
    "import graphexp_db.cli",
    "import sys; sys.argv = ['graphexp', '--help']\nfrom graphexp_db.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
])
def test_cli_import_and_help_load_no_heavy_modules(code):
    probe = code + f"\nimport sys\nprint('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    line = [x for x in out.splitlines() if x.startswith("LOADED=")][-1]
    assert line == "LOADED=", line


def test_package_verbs_still_resolve_lazily():
    code = ("import graphexp_db as gx, sys\n"
            "assert 'numpy' not in sys.modules\n"
            "assert gx.trace_series(1, 2, 'gaussian') == {0: 2, 1: 1}\n"
            "import graphexp_db.kernels\n"
            "assert callable(gx.kernels) and gx.kernels.__module__ == 'graphexp_db.kernels'\n"
            "assert gx.kernels is sys.modules['graphexp_db.kernels'].kernels\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
