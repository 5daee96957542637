"""The claim: which process of an execution posts its status, decided by an OS lock.

The first process that has something to show takes an exclusive ``flock`` on a file named after
a hash of the status URL, in a directory only the user can enter. The kernel releases the lock
when the holder dies, so a later process can claim it; no process ever waits for it.

``flock`` locks belong to the open file, which a forked child shares: a child that kept the
inherited descriptor would keep the lock alive after its parent died, and could unlock it for
the parent. So a forked child closes its copy (closing one of several descriptors of the file
does not release the lock) and never counts as the claimer.
"""

from __future__ import annotations

import contextlib
import os
import stat
import zlib

try:
    import fcntl

    HAVE_FLOCK = True
except ImportError:  # not POSIX: no claims, see take()
    HAVE_FLOCK = False

_held: dict[str, int] = {}  # name -> descriptor of each claim this process holds


def temp_root() -> str:
    """``tempfile.gettempdir()``'s choice on a POSIX system (``TMPDIR``, ``TEMP``, ``TMP``, else
    ``/tmp``), without importing tempfile: its shutil import costs the first bar milliseconds."""
    return next((v for v in map(os.environ.get, ("TMPDIR", "TEMP", "TMP")) if v), "/tmp")


def private_dir() -> str | None:
    """``<tmp>/vhtqdm-<uid>``, created mode 0700; None if it is not ours alone."""
    path = os.path.join(temp_root(), f"vhtqdm-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None  # a symlink or someone else's directory: never follow it
    if stat.S_IMODE(info.st_mode) & 0o077:
        return None
    return path


def key(url: str) -> str:
    """A short name for one execution's status: processes posting to one URL share it.

    Two CRC-32s (of the URL and of it reversed): 64 bits tell apart the few executions of one
    machine, and zlib loads in a fraction of the milliseconds hashlib's OpenSSL takes on the
    first bar (the names live in a private directory: nothing here needs a cryptographic hash).
    """
    raw = url.encode("utf-8", "replace")
    return f"{zlib.crc32(raw):08x}{zlib.crc32(raw[::-1]):08x}"


def take(directory: str, name: str) -> bool:
    """Claim the execution for this process without waiting; True if it now holds the claim."""
    if name in _held:
        return True
    if not HAVE_FLOCK:
        return True  # no flock on this platform: every main process posts, as before
    try:
        fd = os.open(
            os.path.join(directory, f"{name}.lock"),
            os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0),
            0o600,
        )
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by another process (or locks unsupported here)
        os.close(fd)
        return False
    _held[name] = fd
    return True


def forget() -> None:
    """Close the descriptors of this process's claims. In a forked child the parent keeps its
    claim (its own descriptor holds the lock); in the claimer (``_process.reset``) it ends."""
    while _held:
        with contextlib.suppress(OSError):
            os.close(_held.popitem()[1])
