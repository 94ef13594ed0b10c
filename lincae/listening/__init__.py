"""Blind MUSHRA-style listening tests (ITU-R BS.1534) on the demo table's cells.

`design` says what a test plays and in which blind order each rater hears it, `audio` computes a trial's
conditions (model cells, hidden reference, low-pass anchors), `store` keeps tests and ratings in SQLite, and
`results` post-screens raters and reports means with 95 % confidence intervals.
"""
from lincae.listening.design import (
    DEFAULT_ROWS,
    HIDDEN_REFERENCE,
    Design,
    ListeningError,
    PresentedTrial,
    Trial,
    make_design,
    presentation,
)
from lincae.listening.store import AlreadyRated, ListeningStore, Rating, UnknownTest

__all__ = ["DEFAULT_ROWS", "HIDDEN_REFERENCE", "AlreadyRated", "Design", "ListeningError", "ListeningStore",
           "PresentedTrial", "Rating", "Trial", "UnknownTest", "make_design", "presentation"]
