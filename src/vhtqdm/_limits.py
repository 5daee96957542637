"""How big anything vhtqdm keeps may grow: every cap in one place.

A job may run for days, make a bar per file or a postfix key per step: nothing it does can make a
table, a status or a message grow without bound. The status's own sizes come first, then the
tables behind it.
"""

from __future__ import annotations

# -- the status -----------------------------------------------------------------------------------
MAX_BARS = 6  # gauges shown; the rest are counted in one text line
MAX_PHASES = 5  # lines of earlier outermost bars (train, then eval, then test): newest kept
MAX_CHARTS = 6  # metrics shown with a sparkline
MAX_POINTS = 200  # points of one sparkline (sparkline_window is at most this)
MAX_BYTES = 16_000  # the whole status; metric lines go first when a status would be larger

# -- what the status is made from -----------------------------------------------------------------
MAX_ENDED = 64  # bars closed since the latest start, kept for the status shown when none runs
MAX_SERIES = 64  # series (a postfix key of a bar description) recorded; later ones are not
MAX_LABELS = 64  # bar descriptions whose postfix values are recorded
MAX_SPECS = 8  # distinct `sparklines=` choices remembered per description
PENDING = 16  # raw values (tensors, numpy scalars…) kept per series until the sender reads them
MAX_ROUNDS = 256  # descriptions whose ended rounds count on in the run's step (newest kept)

# -- metadata lines -------------------------------------------------------------------------------
MAX_METADATA_KEYS = 64  # keys of one metadata line, and values waiting for the next line

# -- other processes ------------------------------------------------------------------------------
MAX_PEERS = 64  # relaying processes whose bars a poster keeps
MAX_DATAGRAM = 8192  # bytes of one relayed snapshot

# -- alerts ---------------------------------------------------------------------------------------
MAX_ALERTS = 20  # alerts a process run sends, besides its last word (failed, stopped, finished)
ALERT_TRIES = 4  # attempts at one alert the webhook keeps answering with a retryable failure
