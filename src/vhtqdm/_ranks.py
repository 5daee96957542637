"""Which rank a process is and which Valohai member it belongs to, as launchers tell it.

Pure functions of the environment. torchrun, accelerate and deepspeed set ``LOCAL_RANK`` and
``RANK``; SLURM ``SLURM_LOCALID`` / ``SLURM_PROCID``; Open MPI ``OMPI_COMM_WORLD_LOCAL_RANK`` /
``OMPI_COMM_WORLD_RANK``; MPICH and Intel MPI ``MPI_LOCALRANKID`` / ``PMI_RANK``. The local rank
(per machine) decides, since each Valohai member is its own execution with its own status; a
global rank counts only when no local one is given. Empty or non-integer values count as absent.
``torch.multiprocessing.spawn`` hands its ranks their rank as an argument instead: there the
rank of the process group the program initialised tells (``process_group_rank``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

LOCAL_RANKS = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
GLOBAL_RANKS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")


def _number(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, int] | None:
    for name in names:
        raw = environ.get(name, "").strip()
        if raw.isdigit():
            return name, int(raw)
    return None


def rank(environ: Mapping[str, str]) -> int | None:
    """This process's rank on its machine (or its global rank when no local one is set)."""
    found = _number(environ, LOCAL_RANKS) or _number(environ, GLOBAL_RANKS)
    return None if found is None else found[1]


def secondary(environ: Mapping[str, str]) -> str | None:
    """Why this process is a secondary rank (it never posts, it relays), or None."""
    found = _number(environ, LOCAL_RANKS) or _number(environ, GLOBAL_RANKS)
    if found is None or found[1] == 0:
        return None
    return f"process rank {found[1]} ({found[0]}) is not the main process"


def process_group_rank(environ: Mapping[str, str]) -> int | None:
    """The rank of the ``torch.distributed`` process group this process initialised, when no
    launcher variable names a rank and the execution is one machine (a global rank is then the
    local one). Never imports torch: a program that did not import it has no such group."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or rank(environ) is not None or member(environ) is not None:
        return None
    try:
        if dist.is_available() and dist.is_initialized():
            return int(dist.get_rank())
    except Exception:  # a half-built or exotic torch: as if no group
        pass
    return None


def member(environ: Mapping[str, str]) -> tuple[int, int] | None:
    """``(index, count)`` of this Valohai distributed member (zero-based index), or None.

    None outside a distributed execution, with a single member, or with values that disagree.
    """
    index = _number(environ, ("VH_DIST_MEMBER_INDEX",))
    count = _number(environ, ("VH_DIST_MEMBER_COUNT",))
    if index is None or count is None or count[1] < 2 or index[1] >= count[1]:
        return None
    return index[1], count[1]
