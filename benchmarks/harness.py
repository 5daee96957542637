"""Running workloads in fresh interpreters, alternating the sides of a ratio, and the table.

The machine is shared and noisy (two cores, other test suites running), so a ratio is never two
numbers taken minutes apart. Hot-path loops run both sides in one interpreter, a tenth of a
second each, in turn (ABBA ...): both meet the same heap and the same moment, and the fastest
run of each side is the one least disturbed by other processes; the comparison is repeated in
several fresh interpreters and the median taken. (Two interpreters driven in lockstep were
tried first: waking a process costs more than the 2 % being measured, and its heap layout
moves the result by as much.) Longer workloads alternate whole interpreters, ABC then CBA.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
#: Variables every child gets besides (``--alerts``: ``VHTQDM_ALERT_URL``, see ``alerts.py``).
EXTRA: dict[str, str] = {}


def child_env(config: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without tqdm, vhtqdm, Valohai or rank settings, nor PYTHON* ones
    (PYTHONDONTWRITEBYTECODE would turn import timings into compile timings), plus a config dir."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TQDM_", "VHTQDM_", "VH_", "PYTHON", "RANK", "LOCAL_RANK"))
    }
    env["VH_CONFIG_DIR"] = str(config)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(EXTRA)
    env.update(extra or {})
    return env


def workload_command(workload: str, impl: str, *args: object) -> list[str]:
    """The command line of one of ``workloads.py``'s programs."""
    return [sys.executable, "-m", "benchmarks.workloads", workload, impl, *map(str, args)]


def run_child(
    command: list[str], env: dict[str, str], timeout: float, cwd: Path = ROOT
) -> dict[str, Any]:
    """Run one fresh interpreter; returns the JSON object it printed last."""
    proc = subprocess.run(
        command,
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:])} exited {proc.returncode}:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@dataclass
class Paired:
    """Side A and side B measured in alternation: paired seconds and their B/A ratios."""

    a: list[float]
    b: list[float]

    @property
    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.a, self.b)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def spread(self) -> str:
        """The lowest and the highest ratio."""
        return f"{min(self.ratios):.3f}-{max(self.ratios):.3f}"


def alternate(sides: Sequence[Callable[[], float]], rounds: int) -> list[list[float]]:
    """``rounds`` rounds running every side once, in order then in reverse order (ABC, CBA ...);
    returns each side's samples, round by round."""
    samples: list[list[float]] = [[] for _ in sides]
    for i in range(rounds):
        order = list(enumerate(sides))
        for index, side in reversed(order) if i % 2 else order:
            samples[index].append(side())
    return samples


def instructions(command: list[str], env: dict[str, str], timeout: float) -> int | None:
    """Instructions the main thread executed between the workload's two markers (callgrind).

    The workload calls ``os.getppid()`` right before the counted part and ``os.getpgrp()`` right
    after; callgrind zeroes its counters on entering the first C function and writes a dump on
    entering the second. Threads are counted apart: summed, callgrind also charges the window
    with what other threads did before it. None when valgrind is missing or the interpreter
    has no such symbols.
    """
    if shutil.which("valgrind") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="vhtqdm-cg-") as out:
        cg = [
            "valgrind",
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}/cg.%p",
            "--zero-before=os_getppid",
            "--dump-before=os_getpgrp",
        ]
        proc = subprocess.run(
            cg + command,
            env={**env, "PYTHONHASHSEED": "0"},
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"callgrind {' '.join(command[1:])} failed:\n{proc.stderr[-2000:]}")
        for path in glob.glob(f"{out}/cg.*.1-01"):  # the main thread, dumped at the 2nd marker
            with open(path) as fh:
                for line in fh:
                    if line.startswith("summary:"):
                        return int(line.split()[1])
    return None


# -- the table ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table; ``ok`` is None for a figure that has no target (information)."""

    figure: str
    what: str
    measured: str
    target: str
    ok: bool | None
    detail: str = ""

    @property
    def result(self) -> str:
        return "info" if self.ok is None else "pass" if self.ok else "FAIL"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (it reads as well in a terminal as in the README)."""
    header = ("#", "figure", "measured", "target", "result", "detail")
    lines = [header] + [(r.figure, r.what, r.measured, r.target, r.result, r.detail) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(lines[0]), rule, *map(fmt, lines[1:])])
