"""The claim: which process of an execution posts its status, and where the others reach it.

The poster is the process that holds the execution's meeting point: a datagram socket bound to
a name only the execution's processes can know (a hash of its status URL and token). On Linux
the name lives in the abstract socket namespace: nothing on disk, nothing that depends on a
temporary directory being shared, writable or private, and the kernel frees it when the holder
dies. Elsewhere the socket is a file in a directory only the user can enter, claimed by an
exclusive ``flock`` beside it (freed by the kernel too). No process ever waits for a claim.

A forked child inherits the parent's descriptors: it closes them (``forget``), so that it never
holds the claim nor keeps it alive after its parent died.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import sys
from collections.abc import Mapping

_ABSTRACT = sys.platform.startswith("linux")
_held: list[tuple[socket.socket, int]] = []  # this process's claims: socket, lock (-1: none)


def key(url: str, headers: Mapping[str, str]) -> str:
    """The execution's name: processes posting to one URL with one token share it, and nobody
    without the token can guess it (another user could otherwise squat on it or spoof bars)."""
    import hashlib  # on the sender thread only (its OpenSSL set-up costs milliseconds)

    secret = "\n".join([url, *(f"{k}: {v}" for k, v in sorted(headers.items()))])
    return hashlib.blake2b(secret.encode("utf-8", "replace"), digest_size=12).hexdigest()


def address(name: str) -> str | None:
    """Where the relays send their bars (None: there is no meeting point on this machine)."""
    if _ABSTRACT:
        return f"\0vhtqdm-{name}"
    directory = _private_dir()
    return None if directory is None else os.path.join(directory, f"{name}.sock")


def listen(name: str) -> socket.socket | None:
    """Take the claim: the meeting point's socket, bound, or None when another process holds
    it (or there is none). The socket blocks with a 1 s timeout (its reader stops within it)."""
    where = address(name)
    if where is None:
        return None
    lock = -1
    if not _ABSTRACT:
        lock = _flock(os.path.join(os.path.dirname(where), f"{name}.lock"))
        if lock < 0:
            return None
        with contextlib.suppress(OSError):
            os.unlink(where)  # left by an earlier holder that died (we hold the lock now)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(where)  # EADDRINUSE: another process holds the claim
        sock.settimeout(1.0)
    except OSError:
        sock.close()
        if lock >= 0:
            os.close(lock)
        return None
    _held.append((sock, lock))
    return sock


def release(sock: socket.socket) -> None:
    """End the claim ``sock`` holds, now: its reader (blocked in ``recv``) wakes up, and the name
    is free for another process at once (a close alone keeps it bound until that read returns)."""
    for held in [h for h in _held if h[0] is sock]:
        _held.remove(held)
        _close(held, shutdown=True)


def forget() -> None:
    """Close this process's descriptors of its claims (a forked child's copies: the parent keeps
    its claim, its own descriptors hold it; a shutdown would end the parent's too)."""
    while _held:
        _close(_held.pop(), shutdown=False)


def _close(held: tuple[socket.socket, int], shutdown: bool) -> None:
    sock, lock = held
    with contextlib.suppress(OSError):
        if shutdown:
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
    if lock >= 0:
        with contextlib.suppress(OSError):
            os.close(lock)


def _flock(path: str) -> int:
    """An exclusive ``flock`` on ``path``, never waited for; its descriptor, or -1."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no claims, every main process posts
        return -1
    try:
        fd = os.open(
            path,
            os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0),
            0o600,
        )
    except OSError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by another process (or locks unsupported here)
        os.close(fd)
        return -1
    return fd


def _private_dir() -> str | None:
    """``<tmp>/vhtqdm-<uid>``, created mode 0700; None if it is not ours alone."""
    root = next((v for v in map(os.environ.get, ("TMPDIR", "TEMP", "TMP")) if v), "/tmp")
    path = os.path.join(root, f"vhtqdm-{os.getuid()}")
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
