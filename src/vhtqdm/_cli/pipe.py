"""Pipe mode: tqdm's own command line (``python -m tqdm``), option for option, with vhtqdm's bar.

tqdm's ``cli.main`` builds its bar from its module-level name ``tqdm`` and reads the options it
accepts from that class's docstring. Rather than re-implement it, the command's own process points
that name at a vhtqdm bar carrying tqdm's docstring (``tqdm.cli.tqdm = PipeBar``): stdin reaches
stdout through tqdm's code, byte for byte.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from tqdm import cli as _tqdm_cli
from tqdm.std import TqdmKeyError, TqdmTypeError
from tqdm.std import tqdm as _std_tqdm

from .. import tqdm

_BANNER = "\nError:\n"  # how tqdm's usage banner after a bad option begins


class _Stream:
    """The stream handed to tqdm's ``main``: the bar draws on the real one (``PipeBar`` unwraps
    it); only tqdm's usage banner after a bad option is dropped, vhtqdm says it in one line."""

    def __init__(self, stream: Any) -> None:
        """Wrap ``stream``; ``_wrapped`` is the name tqdm's own wrappers compare by."""
        self._wrapped = stream

    def write(self, text: str) -> int:
        """Write ``text``, unless it is tqdm's usage banner."""
        if text.startswith(_BANNER):
            return len(text)
        return int(self._wrapped.write(text))

    def __getattr__(self, name: str) -> Any:
        """Everything else is the real stream's."""
        return getattr(self._wrapped, name)


class PipeBar(tqdm):
    """vhtqdm's bar under tqdm's docstring, the list of options tqdm's CLI accepts."""

    __doc__ = _std_tqdm.__doc__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """A bar on the real stream behind :class:`_Stream` (its identity matters to tqdm)."""
        file = kwargs.get("file")
        if isinstance(file, _Stream):
            kwargs["file"] = file._wrapped
        super().__init__(*args, **kwargs)


def _install() -> None:
    """Point tqdm's command line at ``PipeBar`` (run only in the ``vhtqdm`` command's process)."""
    if not isinstance(getattr(_tqdm_cli, "tqdm", None), type):  # a tqdm that no longer names it so
        raise RuntimeError("this tqdm's command line cannot be given vhtqdm's bar")
    _tqdm_cli.tqdm = PipeBar


def options_help() -> str:
    """tqdm's own description of its options (``tqdm --help``), without its usage lines."""
    _install()
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        _tqdm_cli.main(argv=["--help"])
    text = out.getvalue()
    start = text.find("  --")  # the first option, after tqdm's own usage, -h and -v lines
    return text[start:].rstrip() + "\n" if start >= 0 else ""


def run(argv: list[str], stderr: Any) -> int:
    """Copy stdin to stdout through a mirrored bar drawn on ``stderr``; 2 for a bad option."""
    _install()
    try:
        _tqdm_cli.main(fp=_Stream(stderr), argv=argv)
    except (TqdmKeyError, TqdmTypeError) as exc:
        # tqdm has already passed stdin through to stdout: nothing of the stream is lost.
        stderr.write(f"vhtqdm: bad option {exc} (see vhtqdm --help)\n")
        return 2
    return 0
