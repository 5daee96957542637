"""vhtqdm: change one import and your tqdm progress bars live in the Valohai execution status.

>>> from vhtqdm import tqdm, trange
>>> for epoch in trange(3, desc="epoch"):
...     for batch in tqdm(range(100), desc="train"):
...         ...

Off Valohai (no ``/valohai/config/api.json``) everything is plain tqdm. ``import vhtqdm as tqdm``
works too: the names of tqdm's top level are here, mirrored where vhtqdm has a flavour of them.
"""

from __future__ import annotations

from typing import Any

# tqdm's own classes, the very same objects: `except vhtqdm.TqdmWarning` catches tqdm's warnings.
# `import tqdm` has already loaded them all by the time vhtqdm's bar class derives from tqdm's.
from tqdm import (
    TMonitor,
    TqdmDeprecationWarning,
    TqdmExperimentalWarning,
    TqdmKeyError,
    TqdmMonitorWarning,
    TqdmSynchronisationWarning,
    TqdmTypeError,
    TqdmWarning,
    tqdm_pandas,  # takes the bar class to register: `tqdm_pandas(vhtqdm.tqdm)` mirrors
)

from ._bar import tqdm, trange
from ._process import alert, flush, set_status

__all__ = [
    "TMonitor",
    "TqdmDeprecationWarning",
    "TqdmExperimentalWarning",
    "TqdmKeyError",
    "TqdmMonitorWarning",
    "TqdmSynchronisationWarning",
    "TqdmTypeError",
    "TqdmWarning",
    "alert",
    "flush",
    "set_status",
    "tnrange",
    "tqdm",
    "tqdm_notebook",
    "tqdm_pandas",
    "trange",
]
__version__ = "0.3.0.dev0"  # the next release in the making (CHANGELOG: Unreleased)


# tqdm's top-level notebook shortcuts, mirrored: vhtqdm.notebook imports tqdm.notebook, which tries
# IPython and ipywidgets, so it is imported on the first call only (also `from vhtqdm import *`
# stays as cheap as `import tqdm`), and the call warns as tqdm's does.
def tqdm_notebook(*args: Any, **kwargs: Any) -> Any:
    """Deprecated like ``tqdm.tqdm_notebook``: see ``vhtqdm.notebook.tqdm``."""
    from warnings import warn

    from .notebook import tqdm as notebook_tqdm

    warn(
        "Please use `vhtqdm.notebook.tqdm` instead of `vhtqdm.tqdm_notebook`",
        TqdmDeprecationWarning,
        stacklevel=2,
    )
    return notebook_tqdm(*args, **kwargs)


def tnrange(*args: Any, **kwargs: Any) -> Any:
    """Deprecated like ``tqdm.tnrange``: see ``vhtqdm.notebook.trange``."""
    from warnings import warn

    from .notebook import trange as notebook_trange

    warn(
        "Please use `vhtqdm.notebook.trange` instead of `vhtqdm.tnrange`",
        TqdmDeprecationWarning,
        stacklevel=2,
    )
    return notebook_trange(*args, **kwargs)
