"""CLI contract: the ``--json`` output of the README's examples stays byte-identical.

The snapshots in ``snapshots/cli_json.json`` were recorded from the code *before* the architecture
step of issue 11 (small sizes, fixed seeds, so each command runs in about a second).  Every command
here is run through typer's ``CliRunner`` and its stdout is compared byte for byte with the
snapshot.  The only allowed difference is a documented *addition* of keys (``ADDED``): those keys
must be present, and once they are removed the document must re-serialise to exactly the recorded
bytes (``emit_json`` writes ``json.dumps(obj)``, and Python floats round-trip through ``repr``).

Record again (only when a contract change is intended and documented):
``PYTHONPATH=$PWD python tests/integration/test_cli_contract_snapshots.py --record``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).with_name("snapshots") / "cli_json.json"

# The README's CLI examples (same commands and options), at small sizes with fixed seeds.
COMMANDS = [
    "genus-table --ensemble gue --n-max 6 --json",
    "genus-table --ensemble real --n-max 3 --json",
    "genus-table --ensemble complex --n-max 3 --json",
    "finite-width trace --ensemble real --p 2 --k 2 --json",
    "finite-width covariance --arch mlp:L=2,sw=1.2,sb=0.3 --activation poly:0.1,1,0.5 --x 1,0.5,-0.3 --y 0.2,-1,0.7 --json",
    "finite-width fourpoint --arch mlp:L=1,sw=1.2,sb=0.3 --activation poly:0.1,1,0.5 --x 1,0.5,-0.3 --json",
    "limit nngp --arch mlp:L=3,sw=1.5,sb=0.1 --activation erf --x 1,0.5,-0.3 --y 0.2,-1,0.7 --json",
    "limit ntk --arch mlp:L=3,sw=1.5,sb=0.1 --activation relu --x 1,0.5,-0.3 --y 0.2,-1,0.7 --json",
    "limit nngp --arch resnet:L=inf,sw=1 --activation tanh --x 1,0 --y 0.6,0.8 --json",
    "limit depth-convergence --arch resnet:sw=1 --activation tanh --x 1,0 --y 0.6,0.8 --json",
    "limit convergence --arch mlp:L=2,sw=1.2,sb=0.1 --activation sin --x 1,0.5,-0.3 --y 0.2,-1,0.7 --json",
    "moments jacobian --arch mlp:L=3,sw=1.5 --activation tanh --q-in 1 --kmax 12 --json",
    "simulate kernel --arch mlp:L=2 --activation relu --x 1,0.5 --y 0.2,-1 --width 32 --samples 8 --json",
    "simulate kernel --arch mlp:L=1,sw=1.2,sb=0.1 --activation tanh --x 1,0.5 --y 0.2,-1 --width 16 --samples 8 "
    "--ensemble rademacher --json",
    "simulate kernel --arch resnet:L=2,sw=1 --activation tanh --x 1,0 --y 0.6,0.8 --width 16 --samples 8 --json",
    "simulate jacobian --arch mlp:L=2,sw=1.5 --activation tanh --q-in 1 --width 32 --samples 4 --kmax 4 --seed 0 --json",
    "simulate fourpoint --arch mlp:L=1,sw=1.2,sb=0.3 --activation poly:0.1,1,0.5 --x 1,0.5 --width 4 --samples 200 --json",
    "simulate fourpoint --arch mlp:L=1 --activation tanh --x 1,0.5 --width 4 --samples 200 --json",
    "simulate ntk-rate --arch mlp:L=2 --activation relu --widths 8,16,32 --samples 3 --json",
    "simulate commutativity --arch resnet:sw=1 --activation tanh --widths 8,16 --depths 2,4 --samples 3 --json",
    "simulate linearity --arch mlp:L=2 --activation tanh --widths 8,16,32 --samples 2 --steps 2 --json",
    "simulate linearity --arch mlp:L=1 --activation tanh --widths 8,16 --samples 2 --no-drift --json",
    "simulate universality --arch mlp:L=1 --activation tanh --ensembles gaussian;rademacher;complex --width 16 "
    "--samples 3 --kmax 2 --json",
]

# Keys added on purpose after the snapshots were recorded (additions only; the rest is unchanged),
# by command prefix: issue 8.4 added ``limit_kind`` (which limit nngp_limit / ntk_limit are); issue 8
# added ``method``, ``max_order`` and ``oracle`` to finite-width, and an exact 1/N series for every
# activation, so ``simulate fourpoint`` with tanh now has ``exact_series``/``exact_value`` too.
ADDED: dict[str, tuple[str, ...]] = {
    "simulate kernel": ("limit_kind", "nngp_limit_fixed_d"),
    "finite-width covariance": ("method", "max_order", "oracle", "ensemble"),
    "finite-width fourpoint": ("method", "max_order", "oracle", "ensemble"),
    "simulate fourpoint": ("exact_series", "exact_value"),
}


def _run(command: str) -> str:
    from typer.testing import CliRunner

    from graphexp_db.cli import app

    r = CliRunner().invoke(app, shlex.split(command))
    assert r.exit_code == 0, f"{command}: exit {r.exit_code}: {r.output}"
    return r.stdout.strip().splitlines()[-1] + "\n"


def _snapshots() -> dict:
    return json.loads(SNAPSHOTS.read_text())


@pytest.mark.parametrize("command", COMMANDS)
def test_json_output_matches_snapshot(command):
    expected = _snapshots()[command]
    out = _run(command)
    added = ADDED.get(command.split(" --")[0], ())
    if added:
        doc, recorded = json.loads(out), json.loads(expected)
        missing = [k for k in added if k not in doc]
        assert not missing, f"{command}: documented new keys missing: {missing}"
        for k in added:
            if k not in recorded:  # a key the snapshot already had must still match byte for byte
                del doc[k]
        out = json.dumps(doc, indent=None, default=str) + "\n"
    if out != expected:
        # same keys, types and exact values everywhere; floats may move in the last bits only
        # (a faster closed-form path or another BLAS rounds differently: issue 12)
        assert _same(json.loads(out), json.loads(expected)), f"{command}: JSON output changed\n got: {out[:600]}\nwant: {expected[:600]}"


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        # 1e-9, not 1e-12: OpenBLAS picks its kernels per CPU, and reductions through eigensolvers and
        # fitted slopes move the last ~4 digits between an AMD and an Intel machine (seen: 2e-12)
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_every_snapshot_has_a_command():
    assert sorted(_snapshots()) == sorted(COMMANDS)


if __name__ == "__main__":  # pragma: no cover - recording is a manual, deliberate step
    if "--record" not in sys.argv:
        sys.exit("usage: test_cli_contract_snapshots.py --record")
    SNAPSHOTS.parent.mkdir(exist_ok=True)
    SNAPSHOTS.write_text(json.dumps({c: _run(c) for c in COMMANDS}, indent=1) + "\n")
    print(f"recorded {len(COMMANDS)} snapshots in {SNAPSHOTS}")
