"""The test suite's own options: ``--runslow`` and the ``xp`` fixture (tests/conftest.py), run in pytester."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).resolve().parents[1] / "conftest.py").read_text()
TESTS = """
import pytest

@pytest.mark.slow
def test_long():
    pass

def test_short():
    pass

def test_array(xp):
    assert xp.asarray([1.0, 2.0]).sum() == 3.0
"""


def _run(pytester, *args):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    slow: long\n    gpu: cuda\n")
    pytester.makepyfile(test_options=TESTS)
    return pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider", *args)


def test_slow_tests_skip_with_a_reason_without_runslow(pytester):
    r = _run(pytester)
    r.assert_outcomes(passed=2 + GPU, skipped=2 - GPU)
    r.stdout.fnmatch_lines(["*SKIPPED*test_options.py*needs --runslow*"])


def test_runslow_runs_them(pytester):
    r = _run(pytester, "--runslow")
    r.assert_outcomes(passed=3 + GPU, skipped=1 - GPU)


def _gpu_usable() -> int:
    # evaluated once at collection: pytester restores sys.modules between tests, and numpy cannot
    # be imported twice in one process
    from graphexp_db.backend import DeviceError, get_xp

    try:
        get_xp("gpu")
        return 1
    except DeviceError:  # no cupy, or no usable device: the cupy case of `xp` skips
        return 0


GPU = _gpu_usable()
