"""The alerts' variables, read from the one table of ``VHTQDM_*`` variables; and off Valohai
without ``VHTQDM_ALERT_URL``, nothing of the alerts exists."""

from __future__ import annotations

import pytest

from vhtqdm._config import DEFAULT_ALERT_ON, read_settings

from ..helpers import run_script

URL = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/xYzSecretKey123456"


def test_the_defaults() -> None:
    settings, problems = read_settings({})
    assert (settings.alert_url, settings.alert_format, settings.alert_every) == ("", "", 600.0)
    assert settings.alert_on == DEFAULT_ALERT_ON
    assert sorted(DEFAULT_ALERT_ON) == ["failed", "finished", "nan", "stalled", "stopped"]
    assert problems == []


def test_the_variables_are_read_and_the_url_is_never_shown() -> None:
    settings, problems = read_settings(
        {
            "VHTQDM_ALERT_URL": f"  {URL} ",
            "VHTQDM_ALERT_FORMAT": "Teams",
            "VHTQDM_ALERT_ON": "failed, phase,NaN",
            "VHTQDM_ALERT_EVERY": "0",
        }
    )
    assert problems == []
    assert settings.alert_url == URL and settings.alert_format == "teams"
    assert settings.alert_on == {"failed", "phase", "nan"} and settings.alert_every == 0.0
    assert "xYzSecretKey123456" not in repr(settings) and "T0123ABCD" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "used", "problem"),
    [
        ("VHTQDM_ALERT_ON", "all", "every", None),
        ("VHTQDM_ALERT_ON", "none", frozenset(), None),
        ("VHTQDM_ALERT_ON", "failed,crashed,stall", frozenset({"failed"}),
         "VHTQDM_ALERT_ON='failed,crashed,stall' names no event (crashed, stall; events: "
         "failed, stopped, stalled, nan, finished, phase, all, none)"),
        ("VHTQDM_ALERT_FORMAT", "telegram", "",
         "VHTQDM_ALERT_FORMAT='telegram' is not one of slack, teams, discord, json: the format "
         "follows the URL's host"),
        ("VHTQDM_ALERT_EVERY", "soon", 600.0,
         "VHTQDM_ALERT_EVERY='soon' is not a number of seconds: using 600"),
    ],
)  # fmt: skip
def test_a_value_that_cannot_be_used_is_one_warning(
    name: str, value: str, used: object, problem: str | None
) -> None:
    settings, problems = read_settings({name: value})
    field = {"VHTQDM_ALERT_ON": "alert_on", "VHTQDM_ALERT_FORMAT": "alert_format"}
    got = getattr(settings, field.get(name, "alert_every"))
    if used == "every":
        assert got == {"failed", "stopped", "stalled", "nan", "finished", "phase"}
    else:
        assert got == used
    assert problems == ([problem] if problem else [])


def test_off_valohai_without_the_url_nothing_of_the_alerts_exists() -> None:
    run = run_script(
        """
        import sys, threading, vhtqdm
        from vhtqdm import tqdm
        for _ in tqdm(range(3), desc="train"):
            pass
        vhtqdm.alert("nobody hears this")
        loaded = [m for m in ("vhtqdm._alerts", "vhtqdm._mirror", "vhtqdm._sender",
                              "vhtqdm._webhooks", "requests") if m in sys.modules]
        ours = [t.name for t in threading.enumerate() if t.name.startswith("vhtqdm")]
        print(ours, loaded)
        """,
        None,
        env={"VHTQDM_ALERT_ON": "all", "VHTQDM_ALERT_FORMAT": "slack"},
    )
    assert run.code == 0, run.err
    assert run.out == "[] []\n"  # no thread, no import beyond today's
    assert "vhtqdm" not in run.err  # and nothing said


def test_vhtqdm_disable_turns_the_alerts_off_too() -> None:
    run = run_script(
        "import threading, vhtqdm\nvhtqdm.alert('x')\nprint(threading.active_count())",  # no bar
        None,
        env={"VHTQDM_ALERT_URL": "http://127.0.0.1:9/x", "VHTQDM_DISABLE": "1"},
    )
    assert (run.code, run.out, run.err) == (0, "1\n", "")
