"""The preview page in a real browser while the examples run under ``vhtqdm preview``.

Set ``VHTQDM_SCREENSHOT=docs/preview.png`` to keep a capture of the page during the hang of
``examples/long_run.py`` (the README's picture is made so).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from ..cli.runner import cli_env
from ..helpers import ROOT

pytestmark = pytest.mark.slow
# Read at import: the suite's autouse fixture clears every VHTQDM_* variable before a test.
SCREENSHOT = os.environ.get("VHTQDM_SCREENSHOT")

# Everything the test needs to know of the page, read in one call.
READ_PAGE = """
const all = (selector) => [...document.querySelectorAll(selector)];
const box = (el) => (el ? el.getBoundingClientRect().width : 0);
return {
  marker: window.__vhtqdmTest === 1,
  state: document.getElementById("state").dataset.state,
  count: document.getElementById("count").textContent,
  lastUpdate: document.getElementById("last-update").textContent,
  history: all("#history li").length,
  texts: all("#status .vh-text").map((t) => t.textContent),
  warnings: all("#status .vh-text.c-warn").map((t) => t.textContent),
  gauges: all("#status .vh-gauge").map((g) => ({
    label: g.querySelector(".vh-gauge-label").textContent,
    value: Number(g.dataset.value),
    max: Number(g.dataset.max),
    fraction: Number(g.dataset.fraction),
    fill: box(g.querySelector(".vh-gauge-fill")),
    track: box(g.querySelector(".vh-gauge-track")),
    good: g.classList.contains("c-good"),
    warn: g.classList.contains("c-warn"),
  })),
  sparklines: all("#status .vh-sparkline").map((s) => ({
    count: Number(s.dataset.count),
    points: (s.querySelector("polyline") || { getAttribute: () => "" }).getAttribute("points"),
    width: box(s.querySelector("svg")),
  })),
};
"""


def start_preview(example: str) -> tuple[subprocess.Popen[str], str]:
    """``vhtqdm preview --hold -- python examples/EXAMPLE``, run as the README says."""
    env = cli_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "preview", "--port", "0", "--hold", "--",
         "python", f"examples/{example}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        cwd=str(ROOT), start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    match = re.match(r"vhtqdm preview: (http://127\.0\.0\.1:\d+/) ", first)
    assert match, first
    return proc, match.group(1)


def bar_gauges(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The bars' gauges of a page: every gauge but the whole job's (label ``job …``)."""
    return [g for g in page["gauges"] if not g["label"].startswith("job")]


def follow(
    browser: Any, example: str, on_page: Callable[[dict[str, Any]], None]
) -> tuple[dict[str, Any], list[Any]]:
    """Run ``example`` under the preview, hand every page read to ``on_page`` until the job is
    complete, and return the final page and the browser's severe log entries."""
    proc, url = start_preview(example)
    try:
        browser.get(url)
        browser.execute_script("window.__vhtqdmTest = 1")  # gone if the page ever reloads
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            page = browser.execute_script(READ_PAGE)
            on_page(page)
            if page["state"] == "complete" and page["gauges"]:
                break
            time.sleep(0.1)
        final = browser.execute_script(READ_PAGE)
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    return final, errors


def test_the_page_draws_gauges_and_the_sparkline_and_updates_them_live(browser: Any) -> None:
    seen: list[dict[str, Any]] = []
    final, errors = follow(browser, "train.py", seen.append)

    assert final["marker"], "the page reloaded instead of updating in place"
    assert final["state"] == "complete", final
    assert errors == []

    # Gauges drawn: the whole job's, then two bars, each filled as far as its value.
    drawn = [p for p in seen if len(bar_gauges(p)) == 2 and len(p["gauges"]) == 3]
    assert drawn, "the job, epoch and train gauges never appeared together"
    for page in drawn[-5:]:
        for gauge in page["gauges"]:
            assert gauge["track"] > 100
            assert gauge["fraction"] == pytest.approx(gauge["value"] / gauge["max"], abs=1e-3)
    assert [(g["label"].split()[0], g["max"]) for g in drawn[-1]["gauges"]] == [
        ("job", 1),
        ("epoch", 3),
        ("train", 80),
    ]
    # ... and they moved: the train gauge went through several values while the job ran.
    train_values = {bar_gauges(p)[1]["value"] for p in drawn}
    assert len(train_values) >= 3, train_values
    assert any(0 < g["fill"] < g["track"] for p in drawn for g in p["gauges"])

    # The sparkline: a polyline of the loss, growing as updates arrive.
    counts = [s["count"] for p in seen for s in p["sparklines"]]
    assert counts and max(counts) >= 3 and len(set(counts)) >= 2, counts
    line = final["sparklines"][0]
    assert len(line["points"].split()) == line["count"] and line["width"] > 100
    ys = [float(xy.split(",")[1]) for xy in line["points"].split()]
    assert ys[-1] > ys[0]  # the loss decays: lower on the chart (SVG y grows downwards)

    # The final status: green gauges, the loss text, time of the last update, the history.
    assert all(g["good"] and g["fill"] == pytest.approx(g["track"], abs=1) for g in final["gauges"])
    assert any(t.startswith("loss ") for t in final["texts"])
    assert re.match(r"\d\d:\d\d:\d\d \(", final["lastUpdate"]), final["lastUpdate"]
    assert final["history"] >= 3 and int(final["count"]) >= final["history"]


def test_the_page_shows_a_hang_as_stalled_in_warn_and_its_end(browser: Any) -> None:
    # long_run.py: a NaN at step 60, then a 4 s hang at step 70
    stalled: dict[str, Any] | None = None
    picture = b""

    def on_page(page: dict[str, Any]) -> None:
        nonlocal stalled, picture
        if stalled is None and any(t.startswith("stalled for") for t in page["warnings"]):
            stalled = page
            if SCREENSHOT:
                time.sleep(0.45)  # let the gauges' transition settle before the picture
                picture = browser.find_element("tag name", "body").screenshot_as_png

    final, _ = follow(browser, "long_run.py", on_page)

    assert stalled is not None, "the hang never showed as stalled"
    job = stalled["gauges"][0]
    assert job["label"].startswith("job ") and "stalled" in job["label"] and job["warn"], job
    assert any("train loss" in t and "nan at step 60" in t for t in stalled["warnings"])

    assert final["state"] == "complete", final
    shown = final["texts"] + [g["label"] for g in final["gauges"]]
    assert not any("stalled" in t for t in shown), shown  # the job went on: no longer stalled
    assert any("nan at step 60" in t for t in final["warnings"])  # the NaN stays on record

    if SCREENSHOT:
        Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
        Path(SCREENSHOT).write_bytes(picture)
