"""Issue 4's figures: each function measures one (or a few) and returns rows of the table.

Mirroring is on wherever vhtqdm runs: its interpreter finds an ``api.json`` pointing at a loopback
server. Plain tqdm and valohai-utils run with the very same environment.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from vhtqdm._config import DEFAULT_FLUSH_TIMEOUT, DEFAULT_INTERVAL, MIN_INTERVAL

from .harness import (
    ROOT,
    Paired,
    Row,
    alternate,
    child_env,
    instructions,
    run_child,
    workload_command,
)
from .servers import Answer, Site, Sites

HOT_INTERVAL = str(MIN_INTERVAL)  # the fastest vhtqdm posts: 10x the default rate, a worst case
AUTO = {"VHTQDM_AUTO": "1"}  # zero-code mode


@dataclass(frozen=True)
class Hot:
    """A hot-path loop timed vhtqdm / tqdm."""

    figure: str
    workload: str
    what: str
    n: int  # steps per timed run: about a tenth of a second of tqdm here
    counted_n: int  # steps counted under callgrind
    target: float


HOT = [
    Hot(
        "1",
        "tight",
        "tight loop `for _ in tqdm(range(N))`, vhtqdm / tqdm",
        1_200_000,
        200_000,
        1.02,
    ),
    Hot(
        "2",
        "postfix",
        "`set_postfix(loss=x, refresh=False)` every step, vhtqdm / tqdm",
        40_000,
        20_000,
        1.10,
    ),
    Hot("3a", "update", "`update(1)` manual loop, vhtqdm / tqdm", 750_000, 200_000, 1.05),
    Hot(
        "3b",
        "display",
        "`update(1)` with `miniters=1, mininterval=0` (draws every step), vhtqdm / tqdm",
        6_000,
        3_000,
        1.25,
    ),
]


class Side:
    """One side of a ratio: each call runs a fresh interpreter, which reports its seconds."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command, self.env = command, env

    def __call__(self) -> float:
        return float(run_child(self.command, self.env, timeout=300)["seconds"])


def hot_path(site: Site, rounds: int, zero: bool = False) -> list[Row]:
    """Figures 1-3: wall-clock ratios of alternating runs, cross-checked by instruction counts.

    ``zero``: figures 1z-3z, the same loops on plain tqdm's class as zero-code mode instruments
    it (``VHTQDM_AUTO=1``, ``from tqdm import tqdm``) against the class given back, in turn in
    one interpreter.
    """
    auto = AUTO if zero else {}
    ours, both, suffix = ("zero", "zero-both", "z") if zero else ("vhtqdm", "both", "")
    env = child_env(site.config, {"VHTQDM_STATUS_INTERVAL": HOT_INTERVAL, **auto})
    timed: list[tuple[Paired, float]] = []
    for hot in HOT:
        results = [
            run_child(workload_command(hot.workload, both, "--n", hot.n), env, timeout=300)
            for _ in range(rounds)
        ]
        paired = Paired([min(r["tqdm"]) for r in results], [min(r[ours]) for r in results])
        timed.append((paired, statistics.median(r["sender_share"] for r in results)))
    # Instruction counts do not care about the machine's load: two valgrind runs at a time. The
    # sender is kept idle in the counted window (a long interval; the warm-up is flushed first),
    # so the count compares the hot path itself; its thread's share is measured above.
    quiet = child_env(site.config, {"VHTQDM_STATUS_INTERVAL": "3600", **auto})
    jobs = [
        workload_command(h.workload, impl, "--n", h.counted_n, "--count-instructions")
        for h in HOT
        for impl in ("tqdm", ours)
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda cmd: instructions(cmd, quiet, timeout=600), jobs))
    rows = []
    for i, (hot, (paired, share)) in enumerate(zip(HOT, timed)):
        tq_count, vh_count = counts[2 * i], counts[2 * i + 1]
        counted = (
            f"instructions x{vh_count / tq_count:.3f}"
            if tq_count and vh_count
            else "instructions n/a (no valgrind, or no symbols)"
        )
        per_step = statistics.median(paired.a) / hot.n * 1e9
        what = hot.what.replace("vhtqdm /", "zero-code mode /") if zero else hot.what
        rows.append(
            Row(
                hot.figure + suffix,
                what,
                f"{paired.ratio:.3f}",
                f"<= {hot.target:.2f}",
                paired.ratio <= hot.target,
                f"interpreters {paired.spread()}; {counted}; sender {share:.2%} of a core; "
                f"tqdm {per_step:,.0f} ns/step",
            )
        )
    return rows


