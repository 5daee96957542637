"""Where statuses go and how often: Valohai's ``api.json`` entry plus vhtqdm's own settings.

Everything here reads the environment and the config file once, when the first bar of a process
starts, and turns any problem into a :class:`ConfigError` whose text is safe to print (it never
contains a header value or the URL's query).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Union
from urllib.parse import parse_qsl, urlsplit

from ._words import falsy, truthy

DEFAULT_CONFIG_DIR = "/valohai/config"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 0.5  # the platform is a shared API: regular posts at most twice a second
DEFAULT_WINDOW = 40
MAX_WINDOW = 200
DEFAULT_FLUSH_TIMEOUT = 2.0
MAX_CONFIG_BYTES = 1 << 20  # api.json is a few hundred bytes; anything this big is not it
DEFAULT_STALL_AFTER = 300.0
MAX_SECONDS = 86_400.0  # any interval or timeout: a day (threading's waits fail above ~49 days)

#: ``True`` = every numeric postfix value, or the set of keys to chart (empty = none).
Charted = Union[Literal[True], "frozenset[str]"]


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


class ConfigError(Exception):
    """The configuration cannot be used; the message is safe to show (no secrets)."""


@dataclass(frozen=True)
class Endpoint:
    """The ``set_status_detail`` entry of ``api.json``: requests keyword arguments."""

    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Endpoint(method={self.method!r}, url={self.safe_url!r})"

    @property
    def safe_url(self) -> str:
        """The URL with its query and credentials left out, fit for messages."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "?"

    def secrets(self) -> list[str]:
        """Every string that must never be printed: header values, query values, URL password."""
        parts = urlsplit(self.url)
        found = [v for v in self.headers.values() if v]
        # "Token abc…" / "Bearer abc…": the credential alone must be masked as well.
        found += [v.split()[-1] for v in self.headers.values() if len(v.split()) > 1]
        # Query values decoded and as written (``+``, ``%2B``, ``%20``…); _log.set_secrets adds
        # every other encoding.
        found += [v for _, v in parse_qsl(parts.query) if v]
        found += [p.partition("=")[2] for p in parts.query.split("&") if p.partition("=")[2]]
        if parts.password:
            found.append(parts.password)
        return found


@dataclass(frozen=True)
class Settings:
    """Process-wide knobs; each bar may override them with keyword arguments."""

    status_interval: float = DEFAULT_INTERVAL
    sparklines: Charted = True
    sparkline_window: int = DEFAULT_WINDOW
    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT
    stall_after: float = DEFAULT_STALL_AFTER  # seconds without progress that make a stall; 0: off


def disabled_reason(environ: Mapping[str, str]) -> str | None:
    """Why this process must not mirror at all, or None. Not an error: nothing is logged."""
    if truthy(environ.get("VHTQDM_DISABLE", "")):
        return "VHTQDM_DISABLE is set"
    return None  # secondary ranks mirror too: they relay to the process that posts (_relay)


def config_path(environ: Mapping[str, str]) -> str:
    return os.path.join(environ.get("VH_CONFIG_DIR") or DEFAULT_CONFIG_DIR, "api.json")


def load_endpoint(environ: Mapping[str, str]) -> Endpoint | None:
    """Read ``$VH_CONFIG_DIR/api.json``; None when there is no such file (not on Valohai)."""
    path = config_path(environ)
    try:
        raw = _read_small_file(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    if raw is None:
        raise ConfigError(f"cannot read {path} (not a regular file)")
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"cannot read {path} (larger than 1 MiB)")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object")
    return parse_entry(data.get("set_status_detail"), path)


