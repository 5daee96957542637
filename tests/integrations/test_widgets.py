"""The widget flavours (notebook, rich) and ``tqdm.pandas``: mirrored, never in log mode."""

from __future__ import annotations

import io
import warnings

import pytest

import vhtqdm
from vhtqdm._logmode import Sink

from ..server import StatusServer
from . import require


def test_notebook_bars_are_mirrored_and_keep_their_widget(valohai: StatusServer) -> None:
    require("ipywidgets")
    from vhtqdm.notebook import tqdm, trange

    bar = tqdm(total=4, desc="cell", disable=None)  # the notebook flavour turns None into False
    assert hasattr(bar, "container") and bar._vh_log is None
    bar.update(3)
    bar.set_postfix(loss=0.5)
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    (gauge,) = valohai.last.of_type("gauge")
    assert gauge["label"].startswith("cell 3/4")
    assert "loss 0.5" in valohai.last.texts()
    bar.close()
    assert list(trange(2, desc="cells")) == [0, 1]


def test_rich_bars_are_mirrored(valohai: StatusServer) -> None:
    require("rich")
    from vhtqdm.rich import tqdm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm: "rich is experimental/alpha"
        bar = tqdm(total=5, desc="rich", options={"console": __import__("rich").get_console()})
    assert not isinstance(bar.fp, Sink)
    bar.update(5)
    bar.close()
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    (gauge,) = valohai.last.of_type("gauge")
    assert (gauge["value"], gauge["color"]) == (5, "good")


def test_pandas_progress_apply_is_mirrored(valohai: StatusServer) -> None:
    pandas = require("pandas")
    vhtqdm.tqdm.pandas(desc="apply", file=io.StringIO())
    frame = pandas.DataFrame({"a": range(50), "b": range(50)})
    assert frame.progress_apply(lambda row: row["a"] + row["b"], axis=1).sum() == 2 * 1225
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    (gauge,) = valohai.last.of_type("gauge")
    assert gauge["label"].startswith("apply 50/50") and gauge["color"] == "good"


@pytest.mark.parametrize("module", ["vhtqdm.notebook", "vhtqdm.rich"])
def test_widget_flavours_are_not_text_bars(module: str) -> None:
    require("ipywidgets" if module.endswith("notebook") else "rich")
    cls = __import__(module, fromlist=["tqdm"]).tqdm
    assert issubclass(cls, vhtqdm.tqdm) and not cls._vh_text
