"""Where statuses go and how often: Valohai's ``api.json`` entry plus vhtqdm's own settings.

Everything here reads the environment and the config file once, when the first bar of a process
starts. A broken ``api.json`` is a :class:`ConfigError` whose text is safe to print (it never
contains a header value or the URL's query); a ``VHTQDM_*`` value that cannot be used as given is
a warning saying what is used instead.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Union
from urllib.parse import parse_qsl, urlsplit

DEFAULT_CONFIG_DIR = "/valohai/config"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 0.5  # the platform is a shared API: regular posts at most twice a second
DEFAULT_WINDOW = 40
MAX_WINDOW = 200
DEFAULT_FLUSH_TIMEOUT = 2.0
MAX_CONFIG_BYTES = 1 << 20  # api.json is a few hundred bytes; anything this big is not it
DEFAULT_STALL_AFTER = 300.0
DEFAULT_LOG_INTERVAL = 30.0
DEFAULT_ALERT_EVERY = 600.0  # the same alert for the same subject at most this often (seconds)
ALERT_FORMATS = ("slack", "teams", "discord", "json")
ALERT_EVENTS = ("failed", "stopped", "stalled", "nan", "finished", "phase")
DEFAULT_ALERT_ON = frozenset(("failed", "stopped", "stalled", "nan", "finished"))
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
    """Process-wide knobs, from the ``VHTQDM_*`` variables (see ``VARIABLES``); a bar's keyword
    arguments override a few of them for the whole process."""

    disabled: bool = False
    status_interval: float = DEFAULT_INTERVAL
    sparklines: Charted = True
    sparkline_window: int = DEFAULT_WINDOW
    log_interval: float = DEFAULT_LOG_INTERVAL
    metadata: bool = False
    stall_after: float = DEFAULT_STALL_AFTER  # seconds without progress that make a stall; 0: off
    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT
    sigterm: bool = True
    # Alerts (``_alerts``): the webhook's URL is its credential, never shown (not even in a repr).
    alert_url: str = field(default="", repr=False)
    alert_format: str = ""  # one of ALERT_FORMATS; "": as the URL's host says
    alert_on: frozenset[str] = DEFAULT_ALERT_ON
    alert_every: float = DEFAULT_ALERT_EVERY
    # Zero-code mode: acted on at start-up by ``_vhtqdm_auto``, before anything here is read;
    # listed so that a bad value or a misspelt name is warned about like any other.
    auto: bool = False


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


def read_execution(environ: Mapping[str, str]) -> dict[str, Any]:
    """``$VH_CONFIG_DIR/execution.json``: the execution's id, counter, project name… as Valohai
    writes them (``valohai.execution-counter``…); empty when absent or unreadable."""
    directory = environ.get("VH_CONFIG_DIR") or DEFAULT_CONFIG_DIR
    try:
        raw = _read_small_file(os.path.join(directory, "execution.json"))
        data = json.loads(raw.decode("utf-8-sig")) if raw and len(raw) <= MAX_CONFIG_BYTES else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
        # os.read, not a file object: eventlet's os.fdopen closes the descriptor it wraps.
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, MAX_CONFIG_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
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


# -- settings: one table, one reading per process -------------------------------------------------
# Each parser takes what a variable or a keyword argument says and returns the value to use, and
# when that is not what was said, why (``is below the 0.5 s minimum: using 0.5``).

Parsed = tuple[Any, Union[str, None]]

YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"0", "false", "no", "off", "none", ""})


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except Exception:
        return None
    return number if math.isfinite(number) else None


def yes_no(default: bool) -> Callable[[object], Parsed]:
    """A yes/no setting: the same words for every one of them."""

    def parse(value: object) -> Parsed:
        if isinstance(value, bool):
            return value, None
        word = str(value).strip().lower()
        if word in YES:
            return True, None
        if word in NO:
            return False, None
        return default, f"is not a yes or no (1/0, true/false, yes/no, on/off): using {default:d}"

    return parse


def seconds(default: float, minimum: float = 0.0, zero: bool = False) -> Callable[[object], Parsed]:
    """A number of seconds from ``minimum`` (raised to it) up to a day; ``zero`` allowed."""

    def parse(value: object) -> Parsed:
        number = _number(value)
        if number is None:
            return default, f"is not a number of seconds: using {default:g}"
        if number == 0 and zero:
            return 0.0, None
        if number <= 0:
            return default, f"is not a positive number of seconds: using {default:g}"
        if number > MAX_SECONDS:
            return default, f"is more than a day: using {default:g}"
        if number < minimum:
            return minimum, f"is below the {minimum:g} s minimum: using {minimum:g}"
        return number, None

    return parse


def window(value: object) -> Parsed:
    """``sparkline_window``: a whole number of points from 2 to ``MAX_WINDOW``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return DEFAULT_WINDOW, f"is not a whole number: using {DEFAULT_WINDOW}"
    try:
        points = int(value)
    except ValueError:
        return DEFAULT_WINDOW, f"is not a whole number: using {DEFAULT_WINDOW}"
    if not 2 <= points <= MAX_WINDOW:
        return DEFAULT_WINDOW, f"is not from 2 to {MAX_WINDOW}: using {DEFAULT_WINDOW}"
    return points, None