def _read_small_file(path: str) -> bytes | None:
    """At most ``MAX_CONFIG_BYTES + 1`` bytes of a regular file; None for anything else.

    Opened without blocking (a FIFO would wait for a writer for ever) and checked on the open
    descriptor, so what is read is what was checked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)


def parse_entry(entry: object, where: str) -> Endpoint:
    """Validate one ``set_status_detail`` entry (a dict of requests keyword arguments)."""
    if entry is None:
        raise ConfigError(f"{where} has no 'set_status_detail' entry")
    if not isinstance(entry, dict):
        raise ConfigError(f"'set_status_detail' in {where} is not an object")
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"'set_status_detail' in {where} has no 'url' string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"'set_status_detail.url' in {where} is not an http(s) URL")
    method = entry.get("method", "POST")
    if not isinstance(method, str) or not method.strip().isalpha():
        raise ConfigError(f"'set_status_detail.method' in {where} is not an HTTP method")
    headers = entry.get("headers", {})
    if headers is None:
        headers = {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) for k in headers):
        raise ConfigError(f"'set_status_detail.headers' in {where} is not an object")
    clean = {k: str(v) for k, v in headers.items() if v is not None}
    for name, value in clean.items():
        if not _HEADER_NAME.fullmatch(name) or any(c in value for c in "\r\n\0"):
            # The name may be shown; the value never is (it is the token).
            raise ConfigError(
                f"'set_status_detail.headers' in {where} has an invalid {name[:40]!r}"
            )
    return Endpoint(url=url.strip(), method=method.strip().upper(), headers=clean)


def parse_charted(value: object) -> Charted:
    """``sparklines=``: True, False, or an iterable of postfix keys (a string: comma separated).

    False becomes the empty set: "chart none of the keys".
    """
    if value is True or (isinstance(value, str) and truthy(value)):
        return True
    if value is False or (isinstance(value, str) and falsy(value)):
        return frozenset()
    if isinstance(value, str):
        return frozenset(k.strip() for k in value.split(",") if k.strip())
    try:
        return frozenset(str(k) for k in value)  # type: ignore[attr-defined]
    except TypeError:
        raise ValueError(f"sparklines must be True, False or keys, not {value!r:.40}") from None


def parse_interval(value: object) -> float:
    seconds = float(value)  # type: ignore[arg-type]
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        raise ValueError(
            f"status_interval must be a number of seconds up to {MAX_SECONDS:.0f}, "
            f"not {value!r:.40}"
        )
    return max(MIN_INTERVAL, seconds)


def parse_window(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"sparkline_window must be a whole number, not {value!r:.40}")
    points = int(value)
    if not 2 <= points <= MAX_WINDOW:
        raise ValueError(f"sparkline_window must be from 2 to {MAX_WINDOW}, not {value!r:.40}")
    return points


def parse_timeout(value: object) -> float:
    seconds = float(value)  # type: ignore[arg-type]
    if not 0 <= seconds <= MAX_SECONDS:
        raise ValueError(
            f"a flush timeout must be a number of seconds from 0 to {MAX_SECONDS:.0f}, "
            f"not {value!r:.40}"
        )
    return seconds


def parse_stall_after(value: object) -> float:
    """``stall_after``: seconds (any positive number) without progress that make a stall; 0: off."""
    seconds = float(value)  # type: ignore[arg-type]
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"stall_after must be a number of seconds >= 0, not {value!r:.40}")
    return seconds


_ENV = {
    "status_interval": ("VHTQDM_STATUS_INTERVAL", parse_interval),
    "sparklines": ("VHTQDM_SPARKLINES", parse_charted),
    "sparkline_window": ("VHTQDM_SPARKLINE_WINDOW", parse_window),
    "flush_timeout": ("VHTQDM_FLUSH_TIMEOUT", parse_timeout),
    "stall_after": ("VHTQDM_STALL_AFTER", parse_stall_after),
}


def settings_from_env(environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Defaults overridden by ``VHTQDM_*`` variables; bad values are listed, not raised."""
    changes: dict[str, Any] = {}
    problems = []
    for name, (var, parse) in _ENV.items():
        raw = environ.get(var)
        if raw is None or not raw.strip():
            continue
        try:
            changes[name] = parse(raw)
        except (TypeError, ValueError):
            problems.append(f"ignoring {var}={raw[:40]!r}: not a valid value")
    return replace(Settings(), **changes), problems
