"""The ``vhtqdm`` command: pipe mode (no subcommand), ``status``, ``alert``, ``watch``,
``preview`` and ``run``.

A first word that names a subcommand goes to argparse; anything else is tqdm's command line,
handed over whole so that every tqdm option keeps its exact meaning.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from types import TracebackType

from tqdm import __version__ as tqdm_version

from .. import __version__
from .._text import clean
from . import alert, pipe, preview, run, status, watch

SUBCOMMANDS = ("status", "watch", "preview", "alert", "run")
USAGE = """
  vhtqdm [TQDM OPTIONS] < INPUT > OUTPUT
  vhtqdm status [TEXT] [--color C] [--gauge V [--max M] [--label L]] [--sparkline V1,V2,…]
  vhtqdm alert TEXT [--level info|warn|error]
  vhtqdm watch [EXECUTION | --task ID | --pipeline ID | --project ID] [--interval S] [--once]
               [--json] [--exit-status]
  vhtqdm preview [--port N] [--open] [--hold] -- COMMAND [ARGS …]
  vhtqdm run [--] COMMAND [ARGS …]"""
DESCRIPTION = """\
Mirror progress into a Valohai execution's status, from shell steps too; tell a Slack, Teams,
Discord or any webhook (VHTQDM_ALERT_URL); follow an execution's status from anywhere; preview
a job's status and alerts locally, with no Valohai account.

pipe mode (no subcommand):
  tqdm's command line, option for option: stdin is copied to stdout unchanged (byte for
  byte), the bar is drawn on stderr and, on Valohai, mirrored into the execution status.
    curl -s "$URL" | vhtqdm --bytes --total "$SIZE" > data.tar
    find . -name '*.jpg' | vhtqdm --desc images | xargs -n 64 python resize.py"""
EPILOG = "`vhtqdm SUBCOMMAND --help` tells more.\n\npipe mode options (tqdm's own):\n"


def parser() -> argparse.ArgumentParser:
    """The argument parser of the subcommands (pipe mode bypasses it)."""
    top = argparse.ArgumentParser(
        prog="vhtqdm",
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG + pipe.options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("-v", "--version", action="version", version=version())
    # prog: the subcommands' usage lines start "vhtqdm status", not the whole usage above.
    commands = top.add_subparsers(title="subcommands", metavar="SUBCOMMAND", prog="vhtqdm")
    status.add_parser(commands)
    alert.add_parser(commands)
    watch.add_parser(commands)
    preview.add_parser(commands)
    run.add_parser(commands)
    return top


def version() -> str:
    """``vhtqdm 0.1.0 (tqdm 4.70.1)``: both matter when reporting a problem."""
    return f"vhtqdm {__version__} (tqdm {tqdm_version})"


def _quiet_interrupt(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    """Ctrl-C in pipe mode ends the program without a traceback.

    The interrupt still propagates: the interpreter notes it for vhtqdm's exit hook (the status
    says "Interrupted") and exits as a SIGINT, which is what a shell expects of Ctrl-C.
    """
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write("\n")
    else:
        sys.__excepthook__(kind, error, tb)


def unknown(word: str) -> str:
    """Why ``word`` is not a command line: the nearest subcommand, or what the words can be."""
    shown = clean(word, 40)
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    if close:
        return f"unknown command '{shown}'; did you mean '{close[0]}'?"
    return (
        f"unknown command '{shown}' (commands: {', '.join(SUBCOMMANDS)}; "
        "pipe mode's options start with --; see vhtqdm --help)"
    )


def _subcommand(args: list[str]) -> int:
    """Parse and run a subcommand; a usage error shows that subcommand's usage."""
    options, extra = parser().parse_known_args(args)
    if extra:  # argparse would report these with the top level's usage
        options.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(options.run(options))
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return _subcommand(args)
    if args and not args[0].startswith("-"):
        # tqdm's command line takes no bare words (a word after an option is its value): a
        # first word is a mistyped subcommand, never pipe mode.
        sys.stderr.write(f"vhtqdm: {unknown(args[0])}\n")
        return 2
    if any(a in ("-h", "--help") for a in args) or (not args and sys.stdin.isatty()):
        parser().print_help()
        return 0
    if any(a in ("-v", "--version") for a in args):
        print(version())
        return 0
    if args and not args[0].startswith("--"):  # tqdm would print its banner and go on
        shown = clean(args[0], 40)
        sys.stderr.write(f"vhtqdm: bad option '{shown}': options start with -- (vhtqdm --help)\n")
        return 2
    sys.excepthook = _quiet_interrupt
    try:
        return pipe.run(args, sys.stderr)
    except BrokenPipeError:
        # The reader went away (`vhtqdm | head`): stop quietly, as `cat` does.
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
