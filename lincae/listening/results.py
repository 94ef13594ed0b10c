"""Results of a listening test as ITU-R BS.1534-3 reports them: post-screening, then per condition the mean score
and its 95 % confidence interval from Student's t distribution; CSV exports and box plots.

Post-screening (BS.1534-3, 4.1.2): a rater is excluded when they score the hidden reference below 90 in more
than 15 % of the trials they rated, or the mid-range anchor (7 kHz) above 90 in more than 15 %.
Statistics are per row × condition, over every included rating of that row (all tracks, all raters):
mean = Σ s / N, CI = t(0.975, N − 1) · sd / √N with the sample standard deviation (N − 1).
"""
from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from lincae.listening.design import HIDDEN_REFERENCE, MID_ANCHOR, Design
from lincae.listening.store import Rating
from lincae.rows import ROW_BY_ID

if TYPE_CHECKING:  # matplotlib and scipy.stats are imported where used: together they delay the page's start
    from matplotlib.figure import Figure

REFERENCE_BELOW = 90.0
ANCHOR_ABOVE = 90.0
MAX_FRACTION = 0.15
CONFIDENCE = 0.95


@dataclass(frozen=True)
class ConditionStats:
    row: str
    condition: str
    mean: float
    ci95: float | None  # half-width; None with fewer than two scores
    n_scores: int
    n_raters: int

    @property
    def low(self) -> float | None:
        return None if self.ci95 is None else self.mean - self.ci95

    @property
    def high(self) -> float | None:
        return None if self.ci95 is None else self.mean + self.ci95


@dataclass(frozen=True)
class RaterStatus:
    rater_id: str
    trials: int  # trials rated
    excluded: bool
    reason: str  # why excluded ("" when included)


@dataclass(frozen=True)
class Results:
    test_id: str
    design: Design
    post_screening: bool
    stats: tuple[ConditionStats, ...]
    raters: tuple[RaterStatus, ...]
    scores: dict[tuple[str, str], list[float]]  # (row, condition) → included scores

    @property
    def included(self) -> list[str]:
        return [r.rater_id for r in self.raters if not r.excluded]

    def to_dict(self) -> dict:
        return {
            "test": self.test_id,
            "design": self.design.to_dict(),
            "conditions": list(self.design.conditions),
            "trials": [{"trial": t.index, "track": t.track, "row": t.row} for t in self.design.trials],
            "post_screening": self.post_screening,
            "raters": [asdict(r) for r in self.raters],
            "n_raters": len(self.included),
            "summary": [asdict(s) for s in self.stats],
        }


