"""How an adapter makes a framework's own code build vhtqdm bars, without copying that code.

Lightning's ``TQDMProgressBar.init_*_tqdm`` and the Hugging Face ``ProgressCallback`` construct
their bars through a module-level name (``Tqdm``, ``tqdm``). During one call of such a method the
adapter points that name at vhtqdm's class, so the framework keeps choosing every argument of
its bars (in this and future versions), and puts the name back right after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def building(module: ModuleType, name: str, cls: type) -> Iterator[None]:
    """Within the block, the framework's ``module.name`` (the bar class it calls) is ``cls``."""
    saved = getattr(module, name)
    setattr(module, name, cls)
    try:
        yield
    finally:
        setattr(module, name, saved)
