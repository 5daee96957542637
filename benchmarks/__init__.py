"""vhtqdm's benchmarks: every figure of issue 4, measured side by side with tqdm and valohai-utils.

Run them with ``nox -s bench`` (or ``python -m benchmarks`` in an environment where vhtqdm and
valohai-utils are installed). Each workload runs in a fresh interpreter (``workloads.py``), against
loopback servers only (``servers.py``); ``harness.py`` alternates and summarises, ``figures.py``
turns runs into the table's rows.
"""
