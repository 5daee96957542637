"""vhtqdm: change one import and your tqdm progress bars live in the Valohai execution status.

>>> from vhtqdm import tqdm, trange
>>> for epoch in trange(3, desc="epoch"):
...     for batch in tqdm(range(100), desc="train"):
...         ...

Off Valohai (no ``/valohai/config/api.json``) everything is plain tqdm.
"""

from ._bar import tqdm, trange
from ._process import flush, set_status

__all__ = ["flush", "set_status", "tqdm", "trange"]
__version__ = "0.1.0"
