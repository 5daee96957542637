"""Reading api.json and the VHTQDM_* variables: every problem becomes one safe message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vhtqdm._config import (
    MIN_INTERVAL,
    ConfigError,
    Endpoint,
    disabled_reason,
    load_endpoint,
    settings_from_env,
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


def test_settings_from_env_and_bad_values_are_listed_not_raised() -> None:
    settings, problems = settings_from_env(
        {
            "VHTQDM_STATUS_INTERVAL": "0.01",
            "VHTQDM_SPARKLINES": "loss, acc",
            "VHTQDM_SPARKLINE_WINDOW": "many",
            "VHTQDM_FLUSH_TIMEOUT": "3",
        }
    )
    assert settings.status_interval == MIN_INTERVAL
    assert settings.sparklines == frozenset({"loss", "acc"})
    assert settings.sparkline_window == 40 and settings.flush_timeout == 3.0
    assert problems == ["ignoring VHTQDM_SPARKLINE_WINDOW='many': not a valid value"]


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
    assert (disabled_reason(env) is not None) == off
