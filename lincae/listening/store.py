"""Listening tests and their ratings in SQLite: one row per rating, written when a trial is submitted.

The database (one file, WAL journal) is safe for many raters at once: every call opens its own connection, and
a submission is one `BEGIN IMMEDIATE` transaction that checks and writes a whole trial, so concurrent
submissions queue up for the write lock instead of losing each other's rows. A trial is rated once per rater:
submitting it again is refused and the first ratings are kept (as in a BS.1534 session, a submitted trial is
final).
"""
from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
import string
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

from lincae.listening.design import ListeningError, Design, presentation

DB_NAME = "listening.sqlite"
SCORE_RANGE = (0.0, 100.0)
TEST_ID_LENGTH = 8
_ID_CHARS = string.ascii_lowercase + string.digits
_RATER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tests (id TEXT PRIMARY KEY, created REAL NOT NULL, design TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
    test_id TEXT NOT NULL REFERENCES tests(id),
    rater_id TEXT NOT NULL,
    trial INTEGER NOT NULL,
    condition TEXT NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL CHECK (score >= 0 AND score <= 100),
    time REAL NOT NULL,
    PRIMARY KEY (test_id, rater_id, trial, condition)
);
"""


def db_path(cache_dir: str | Path) -> Path:
    """The default database: `listening.sqlite` in the cache folder."""
    return Path(cache_dir).expanduser() / DB_NAME


class UnknownTest(ListeningError):
    pass


class AlreadyRated(ListeningError):
    pass


@dataclass(frozen=True)
class Rating:
    test_id: str
    rater_id: str
    trial: int
    condition: str
    label: str  # the letter the rater saw
    score: float
    time: float  # Unix time of the submission


class ListeningStore:
    """Tests and ratings in the SQLite file at `path` (created with its folder when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    def secret(self) -> str:
        """A random key made once per database (it survives restarts): it encrypts the rater id each browser keeps."""
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('browser_secret', ?)", (secrets.token_hex(16),))
            return db.execute("SELECT value FROM meta WHERE key = 'browser_secret'").fetchone()[0]

    def create_test(self, design: Design) -> str:
        """Store `design` under a new short id (lowercase letters and digits) and return the id."""
        blob = json.dumps(design.to_dict())
        with self._connect() as db:
            while True:
                test_id = "".join(secrets.choice(_ID_CHARS) for _ in range(TEST_ID_LENGTH))
                try:
                    db.execute("INSERT INTO tests VALUES (?, ?, ?)", (test_id, time.time(), blob))
                    return test_id
                except sqlite3.IntegrityError:  # taken: draw again
                    continue

    def design(self, test_id: str | None) -> Design:
        """The test's design; `UnknownTest` when there is no such test."""
        test_id = (test_id or "").strip()
        if not test_id:
            raise UnknownTest("No test id given. Open the link the presenter shared, or create a test.")
        with self._connect() as db:
            found = db.execute("SELECT design FROM tests WHERE id = ?", (test_id,)).fetchone()
        if found is None:
            raise UnknownTest(f"There is no listening test {test_id!r} here. Check the link, or create a test.")
        return Design.from_dict(json.loads(found[0]))

    def submit(self, test_id: str, rater_id: str, trial: int, scores: Mapping[str, object]) -> list[Rating]:
        """Store one rater's scores (condition → 0…100) for one trial, all or nothing; returns the rows written.

        Refused with a `ListeningError` saying why: an unknown test or trial, a malformed rater id, conditions
        missing or not in the trial, a score that is not a number from 0 to 100, a trial this rater already rated.
        """
        design = self.design(test_id)
        if not isinstance(rater_id, str) or not _RATER_ID.match(rater_id):
            raise ListeningError("The rater id must be 1–64 letters, digits, '-' or '_'.")
        if isinstance(trial, bool) or not isinstance(trial, Real) or trial != int(trial) \
                or not 0 <= int(trial) < len(design.trials):
            raise ListeningError(f"Trial {trial!r} is not in this test (0 … {len(design.trials) - 1}).")
        trial = int(trial)
        checked = _check_scores(scores, design)
        labels = {c: label for p in presentation(test_id, rater_id, design) if p.trial.index == trial
                  for label, c in p.by_label().items()}
        now = time.time()
        rows = [Rating(test_id, rater_id, trial, c, labels[c], s, now) for c, s in checked.items()]
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: the check below and the insert are atomic
            try:
                done = db.execute("SELECT COUNT(*) FROM ratings WHERE test_id = ? AND rater_id = ? AND trial = ?",
                                  (test_id, rater_id, trial)).fetchone()[0]
                if done:
                    raise AlreadyRated(f"Rater {rater_id} already rated trial {trial} of test {test_id}; the "
                                       "first ratings are kept.")
                db.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(r.test_id, r.rater_id, r.trial, r.condition, r.label, r.score, r.time) for r in rows])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return rows

    def ratings(self, test_id: str) -> list[Rating]:
        """Every rating of the test, in submission order."""
        self.design(test_id)
        with self._connect() as db:
            found = db.execute("SELECT * FROM ratings WHERE test_id = ? ORDER BY time, rater_id, trial, condition",
                               (test_id,)).fetchall()
        return [Rating(*row) for row in found]

    def rated_trials(self, test_id: str, rater_id: str) -> set[int]:
        with self._connect() as db:
            found = db.execute("SELECT DISTINCT trial FROM ratings WHERE test_id = ? AND rater_id = ?",
                               (test_id, rater_id)).fetchall()
        return {row[0] for row in found}


def _check_scores(scores: Mapping[str, object], design: Design) -> dict[str, float]:
    if not isinstance(scores, Mapping):
        raise ListeningError("Scores must map each condition to a number from 0 to 100.")
    missing = [c for c in design.conditions if c not in scores]
    extra = sorted(set(scores) - set(design.conditions))
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"not in this test: {', '.join(extra)}"]
                                                                           if extra else [])
        raise ListeningError(f"Rate every condition of the trial exactly once ({'; '.join(parts)}).")
    low, high = SCORE_RANGE
    checked = {}
    for condition in design.conditions:
        value = scores[condition]
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
                or not low <= value <= high:
            raise ListeningError(f"Score {value!r} for {condition} is not a number from {low:g} to {high:g}.")
        checked[condition] = float(value)
    return checked
