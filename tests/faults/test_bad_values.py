"""Any value a training loop may hand to set_postfix or desc yields a small, valid status."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tqdm.std import tqdm as std_tqdm

import vhtqdm
from vhtqdm import tqdm

from ..server import StatusServer


class Scalar0d:
    """Duck-types a 0-d torch tensor / numpy array: vhtqdm must not import either."""

    ndim = 0

    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value

    def __str__(self) -> str:
        return f"tensor({self.value})"


class Exploding:
    """A value whose item() raises: it must be shown as text, never break the loop."""

    ndim = 0

    def item(self) -> float:
        raise RuntimeError("device lost")

    def __str__(self) -> str:
        return "exploding"


def check(post_status: str) -> list[dict[str, Any]]:
    """Every line is single-line JSON of a known element; the whole status is small."""
    assert len(post_status) <= 16_000
    elements = []
    for line in post_status.split("\n"):
        assert line.isascii() and line.isprintable()
        element = json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
        assert element["type"] in ("text", "gauge", "sparkline")
        elements.append(element)
    return elements


def post_once(server: StatusServer, **postfix: Any) -> list[dict[str, Any]]:
    bar = tqdm(total=10, desc="train", file=io.StringIO(), status_interval=0.5)
    bar.set_postfix(**postfix)
    bar.update()
    assert vhtqdm.flush(5)
    assert server.last is not None
    bar.close()
    return check(server.last.status)


def test_nan_and_infinities_are_shown_as_such_in_bad(valohai: StatusServer) -> None:
    elements = post_once(valohai, loss=math.nan, grad=math.inf, neg=-math.inf)
    texts = {e["text"]: e.get("color") for e in elements if e["type"] == "text"}
    # The step: the bar's count when the value came (set_postfix before the first update).
    assert texts["loss nan since step 0"] == texts["grad inf since step 0"] == "bad"
    assert texts["neg -inf since step 0"] == "bad"


def test_odd_values_become_numbers_or_text(valohai: StatusServer) -> None:
    elements = post_once(
        valohai,
        tensor=Scalar0d(0.25),
        exploding=Exploding(),
        none=None,
        flag=True,
        big=10**300,
        items=[1, 2, 3],
        text="a\nb\rc\x1b[31md\U0001f600" + "e" * 10_000,
    )
    texts = [e["text"] for e in elements if e["type"] == "text"]
    assert "tensor 0.25" in texts  # charted as a number, not "tensor(0.25)"
    assert "big 1e+300" in texts
    (summary,) = [t for t in texts if t.startswith("exploding")]
    assert "none None" in summary and "flag True" in summary and "items [1, 2, 3]" in summary
    assert "text a b cd\U0001f600e" in summary and len(summary) <= 160  # the escape is gone


def test_an_int_beyond_float_range_raises_as_in_tqdm_and_the_status_stays_valid(
    valohai: StatusServer,
) -> None:
    # tqdm's own format_num cannot format it: vhtqdm is a drop-in and raises the same error.
    for cls in (tqdm, std_tqdm):
        with pytest.raises(OverflowError):
            cls(total=1, file=io.StringIO()).set_postfix(huge=10**400)
    elements = post_once(valohai, loss=0.5)
    assert {"type": "text", "text": "huge 1.000e+400 since step 0", "color": "bad"} in elements


def test_numpy_scalars_are_numbers(valohai: StatusServer) -> None:
    np = pytest.importorskip("numpy")
    elements = post_once(valohai, f32=np.float32(0.5), i64=np.int64(3), arr=np.array(1.5))
    texts = [e["text"] for e in elements if e["type"] == "text"]
    assert {"arr 1.5", "f32 0.5", "i64 3"} <= set(texts)


def test_a_wild_description_stays_one_short_line(valohai: StatusServer) -> None:
    bar = tqdm(total=10, desc="ep\n1\r\x1b[1m\u2028" + "\U0001f680" * 20_000, file=io.StringIO())
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    (gauge,) = check(valohai.last.status)
    assert gauge["label"].startswith("ep 1 \U0001f680") and len(gauge["label"]) <= 160
    bar.close()


values = st.one_of(
    st.floats(),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.text(max_size=12_000),
    st.booleans(),
    st.none(),
    st.lists(st.floats(), max_size=5),
    st.builds(Scalar0d, st.floats()),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    postfix=st.dictionaries(st.text(min_size=1, max_size=300), values, max_size=8),
    desc=st.text(max_size=12_000),
)
def test_any_postfix_gives_a_valid_bounded_status(
    valohai: StatusServer, postfix: dict[str, Any], desc: str
) -> None:
    bar = tqdm(total=5, desc=desc, file=io.StringIO(), status_interval=0.5)
    bar.set_postfix(postfix, refresh=False)  # any key: pass them as a dict
    bar.update(2)
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    check(valohai.last.status)
    bar.close()