def training(sites: Sites, rounds: int) -> list[Row]:
    """Figure 4: a sleeping training loop against a server that takes 1.5 s per request."""
    site = sites.open("slow", Answer(delay=1.5))
    env = child_env(site.config, {"VHTQDM_STATUS_INTERVAL": "1"})
    steps, every = 200, 100
    sides = [
        Side(
            workload_command(
                "training", impl, "--n", steps, "--step-seconds", 0.01, "--every", every
            ),
            env,
        )
        for impl in ("tqdm", "vhtqdm", "valohai-utils")
    ]
    tq, vh, vu = alternate(sides, rounds)
    ours, theirs = Paired(tq, vh), Paired(tq, vu)
    loop = f"{steps} steps of 10 ms, `set_postfix` every step"
    return [
        Row(
            "4a",
            f"training loop ({loop}), server 1.5 s/request, vhtqdm / tqdm",
            f"{ours.ratio:.3f}",
            "<= 1.02",
            ours.ratio <= 1.02,
            f"rounds {ours.spread()}; vhtqdm posts every 1 s, each in flight 1.5 s; "
            f"tqdm {statistics.median(tq):.2f} s",
        ),
        Row(
            "4b",
            f"the same loop reporting through valohai-utils' `set_status_detail` every {every} "
            "steps (1 s), / tqdm",
            f"{theirs.ratio:.2f}",
            "(what vhtqdm removes)",
            None,
            f"rounds {theirs.spread()}; {steps // every} synchronous posts of 1.5 s",
        ),
    ]


def exit_time(sites: Sites) -> list[Row]:
    """Figure 5: seconds from the end of the loop to the end of the process, server hung."""
    site = sites.open("hung", Answer(hang=True))
    env = child_env(site.config)

    def seconds(impl: str) -> float:
        proc = subprocess.run(
            workload_command("exit_hung", impl),
            env=env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        ended = time.monotonic()
        loop_end = float(json.loads(proc.stdout.splitlines()[-1])["loop_end"])
        return ended - loop_end

    ours = [seconds("vhtqdm") for _ in range(3)]
    plain = statistics.median(seconds("tqdm") for _ in range(3))
    limit = DEFAULT_FLUSH_TIMEOUT + 0.5
    return [
        Row(
            "5",
            "process exit after the loop, status server hung (never answers)",
            f"{max(ours):.2f} s",
            f"<= {limit:.1f} s",
            max(ours) <= limit,
            f"worst of 3; flush timeout {DEFAULT_FLUSH_TIMEOUT:g} s; tqdm exits in {plain:.2f} s",
        )
    ]


# Prints JSON without importing json: that would hide whether vhtqdm imports it.
IMPORT_SNIPPET = """\
import io, sys, time
started = time.perf_counter()
import {module}
imported = time.perf_counter()
{module}.tqdm(range(3), file=io.StringIO()).close()
bar = time.perf_counter() - imported
names = repr(sorted(sys.modules)).replace("'", '"')
print('{{"import": %r, "first_bar": %r, "modules": %s}}' % (imported - started, bar, names))
"""


def import_time(sites: Sites, pairs: int) -> list[Row]:
    """Figure 6: ``import vhtqdm`` off Valohai against ``import tqdm``, fresh interpreters; and
    what the first bar adds (it looks for a Valohai config once)."""
    env = child_env(sites.nowhere)
    runs: dict[str, list[dict[str, Any]]] = {"tqdm": [], "vhtqdm": []}
    with tempfile.TemporaryDirectory() as cwd:

        def side(module: str) -> Callable[[], float]:
            command = [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)]

            def run() -> float:
                runs[module].append(run_child(command, env, 60, Path(cwd)))
                return float(runs[module][-1]["import"])

            return run

        side("vhtqdm")()  # both bytecode caches are warm before anything is timed
        runs["vhtqdm"].clear()
        tq, vh = alternate([side("tqdm"), side("vhtqdm")], pairs)
    added = (statistics.median(vh) - statistics.median(tq)) * 1000
    first_bar = 1000 * (
        statistics.median(r["first_bar"] for r in runs["vhtqdm"])
        - statistics.median(r["first_bar"] for r in runs["tqdm"])
    )

    def packages(modules: list[str]) -> set[str]:
        return {name.split(".")[0] for name in modules if not name.startswith(("_", "vhtqdm"))}

    extra = sorted(packages(runs["vhtqdm"][0]["modules"]) - packages(runs["tqdm"][0]["modules"]))
    return [
        Row(
            "6",
            "`import vhtqdm` off Valohai, compared with `import tqdm`",
            f"{added:+.1f} ms",
            "<= +5 ms",
            added <= 5,
            f"median of {pairs} alternating pairs; tqdm {statistics.median(tq) * 1000:.1f} ms; "
            f"the first bar adds {first_bar:+.1f} ms once ({', '.join(extra) or 'no module'})",
        )
    ]


