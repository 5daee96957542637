"""``vhtqdm.contrib.itertools``: tqdm's ``itertools`` wrappers with mirrored bars.

>>> from vhtqdm.contrib.itertools import product
>>> for lr, depth in product([1e-3, 1e-4], [2, 4], desc="grid"):
...     ...

Each is tqdm's own function; only the default ``tqdm_class`` is ``vhtqdm.auto.tqdm``.
"""

from __future__ import annotations

from tqdm.contrib import itertools as _itertools

from . import with_vhtqdm_bars

# tqdm's own list: ``product`` since tqdm 4.66, ``chain``, ``batched``… in later releases.
__all__ = list(_itertools.__all__)

for _name in __all__:
    globals()[_name] = with_vhtqdm_bars(getattr(_itertools, _name))
