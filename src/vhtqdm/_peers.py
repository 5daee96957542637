"""What the other processes of the execution last said: their bars, by process, for the poster.

A relaying process sends a snapshot of its bars (``snapshot``: one small JSON datagram); the
poster files each (``Peers.take``) and adds them to its status (``Peers.compose``): the bars of
processes without a rank as bars, ranks in one line. Pure: the time is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ._compose import ranks_line
from ._limits import MAX_BARS, MAX_DATAGRAM, MAX_PEERS
from ._views import RUNNING, BarView

EXPIRE = 5.0  # a relaying process silent this long has stopped: its entry goes
_FIELDS = ("desc", "n", "total", "rate", "elapsed", "unit", "unit_scale", "unit_divisor")


def snapshot(pid: int, rank: int | None, bars: Sequence[BarView]) -> bytes:
    """One process's bars as the datagram a relay sends (cut to ``MAX_DATAGRAM``)."""
    rows = [[getattr(b, f) for f in _FIELDS] + [b.outcome] for b in bars[:MAX_BARS]]
    body = {"pid": pid, "rank": rank, "bars": rows}
    return json.dumps(body, separators=(",", ":"), default=str).encode()[:MAX_DATAGRAM]


def _view(row: Any) -> BarView:
    values = dict(zip((*_FIELDS, "outcome"), row))
    bar = BarView(**values)
    if not isinstance(bar.desc, str) or not isinstance(bar.outcome, str):
        raise ValueError("not a bar")
    return bar if bar.outcome else BarView(**{**values, "outcome": RUNNING})


class Peers:
    """What the relaying processes last said, by pid, and the status lines it adds."""

    def __init__(self, rank: int, member: tuple[int, int] | None) -> None:
        self.rank = rank
        self.member = member
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

    def running(self, now: float) -> bool:
        """Whether a relaying process heard from lately still has a bar running."""
        return any(
            now - seen <= EXPIRE and any(b.outcome == RUNNING for b in bars)
            for seen, _, bars in list(self._entries.values())
        )

    def compose(self, own: list[BarView], now: float) -> tuple[list[BarView], str | None, bool]:
        """The relayed bars to show after ``own`` (this process's bars, outermost first), the
        ranks/member line, and whether any relaying process is alive.

        Bars of processes without a rank (subprocesses, workers) are shown as bars; ranks
        only count in the ranks line, with their outermost bar.
        """
        for pid, (seen, rank, bars) in list(self._entries.items()):
            ended = rank is not None and bars and all(b.outcome != RUNNING for b in bars)
            if now - seen > EXPIRE and not ended:  # a rank's last word stays for its line
                self._entries.pop(pid, None)
        entries = sorted(self._entries.values(), key=lambda e: (e[1] is None, e[1] or 0, e[0]))
        shown: list[BarView] = []
        ranks: list[tuple[int, BarView]] = []
        if own:
            ranks.append((self.rank, own[0]))
        for _, rank, bars in entries:
            if rank is None:
                shown.extend(bars)
            elif bars:
                ranks.append((rank, bars[0]))
        return shown, ranks_line(self.member, ranks), bool(entries)