def first_bar(site: Site, pairs: int) -> list[Row]:
    """Figure 9: the first bar on Valohai (mirroring on) against tqdm's first bar, on the
    user's thread: reading the config, the mirror, starting the sender (which imports requests
    on its own thread). Fresh interpreters, alternating; the import itself is not counted."""
    env = child_env(site.config)
    with tempfile.TemporaryDirectory() as cwd:

        def side(module: str) -> Callable[[], float]:
            command = [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)]
            return lambda: float(run_child(command, env, 60, Path(cwd))["first_bar"])

        side("vhtqdm")()  # warm bytecode caches
        tq, vh = alternate([side("tqdm"), side("vhtqdm")], pairs)
    added = (statistics.median(vh) - statistics.median(tq)) * 1000
    return [
        Row(
            "9",
            "the first bar on Valohai (mirroring on), compared with tqdm's first bar",
            f"{added:+.1f} ms",
            "<= +25 ms",
            added <= 25,
            f"median of {pairs} alternating pairs; tqdm's first bar "
            f"{statistics.median(tq) * 1000:.1f} ms",
        )
    ]


def _twin_pythons(root: Path) -> tuple[Path, Path]:
    """Two fresh virtual environments that import what this one does (a ``.pth`` listing where
    it finds tqdm and vhtqdm), the second also holding vhtqdm's start-up hook as installed: an
    interpreter without vhtqdm and one with it, identical otherwise."""
    import vhtqdm

    files = importlib.metadata.files("vhtqdm") or []
    (hook,) = [Path(str(f.locate())) for f in files if f.name == "vhtqdm_auto.pth"]
    found = [*site.getsitepackages(), str(hook.parent), str(Path(vhtqdm.__file__).parent.parent)]
    pythons = []
    for name in ("without", "with"):
        venv = root / name
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
        )
        python = venv / "bin" / "python"
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        # "_" sorts before "v": these paths are there when the hook's line runs.
        (Path(purelib) / "_bench_paths.pth").write_text("\n".join(dict.fromkeys(found)) + "\n")
        if name == "with":
            shutil.copy(hook, Path(purelib) / hook.name)
        pythons.append(python)
    return pythons[0], pythons[1]


