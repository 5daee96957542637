"""One poster per execution; every other process relays its bars to it.

The :class:`Speaker` stands in for the mirror's sender. At the first thing a process has to show
(an enabled bar, a milestone) it decides its role once:

- the **poster** holds the claim (``_claim``): its sender posts, and it listens on a datagram
  socket beside the claim for the others' bars, which its status composes (``Peers``);
- a **relay** (a secondary rank, a subprocess or worker while another process holds the claim)
  never posts: a thread sends a small JSON snapshot of its bars at most once per second to that
  socket, non-blocking, dropped when the socket is full or nobody listens. A relay that finds
  nobody listening takes the claim over when it may (not a secondary rank; a multiprocessing
  child only after a grace period, so that its parent, whose first bar may come a moment later,
  keeps the claim: the ``torch.multiprocessing.spawn`` pattern, where rank 0 is a child, still
  gets a poster).

Processes that show nothing decide nothing: no thread, no socket.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from . import _claim, _process, _ranks
from ._compose import MAX_BARS, RUNNING, BarView, ranks_line

if TYPE_CHECKING:
    from ._mirror import Mirror
    from ._sender import Sender

RELAY_EVERY = 1.0  # seconds between two snapshots of a relaying process
MIN_GAP = 0.2  # and at least this long between two, however many bars end
EXPIRE = 5.0  # a relayed process silent this long has stopped: its entry goes
CHILD_GRACE = 2.0  # a multiprocessing child relays this long before it may take the claim
MAX_DATAGRAM = 8192
MAX_PEERS = 64
_FIELDS = ("desc", "n", "total", "rate", "elapsed", "unit", "unit_scale", "unit_divisor")

_sockets: list[socket.socket] = []  # sockets to close in a forked child


class Speaker:
    """The mirror's sender as the mirror sees it: posts through the real one, or relays.

    Any other attribute (``interval``, the sender's own state) is the real sender's, read and
    written through, so the speaker changes nothing of the sender's interface.
    """

    __slots__ = (
        "_deciding",
        "_dir",
        "_environ",
        "_listener",
        "_may_claim_at",
        "_mirror",
        "_name",
        "_relay",
        "_sender",
        "member",
        "posting",
        "rank",
        "secondary",
    )

    def __init__(self, mirror: Mirror, sender: Sender, url: str, environ: Mapping[str, str]):
        self._mirror = mirror
        self._sender = sender
        self._name = _claim.key(url)
        self.rank = _ranks.rank(environ)
        self.member = _ranks.member(environ)
        self.secondary = _ranks.secondary(environ) is not None
        self._environ = environ
        child = _process.forked or _process.spawned_worker()
        self._may_claim_at = time.monotonic() + (CHILD_GRACE if child else 0.0)
        self._dir: str | None = None
        self._relay: Relay | None = None
        self._listener: Listener | None = None
        self._deciding = threading.Lock()  # never waited on: see submit()
        self.posting: bool | None = None  # None until the process first has something to show

    # -- the sender's vocabulary, as the mirror uses it ----------------------------------------

    def submit(self, urgent: bool = False) -> None:
        if self.posting is None:
            if not self._has_news():
                return  # e.g. the exit of a process that never showed a bar: nothing to say
            if not self._deciding.acquire(blocking=False):
                return  # another thread is deciding; it submits once it knows (below)
            try:
                if self.posting is None:
                    self._decide()
                urgent = True
            finally:
                self._deciding.release()
        if self.posting:
            self._sender.submit(urgent)
        elif self._relay is not None:
            self._relay.submit(urgent)

    def poke(self, urgent: bool = False) -> None:
        if self.posting:
            self._sender.poke(urgent)
        elif self._relay is not None:
            self._relay.dirty = True

    def flush(self, timeout: float) -> bool:
        if not self.posting and self._relay is not None and not self._relay.send():
            # The last word of a process (a flush, its exit): if nobody listens, nobody else
            # will post what it did, so it takes the claim even within its grace period.
            self.may_take_over(at_once=True)
        if self.posting:
            return self._sender.flush(timeout)
        return True  # a relay's delivery is the poster's business

    def shutdown(self) -> None:
        self._sender.shutdown()
        if self._relay is not None:
            self._relay.stop()
        if self._listener is not None:
            self._listener.stop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sender, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Speaker.__slots__:
            object.__setattr__(self, name, value)
        else:
            setattr(self._sender, name, value)

    # -- the role -------------------------------------------------------------------------------

    def _has_news(self) -> bool:
        m = self._mirror
        return bool(m._live or m._ended or m._milestone or m._ending)

    def _decide(self) -> None:
        group = _ranks.process_group_rank(self._environ)  # initialised by now, if ever
        if group is not None:
            self.rank, self.secondary = group, group != 0
        try:
            self._dir = _claim.private_dir()
        except Exception:  # no uid, no temp dir on this platform: the main rank posts
            self._dir = None
        if self._dir is None:  # nowhere private to meet the others: the main rank posts
            if not self.secondary:
                self._post(listening=False)
            else:
                self.posting = False
            return
        ready = not self.secondary and time.monotonic() >= self._may_claim_at
        if ready and _claim.take(self._dir, self._name):
            self._post(listening=True)
            return
        self.posting = False
        self._relay = Relay(self, os.path.join(self._dir, f"{self._name}.sock"))

    def may_take_over(self, at_once: bool = False) -> bool:
        """Nobody listens: take the claim if this process may (``at_once``: despite the grace)."""
        if self.secondary or self._dir is None or self.posting:
            return False
        if not at_once and time.monotonic() < self._may_claim_at:
            return False
        if not _claim.take(self._dir, self._name):
            return False
        self._post(listening=True)
        self._sender.submit(urgent=True)
        return True

    def _post(self, listening: bool) -> None:
        peers = Peers(self.rank or 0, self.member)
        if listening and self._dir is not None:
            self._listener = Listener.start(
                os.path.join(self._dir, f"{self._name}.sock"), peers, self._sender
            )
        self._mirror.relayed = lambda: peers.compose(self._mirror.views())
        self.posting = True

    def snapshot(self) -> tuple[bytes, bool]:
        """This process's bars as one datagram, and whether any of them runs."""
        bars, running = self._mirror.views()
        rows = [[getattr(b, f) for f in _FIELDS] + [b.outcome] for b in bars[:MAX_BARS]]
        body = {"pid": os.getpid(), "rank": self.rank if self.secondary else None, "bars": rows}
        data = json.dumps(body, separators=(",", ":"), default=str).encode()
        return data[:MAX_DATAGRAM], running


class Relay:
    """A relaying process's thread: one snapshot per second while its bars run."""

    def __init__(self, speaker: Speaker, path: str) -> None:
        self._speaker = speaker
        self._path = path
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.dirty = False
        self.running = True  # bars ran at the latest snapshot: keep sending every second

    def submit(self, urgent: bool) -> None:
        """Something changed; never blocks (the thread sends)."""
        self.dirty = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vhtqdm-relay", daemon=True)
            try:
                self._thread.start()
            except RuntimeError:  # interpreter shutting down: the flush at exit sends
                return
        if urgent:
            self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._halt.is_set():
            self._wake.wait(RELAY_EVERY if self.running or self.dirty else None)
            self._wake.clear()
            if self._halt.is_set():
                return
            self.send()
            if self._speaker.posting:
                return  # took the claim over: the sender posts from now on
            self._halt.wait(MIN_GAP)

    def send(self) -> bool:
        """Send the newest snapshot now, never waiting; False if nobody listens.

        A full socket (``EAGAIN``: the poster is busy or stopped) drops this snapshot; the next
        one may pass. Nobody listening (``ENOENT``, ``ECONNREFUSED``) lets the relay take over.
        """
        self.dirty = False
        try:
            data, self.running = self._speaker.snapshot()
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.setblocking(False)
                _sockets.append(sock)
                self._sock = sock
            self._sock.sendto(data, self._path)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                return self._speaker.may_take_over()
        except Exception:
            pass  # a bug here must not reach the loop; the next snapshot may pass
        return True


class Listener:
    """The poster's datagram socket and the thread that files what arrives."""

    def __init__(self, sock: socket.socket, peers: Peers, sender: Sender) -> None:
        self._sock = sock
        self._peers = peers
        self._sender = sender
        self._stopped = False

    @classmethod
    def start(cls, path: str, peers: Peers, sender: Sender) -> Listener | None:
        with contextlib.suppress(OSError):
            os.unlink(path)  # left by an earlier claimer that died (we hold the claim now)
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            _sockets.append(sock)
            sock.bind(path)
            sock.settimeout(1.0)  # so that a shutdown ends the thread within a second
        except OSError:
            return None  # others' bars cannot reach us; our own still post
        listener = cls(sock, peers, sender)
        try:
            threading.Thread(target=listener._run, name="vhtqdm-listen", daemon=True).start()
        except RuntimeError:
            return None
        return listener

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.sendto(b"", self._sock.getsockname())  # wakes the thread's recv at once

    def _run(self) -> None:
        while not self._stopped:
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                return
            if self._peers.take(data, time.monotonic()):
                self._sender.submit(urgent=False)
        self._sock.close()


class Peers:
    """What the relaying processes last said, by pid, and the status lines it adds."""

    def __init__(
        self,
        rank: int,
        member: tuple[int, int] | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rank = rank
        self.member = member
        self._clock = clock
        self._entries: dict[int, tuple[float, int | None, list[BarView]]] = {}

    def take(self, data: bytes, now: float) -> bool:
        """File one datagram; False (ignored) unless it is a well-formed snapshot."""
        try:
            body = json.loads(data)
            pid, rank = body["pid"], body["rank"]
            bars = [_view(row) for row in body["bars"][:MAX_BARS]]
        except Exception:
            return False
        if type(pid) is not int or (rank is not None and type(rank) is not int):
            return False
        if pid not in self._entries and len(self._entries) >= MAX_PEERS:
            return False
        self._entries[pid] = (now, rank, bars)
        return True

    def compose(self, own: tuple[list[BarView], bool]) -> tuple[list[BarView], str | None, bool]:
        """The relayed bars to show after ours, the ranks/member line, whether any is alive.

        Bars of processes without a rank (subprocesses, workers) are shown as bars; ranks
        only count in the ranks line, with their outermost bar.
        """
        now = self._clock()
        for pid, (seen, _, _) in list(self._entries.items()):
            if now - seen > EXPIRE:
                self._entries.pop(pid, None)
        entries = sorted(self._entries.values(), key=lambda e: (e[1] is None, e[1] or 0, e[0]))
        shown: list[BarView] = []
        ranks: list[tuple[int, BarView]] = []
        if own[0]:
            ranks.append((self.rank, own[0][0]))
        for _, rank, bars in entries:
            if rank is None:
                shown.extend(bars)
            elif bars:
                ranks.append((rank, bars[0]))
        return shown, ranks_line(self.member, ranks), bool(entries)


def _view(row: Any) -> BarView:
    values = dict(zip((*_FIELDS, "outcome"), row))
    view = BarView(**values)
    if not isinstance(view.desc, str) or not isinstance(view.outcome, str):
        raise ValueError("not a bar")
    return view if view.outcome else BarView(**{**values, "outcome": RUNNING})


def _after_fork_in_child() -> None:
    # Only plain closes: no lock, no logging. The parent keeps its claim and its socket.
    _claim.forget()
    while _sockets:
        with contextlib.suppress(OSError):
            _sockets.pop().close()


os.register_at_fork(after_in_child=_after_fork_in_child)
