"""The ``graphexp`` command line (typer): one module per command, registered here."""

from __future__ import annotations

import typer

from ._common import GraphexpGroup

app = typer.Typer(
    cls=GraphexpGroup,  # the single handler: every user-facing failure is one line and exit 2
    name="graphexp",
    help="graphexp-db: graph expansions of deep neural networks (operator graphs, Wick pairings, genus, limits).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each command module exposes ``register(app)``; importing them lazily keeps ``--help`` fast.
    from . import commands

    for module in commands.MODULES:
        module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


_register()
