"""The process's mirror: what its bars write into, and the status composed from it.

It puts together the parts a status is made of, each read through its public methods: the
record of bars (``_record``), the metrics book (``_metrics``), the whole job's tracker (``_job``)
and the stall watch (``_stall``). Bars call it on their thread, where it only records and tells
the sender that something changed; the sender's thread calls :meth:`Mirror.status`, which reads
the parts and hands plain data to the pure composer (``_compose``). ``_process`` builds it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from . import _config, _job, _log, _stall
from ._compose import compose
from ._metadata import Metadata
from ._metrics import Metrics
from ._record import Record
from ._views import RUNNING, BarView, Job

if TYPE_CHECKING:
    from ._config import Charted, Settings
    from ._peers import Peers
    from ._record import Story
    from ._sender import Sender
    from ._views import MetricView, Stall

    #: What a status is made of, handed to the alerts: the story, the metrics, the job, a stall.
    Observer = Callable[[Story, list[MetricView], Job | None, Stall | None], None]


class Mirror:
    """Records a process's bars and metrics; composes its status (see the module)."""

    def __init__(
        self, settings: Settings, sender: Sender, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.record = Record()
        self.metrics = Metrics(
            settings.sparkline_window, self.record.run_step, lambda: self.record.evaluations
        )
        self.metadata = Metadata(
            self.record,
            self.metrics,
            interval=lambda: self.settings.status_interval,
            job=lambda: self.job,
            clock=clock,
        )
        self.dead = False  # set in a forked child: this copy must never send
        self._clock = clock
        self._jobs = _job.Tracker()  # on the sender thread only, as is:
        self._progress = _stall.Progress(clock())
        self.job: Job | None = None  # the whole job's progress at the latest status
        self.observe: Observer | None = None  # alerts (``_alerts``): what each status is made of

    def __repr__(self) -> str:
        return f"Mirror(live={len(self.record.live())})"

    @property
    def off(self) -> bool:
        """Nothing will be sent (a forked copy, or the sender closed: the token was refused)."""
        return self.dead or self.sender.closed

    # -- a bar's keyword arguments --------------------------------------------------------------

    def options(
        self,
        status_interval: object,
        sparklines: object,
        sparkline_window: object,
        stall_after: object,
    ) -> Charted:
        """Apply a bar's keyword arguments (all but ``sparklines`` are process-wide: the
        interval, the window of new series, the stall time); returns what that bar charts."""
        changes = {}
        for field, value in (
            ("status_interval", status_interval),
            ("sparkline_window", sparkline_window),
            ("stall_after", stall_after),
        ):
            if value is not None:
                changes[field] = self._option(field, value)
        if changes:
            self.settings = replace(self.settings, **changes)
            self.metrics.window = self.settings.sparkline_window
        if sparklines is None:
            return self.settings.sparklines
        charted: Charted = self._option("sparklines", sparklines)
        return charted

    def _option(self, field: str, value: object) -> Any:
        parsed, problem = _config.option(field, value)
        if problem:
            _log.warn_once(f"option:{problem}", problem)
        return parsed

    # -- what bars and the process do -----------------------------------------------------------

    def start(self, bar: Any) -> bool:
        """A bar starts; False when it is not mirrored (nothing will be sent)."""
        if self.off:
            self._let_go()
            return False
        first = self.record.add(bar)
        self.sender.submit(urgent=first)  # a run's first bar is shown at once
        return True

    def bar_option(self, field: str, value: object, default: Any) -> Any:
        """A bar's own keyword argument (``log_interval``, ``metadata``): ``default`` when None."""
        return default if value is None else self._option(field, value)

    def close(self, bar: Any, from_gc: bool = False) -> None:
        """A bar closed (``from_gc``: in a finalizer, where no thread may be started)."""
        if self.dead:
            return
        last = self.record.close(bar)
        if last is None:
            return
        if from_gc:
            self.sender.poke(urgent=last)
        else:
            self.sender.submit(urgent=last)  # the run's last bar closing is shown at once

    def round_ended(self, bar: Any) -> None:
        """A bar is ``reset()`` for another round: the run's step counts on."""
        self.record.round_ended(bar)

    def set_milestone(self, text: str | None, color: str | None) -> None:
        if not self.dead:
            self.record.set_milestone(text, color)
            self.sender.submit(urgent=True)

    def end(self, error: BaseException | None, stopped: bool = False) -> None:
        """The process is exiting (``stopped``: by SIGTERM): settle the bars, say how it ended."""
        self.record.end(error, stopped)
        self.sender.submit(urgent=True)

    def _let_go(self) -> None:
        """Nothing will be sent: the live bars drop the mirror, and what was recorded goes."""
        for bar in self.record.forget_bars():
            bar._vh = None
        self.metrics.clear()

    # -- on the sender thread -------------------------------------------------------------------

    def views(self) -> tuple[list[BarView], bool]:
        """This process's bars as a relay sends them, and whether any runs."""
        return self.record.views()

    def status(self, peers: Peers | None = None) -> tuple[str, bool]:
        """The status to post now (with what relaying processes said), and whether it ticks:
        bars run here or in a relaying process."""
        story = self.record.story()
        now = self._clock()
        live = story.live
        self._progress.observe({item.key: view.n for item, view in zip(live, story.bars)}, now)
        job = stall = None
        if live:
            chain = story.chain
            if chain:
                keys = [item.key for item in live[:chain]]
                job = self._jobs.update(keys, story.bars[:chain], story.run)
            inner = story.bars[max(chain, 1) - 1]  # the innermost bar of the job, or the first
            step = _stall.usual_step(inner.rate)
            stall = _stall.stalled(self._progress.advanced, now, self.settings.stall_after, step)
        self.job = job
        bars, header, running = story.bars, None, bool(live)
        if peers is not None:
            more, header, busy = peers.compose(story.bars, now)
            if story.over:  # at exit a relayed bar still running is a worker's last word, stale
                more, busy = [bar for bar in more if bar.outcome != RUNNING], False
            bars, running = [*bars, *more], running or busy
        metrics = self.metrics.views()
        text = compose(
            bars,
            metrics,
            story.milestone,
            story.ending,
            job=job,
            stall=stall,
            phases=story.phases,
        )
        if self.observe is not None:
            self.observe(story, metrics, job, stall)
        return ("\n".join((header, text)) if header else text), running
