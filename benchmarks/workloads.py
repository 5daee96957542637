"""The programs the benchmarks time, each in a fresh interpreter: `python -m benchmarks.workloads`.

``IMPL`` picks the progress bar: ``tqdm`` (plain tqdm), ``vhtqdm`` (mirroring, when the parent
points ``VH_CONFIG_DIR`` at a loopback server), ``valohai-utils`` (plain tqdm bars plus
``valohai.set_status_detail`` calls) or ``both`` (tqdm and vhtqdm in turn, hot-path loops).
Zero-code mode's figures run with ``VHTQDM_AUTO=1``: ``zero`` is plain tqdm's class as the
start-up hook instrumented it, ``tqdm`` the same class given back (``_instrument.uninstall``),
and ``zero-both`` the two in turn. A workload prints one JSON object on stdout: its timings,
memory readings or time marks (``time.monotonic()``, the same clock as the parent's on Linux).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys
import threading
import time
from typing import Any, Callable

IMPLS = ("tqdm", "vhtqdm", "valohai-utils", "both", "zero", "zero-both")


class NullTTY(io.TextIOBase):
    """A terminal that swallows everything: tqdm draws as on a console, and nothing is printed.

    The same sink for every implementation, so drawing costs the same on both sides of a ratio.
    """

    def write(self, text: str) -> int:
        return len(text)

    def isatty(self) -> bool:
        return True

    def flush(self) -> None:
        pass


SINK = NullTTY()


def bar_class(impl: str) -> Any:
    """vhtqdm's tqdm, or plain tqdm's (valohai-utils users keep plain tqdm bars); under
    ``VHTQDM_AUTO=1``, plain tqdm's class instrumented (``zero``) or given back (``tqdm``)."""
    if impl == "vhtqdm":
        import vhtqdm

        return vhtqdm.tqdm
    import tqdm

    if "_vhtqdm_auto" in sys.modules:  # zero-code mode's figures: the hook ran at start-up
        from vhtqdm import _instrument

        if impl == "zero":
            if not _instrument.install():
                raise RuntimeError("tqdm could not be instrumented")
        else:
            _instrument.uninstall()
    elif impl == "zero":
        raise RuntimeError("zero-code mode's start-up hook did not run (VHTQDM_AUTO=1 unset?)")
    return tqdm.tqdm


def flush(impl: str) -> None:
    """Wait until vhtqdm has delivered what it has to say (nothing to do for the others)."""
    if impl in ("vhtqdm", "zero"):
        import vhtqdm

        if not vhtqdm.flush(300):  # generous: under callgrind the first post takes seconds
            raise RuntimeError("the warm-up's status was not delivered")


# -- hot-path loops (figures 1-3) ---------------------------------------------------------------


def tight(tqdm: Any, n: int, opts: dict[str, Any]) -> None:
    """The bare iteration: tqdm's own loop, no call inside."""
    for _ in tqdm(range(n), file=SINK, **opts):
        pass


def postfix(tqdm: Any, n: int, opts: dict[str, Any]) -> None:
    """A metric every step, without redrawing (the usual training-loop call)."""
    bar = tqdm(range(n), file=SINK, **opts)
    for i in bar:
        bar.set_postfix(loss=1.0 / (i + 1), refresh=False)


def update(tqdm: Any, n: int, opts: dict[str, Any]) -> None:
    """Manual counting, the path of pandas, asyncio and Keras integrations."""
    bar = tqdm(total=n, file=SINK, **opts)
    for _ in range(n):
        bar.update(1)
    bar.close()


def display(tqdm: Any, n: int, opts: dict[str, Any]) -> None:
    """Manual counting that redraws at every step."""
    bar = tqdm(total=n, file=SINK, miniters=1, mininterval=0, **opts)
    for _ in range(n):
        bar.update(1)
    bar.close()


LOOPS: dict[str, Callable[[Any, int, dict[str, Any]], None]] = {
    "tight": tight,
    "postfix": postfix,
    "update": update,
    "display": display,
}