def screen(ratings: Sequence[Rating]) -> dict[str, str]:
    """Raters to exclude (rater id → reason) by BS.1534-3's post-screening rules."""
    by_rater: dict[str, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in ratings:
        by_rater[r.rater_id][r.trial][r.condition] = r.score
    excluded = {}
    for rater, trials in by_rater.items():
        n = len(trials)
        low_ref = sum(1 for t in trials.values() if t.get(HIDDEN_REFERENCE, 100.0) < REFERENCE_BELOW)
        high_anchor = sum(1 for t in trials.values() if t.get(MID_ANCHOR, 0.0) > ANCHOR_ABOVE)
        reasons = []
        if low_ref > MAX_FRACTION * n:
            reasons.append(f"hidden reference below {REFERENCE_BELOW:g} in {low_ref} of {n} trials")
        if high_anchor > MAX_FRACTION * n:
            reasons.append(f"7 kHz anchor above {ANCHOR_ABOVE:g} in {high_anchor} of {n} trials")
        if reasons:
            excluded[rater] = "; ".join(reasons)
    return excluded


def confidence_interval(scores: Sequence[float], confidence: float = CONFIDENCE) -> float | None:
    """Half-width of the t-distribution confidence interval of the mean; None with fewer than two scores."""
    from scipy import stats

    n = len(scores)
    if n < 2:
        return None
    return float(stats.t.ppf((1 + confidence) / 2, n - 1) * statistics.stdev(scores) / math.sqrt(n))


def summarise(test_id: str, design: Design, ratings: Sequence[Rating], post_screening: bool = True) -> Results:
    """Per row × condition statistics of the included raters (all raters without post-screening)."""
    excluded = screen(ratings) if post_screening else {}
    trials = {t.index: t for t in design.trials}
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    raters: dict[tuple[str, str], set[str]] = defaultdict(set)
    rated: dict[str, set[int]] = defaultdict(set)
    for r in ratings:
        rated[r.rater_id].add(r.trial)
        if r.rater_id in excluded or r.trial not in trials:
            continue
        key = (trials[r.trial].row, r.condition)
        scores[key].append(r.score)
        raters[key].add(r.rater_id)
    table = tuple(
        ConditionStats(row, c, statistics.fmean(scores[(row, c)]), confidence_interval(scores[(row, c)]),
                       len(scores[(row, c)]), len(raters[(row, c)]))
        for row in design.rows for c in design.conditions if scores.get((row, c))
    )
    status = tuple(RaterStatus(rater, len(t), rater in excluded, excluded.get(rater, ""))
                   for rater, t in rated.items())
    return Results(test_id, design, post_screening, table, status, dict(scores))


def ratings_csv(ratings: Sequence[Rating], design: Design, excluded: Mapping[str, str]) -> str:
    """Every rating, one line each, with its trial's track and row and whether post-screening kept the rater."""
    trials = {t.index: t for t in design.trials}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["test_id", "rater_id", "trial", "track", "row", "condition", "label", "score", "time", "excluded"])
    for r in ratings:
        t = trials.get(r.trial)
        w.writerow([r.test_id, r.rater_id, r.trial, t.track if t else "", t.row if t else "", r.condition, r.label,
                    f"{r.score:g}", f"{r.time:.3f}", int(r.rater_id in excluded)])
    return out.getvalue()


def summary_csv(results: Results) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["row", "condition", "mean", "ci95", "ci_low", "ci_high", "n_scores", "n_raters"])
    for s in results.stats:
        fmt = (lambda v: "" if v is None else f"{v:.4f}")
        w.writerow([s.row, s.condition, f"{s.mean:.4f}", fmt(s.ci95), fmt(s.low), fmt(s.high), s.n_scores,
                    s.n_raters])
    return out.getvalue()


def box_plot(results: Results, names: Mapping[str, str] | None = None) -> Figure:
    """One panel per row: a box of the included scores per condition, with the mean and its 95 % interval."""
    from matplotlib.figure import Figure  # drawn without pyplot: no backend, no global state

    names = names or {}
    rows = results.design.rows
    fig = Figure(figsize=(max(6.4, 1.0 + 0.9 * len(results.design.conditions)), 2.9 * len(rows)),
                 layout="constrained")
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    conditions = results.design.conditions
    for ax, row in zip(axes, rows):
        data = [results.scores.get((row, c), []) for c in conditions]
        positions = [i for i, d in enumerate(data) if d]
        if positions:
            ax.boxplot([data[i] for i in positions], positions=positions, widths=0.5, showfliers=True)
        for s in results.stats:
            if s.row == row:
                i = conditions.index(s.condition)
                ax.errorbar(i, s.mean, yerr=s.ci95 or 0.0, fmt="o", color="C3", capsize=4, ms=4)
        ax.set_xticks(range(len(conditions)), [names.get(c, c) for c in conditions], rotation=20, ha="right",
                      fontsize="small")
        ax.set_ylim(-2, 102)
        ax.set_yticks([0, 20, 40, 60, 80, 100])
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylabel("score")
        ax.set_title(f"{ROW_BY_ID[row].label} — boxes: scores; red: mean ± 95 % CI", fontsize="medium")
    return fig
