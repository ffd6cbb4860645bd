"""Module size (issue 11): no module of graphexp_db holds more than 500 lines of code.

Lines of code exclude docstrings (every public function carries numpydoc sections and a doctested
example, which roughly doubles a module's raw length), comments and blank lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "graphexp_db"
LIMIT = 500


def code_lines(path: Path) -> int:
    src = path.read_text()
    docs: set[int] = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docs.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(1 for i, line in enumerate(src.splitlines(), 1)
               if i not in docs and line.strip() and not line.strip().startswith("#"))


def test_code_lines_counts_code_only(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""doc\\n\\nmore doc"""\n\nimport os  # why\n\n\ndef f():\n    """doc"""\n    # comment\n    return os\n')
    assert code_lines(f) == 3


def test_no_module_over_500_lines_of_code():
    sizes = {str(p.relative_to(PACKAGE.parent)): code_lines(p) for p in PACKAGE.rglob("*.py")}
    over = {p: n for p, n in sizes.items() if n > LIMIT}
    assert not over, over
