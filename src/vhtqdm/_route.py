"""Where a process's word goes: posted to Valohai, or relayed to the process that posts.

One process of an execution posts its status; every other process with a bar relays its bars to
that one. The sender (``_sender``) drives a :class:`Router`, which is the route the sender sees:
on the sender's thread, before the first send, it decides the process's role once:

- the :class:`Poster` holds the claim (``_claim``): it posts the status, and a listener thread
  files what the relays say (``_peers``), which its status composes;
- a :class:`Relay` (a secondary rank, a subprocess or worker while another process holds the
  claim) never posts: it sends a small JSON snapshot of its bars, at most once per second,
  non-blocking, dropped when the poster is busy or gone. A relay that finds nobody listening
  takes the claim over when it may (not a secondary rank; a multiprocessing child only after a
  grace period, so that its parent, whose first bar may come a moment later, keeps the claim;
  but at once when its ``torch.distributed`` process group names it rank 0: the
  ``torch.multiprocessing.spawn`` pattern, where rank 0 is a child).

Processes that show nothing decide nothing: no thread, no socket.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Callable, Union

from . import _claim, _ranks, _threads
from ._config import Endpoint
from ._limits import MAX_DATAGRAM
from ._peers import Peers, snapshot
from ._throttle import OK, RETRY, Result, backoff
from ._views import BarView

RELAY_EVERY = 1.0  # seconds between two snapshots of a relaying process
CHILD_GRACE = 2.0  # a multiprocessing child relays this long before it may take the claim

Clock = Callable[[], float]
#: The poster's status now, given what the relays said: the text and whether it ticks.
Status = Callable[[Union[Peers, None]], "tuple[str, bool]"]
#: This process's bars (the live ones, else the ended ones) and whether any runs.
Views = Callable[[], "tuple[list[BarView], bool]"]
Post = Callable[[str, float], Result]


class Poster:
    """Posts the execution's status; its listener (when the claim has one) files the relays'."""

    def __init__(self, status: Status, post: Post, peers: Peers | None) -> None:
        self._status = status
        self._post = post
        self.peers = peers

    def compose(self) -> tuple[str, bool]:
        return self._status(self.peers)

    def deliver(self, text: str, timeout: float) -> Result:
        return self._post(text, timeout)


class Relay:
    """Sends this process's bars to the poster's socket (``address``; None: to nobody)."""

    def __init__(self, views: Views, address: str | None, rank: int | None) -> None:
        self._views = views
        self._address = address
        self._rank = rank
        self._sock: socket.socket | None = None
        self.nobody_listens = False

    def compose(self) -> tuple[str, bool]:
        bars, running = self._views()
        return snapshot(os.getpid(), self._rank, bars).decode(), running

    def deliver(self, text: str, timeout: float) -> Result:
        """Send without waiting: a full socket (the poster is busy) is tried again later; nobody
        listening (``ENOENT``, ``ECONNREFUSED``) lets the router take the claim over."""
        if self._address is None:
            return Result(OK)  # nowhere to meet (a secondary rank without a claim): nobody hears
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.setblocking(False)
                self._sock = sock
            self._sock.sendto(text.encode(), self._address)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                self.nobody_listens = True
            return Result(RETRY)  # no detail: a relay's trouble is nobody's warning
        self.nobody_listens = False
        return Result(OK)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()


class Listener:
    """The poster's thread that files each relay's datagram as it comes."""

    def __init__(self, sock: socket.socket, peers: Peers, changed: Callable[[], None]) -> None:
        self._sock = sock
        self._peers = peers
        self._changed = changed
        self._stopped = False

    def run(self) -> None:
        while not self._stopped:
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data and self.stopped():  # the claim was released (shutdown): done
                return
            if self._peers.take(data, time.monotonic()):
                self._changed()

    def stop(self) -> None:
        """Let the thread end (within the socket's 1 s timeout)."""
        self._stopped = True

    def stopped(self) -> bool:
        return self._stopped


class Router:
    """The process's route as the sender sees it: the role's, once decided (see the module).

    ``status`` and ``views`` read the process's record; ``post`` is built by ``transport``
    (which imports requests, on the sender's thread); ``changed`` tells the sender a relay
    spoke. ``guard`` is held while deciding (the claim's hash and requests are imported then):
    the process's before-fork hook takes it too, so a forked child never inherits an import lock
    held by a thread it does not have.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        environ: Mapping[str, str],
        *,
        status: Status,
        views: Views,
        interval: Callable[[], float],
        transport: Callable[[], Post],
        changed: Callable[[], None],
        child: bool,
        guard: AbstractContextManager[object],
        clock: Clock = time.monotonic,
        grace: float = CHILD_GRACE,
        relay_every: float = RELAY_EVERY,
    ) -> None:
        self._endpoint = endpoint
        self._environ = environ
        self._status = status
        self._views = views
        self._interval = interval
        self._transport = transport
        self._changed = changed
        self._guard = guard
        self._clock = clock
        self._relay_every = relay_every
        self._may_claim_at = clock() + (grace if child else 0.0)
        self._claim_now = False
        self.rank = _ranks.rank(environ)
        self.member = _ranks.member(environ)
        self.secondary = _ranks.secondary(environ) is not None
        self._name = ""
        self._listener: Listener | None = None
        self._listen_after = float("inf")  # a listener thread that could not start: retry then
        self._claim: socket.socket | None = None
        self._listening: threading.Thread | None = None  # the listener's thread
        self._closed = False
        self.role: Poster | Relay | None = None

    # -- the sender's route -----------------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self._relay_every if isinstance(self.role, Relay) else self._interval()

    def backoff(self, failures: int) -> float:
        """A relay tries again soon (0.25 s, 0.5 s … its interval): the poster may claim a moment
        after the relay's first word, and the other end is this machine. A poster backs off as
        the status endpoint's policy says (``_throttle.backoff``)."""
        if isinstance(self.role, Relay):
            return float(min(0.125 * 2**failures, self._relay_every))
        return backoff(failures)

    def prepare(self) -> None:
        """Decide the role (on the sender's thread, before the first send)."""
        if self.role is None:
            with self._guard:
                if self.role is None:  # (another thread may have decided meanwhile)
                    self._decide()

    def _decide(self) -> None:
        group = _ranks.process_group_rank(self._environ)  # initialised by now, if ever
        if group is not None:
            self.rank, self.secondary = group, group != 0
            if group == 0:  # the program names this process the main one: no grace to wait
                self._may_claim_at = self._clock()
        self._name = _claim.key(self._endpoint.url, self._endpoint.headers)
        where = _claim.address(self._name)
        if where is None:  # nowhere to meet the others: the main rank posts
            self.role = Relay(self._views, None, self.rank) if self.secondary else self._poster()
            return
        if not self._take_claim():
            self.role = Relay(self._views, where, self.rank if self.secondary else None)

    def compose(self) -> tuple[str, bool]:
        self.prepare()
        role = self.role
        if isinstance(role, Relay) and role.nobody_listens:
            with self._guard:
                self._take_claim()
        elif self._clock() >= self._listen_after:
            self._listen()
        assert self.role is not None
        return self.role.compose()

    def deliver(self, text: str, timeout: float) -> Result:
        assert self.role is not None
        return self.role.deliver(text, timeout)

    # -- what the process says ------------------------------------------------------------------

    def claim_now(self) -> None:
        """This is the process's last word (a flush, its exit): if nobody listens, nobody else
        will post what it did, so it may take the claim even within its grace period."""
        self._claim_now = True

    def await_peers(self, seconds: float) -> None:
        """At exit, wait at most ``seconds`` for the relaying processes' last word (a rank still
        finishing its last steps), so that the final status states them as they ended."""
        peers = self.role.peers if isinstance(self.role, Poster) else None
        deadline = self._clock() + seconds
        while peers is not None and peers.running(self._clock()) and self._clock() < deadline:
            time.sleep(0.05)

    def close(self, wait: float = 0.0) -> None:
        """Stop listening and relaying, and end the claim (the process is done, or must never
        send again: another process of the execution may post now). ``wait``: seconds to wait
        for the listener's thread to end (the name is free only once its read has returned)."""
        self._closed = True
        if self._listener is not None:
            self._listener.stop()
        if self._claim is not None:
            _claim.release(self._claim)
        if isinstance(self.role, Relay):
            self.role.close()
        if wait > 0 and self._listening is not None:
            self._listening.join(wait)

    # -- roles ----------------------------------------------------------------------------------

    def _take_claim(self) -> bool:
        """Post if the claim can be taken now (never waiting for it)."""
        if self.secondary or not (self._claim_now or self._clock() >= self._may_claim_at):
            return False
        sock = _claim.listen(self._name)
        if sock is None:
            return False
        if self._closed:  # closed while deciding (a reset): the claim is not ours to keep
            _claim.release(sock)
            return False
        try:
            poster = self._poster(sock)
        except BaseException:  # its HTTP session could not be built: nothing taken, try later
            _claim.release(sock)
            raise
        self._claim = sock
        old, self.role = self.role, poster
        if isinstance(old, Relay):
            old.close()
        return True

    def _poster(self, sock: socket.socket | None = None) -> Poster:
        """The poster, its HTTP session built first: when that fails (an import that met a
        module another thread was importing), no listener has started and the decision is
        made again at the next send (a claim kept meanwhile would have the process relay to
        itself)."""
        post = self._transport()
        peers = None
        if sock is not None:
            peers = Peers(self.rank or 0, self.member)
            self._listener = Listener(sock, peers, self._changed)
            self._listen()
        return Poster(self._status, post, peers)

    def _listen(self) -> None:
        """Start the listener's thread (again, when it could not start before)."""
        listener = self._listener
        if listener is None:
            return
        how, self._listening = _threads.start(listener.run, "vhtqdm-listen")
        self._listen_after = (
            self._clock() + _threads.RETRY if how == _threads.LATER else float("inf")
        )
