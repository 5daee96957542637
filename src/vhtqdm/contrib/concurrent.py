"""``vhtqdm.contrib.concurrent``: ``thread_map`` and ``process_map`` with a mirrored bar.

>>> from vhtqdm.contrib.concurrent import process_map
>>> results = process_map(preprocess, files, max_workers=4, chunksize=16)

tqdm's own functions, defaulting to ``vhtqdm.auto.tqdm`` (a module-level class, so
``process_map`` can pickle its ``set_lock`` for the workers). Only the parent process posts.
"""

from __future__ import annotations

from tqdm.contrib import concurrent as _concurrent

from . import with_vhtqdm_bars

__all__ = ["process_map", "thread_map"]

thread_map = with_vhtqdm_bars(_concurrent.thread_map)
process_map = with_vhtqdm_bars(_concurrent.process_map)