def startup(sites: Sites, pairs: int) -> list[Row]:
    """Figure 10: a Python process's start-up (``python -c pass``, wall clock from the parent)
    with vhtqdm installed against without it, fresh interpreters alternating; and what
    ``import tqdm`` costs in zero-code mode on Valohai (vhtqdm loaded, tqdm instrumented)."""
    config = sites.open("startup").config
    cases = [
        ("10a", "`VHTQDM_AUTO` unset", child_env(sites.nowhere), "pass", 1.0),
        ("10b", "`VHTQDM_AUTO=1` off Valohai", child_env(sites.nowhere, AUTO), "pass", 5.0),
        (
            "10c",
            "`import tqdm`, `VHTQDM_AUTO=1` on Valohai",
            child_env(config, AUTO),
            "import tqdm",
            None,
        ),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="vhtqdm-startup-") as root:
        without, with_hook = _twin_pythons(Path(root))
        # The twins differ as they should: only the one with the hook instruments tqdm.
        check = "import sys, tqdm.std; sys.exit('_vh_own' not in vars(tqdm.std.tqdm))"
        on_valohai = cases[2][2]
        instrumented = [
            subprocess.run([str(python), "-c", check], env=on_valohai, timeout=60, check=False)
            for python in (without, with_hook)
        ]
        if [run.returncode for run in instrumented] != [1, 0]:
            raise RuntimeError("zero-code mode is not on in the interpreter with the hook alone")
        for figure, what, env, code, target in cases:

            def side(
                python: Path, env: dict[str, str] = env, code: str = code
            ) -> Callable[[], float]:
                def run() -> float:
                    started = time.perf_counter()
                    subprocess.run([str(python), "-c", code], env=env, check=True, timeout=60)
                    return time.perf_counter() - started

                return run

            side(with_hook)()  # bytecode caches warm
            plain, ours = alternate([side(without), side(with_hook)], pairs)
            added = statistics.median(b - a for a, b in zip(plain, ours)) * 1000
            rows.append(
                Row(
                    figure,
                    f"Python start-up with vhtqdm installed, {what}, compared with without",
                    f"{added:+.2f} ms",
                    f"<= +{target:g} ms" if target is not None else "(zero-code mode's price)",
                    added <= target if target is not None else None,
                    f"median of {pairs} alternating pairs; without vhtqdm "
                    f"{statistics.median(plain) * 1000:.1f} ms",
                )
            )
    return rows


MIB = 1 << 20
FLAT = 1 * MIB  # "flat": less than this much growth over the whole run


def memory(site: Site) -> list[Row]:
    """Figure 7: resident memory growth over 10^6 ``set_postfix`` calls and 10 000 bars."""
    env = child_env(site.config, {"VHTQDM_STATUS_INTERVAL": HOT_INTERVAL})
    rows = []
    for figure, workload, n, what in (
        ("7a", "memory_postfix", 1_000_000, "RSS growth over 10^6 `set_postfix` calls"),
        ("7b", "memory_bars", 10_000, "RSS growth over 10 000 sequential bars"),
    ):
        growth = {}
        for impl in ("tqdm", "vhtqdm"):
            result = run_child(workload_command(workload, impl, "--n", n), env, 300)
            growth[impl] = result["after"] - result["before"]
        rows.append(
            Row(
                figure,
                f"{what} (mirroring on)",
                f"{growth['vhtqdm'] / MIB:+.2f} MiB",
                f"flat (< {FLAT / MIB:g} MiB)",
                growth["vhtqdm"] < FLAT,
                f"tqdm {growth['tqdm'] / MIB:+.2f} MiB",
            )
        )
    return rows


class Soak:
    """Figure 8, run in the background while the other figures are measured (it mostly sleeps)."""

    def __init__(self, sites: Sites, seconds: float) -> None:
        self.seconds = seconds
        self.site = sites.open("soak")
        env = child_env(self.site.config)  # the default interval
        self._proc = subprocess.Popen(
            workload_command("soak", "vhtqdm", "--seconds", seconds),
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def rows(self) -> list[Row]:
        """Wait for the loop to end, then count what the server received in each phase."""
        try:
            out, err = self._proc.communicate(timeout=self.seconds + 120)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            raise
        if self._proc.returncode != 0:
            raise RuntimeError(f"soak exited {self._proc.returncode}:\n{err}")
        marks: dict[str, Any] = json.loads(out.splitlines()[-1])
        posts = self.site.server.posts

        def between(start: str, end: str) -> int:
            return sum(marks[start] <= p.at <= marks[end] for p in posts)

        during = between("loop_start", "loop_end")
        idle = between("idle_start", "idle_end")
        repeats = sum(a.status == b.status for a, b in zip(posts, posts[1:]))
        most = math.ceil(self.seconds / DEFAULT_INTERVAL) + 1
        return [
            Row(
                "8a",
                f"requests during a {self.seconds:g} s loop at the default interval "
                f"({DEFAULT_INTERVAL:g} s)",
                str(during),
                f"<= {most}",
                during <= most,
                f"{len(posts)} in the whole run (start to the final status)",
            ),
            Row(
                "8b",
                "requests while the status is unchanged (bar idle "
                f"{marks['idle_end'] - marks['idle_start']:.0f} s), "
                "and statuses sent twice in a row",
                f"{idle} + {repeats}",
                "0 + 0",
                idle == 0 and repeats == 0,
                "idle window starts one interval after the last change",
            ),
        ]
