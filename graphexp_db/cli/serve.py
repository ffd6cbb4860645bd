"""graphexp serve: the Streamlit web UI over a catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from ._common import DbUrl, fail

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    db: DbUrl = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Address to bind (127.0.0.1: this machine only).")] = "127.0.0.1",
    no_schema: Annotated[bool, typer.Option("--no-schema-check", help="Do not create/upgrade the schema before serving.")] = False,
) -> None:
    """Serve the web UI (browse expansions, limits, ResNet and DAG pages, read-only SQL console).

    Runs ``streamlit run app/streamlit_app.py`` headless on HOST:PORT with ``GRAPHEXP_DB`` set to the
    catalogue; the schema is created first when it is missing.
    """
    from graphexp_db.catalogue.query import resolve_url

    url = resolve_url(db)
    if not APP.exists():
        fail(f"the web app is missing: {APP}")
    _check_bind(host, port)
    if not no_schema:
        _ensure_schema(url)
    env = dict(os.environ, GRAPHEXP_DB=url)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
    ]
    typer.echo(f"serving {url} on http://{host}:{port}", err=True)
    raise typer.Exit(_run(cmd, env))


def _check_bind(host: str, port: int) -> None:
    """One line and exit 2 unless HOST:PORT can be bound here (an address of this machine, a free port).

    Binding ``0.0.0.0`` / ``::`` or a public address is allowed (serve is then reachable from the
    network: a warning says so); an address that is not one of this machine's, an unknown host name
    or a port in use is refused before streamlit starts.
    """
    import ipaddress
    import socket

    if not host or len(host) > 255 or any(c.isspace() for c in host):
        fail(f"--host {host!r} is not a host name or address")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as err:
        fail(f"--host {host!r} does not resolve: {err}")
    last = None
    for family, socktype, proto, _name, addr in infos:
        try:
            with socket.socket(family, socktype, proto) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(addr)
        except OSError as err:
            last = err
            continue
        try:
            loopback = ipaddress.ip_address(addr[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            typer.echo(f"warning: {host} is reachable from the network; the SQL console is read-only and capped, but anyone who reaches it can use it", err=True)
        return
    fail(f"cannot serve on {host}:{port}: {last.strerror if last is not None and last.strerror else last} (use an address of this machine, e.g. 127.0.0.1, and a free port)")


def _run(cmd: list[str], env: dict) -> int:
    """Run streamlit as a child and pass SIGTERM/SIGINT on, so stopping serve stops the server."""
    import signal

    proc = subprocess.Popen(cmd, env=env)

    def forward(signum, frame):  # noqa: ARG001
        if proc.poll() is None:
            proc.send_signal(signum)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _ensure_schema(url: str) -> None:
    """Create the schema when the catalogue layer offers it (a missing layer is not an error)."""
    try:
        from graphexp_db.catalogue.engine import get_engine
        from graphexp_db.catalogue.migrate import ensure_schema
    except ImportError:
        return
    try:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        ensure_schema(get_engine(url))
    except Exception as err:  # a stale or unreachable catalogue: one line, exit 2
        fail(f"cannot prepare the catalogue {url}: {err}")
