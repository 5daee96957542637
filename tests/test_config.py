"""Reading api.json and the VHTQDM_* variables: every problem becomes one safe message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vhtqdm._config import (
    MIN_INTERVAL,
    VARIABLES,
    ConfigError,
    Endpoint,
    load_endpoint,
    option,
    read_settings,
)

SECRET = "abcdef123456"


def write(tmp_path: Path, content: object) -> dict[str, str]:
    text = content if isinstance(content, str) else json.dumps(content)
    (tmp_path / "api.json").write_text(text)
    return {"VH_CONFIG_DIR": str(tmp_path)}


def test_a_valid_entry() -> None:
    endpoint = Endpoint(
        "https://app.valohai.com/api/x/?token=" + SECRET,
        "POST",
        {"Authorization": "Token " + SECRET},
    )
    assert SECRET not in repr(endpoint) and SECRET not in endpoint.safe_url
    assert SECRET in endpoint.secrets()


def test_method_defaults_to_post(tmp_path: Path) -> None:
    env = write(tmp_path, {"set_status_detail": {"url": "https://h/x", "headers": {"A": "b"}}})
    endpoint = load_endpoint(env)
    assert endpoint is not None and endpoint.method == "POST" and endpoint.headers == {"A": "b"}


def test_no_file_means_not_on_valohai(tmp_path: Path) -> None:
    assert load_endpoint({"VH_CONFIG_DIR": str(tmp_path)}) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "is not valid JSON"),
        ([1, 2], "does not hold a JSON object"),
        ({"other": {}}, "has no 'set_status_detail' entry"),
        ({"set_status_detail": "https://h"}, "is not an object"),
        ({"set_status_detail": {"headers": {}}}, "has no 'url' string"),
        ({"set_status_detail": {"url": 42}}, "has no 'url' string"),
        ({"set_status_detail": {"url": "ftp://h/x"}}, "is not an http(s) URL"),
        (
            {"set_status_detail": {"url": "https://h/x", "headers": ["Token " + SECRET]}},
            "headers' in",
        ),
        ({"set_status_detail": {"url": "https://h/x", "method": "PO ST"}}, "not an HTTP method"),
    ],
)
def test_broken_configs_are_one_clear_message(
    tmp_path: Path, content: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_endpoint(write(tmp_path, content))
    assert SECRET not in str(info.value)


def test_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "api.json").mkdir()  # a directory: open() fails with an OSError
    with pytest.raises(ConfigError, match="cannot read"):
        load_endpoint({"VH_CONFIG_DIR": str(tmp_path)})


def test_settings_and_one_warning_per_value_not_used_as_given() -> None:
    settings, warnings = read_settings(
        {
            "VHTQDM_STATUS_INTERVAL": "0.01",
            "VHTQDM_SPARKLINES": "loss, acc",
            "VHTQDM_SPARKLINE_WINDOW": "many",
            "VHTQDM_FLUSH_TIMEOUT": "3",
            "VHTQDM_STALL_AFTER": "",  # empty: as if unset
        }
    )
    assert settings.status_interval == MIN_INTERVAL
    assert settings.sparklines == frozenset({"loss", "acc"})
    assert settings.sparkline_window == 40 and settings.flush_timeout == 3.0
    assert settings.stall_after == 300.0
    assert warnings == [
        "VHTQDM_STATUS_INTERVAL='0.01' is below the 0.5 s minimum: using 0.5",
        "VHTQDM_SPARKLINE_WINDOW='many' is not a whole number: using 40",
    ]


@pytest.mark.parametrize(
    ("raw", "used", "said"),
    [
        ("-5", 5.0, "is not a positive number of seconds: using 5"),
        ("0.1", 0.5, "is below the 0.5 s minimum: using 0.5"),
        ("1e10", 5.0, "is more than a day: using 5"),
        ("nan", 5.0, "is not a number of seconds: using 5"),
        ("soon", 5.0, "is not a number of seconds: using 5"),
        ("2", 2.0, None),
    ],
)
def test_an_interval_says_what_is_used_instead(raw: str, used: float, said: str | None) -> None:
    settings, warnings = read_settings({"VHTQDM_STATUS_INTERVAL": raw})
    assert settings.status_interval == used
    assert warnings == ([f"VHTQDM_STATUS_INTERVAL={raw!r} {said}"] if said else [])
    assert option("status_interval", raw) == (
        used,
        f"status_interval={raw!r} {said}" if said else None,
    )


@pytest.mark.parametrize("word", ["1", "true", "YES", "on", "0", "false", "no", "Off", "none"])
def test_every_yes_or_no_reads_the_same_words(word: str) -> None:
    yes = word.lower() in ("1", "true", "yes", "on")
    for variable in VARIABLES:
        if variable.field in ("disabled", "metadata", "sigterm"):
            settings, warnings = read_settings({variable.name: word})
            assert getattr(settings, variable.field) is yes and warnings == []


def test_a_yes_or_no_that_is_neither_keeps_the_default_with_one_warning() -> None:
    settings, warnings = read_settings({"VHTQDM_SIGTERM": "maybe", "VHTQDM_METADATA": "sure"})
    assert settings.sigterm is True and settings.metadata is False
    assert len(warnings) == 2 and all("is not a yes or no" in w for w in warnings)


def test_a_misspelt_variable_is_one_warning_naming_the_nearest() -> None:
    settings, warnings = read_settings({"VHTQDM_STATUS_INTERVL": "1", "VHTQDM_ZZZ": "1"})
    assert settings.status_interval == 5.0
    assert warnings == [
        "VHTQDM_STATUS_INTERVL is not a vhtqdm setting (did you mean VHTQDM_STATUS_INTERVAL?): "
        "ignored",
        "VHTQDM_ZZZ is not a vhtqdm setting: ignored",
    ]


@pytest.mark.parametrize(
    ("env", "off"),
    [
        ({}, False),
        ({"VHTQDM_DISABLE": "1"}, True),
        ({"VHTQDM_DISABLE": "0"}, False),
        ({"RANK": "3"}, False),  # a secondary rank mirrors too: it relays (tests/test_ranks.py)
    ],
)
def test_who_mirrors(env: dict[str, str], off: bool) -> None:
    assert read_settings(env)[0].disabled is off