def run_loop(args: argparse.Namespace) -> dict[str, Any]:
    """Time plain tqdm and vhtqdm side by side in this one interpreter (``IMPL`` ``both``; or
    plain tqdm and zero-code mode's instrumented tqdm, ``zero-both``).

    After a warm-up of each (vhtqdm's first bar resolves the mirror and starts the sender, whose
    first post, awaited, imports requests), ``runs`` runs of each, alternating ABBA, each a new
    bar from creation to close.
    One interpreter: both sides share the heap, the layout and the machine's weather of the
    moment; the parent repeats the comparison in several fresh interpreters. The sender's own
    work (it may post during either side's run) is reported apart: the CPU its thread used per
    second of wall time.
    """
    loop = LOOPS[args.workload]
    ours = "zero" if args.impl == "zero-both" else "vhtqdm"
    sides = ("tqdm", ours)
    for impl in sides:
        loop(bar_class(impl), 1000, {})
    flush(ours)  # the sender imports requests at its first post: not inside the runs
    times: dict[str, list[float]] = {impl: [] for impl in sides}
    sender_before = sender_cpu()
    started = time.perf_counter()
    for i in range(args.runs):
        for impl in sides if i % 2 == 0 else reversed(sides):
            tqdm = bar_class(impl)  # zero-code: instrumented or given back, before the clock
            run_started = time.perf_counter()
            loop(tqdm, args.n, {})
            times[impl].append(time.perf_counter() - run_started)
    elapsed = time.perf_counter() - started
    sender = (sender_cpu() or 0.0) - (sender_before or 0.0)
    return {**times, "sender_share": sender / elapsed}


def count_loop(args: argparse.Namespace) -> dict[str, Any]:
    """One implementation's loop between two markers, for callgrind to count (``IMPL`` alone).

    Under callgrind time runs ~50x slower, so bars redraw by count, not by time: both sides draw
    exactly as often, and the counts compare the code paths alone.
    """
    tqdm = bar_class(args.impl)
    loop = LOOPS[args.workload]
    opts: dict[str, Any] = (
        {} if args.workload == "display" else {"miniters": 1000, "mininterval": 0}
    )
    loop(tqdm, 1000, opts)
    flush(args.impl)  # the warm-up's posts must not fall inside the counted window
    os.getppid()  # callgrind --zero-before=os_getppid: start counting
    loop(tqdm, args.n, opts)
    os.getpgrp()  # callgrind --dump-before=os_getpgrp: stop and write the count
    return {}


def sender_cpu() -> float | None:
    """Seconds of CPU the vhtqdm sender thread has used so far, or None when it has none.

    Read from Linux's per-thread scheduler statistics (nanoseconds on the CPU).
    """
    for thread in threading.enumerate():
        if thread.name == "vhtqdm-sender" and thread.native_id is not None:
            try:
                with open(f"/proc/self/task/{thread.native_id}/schedstat") as fh:
                    return int(fh.read().split()[0]) / 1e9
            except OSError:
                return None
    return None


# -- a training loop against a slow server (figure 4) -------------------------------------------


def training(args: argparse.Namespace) -> dict[str, Any]:
    """``steps`` steps of ``step_seconds`` (a sleep: the GPU's time), ``set_postfix`` every step;
    ``valohai-utils`` also reports through ``set_status_detail`` every ``every`` steps."""
    tqdm = bar_class(args.impl)
    report: Callable[[str], None] | None = None
    if args.impl == "valohai-utils":
        import valohai

        report = valohai.set_status_detail
    for _ in tqdm(range(3), file=SINK):  # warm-up, as in run_loop
        pass
    started = time.perf_counter()
    bar = tqdm(range(args.n), file=SINK, desc="train")
    for i in bar:
        time.sleep(args.step_seconds)
        loss = 2.0 / (i + 1)
        bar.set_postfix(loss=loss)
        if report is not None and i % args.every == 0:
            report(f"step {i}/{args.n} loss {loss:.4f}")
    bar.close()
    return {"seconds": time.perf_counter() - started}


# -- exit with a hung server (figure 5) ---------------------------------------------------------


