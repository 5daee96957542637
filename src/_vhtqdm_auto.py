"""vhtqdm's start-up hook: ``VHTQDM_AUTO=1`` mirrors every tqdm bar of every Python process.

``vhtqdm_auto.pth``, installed beside this module in site-packages, runs at every start-up of
the interpreter and imports this module only when ``VHTQDM_AUTO`` is set (unset: one
``os.environ`` lookup, nothing imported). Here, with the variable on, mirroring not disabled
and a Valohai config present (``$VH_CONFIG_DIR/api.json``) or an alert URL set, tqdm's class
is instrumented (``vhtqdm._instrument``) right after tqdm is imported, before any library can
subclass it or bind its names; a program that never imports tqdm pays one short Python call
per import. Off Valohai without alerts nothing more happens: plain tqdm, nothing loaded.

It runs in every process of a job, before the program: standard library only, nothing imported
at start-up, and no exception leaves it. Children started by ``subprocess`` or
``multiprocessing`` (spawn, forkserver) inherit the variable and start here too; forked ones
inherit the instrumented class.
"""

import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds to import: not at every start-up
if TYPE_CHECKING:
    from collections.abc import Mapping
    from importlib.machinery import ModuleSpec

VARIABLE = "VHTQDM_AUTO"
# vhtqdm._config's yes words and default config dir, repeated to load nothing at start-up (a
# test holds them equal).
YES = frozenset({"1", "true", "yes", "on"})
DEFAULT_CONFIG_DIR = "/valohai/config"


def _yes(value: "str | None") -> bool:
    return value is not None and value.strip().lower() in YES


def wanted(environ: "Mapping[str, str]" = os.environ) -> bool:
    """Zero-code mode applies: asked for, not disabled, and on Valohai (an ``api.json``; a broken
    one is reported by the first bar, as for vhtqdm's own bars) or told to alert (an alert URL,
    which vhtqdm's own bars follow off Valohai too)."""
    if not _yes(environ.get(VARIABLE)) or _yes(environ.get("VHTQDM_DISABLE")):
        return False
    if environ.get("VHTQDM_ALERT_URL", "").strip():
        return True
    config_dir = environ.get("VH_CONFIG_DIR") or DEFAULT_CONFIG_DIR
    return os.path.exists(os.path.join(config_dir, "api.json"))


def start() -> None:
    """Called by the ``.pth`` when ``VHTQDM_AUTO`` is set: instrument tqdm once it is imported."""
    try:
        if not wanted():
            return
        if "tqdm" in sys.modules:
            _install()
        elif not any(isinstance(finder, _OnImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _OnImport())
    except Exception:
        pass


def _install() -> None:
    """Instrument tqdm's class (``vhtqdm._instrument``; it warns once if it cannot)."""
    try:
        from vhtqdm import _instrument

        _instrument.install()
    except Exception:  # vhtqdm cannot be imported here: the bars stay plain tqdm's
        pass


class _OnImport:
    """A meta path finder that only watches for ``tqdm``: once the package has executed (and
    with it ``tqdm.std``), its class is instrumented. Written by hand: the standard library has
    no post-import hook."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> "ModuleSpec | None":
        if fullname != "tqdm":
            return None
        import contextlib
        import importlib.util

        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # once, and out of the way of the search below

        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        run = getattr(loader, "exec_module", None)
        if run is None or not hasattr(loader, "__dict__"):
            return spec  # no module, or a loader this cannot follow: tqdm stays plain
        attributes = vars(loader)

        def exec_module(module: object) -> None:
            attributes.pop("exec_module", None)  # the loader as it was, for any later use
            run(module)
            _install()

        attributes["exec_module"] = exec_module  # this loader only, until tqdm has executed
        return spec
