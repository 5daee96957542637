"""``vhtqdm run [--] COMMAND [ARGS…]``: COMMAND with every tqdm bar of its Python processes
mirrored, without editing a line of it (zero-code mode).

``VHTQDM_AUTO=1`` is added to COMMAND's environment, then COMMAND replaces this process
(``exec``): its process id, exit code, output and signals are its own, and ``vhtqdm run`` adds
nothing to them. Every Python process COMMAND starts (a script, ``-m``, a console script, a
launcher's workers, ``subprocess`` and ``multiprocessing`` children, a shell script's Python)
inherits the variable, and with vhtqdm installed, its start-up hook (``_vhtqdm_auto``)
instruments tqdm on Valohai; off Valohai nothing changes.
"""

from __future__ import annotations

import argparse
import os
import site
import sys

AUTO = "VHTQDM_AUTO"
HOOK = "vhtqdm_auto.pth"  # what the wheel installs at the top of site-packages


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm run``."""
    parser = commands.add_parser(
        "run",
        help="run a command with every tqdm bar of its Python processes mirrored (no code change)",
        description="Run COMMAND with VHTQDM_AUTO=1: every tqdm bar of every Python process it "
        "starts (libraries' bars too) is mirrored into the Valohai status, as if it used "
        "vhtqdm.tqdm. COMMAND replaces this process: its exit code, output and signals are its "
        "own. Off Valohai nothing changes.",
        epilog="examples:\n"
        "  vhtqdm run python train.py --epochs 3\n"
        "  vhtqdm run -- torchrun --nproc-per-node 2 train.py\n"
        "  vhtqdm preview -- vhtqdm run -- python train.py   # see it locally first\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    parser.set_defaults(run=run, parser=parser)


def hook_installed() -> bool:
    """Whether this interpreter runs vhtqdm's start-up hook (its ``.pth`` in a site-packages
    directory; not so for a copy found through ``PYTHONPATH``)."""
    directories = [*site.getsitepackages(), site.getusersitepackages()]
    return any(os.path.isfile(os.path.join(path, HOOK)) for path in directories)


def run(args: argparse.Namespace) -> int:
    """Replace this process with the command; returns only when it cannot be run."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.stderr.write("vhtqdm run: no command given: vhtqdm run [--] COMMAND [ARGS …]\n")
        return 2
    env = {**os.environ, AUTO: "1"}
    if _mirroring(env) and not hook_installed():  # the bars would silently stay plain
        sys.stderr.write(
            f"vhtqdm run: vhtqdm's start-up hook ({HOOK}) is not in this Python's "
            "site-packages (install vhtqdm with pip): the bars will not be mirrored\n"
        )
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        sys.stderr.write(f"vhtqdm run: command not found: {command[0]}\n")
        return 127
    except OSError as exc:  # not executable, a directory…
        sys.stderr.write(f"vhtqdm run: cannot run {command[0]} ({exc.strerror or exc})\n")
        return 126


def _mirroring(env: dict[str, str]) -> bool:
    """On Valohai (an ``api.json``) or alerting, with mirroring not turned off."""
    from .._config import config_path, read_settings

    settings = read_settings(env)[0]
    return (os.path.exists(config_path(env)) or bool(settings.alert_url)) and not settings.disabled
