"""Ranks, members and relayed bars as pure data: who a process is, what the ranks line says."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vhtqdm import _ranks
from vhtqdm._compose import ranks_line
from vhtqdm._peers import EXPIRE, Peers, snapshot
from vhtqdm._views import BarView


@pytest.mark.parametrize(
    ("env", "rank", "secondary"),
    [
        ({}, None, False),
        ({"LOCAL_RANK": "0", "RANK": "4"}, 0, False),
        ({"LOCAL_RANK": "", "RANK": "2"}, 2, True),
        ({"LOCAL_RANK": "x", "RANK": "0"}, 0, False),
        ({"SLURM_PROCID": "5", "SLURM_LOCALID": "1"}, 1, True),
        ({"OMPI_COMM_WORLD_RANK": "3"}, 3, True),
        ({"PMI_RANK": "0"}, 0, False),
    ],
)
def test_the_rank_comes_from_any_launcher(
    env: dict[str, str], rank: int | None, secondary: bool
) -> None:
    assert _ranks.rank(env) == rank
    assert (_ranks.secondary(env) is not None) == secondary


@pytest.mark.parametrize(
    ("env", "initialised", "expected"),
    [
        ({}, True, 3),
        ({}, False, None),
        ({"LOCAL_RANK": "0"}, True, None),  # the launcher's variable decides
        ({"VH_DIST_MEMBER_INDEX": "1", "VH_DIST_MEMBER_COUNT": "2"}, True, None),  # global rank
    ],
)
def test_the_process_group_names_the_rank_when_no_launcher_does(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], initialised: bool, expected: int | None
) -> None:
    # torch.multiprocessing.spawn passes the rank as an argument (the real thing runs in
    # tests/integrations/test_torch.py); the module is whatever sits in sys.modules.
    group = SimpleNamespace(
        is_available=lambda: True, is_initialized=lambda: initialised, get_rank=lambda: 3
    )
    monkeypatch.setitem(sys.modules, "torch.distributed", group)
    assert _ranks.process_group_rank(env) == expected
    monkeypatch.delitem(sys.modules, "torch.distributed")
    assert _ranks.process_group_rank({}) is None  # torch never imported: never imported here


@pytest.mark.parametrize(
    ("env", "member"),
    [
        ({"VH_DIST_MEMBER_INDEX": "1", "VH_DIST_MEMBER_COUNT": "4"}, (1, 4)),
        ({"VH_DIST_MEMBER_INDEX": "0", "VH_DIST_MEMBER_COUNT": "1"}, None),
        ({"VH_DIST_MEMBER_INDEX": "4", "VH_DIST_MEMBER_COUNT": "4"}, None),
        ({"VH_DIST_MEMBER_COUNT": "4"}, None),
    ],
)
def test_the_member_is_read_zero_based(env: dict[str, str], member: object) -> None:
    assert _ranks.member(env) == member


def text(line: str | None) -> str:
    assert line is not None
    element = json.loads(line)
    assert element["type"] == "text"
    return str(element["text"])


def test_the_slowest_rank_and_its_lag_behind_the_fastest() -> None:
    ranks = [(r, BarView(desc="train", n=n, total=1875)) for r, n in enumerate([412, 410, 412])]
    ranks.append((3, BarView(n=398, total=1875)))
    assert text(ranks_line(None, ranks)) == "4 ranks \u00b7 slowest rank 3 at 398/1875 (\u221214)"
    assert text(ranks_line((1, 4), ranks[:1])) == "member 2/4"
    even = [(r, BarView(n=5, total=9)) for r in range(2)]
    assert text(ranks_line((0, 2), even)) == "member 1/2 \u00b7 2 ranks \u00b7 all at 5/9"
    assert ranks_line(None, ranks[:1]) is None


numbers = st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-(10**20), 10**20))


@given(st.lists(st.tuples(st.integers(0, 99), numbers, numbers), max_size=9))
def test_any_rank_states_give_one_valid_line(rows: list[tuple[int, object, object]]) -> None:
    ranks = [(r, BarView(n=n, total=t)) for r, n, t in rows]  # type: ignore[arg-type]
    line = ranks_line((0, 3), ranks)
    assert line is not None and "\n" not in line
    assert text(line).startswith("member 1/3")


def datagram(pid: int, rank: int | None, n: int) -> bytes:
    return snapshot(pid, rank, [BarView(desc="eval", n=n, total=10, rate=2.0, elapsed=1.0)])


def test_relayed_bars_show_and_expire_when_their_process_stops_relaying() -> None:
    now = 100.0
    peers = Peers(0, None)
    own = [BarView(desc="train", n=8, total=10)]
    assert peers.take(datagram(11, None, 3), now)
    assert peers.take(datagram(12, 1, 5), now)
    bars, line, alive = peers.compose(own, now)
    assert [(b.desc, b.n) for b in bars] == [("eval", 3)]  # the subprocess's bar
    assert text(line) == "2 ranks \u00b7 slowest rank 1 at 5/10 (\u22123)"
    assert alive
    assert peers.compose(own, now + EXPIRE + 0.1) == ([], None, False)


def test_a_datagram_is_read_back_as_sent() -> None:
    sent = [BarView(desc="eval", n=3, total=None, rate=None, elapsed=2.5, outcome="complete")]
    peers = Peers(0, None)
    assert peers.take(snapshot(7, None, sent), 0.0)
    assert peers.compose([], 0.0)[0] == sent


@given(st.binary(max_size=200))
def test_a_malformed_datagram_is_ignored(data: bytes) -> None:
    peers = Peers(0, None)
    if not peers.take(data, 0.0):
        assert peers.compose([], 0.0) == ([], None, False)