def exit_hung(args: argparse.Namespace) -> dict[str, Any]:
    """A short loop whose statuses never get an answer; the parent times the exit from the
    loop's end (printed at once) to the process's end."""
    tqdm = bar_class(args.impl)
    for _ in tqdm(range(20), file=SINK, desc="train"):
        time.sleep(0.01)
    return {"loop_end": time.monotonic()}


# -- memory (figure 7) --------------------------------------------------------------------------


def rss() -> int:
    """Resident set size in bytes, now (Linux's /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_postfix(args: argparse.Namespace) -> dict[str, Any]:
    """RSS before and after ``n`` calls of ``set_postfix`` on one bar (after a warm-up)."""
    tqdm = bar_class(args.impl)
    bar = tqdm(total=args.n + args.n // 10, file=SINK, desc="train")

    def calls(count: int) -> None:
        for i in range(count):
            bar.set_postfix(loss=1.0 / (i + 1), acc=i / count, refresh=False)
            bar.update()

    growth = rss_growth(calls, args.n, args.impl)
    bar.close()
    return growth


def memory_bars(args: argparse.Namespace) -> dict[str, Any]:
    """RSS before and after ``n`` bars opened, run and closed one after the other."""
    tqdm = bar_class(args.impl)

    def bars(count: int) -> None:
        for b in range(count):
            bar = tqdm(range(10), file=SINK, desc=f"bar {b}")
            for i in bar:
                bar.set_postfix(loss=1.0 / (i + 1), refresh=False)

    return rss_growth(bars, args.n, args.impl)


def rss_growth(work: Callable[[int], None], n: int, impl: str) -> dict[str, Any]:
    """RSS after a warm-up of ``n // 10`` and after ``n`` more: flat means nothing is kept.
    The warm-up's posts are delivered first: the sender thread imports requests and builds
    its session at its first post, once per process, which is not memory kept per bar."""
    work(n // 10)
    flush(impl)
    gc.collect()
    before = rss()
    work(n)
    gc.collect()
    return {"before": before, "after": rss()}


# -- requests over a minute (figure 8) ----------------------------------------------------------


def soak(args: argparse.Namespace) -> dict[str, Any]:
    """A ``seconds`` loop at the default interval, then the bar sits idle: time marks for each
    phase, so the parent can count the requests that arrived in it."""
    tqdm = bar_class(args.impl)
    bar = tqdm(total=10**9, file=SINK, desc="train")
    marks = {"loop_start": time.monotonic()}
    deadline = marks["loop_start"] + args.seconds
    i = 0
    while time.monotonic() < deadline:
        time.sleep(args.step_seconds)
        i += 1
        bar.set_postfix(loss=2.0 / i)
        bar.update()
    marks["loop_end"] = time.monotonic()
    # Idle: nothing changes any more. The next tick posts the loop's last steps (and the last
    # sparkline point); from then on the status is unchanged and nothing may be sent.
    time.sleep(args.settle)
    marks["idle_start"] = time.monotonic()
    time.sleep(args.idle)
    marks["idle_end"] = time.monotonic()
    bar.close()
    return marks


WORKLOADS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    **dict.fromkeys(LOOPS, run_loop),
    "training": training,
    "exit_hung": exit_hung,
    "memory_postfix": memory_postfix,
    "memory_bars": memory_bars,
    "soak": soak,
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("impl", choices=IMPLS)
    parser.add_argument("--n", type=int, default=1000, help="iterations, steps or bars")
    parser.add_argument("--runs", type=int, default=12, help="timed runs of each side")
    parser.add_argument("--count-instructions", action="store_true", help="callgrind markers")
    parser.add_argument("--step-seconds", type=float, default=0.01)
    parser.add_argument("--every", type=int, default=100, help="steps between valohai-utils posts")
    parser.add_argument("--seconds", type=float, default=60.0, help="soak: loop length")
    parser.add_argument("--settle", type=float, default=6.0, help="soak: wait before idle")
    parser.add_argument("--idle", type=float, default=12.0, help="soak: idle window")
    args = parser.parse_args(argv)
    workload = count_loop if args.count_instructions else WORKLOADS[args.workload]
    result = workload(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
