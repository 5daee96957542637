"""The preview page's alerts, in a real browser, while ``examples/long_run.py`` runs under it:
its NaN, its hang and the hang's end, then its finish, each listed as it comes."""

from __future__ import annotations

from typing import Any

import pytest

from .test_preview_page import follow

pytestmark = pytest.mark.slow

READ_ALERTS = """
return [...document.querySelectorAll("#alerts li[data-event]")].map((li) => ({
  event: li.dataset.event,
  word: li.querySelector(".event").textContent,
  warn: li.querySelector(".event").classList.contains("c-warn"),
  bad: li.querySelector(".event").classList.contains("c-bad"),
  title: li.querySelector(".title").textContent,
  lines: [...li.querySelectorAll(".line")].map((l) => l.textContent),
}));
"""


def test_the_page_lists_the_alerts_newest_first(browser: Any) -> None:
    lists: list[list[dict[str, Any]]] = []
    final, errors = follow(
        browser, "long_run.py", lambda _: lists.append(browser.execute_script(READ_ALERTS))
    )
    alerts = browser.execute_script(READ_ALERTS)
    assert errors == [] and final["state"] == "complete"
    assert [a["event"] for a in alerts] == ["finished", "recovered", "stalled", "nan"]
    nan, stalled = alerts[3], alerts[2]
    assert nan["bad"] and nan["title"] == "train loss turned nan at step 60"
    assert stalled["warn"] and stalled["title"].startswith("stalled for ")
    assert stalled["lines"][0].startswith("job ") and "stalled" in stalled["lines"][0]
    assert any(len(seen) == 2 for seen in lists)  # listed as they came, not only at the end
