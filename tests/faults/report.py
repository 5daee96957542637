"""Print the README's Reliability table from real runs: ``nox -s reliability``.

Each server fault and exit path of ``scenarios.py`` runs as a job against a loopback server; the
table gives what the user sees, the loop's time (ideal 1.00 s) and the time from the end of the
loop to the end of the process (flush timeout: ``FLUSH_TIMEOUT``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ..server import StatusServer
from .scenarios import EXIT_PATHS, FAULTS, FLUSH_TIMEOUT, IDEAL_LOOP, JOB, Fault, measure, prepare

BAD_CONFIGS = {
    "api.json missing (not on Valohai)": (None, "nothing: plain tqdm, silent"),
    "api.json not JSON / not an object / entry or url missing / headers not a dict": (
        "{oops",
        "one warning naming the file and the problem; plain tqdm",
    ),
}


def main() -> int:
    rows = [
        "| situation | what the user sees | loop (ideal 1.00 s) | exit after the loop |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for index, fault in enumerate(FAULTS):
            server = StatusServer()
            try:
                config = Path(scratch) / f"fault{index}"
                prepare(fault, server, config)
                run = measure(JOB, config)
            finally:
                server.close()
            rows.append(f"| {fault.name} | {fault.sees} | {run.loop:.2f} s | {run.exit:.2f} s |")
            print(rows[-1], file=sys.stderr)
        for name, (content, sees) in BAD_CONFIGS.items():
            config = Path(scratch) / f"config-{len(rows)}"
            if content is not None:
                config.mkdir()
                (config / "api.json").write_text(
                    content if isinstance(content, str) else json.dumps(content)
                )
            run = measure(JOB, config)
            rows.append(f"| {name} | {sees} | {run.loop:.2f} s | {run.exit:.2f} s |")
        for path in EXIT_PATHS:
            server = StatusServer()
            try:
                config = Path(scratch) / f"exit{len(rows)}"
                config.mkdir()
                prepare(Fault("a healthy server", ""), server, config)
                run = measure(path.source, config)
            finally:
                server.close()
            loop = f"{run.loop:.2f} s" if path.source == JOB else "n/a"
            rows.append(f"| {path.name} | {path.sees} | {loop} | {run.exit:.2f} s |")
    print(
        f"\nFlush timeout {FLUSH_TIMEOUT:.0f} s (VHTQDM_FLUSH_TIMEOUT); ideal loop "
        f"{IDEAL_LOOP:.2f} s.\n"
    )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
