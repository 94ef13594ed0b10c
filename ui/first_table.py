"""The first track's table, and then its analysis, computed ahead of the first visitor while Gradio is imported and
the page is built.

With the engine on the CPU and no other thread running yet, on Linux, they are computed in a forked copy of the
process: as a thread it would take turns for the interpreter lock with the import, which holds it almost
throughout, and take about twice as long (docs/BENCHMARKS.md). The copy writes into the engine's disk cache
(atomic writes, as for any process sharing the folder): first the table, which it reports through a pipe; then,
once a page has loaded (whose loading runs on the same cores) or after `PAGE_WAIT_S`, every model's metrics and
linearity curves, at the lowest priority. The server reads both from the cache; an Analysis of that track asked
for meanwhile waits for the copy rather than computing it twice. When the page has loaded, the server also loads
and warms up its own models (the copy's die with it) before a visitor's first mix needs them: until the copy has
finished, the models are in memory twice. A copy whose server is gone (the pipe closed with no word) exits.
Elsewhere (a GPU, whose state a fork cannot share; threads already running, which a fork would copy mid-way;
macOS, where forking a process that has started system frameworks is unsafe) a thread computes the table alone.
"""
from __future__ import annotations

import gc
import logging
import os
import select
import signal
import sys
import threading

from lincae import analysis, metrics
from ui.tables import TableBuilder, TableUpdate

log = logging.getLogger(__name__)

PAGE_WAIT_S = 10.0
"""How long the copy, its table done, waits for a page to load before it analyses the track anyway."""
NICENESS = 19
"""The copy's priority once the table is done (nice increment, the lowest): the server, its own computing threads
(nice 10) and the browser on the same cores come first."""


class FirstTable:
    """`FirstTable.start(builder, track_id)`, then `result(wait_s)` once the page is built, `page_loaded()` when a
    page has; `computing(track_id)` before analysing a track."""

    def __init__(self, builder: TableBuilder, track_id: str) -> None:
        self.builder = builder
        self.track_id = track_id
        self.finished = threading.Event()
        """Set when the copy has exited (without a copy: when the thread has computed the table)."""
        self._pid: int | None = None
        self._report: int | None = None  # the pipe's end the copy reports the table on
        self._go: int | None = None  # the pipe's end that tells the copy a page has loaded
        self._once = threading.Lock()
        self._page_loaded = False
        self._warm_up_due = False

    @classmethod
    def start(cls, builder: TableBuilder, track_id: str) -> FirstTable:
        first = cls(builder, track_id)
        if sys.platform.startswith("linux") and threading.active_count() == 1 and builder.engine.device.type == "cpu":
            first._report, report = os.pipe()
            go, first._go = os.pipe()
            first._pid = os.fork()
            if first._pid == 0:  # the copy: compute, then leave without running the server's exit handlers
                os.close(first._report)
                os.close(first._go)
                os._exit(first._ahead(report, go))
            os.close(report)
            os.close(go)
        else:
            first._in_thread()
        return first

    def _ahead(self, report: int, go: int) -> int:
        """In the copy: the table, reported once in the cache, then, once a page has loaded, the analysis of every
        model whose table is there. The exit status."""
        gc.enable()  # start-up's objects are frozen; what the copy computes is collected as usual
        try:
            self.builder.warm(self.track_id)
            os.write(report, b"t")
            os.close(report)
            ready, _, _ = select.select([go], [], [], PAGE_WAIT_S)  # the page's own loading first: same cores
            if ready and not os.read(go, 1):
                return 0  # the server is gone: so is the point
            _lowest_priority()
            engine, seed, track = self.builder.engine, self.builder.seed, self.builder.load_track(self.track_id)
            tabled = [m.name for m in self.builder.model_infos()  # not those that failed (or would download)
                      if m.available and engine.cached_table(track, m.name, seed) is not None]
            with metrics.reference_spectra():
                for name in tabled:
                    try:
                        analysis.analyse(engine, track, name, seed=seed)
                    except Exception:  # the Analysis tab computes it again and shows why it fails
                        log.exception("%s could not be analysed ahead on %s", name, self.track_id)
            return 0
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the server says it
            return 1
        except BaseException:
            log.exception("computing %s ahead of the first visitor failed", self.track_id)
            return 1

    def _in_thread(self) -> None:
        """Without a copy: the table alone, in a thread of this process."""

        def warm() -> None:
            try:
                self.builder.warm(self.track_id)
            finally:
                self.finished.set()

        threading.Thread(target=warm, daemon=True).start()

    def result(self, wait_s: float) -> TableUpdate | None:
        """The finished table, waiting at most `wait_s` seconds for it; None if it is not ready by then. A copy
        still computing the table then is stopped and a thread goes on from what it cached (whole models are
        kept)."""
        if self._pid is None:
            self.finished.wait(wait_s)
            return self.builder.remembered(self.track_id)
        pid, self._pid = self._pid, None
        reported = bool(select.select([self._report], [], [], wait_s)[0])  # a report, or the copy's end
        os.close(self._report)
        if not reported:
            os.kill(pid, signal.SIGTERM)
        threading.Thread(target=self._reap, args=(pid,), daemon=True).start()
        table = self.builder.cached(self.track_id)
        if table is None:  # not finished, or a model failed (the page's request shows why): go on here
            threading.Thread(target=self.builder.warm, args=(self.track_id,), daemon=True).start()
        else:  # the copy loaded the models, this process has not: before a visitor's first mix needs them
            self._warm_up_due = True
        return table

    def page_loaded(self) -> None:
        """A page has loaded (its table is shown): what was left for after it starts, once."""
        with self._once:
            if self._page_loaded:
                return
            self._page_loaded = True
        if self._go is not None:
            try:
                os.write(self._go, b"g")  # the copy's wait ends (its end of file alone means the server is gone)
            except BrokenPipeError:  # it has exited already (stopped, or done after waiting `PAGE_WAIT_S`)
                pass
            os.close(self._go)
        if self._warm_up_due:
            threading.Thread(target=self._warm_up_models, daemon=True).start()

    def _warm_up_models(self) -> None:
        for model in self.builder.model_infos():
            if model.available:
                try:
                    self.builder.engine.warm_up(model.name)
                except Exception:  # a visitor's request tries again and shows the reason
                    log.exception("%s could not be warmed up", model.name)

    def _reap(self, pid: int) -> None:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped elsewhere
            pass
        finally:
            self.finished.set()

    def computing(self, track_id: str) -> bool:
        """Whether `track_id` is being computed ahead now (then wait for `finished` before analysing it)."""
        return track_id == self.track_id and not self.finished.is_set()


def _lowest_priority() -> None:
    """Every thread of this process at `NICENESS` (on Linux a thread's priority is its own: the computing threads
    were started before)."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), NICENESS)
        except OSError:  # a thread that has ended
            pass
