"""The ``graphexp`` command line (typer): one module per command, registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
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
