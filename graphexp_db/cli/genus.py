"""``graphexp genus-table``: genus distributions of trace words."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import Force, JsonOut, emit_json, fail


def register(app: typer.Typer) -> None:
    app.command("genus-table")(genus_table)


def genus_table(
    ensemble: Annotated[str, typer.Option("--ensemble", help="gue (tr H^2n), real or complex (Ginibre tr (X X^T)^k).")] = "gue",
    n_max: Annotated[int, typer.Option("--n-max", help="Largest n (gue: tr H^(2n)) or k (Ginibre).", min=1)] = 6,
    json_out: JsonOut = False,
    force: Force = False,
) -> None:
    """Count Wick pairings by genus: Harer–Zagier numbers for GUE, genus/crosscap tables for Ginibre.

    JSON: {"table": {"<n>": {"<g>": count}}}; for real Ginibre non-orientable surfaces appear as
    keys "N<h>" (h crosscaps).
    """
    from ..finite import DEFAULT_LIMIT, ginibre_genus_table, gue_genus_table
    from ..spec import SpecError

    limit = 10**12 if force else DEFAULT_LIMIT
    ens = ensemble.strip().lower()
    try:
        if ens == "gue":
            table = {str(n): {str(g): c for g, c in row.items()} for n, row in gue_genus_table(n_max, limit=limit).items()}
        elif ens in ("real", "gaussian", "complex"):
            rows = ginibre_genus_table(n_max, "complex" if ens == "complex" else "gaussian", limit=limit)
            table = {str(k): row for k, row in rows.items()}
        else:
            raise SpecError(f"unknown ensemble {ensemble!r} for genus-table (expected gue, real or complex)")
    except SpecError as exc:
        fail(str(exc))
    if json_out:
        emit_json({"table": table})
        return
    from rich.console import Console
    from rich.table import Table

    cols = sorted({g for row in table.values() for g in row}, key=lambda s: (s[0].isalpha(), int(s.lstrip("N"))))
    t = Table(title=f"pairings by genus ({ens})")
    t.add_column("n" if ens == "gue" else "k")
    for c in cols:
        t.add_column(f"g={c}" if c[0].isdigit() else c, justify="right")
    for n, row in table.items():
        t.add_row(n, *[str(row.get(c, "")) for c in cols])
    Console().print(t)
