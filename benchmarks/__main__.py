"""``python -m benchmarks``: measure every figure, print one table, exit 1 if a target is missed.

Loopback servers only, every child process under a timeout; about seven minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from importlib.metadata import version
from typing import Callable

from . import alerts, figures
from .harness import Row, table
from .servers import Sites

FIGURES = ("1-3", "1-3z", "4", "5", "6", "7", "8", "9", "10")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(FIGURES), help=f"figures to run, among {', '.join(FIGURES)}"
    )
    parser.add_argument("--rounds", type=int, default=7, help="alternations per ratio")
    parser.add_argument("--soak-seconds", type=float, default=60.0, help="figure 8's loop")
    parser.add_argument(
        "--alerts",
        action="store_true",
        help="alerts on: every child with VHTQDM_ALERT_URL at a loopback webhook (adds 5b)",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")

    print(
        f"vhtqdm {version('vhtqdm')}, tqdm {version('tqdm')}, valohai-utils "
        f"{version('valohai-utils')}; CPython {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    started = time.monotonic()
    rows: list[Row] = []
    with Sites() as sites:
        webhook = alerts.enable(sites) if args.alerts else None
        # Figure 8 mostly sleeps for a minute and more: it runs while the others are measured.
        soak = figures.Soak(sites, args.soak_seconds) if "8" in only else None
        steps: list[tuple[str, Callable[[], list[Row]]]] = [
            ("1-3", lambda: figures.hot_path(sites.open("recording"), args.rounds)),
            ("1-3z", lambda: figures.hot_path(sites.open("zero"), args.rounds, zero=True)),
            ("4", lambda: figures.training(sites, max(3, args.rounds // 2))),
            ("5", lambda: figures.exit_time(sites)),
            ("6", lambda: figures.import_time(sites, pairs=30)),
            ("7", lambda: figures.memory(sites.open("memory"))),
            ("9", lambda: figures.first_bar(sites.open("first-bar"), pairs=30)),
            ("10", lambda: figures.startup(sites, pairs=40)),
        ]
        if soak is not None:
            steps.append(("8", soak.rows))
        if webhook is not None:
            steps.append(("5", lambda: alerts.exit_time(sites)))
        for name, measure in steps:
            if name not in only:
                continue
            print(f"figure {name}...", file=sys.stderr, flush=True)
            try:
                rows.extend(measure())
            except Exception as exc:  # one broken figure must not hide the others
                traceback.print_exc()
                rows.append(Row(name, "could not be measured", type(exc).__name__, "-", False))
        if webhook is not None:
            rows.append(alerts.received(webhook))
    print(f"\n{table(rows)}\n")
    missed = [row.figure for row in rows if row.ok is False]
    took = time.monotonic() - started
    if missed:
        print(f"missed targets: {', '.join(missed)} ({took:.0f} s)")
        return 1
    print(f"every target met ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