def charted(value: object) -> Parsed:
    """``sparklines``: True (every numeric value), False (none: the empty set), or the keys to
    chart (a string is comma separated)."""
    if value is True or value is False:
        return (True if value else frozenset()), None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES:
            return True, None
        if word in NO:
            return frozenset(), None
        return frozenset(k.strip() for k in value.split(",") if k.strip()), None
    try:
        return frozenset(str(k) for k in value), None  # type: ignore[attr-defined]
    except TypeError:
        return True, "is not True, False or keys: charting every value"


def secret(value: object) -> Parsed:
    """A value that is a credential (a webhook's URL): taken as it is, so that no warning ever
    quotes it; whoever uses it checks it and says what is wrong without showing it."""
    return str(value).strip(), None


def alert_format(value: object) -> Parsed:
    """``VHTQDM_ALERT_FORMAT``: one of ``ALERT_FORMATS``, or ``auto`` (the URL's host decides)."""
    word = str(value).strip().lower()
    if word in ALERT_FORMATS or word == "auto":
        return ("" if word == "auto" else word), None
    return "", f"is not one of {', '.join(ALERT_FORMATS)}: the format follows the URL's host"


def alert_events(value: object) -> Parsed:
    """``VHTQDM_ALERT_ON``: comma separated events of ``ALERT_EVENTS``, ``all``, or ``none``."""
    words = {word.strip().lower() for word in str(value).split(",") if word.strip()}
    if "all" in words:
        return frozenset(ALERT_EVENTS), None
    if words <= NO:
        return frozenset(), None
    unknown = sorted(words - set(ALERT_EVENTS) - NO)
    events = frozenset(words & set(ALERT_EVENTS))
    if unknown:
        named = ", ".join(word[:20] for word in unknown[:3])
        return events, f"names no event ({named}; events: {', '.join(ALERT_EVENTS)}, all, none)"
    return events, None


@dataclass(frozen=True)
class Variable:
    """One ``VHTQDM_*`` variable: the setting it gives and how its text is read."""

    name: str
    field: str
    parse: Callable[[object], Parsed]


VARIABLES = (
    Variable("VHTQDM_DISABLE", "disabled", yes_no(False)),
    Variable("VHTQDM_STATUS_INTERVAL", "status_interval", seconds(DEFAULT_INTERVAL, MIN_INTERVAL)),
    Variable("VHTQDM_SPARKLINES", "sparklines", charted),
    Variable("VHTQDM_SPARKLINE_WINDOW", "sparkline_window", window),
    Variable("VHTQDM_LOG_INTERVAL", "log_interval", seconds(DEFAULT_LOG_INTERVAL, zero=True)),
    Variable("VHTQDM_METADATA", "metadata", yes_no(False)),
    Variable("VHTQDM_STALL_AFTER", "stall_after", seconds(DEFAULT_STALL_AFTER, zero=True)),
    Variable("VHTQDM_FLUSH_TIMEOUT", "flush_timeout", seconds(DEFAULT_FLUSH_TIMEOUT, zero=True)),
    Variable("VHTQDM_SIGTERM", "sigterm", yes_no(True)),
    Variable("VHTQDM_ALERT_URL", "alert_url", secret),
    Variable("VHTQDM_ALERT_FORMAT", "alert_format", alert_format),
    Variable("VHTQDM_ALERT_ON", "alert_on", alert_events),
    Variable("VHTQDM_ALERT_EVERY", "alert_every", seconds(DEFAULT_ALERT_EVERY, zero=True)),
    Variable("VHTQDM_AUTO", "auto", yes_no(False)),
)
_BY_FIELD = {variable.field: variable for variable in VARIABLES}


def read_settings(environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """The settings the environment gives, and one warning for each value not used as given
    and each ``VHTQDM_*`` name that is none of ``VARIABLES`` (naming the nearest one)."""
    changes: dict[str, Any] = {}
    warnings = []
    for variable in VARIABLES:
        raw = environ.get(variable.name)
        if raw is None or not raw.strip():
            continue  # empty: as if unset
        value, problem = variable.parse(raw)
        changes[variable.field] = value
        if problem:
            warnings.append(f"{variable.name}={raw[:40]!r} {problem}")
    known = [variable.name for variable in VARIABLES]
    for name in sorted(environ):
        if name.startswith("VHTQDM_") and name not in known:
            import difflib  # only for a misspelt name

            # Compared without the prefix they all share: VHTQDM_ZZZ is not near VHTQDM_AUTO.
            cut = len("VHTQDM_")
            near = difflib.get_close_matches(name[cut:], [k[cut:] for k in known], n=1, cutoff=0.6)
            hint = f" (did you mean {name[:cut]}{near[0]}?)" if near else ""
            warnings.append(f"{name[:60]} is not a vhtqdm setting{hint}: ignored")
    return replace(Settings(), **changes), warnings


def option(field: str, value: object) -> tuple[Any, str | None]:
    """A bar's keyword argument ``field=value`` read as its variable is, and the warning (with
    the keyword's name) when it is not used as given."""
    parsed, problem = _BY_FIELD[field].parse(value)
    return parsed, (f"{field}={value!r:.40} {problem}" if problem else None)
