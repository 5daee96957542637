"""``vhtqdm watch``: follow executions' status from anywhere, through Valohai's REST API.

One loop for one execution and for many (``--task``, ``--pipeline``, ``--project``): ask the API
(``api.py``), read each status (``progress.py``), show it (a frame or a row each on a terminal,
``screen.py``; or ``--json`` objects), sleep until the next ask, until every execution has
ended. The clock and the pace are arguments, so tests run the loop without waiting.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, TextIO, Union

from .._text import clean
from . import screen
from .api import DEFAULT_HOST, ENDED, ApiError, Client, api_from, execution_path, segment
from .progress import Reading, reading, record
from .valohai import LoginError, read_login

MIN_POLL_INTERVAL = 0.5  # Valohai's API is shared: never ask for one execution faster than this
MIN_LIST_INTERVAL = 5.0  # many executions at once: list endpoints, at most every 5 s
EXIT_FAILED = 1  # --exit-status: an execution ended in error (or crashed)
EXIT_STOPPED = 3  # --exit-status: an execution was stopped (and none failed)
FAILED = frozenset({"error", "crashed"})


def _utc_now() -> datetime:
    """The wall-clock time, aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Clock:
    """The time as the watch reads it: the monotonic clock and its sleep pace the asks; the
    wall clock (aware) dates a status, so its ETA becomes an end time shown in ``zone``."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utc_now
    zone: tzinfo | None = None  # the viewer's time zone; None: this machine's


@dataclass(frozen=True)
class Pace:
    """The fewest seconds between two asks (whatever ``--interval`` says): of one execution, and
    of many (the list endpoints)."""

    one: float = MIN_POLL_INTERVAL
    many: float = MIN_LIST_INTERVAL


# -- what is watched ----------------------------------------------------------------------------


@dataclass(frozen=True)
class One:
    """One execution: the word given (an id, or a counter ``42``, ``#42``, ``latest``) and the
    REST path it names."""

    word: str
    path: str

    def ask(self, client: Client) -> list[dict[str, Any]]:
        """The execution now (a list of one)."""
        return [client.get(self.path, f"execution {clean(self.word, 60)}")]


@dataclass
class Group:
    """Executions watched together: a task's, a pipeline's, or a project's running ones."""

    kind: str  # "task", "pipeline" or "project"
    ident: str
    _seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # a project's, by id

    def __post_init__(self) -> None:
        """A usage ApiError when ``ident`` cannot be an id (before any request)."""
        segment(self.ident, f"{self.kind} id")

    @property
    def title(self) -> str:
        """``task 0185c5e9-…``, as the board's first line says."""
        return f"{self.kind} {clean(self.ident, 40)}"

    def ask(self, client: Client) -> list[dict[str, Any]]:
        """The group's executions now.

        A project's list holds only started executions: one that left it is asked for once
        more, for how it ended, and stays on the board (in the order first seen).
        """
        query = segment(self.ident, f"{self.kind} id")
        if self.kind == "task":
            return client.executions(f"task={query}")
        if self.kind == "pipeline":
            return client.pipeline_executions(self.ident)
        running = client.executions(f"project={query}&status=started")
        listed = {e.get("id") for e in running}
        for ident, last in list(self._seen.items()):
            if ident not in listed and last.get("status") not in ENDED:
                path = execution_path(ident, None)
                self._seen[ident] = client.get(path, f"execution {clean(ident, 60)}")
        for execution in running:
            if isinstance(execution.get("id"), str):
                self._seen[execution["id"]] = execution
        return list(self._seen.values())


Source = Union[One, Group]


def source_of(args: argparse.Namespace, project: str | None) -> Source:
    """What to watch: one execution, or a group; a usage ApiError when unclear."""
    if args.task or args.pipeline:
        if args.execution is not None:
            raise ApiError("give an EXECUTION or --task/--pipeline, not both", usage=True)
        return Group("task", args.task) if args.task else Group("pipeline", args.pipeline)
    if args.execution is not None:
        return One(args.execution, execution_path(args.execution, project))
    if project is not None and (args.project or os.environ.get("VALOHAI_PROJECT")):
        return Group("project", project)
    raise ApiError(
        "give an EXECUTION (42, #42, latest or an id), or --task, --pipeline or --project",
        usage=True,
    )


# -- how it is shown ----------------------------------------------------------------------------


def key_of(execution: Mapping[str, Any], index: int) -> str:
    """What tells an execution apart from poll to poll: its id, else its place in the list."""
    ident = execution.get("id")
    return ident if isinstance(ident, str) else f"#{index}"


class Sightings:
    """When each execution's current status was first seen: its ETA counts from then, so an
    unchanged status keeps its end time (and is not shown again)."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[object, datetime]] = {}

    def read(self, executions: Sequence[Mapping[str, Any]], now: datetime) -> list[Reading]:
        """Each execution read, dated by when its status first looked as it does now."""
        readings = []
        for index, execution in enumerate(executions):
            key = key_of(execution, index)
            detail = execution.get("status_detail")
            first = self._first.get(key)
            if first is None or first[0] != detail:
                first = self._first[key] = (detail, now)
            readings.append(reading(execution, first[1]))
        return readings


class TerminalView:
    """Frames for people (``screen.py``): one execution's status, or a row per execution."""

    def __init__(self, terminal: screen.Terminal, source: Source, in_place: bool) -> None:
        """Draw ``source``'s executions on ``terminal``, replacing the last frame when
        ``in_place``."""
        self.terminal = terminal
        self.source = source
        self.screen = screen.Screen(terminal.out, in_place)

    def show(self, readings: Sequence[Reading], note: str, zone: tzinfo | None) -> None:
        """Draw the executions as they are now; ``note`` (an outage) under them."""
        width, ansi = self.terminal.width(), self.terminal.ansi
        if isinstance(self.source, One):
            lines = screen.frame(readings[0], self.source.word, width, ansi, zone)
        else:
            lines = screen.board(self.source.title, readings, width, ansi, zone)
        self.screen.draw(lines, note)

    def say(self, message: str) -> None:
        """A line of its own (``no running executions …``)."""
        self.terminal.out.write(message + "\n")


class JsonView:
    """``--json``: one object per execution per refresh, when it changed; notes on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        """Objects on ``out``, one a line; notes on ``err``."""
        self.out = out
        self.err = err
        self._shown: dict[str, dict[str, Any]] = {}
        self._note = ""

    def show(self, readings: Sequence[Reading], note: str, zone: tzinfo | None) -> None:
        """Write each execution whose object differs from the last one written for it."""
        for index, current in enumerate(readings):
            data = record(current)
            key = key_of(current.execution, index)
            if self._shown.get(key) != data:
                self._shown[key] = data
                self.out.write(json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n")
        self.out.flush()
        if note and note != self._note:
            self.say(note)
        self._note = note

    def say(self, message: str) -> None:
        """A line on stderr: stdout holds only objects."""
        self.err.write(f"vhtqdm watch: {message}\n")


View = Union[TerminalView, JsonView]


def follow(
    source: Source, client: Client, view: View, clock: Clock, *, interval: float, once: bool
) -> list[Reading]:
    """Show the source's executions every ``interval`` seconds until all have ended (or once);
    their last readings. The first answer decides (an ApiError); later, trouble that may pass
    is shown and waited out, lasting trouble raised."""
    sightings = Sightings()
    asked = clock.monotonic()
    readings = sightings.read(source.ask(client), clock.now())
    note = ""
    while readings:
        view.show(readings, note, clock.zone)
        if once or all(r.ended for r in readings):
            break
        clock.sleep(max(asked + interval - clock.monotonic(), 0.0))
        asked = clock.monotonic()
        try:
            readings = sightings.read(source.ask(client), clock.now())
            note = ""
        except ApiError as exc:
            if exc.lasting:
                raise
            note = f"({exc}; retrying)"
    return readings


def outcome(readings: Sequence[Reading]) -> int:
    """``--exit-status``: 0 when all completed, 1 when any failed or errored, else 3 when any
    was stopped."""
    statuses = {r.status for r in readings}
    if statuses & FAILED:
        return EXIT_FAILED
    if "stopped" in statuses:
        return EXIT_STOPPED
    return 0


# -- the command line ---------------------------------------------------------------------------


def seconds(text: str) -> float:
    """``--interval``'s value: a finite number of seconds above 0, else a :class:`ValueError`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--interval must be a number of seconds above 0, not {clean(text, 20)!r}")
    return value


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm watch`` and its options."""
    parser = commands.add_parser(
        "watch",
        help="follow executions' status in the terminal (Valohai REST API)",
        description=textwrap.fill(
            "Draw an execution's status (gauges, sparklines, colored text) and redraw "
            "it every --interval seconds until the execution ends; or, with --task, --pipeline or "
            "--project and no EXECUTION, one row per execution until all have ended. Uses the "
            "login of valohai-cli (`vh login`) and the project linked to this directory (`vh "
            "project link`); VALOHAI_HOST, VALOHAI_TOKEN (or VH_API_TOKEN) and VALOHAI_PROJECT "
            "override them. No token is needed for a loopback --host such as vhtqdm preview's.",
            width=78,
        ),
        epilog="exit status: 0 once every execution has ended (whatever the outcome); 1 on an\n"
        "error (a refused token, an unknown execution, an unreachable host); 2 on a bad\n"
        "command line. With --exit-status: 0 if all completed, 1 if any failed, 3 if any was\n"
        "stopped.\n\n"
        "examples:\n"
        "  vhtqdm watch 42                 # execution #42 of the linked project\n"
        "  vhtqdm watch latest\n"
        "  vhtqdm watch 0185c5e9-…         # by id\n"
        "  vhtqdm watch --task 0185c5e9-…  # every execution of a task, a row each\n"
        "  vhtqdm watch --project 0185c5e9-…   # the project's running executions\n"
        "  vhtqdm watch 42 --json --exit-status   # JSON lines, then exit as it ended\n"
        "  vhtqdm watch --host http://127.0.0.1:8765 preview   # a running vhtqdm preview\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "execution", nargs="?", help="a counter (42, #42, latest) of the project, or an id"
    )
    parser.add_argument(
        "--host", help=f"the Valohai address (default $VALOHAI_HOST, vh's, or {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--project", metavar="ID", help="the project (default $VALOHAI_PROJECT or the linked one)"
    )
    many = parser.add_mutually_exclusive_group()
    many.add_argument("--task", metavar="ID", help="every execution of this task")
    many.add_argument("--pipeline", metavar="ID", help="every execution of this pipeline")
    parser.add_argument(
        "--interval",
        default="5",
        metavar="SECONDS",
        help=f"seconds between redraws (default 5, at least {MIN_POLL_INTERVAL:g}; "
        f"{MIN_LIST_INTERVAL:g} for many executions)",
    )
    parser.add_argument("--once", action="store_true", help="show the executions once and exit")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON objects, one line per execution whenever it changes, instead of frames",
    )
    parser.add_argument(
        "--exit-status",
        action="store_true",
        help="once all have ended, exit 0 if all completed, 1 if any failed, 3 if any was stopped",
    )
    parser.set_defaults(run=run, parser=parser)


def _say(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write(f"vhtqdm watch: {message}\n")


def run(args: argparse.Namespace, clock: Clock | None = None, pace: Pace | None = None) -> int:
    """Watch until the execution(s) end (0, or their outcome with ``--exit-status``), or fail with
    one clear message (1; 2: a bad command line). ``clock`` and ``pace``: the system's."""
    clock, pace = clock or Clock(), pace or Pace()
    try:
        interval = seconds(args.interval)
    except ValueError as exc:
        _say(str(exc))
        return 2
    if args.once and args.exit_status:
        _say("--exit-status waits for the end, --once does not: give one of them")
        return 2
    try:
        try:
            login = read_login(os.environ, Path.cwd())
        except LoginError as exc:
            raise ApiError(f"valohai-cli's settings: {exc}") from None
        project = (args.project or os.environ.get("VALOHAI_PROJECT", "")).strip() or login.project
        source = source_of(args, project)
        api = api_from(args.host, os.environ, login)
        view: View
        if args.json:
            view = JsonView(sys.stdout, sys.stderr)
        else:
            terminal = screen.Terminal.of(sys.stdout, os.environ)
            view = TerminalView(terminal, source, terminal.tty and not args.once)
        pause = max(interval, pace.many if isinstance(source, Group) else pace.one)
        with Client(api) as client:
            readings = follow(source, client, view, clock, interval=pause, once=args.once)
        if not readings and isinstance(source, Group):
            running = "running " if source.kind == "project" else ""
            view.say(f"no {running}executions in {source.title}")
    except ApiError as exc:
        _say(str(exc))
        return 2 if exc.usage else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`vhtqdm watch --json | head -n 1`)
        _quiet_stdout()
        return 141
    return outcome(readings) if args.exit_status else 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor of its own (captured): nothing to do
        pass
