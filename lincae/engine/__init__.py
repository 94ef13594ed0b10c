"""Device/precision policy, the two-level cache, chunking and the batched, cached `Engine`."""
from lincae.engine.engine import MODEL_ROWS, ROW_COEFFICIENTS, SIGNALS, Engine, TrackTable

__all__ = ["Engine", "TrackTable", "MODEL_ROWS", "ROW_COEFFICIENTS", "SIGNALS"]
