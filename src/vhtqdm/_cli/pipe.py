"""Pipe mode: tqdm's own command line (``python -m tqdm``), option for option, with vhtqdm's bar.

tqdm's ``cli.main`` builds its bar from the module-level name ``tqdm`` and reads the options it
accepts from that class's docstring. Rather than re-implement it (or patch tqdm's module for
everyone), we run tqdm's very function with a namespace in which ``tqdm`` is a vhtqdm bar
carrying tqdm's docstring: stdin reaches stdout through tqdm's code, byte for byte.
"""

from __future__ import annotations

import contextlib
import io
import types
from typing import Any, Callable

from tqdm import cli as _tqdm_cli
from tqdm.std import TqdmKeyError, TqdmTypeError
from tqdm.std import tqdm as _std_tqdm

from .._bar import tqdm


class PipeBar(tqdm):
    """vhtqdm's bar under tqdm's docstring, the list of options tqdm's CLI accepts."""

    __doc__ = _std_tqdm.__doc__


def _tqdm_main() -> Callable[..., Any]:
    """tqdm's ``cli.main``, run with ``PipeBar`` where it names its bar class."""
    main = _tqdm_cli.main
    if "tqdm" not in main.__code__.co_names:  # a tqdm that no longer names its class so
        raise RuntimeError("this tqdm's command line cannot be given vhtqdm's bar")
    namespace = dict(vars(_tqdm_cli), tqdm=PipeBar)
    return types.FunctionType(main.__code__, namespace, main.__name__, main.__defaults__)


def options_help() -> str:
    """tqdm's own description of its options (``tqdm --help``), without its usage lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        _tqdm_main()(argv=["--help"])
    text = out.getvalue()
    start = text.find("  --")  # the first option, after tqdm's own usage, -h and -v lines
    return text[start:].rstrip() + "\n" if start >= 0 else ""


def run(argv: list[str], stderr: Any) -> int:
    """Copy stdin to stdout through a mirrored bar drawn on ``stderr``; 2 for a bad option."""
    try:
        _tqdm_main()(fp=stderr, argv=argv)
    except (TqdmKeyError, TqdmTypeError) as exc:
        # tqdm has already passed stdin through to stdout: nothing of the stream is lost.
        stderr.write(f"vhtqdm: bad option {exc} (see vhtqdm --help)\n")
        return 2
    return 0
