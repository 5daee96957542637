"""``vhtqdm.ray``: the bars of Ray tasks and actors, and Ray Data's, in the Valohai status.

>>> import vhtqdm.ray
>>> vhtqdm.ray.install()  # on the driver, once

Remote tasks draw with ``ray.experimental.tqdm_ray.tqdm``: they print their bars' state, and the
driver's bar manager redraws each with a real tqdm bar of that module's ``real_tqdm``. Ray Data's
progress bars go the same way (``DataContext.use_ray_tqdm``, on by default). ``install()`` makes
that real bar vhtqdm's, so every remote bar the driver draws is mirrored.

Ray Data draws bars only on a terminal: into a log (a Valohai execution's) it logs its progress
instead, which no bar sees. ``install()`` has it draw its bars there too (vhtqdm's log mode keeps
them plain lines), as its executor loads, so Ray Data (pandas, pyarrow) is not imported for a
program that never uses it. Importing this module imports Ray; ``vhtqdm`` itself never does.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType, SimpleNamespace
from typing import Any

from .auto import tqdm as _tqdm_auto

__all__ = ["install"]

_EXECUTOR = "ray.data._internal.execution.streaming_executor"  # picks Ray Data's progress display


def install() -> None:
    """Mirror the bars Ray's driver draws for remote tasks, actors and Ray Data (idempotent)."""
    from ray.experimental import tqdm_ray

    # The bar manager looks up real_tqdm.tqdm each time it draws a new remote bar.
    tqdm_ray.real_tqdm = SimpleNamespace(tqdm=_tqdm_auto)
    executor = sys.modules.get(_EXECUTOR)
    if executor is not None:
        _draw_ray_data_bars(executor)
    elif not any(isinstance(finder, _OnLoad) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OnLoad())


def _draw_ray_data_bars(executor: ModuleType) -> None:
    """Have Ray Data's executor draw its tqdm bars where it would only log its progress."""
    choose = getattr(executor, "get_progress_manager", None)
    if choose is None or getattr(choose, "_vhtqdm", False):
        return  # a Ray that chooses otherwise (older ones draw their bars anyway), or done

    def get_progress_manager(*args: Any, **kwargs: Any) -> Any:
        manager = choose(*args, **kwargs)
        if type(manager).__name__ != "LoggingExecutionProgressManager":
            return manager  # a terminal's bars, or progress turned off: Ray's choice stands
        try:
            from ray.data._internal.progress.tqdm_progress import TqdmExecutionProgressManager

            context, dataset, topology, verbose = args
            return TqdmExecutionProgressManager(
                dataset, topology, context.enable_operator_progress_bars, verbose
            )
        except Exception:  # another Ray's signature: its logged progress, as without vhtqdm
            return manager

    get_progress_manager._vhtqdm = True  # type: ignore[attr-defined]
    executor.get_progress_manager = get_progress_manager  # type: ignore[attr-defined]


class _OnLoad(importlib.abc.MetaPathFinder):
    """Patches Ray Data's executor right after it loads. Written by hand: the standard library
    has no post-import hook (``wrapt`` has one, but vhtqdm depends on tqdm and requests only)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _EXECUTOR:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # once, and out of the way of the search below
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: ModuleType) -> None:
            run(module)
            with contextlib.suppress(Exception):  # never in the way of Ray's own import
                _draw_ray_data_bars(module)

        loader.exec_module = exec_module  # type: ignore[method-assign,union-attr]  # this spec only
        return spec
