"""``vhtqdm preview -- COMMAND``: run a command against a local stand-in for Valohai.

Starts ``preview_server`` on 127.0.0.1, writes a temporary ``api.json`` pointing at it, runs
the command with ``VH_CONFIG_DIR`` set (and ``VHTQDM_ALERT_URL`` at the server's stand-in
webhook: the alerts the job would send are shown, never sent), and serves the live page
meanwhile. When the command ends: its final status drawn in the terminal, a summary, the alerts,
and the command's exit code.
Preview's own lines go to stderr; the command's stdout stays the command's.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Mapping
from types import FrameType
from typing import Any, TextIO

from .._text import clean
from .._webhooks import JSON, detect
from . import render
from .preview_server import EXECUTION_ID, PreviewServer, PreviewState

DEFAULT_PORT = 8765
MAX_PORT = 65535
OPEN_WAIT = 5.0  # seconds the report waits for the browser's answer (--open)
_FORWARDED = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)
_STOP = (signal.SIGINT, signal.SIGTERM)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm preview`` and its options."""
    parser = commands.add_parser(
        "preview",
        help="run a command against a local stand-in for Valohai, with a live status page",
        description="Run COMMAND as if on Valohai: its status updates go to a server on "
        "127.0.0.1, shown live at http://127.0.0.1:PORT/ (gauges, sparklines, colored text, "
        "the last updates). When COMMAND ends, its final status and a summary are printed; "
        "the exit code is COMMAND's.",
        epilog="examples:\n"
        "  vhtqdm preview -- python examples/train.py\n"
        "  vhtqdm preview --open --hold -- python train.py --epochs 3\n"
        f"  vhtqdm watch --host http://127.0.0.1:{DEFAULT_PORT} {EXECUTION_ID}"
        "   # the same status, from another terminal\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, or any free one if it is taken; "
        "0: any free one)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument(
        "--hold", action="store_true", help="keep serving the page after COMMAND ends, until Ctrl-C"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    parser.set_defaults(run=run, parser=parser)


def _say(out: TextIO, message: str) -> None:
    """One line of preview's own, flushed at once (the command writes to the same terminal)."""
    out.write(f"vhtqdm preview: {message}\n")
    out.flush()


def port_number(text: str | None) -> int | None:
    """``--port``'s value: None when not given; a :class:`ValueError` unless 0 to 65535."""
    if text is None:
        return None
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= MAX_PORT:
        raise ValueError(f"--port must be a number from 0 to {MAX_PORT} (0: any free one)")
    return port


def open_page(url: str, out: TextIO) -> None:
    """Open ``url`` in a web browser, or say that none could (no display, no browser)."""
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        _say(out, f"no web browser could open the page: open {url} yourself")


def bind(state: PreviewState, port: int | None) -> PreviewServer:
    """A server on ``port``; on the default port, any free one when it is taken."""
    try:
        return PreviewServer(state, DEFAULT_PORT if port is None else port)
    except OSError as exc:
        if port is not None or exc.errno != errno.EADDRINUSE:
            raise
    return PreviewServer(state, 0)


def command_env(environ: Mapping[str, str], config_dir: str, alert_url: str) -> dict[str, str]:
    """The command's environment: ours, with the config dir, the stand-in webhook in place of
    any other (alerts in vhtqdm's JSON, which the page reads), and no proxy for loopback."""
    env = dict(environ)
    env["VH_CONFIG_DIR"] = config_dir
    env["VHTQDM_ALERT_URL"] = alert_url
    env["VHTQDM_ALERT_FORMAT"] = JSON
    # requests reads no_proxy before NO_PROXY: whichever is set must list the preview's address.
    for name in {"NO_PROXY", *(n for n in ("no_proxy",) if n in env)}:
        env[name] = ",".join(p for p in (env.get(name, ""), "127.0.0.1") if p)
    return env


def exit_code(returncode: int) -> int:
    """A shell's exit code for a child's return code (killed by signal N: 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def run_command(command: list[str], env: dict[str, str], out: TextIO) -> int:
    """Run ``command`` to its end and return its exit code, forwarding termination signals.

    Ctrl-C needs no forwarding: the terminal sends it to the whole foreground process group,
    the command included; preview outlives it to report. A second Ctrl-C terminates the
    command, a third kills it.
    """
    try:
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        _say(out, f"command not found: {command[0]}")
        return 127
    except PermissionError:
        _say(out, f"permission denied: {command[0]}")
        return 126
    interrupts = 0

    def forward(signum: int, _frame: FrameType | None) -> None:
        """Pass a signal on; Ctrl-C only from the second one (the first reached the command)."""
        nonlocal interrupts
        if signum == signal.SIGINT:
            interrupts += 1
            if interrupts == 1:
                return
            signum = signal.SIGTERM if interrupts == 2 else signal.SIGKILL
        with contextlib.suppress(OSError):  # it has just ended
            child.send_signal(signum)

    previous = _set_handlers({sig: forward for sig in (signal.SIGINT, *_FORWARDED)})
    try:
        return exit_code(child.wait())
    finally:
        _set_handlers(previous)


def _set_handlers(handlers: dict[int, Any]) -> dict[int, Any]:
    """Install signal handlers (signal → handler); returns the ones they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # only the main thread may handle signals (preview run from a library)
    return {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}


def spacing(gaps: list[float]) -> str:
    """``spacing min 0.98 s · median 1.00 s · max 1.52 s`` between consecutive updates."""
    if not gaps:
        return ""
    return (
        f"spacing min {min(gaps):.2f} s · median {statistics.median(gaps):.2f} s · "
        f"max {max(gaps):.2f} s"
    )


def destination(environ: Mapping[str, str]) -> str:
    """Where the job's alerts would go outside the preview, in a few words."""
    url = environ.get("VHTQDM_ALERT_URL", "").strip()
    if not url:
        return "set VHTQDM_ALERT_URL to send them to Slack, Teams, Discord or any webhook"
    fmt = environ.get("VHTQDM_ALERT_FORMAT", "").strip().lower() or detect(url)
    return f"as {fmt} messages to VHTQDM_ALERT_URL outside the preview; nothing was sent there"


def report(state: PreviewState, code: int, seconds: float, out: TextIO, where: str) -> None:
    """The final status, drawn as ``vhtqdm watch`` draws it, what the server saw, the alerts."""
    tty = out.isatty()
    ansi = tty and not os.environ.get("NO_COLOR")
    width = shutil.get_terminal_size().columns - 3 if tty else 100
    latest = state.latest
    ended = f"the command exited with code {code} after {seconds:.1f} s"
    if latest is None:
        hint = "does it use vhtqdm.tqdm, or run under vhtqdm run?"
        _say(out, f"{ended}; no status update was received ({hint})")
    else:
        _say(out, f"{ended}; its final status:")
        out.write("".join(f"  {line}\n" for line in render.render(latest.status, width, ansi)))
        count, gaps = state.count, spacing(state.gaps)
        plural = "s" if count != 1 else ""
        _say(out, f"{count} status update{plural} received" + (f", {gaps}" if gaps else ""))
    alerts = state.alerts
    if alerts:
        plural = "s" if len(alerts) != 1 else ""
        _say(out, f"{len(alerts)} alert{plural} the job would send ({where}):")
        for alert in alerts:
            out.write(f"  [{alert.level}] {alert.event}: {clean(alert.title, width)}\n")
    else:
        _say(out, f"no alert would be sent ({where})")
    if state.rejected:
        _say(out, f"{state.rejected} request(s) refused (a wrong token or a malformed body)")


def _hold(url: str, out: TextIO) -> None:
    """Keep serving until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = _set_handlers({sig: lambda _s, _f: stop.set() for sig in _STOP})
    _say(out, f"still serving {url} (Ctrl-C to stop)")
    try:
        while not stop.is_set():
            time.sleep(0.1)
    finally:
        _set_handlers(previous)


def run(args: argparse.Namespace) -> int:
    """Serve, run the command, report; the exit code is the command's."""
    out = sys.stderr
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        _say(out, "no command given: vhtqdm preview [--port N] [--open] [--hold] -- COMMAND …")
        return 2
    try:
        port = port_number(args.port)
    except ValueError as exc:
        _say(out, str(exc))
        return 2
    state = PreviewState(shlex.join(command))
    try:
        server = bind(state, port)
    except OSError as exc:
        _say(out, f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")
        return 2
    config_dir = tempfile.mkdtemp(prefix="vhtqdm-preview-")
    try:
        server.start()
        _say(out, f"{server.url}  (live status of: {clean(state.command, 100)})")
        path = os.path.join(config_dir, "api.json")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            json.dump(server.api_json(), fh)
        opener = threading.Thread(target=open_page, args=(server.url, out), daemon=True)
        if args.open:
            opener.start()
        started = time.monotonic()
        env = command_env(os.environ, config_dir, server.alert_url)
        code = run_command(command, env, out)
        if args.open:
            opener.join(OPEN_WAIT)  # its word on the browser comes before the report
        state.finish(code)
        report(state, code, time.monotonic() - started, out, destination(os.environ))
        state.let_readers_see_the_end(timeout=1.5)  # a page or a watch shows how it ended
        if args.hold:
            _hold(server.url, out)
        return code
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)
        server.close()
