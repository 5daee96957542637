"""``vhtqdm.ray``: the bars of Ray tasks and actors, and Ray Data's, in the Valohai status.

>>> import vhtqdm.ray
>>> vhtqdm.ray.install()  # on the driver, once

Remote tasks draw with ``ray.experimental.tqdm_ray.tqdm``: they print their bars' state, and the
driver's bar manager redraws each with a real tqdm bar of that module's ``real_tqdm``. Ray Data's
progress bars go the same way (``DataContext.use_ray_tqdm``, on by default). ``install()`` makes
that real bar vhtqdm's, so every remote bar the driver draws is mirrored; nothing else changes.
Importing this module imports Ray; ``vhtqdm`` itself never does.
"""

from __future__ import annotations

from types import SimpleNamespace

from .auto import tqdm as _tqdm_auto

__all__ = ["install"]


def install() -> None:
    """Mirror the bars Ray's driver draws for remote tasks, actors and Ray Data (idempotent)."""
    from ray.experimental import tqdm_ray

    # The bar manager looks up real_tqdm.tqdm each time it draws a new remote bar.
    tqdm_ray.real_tqdm = SimpleNamespace(tqdm=_tqdm_auto)
