"""How the engine prepares a loaded model for its batched passes."""
from __future__ import annotations

from lincae.models.base import Autoencoder

UNBOUNDED_BATCH = 1 << 20


def prepare(model: Autoencoder, max_chunk: int | None, compile: bool) -> Autoencoder:
    """One engine batch is one network pass (a settable `max_batch_size` is raised); a model that
    `chunks_long_inputs` chunks at `max_chunk`; `speed_up_decoder(compile)` is called once."""
    if hasattr(model, "max_batch_size"):
        model.max_batch_size = UNBOUNDED_BATCH
    if getattr(model, "chunks_long_inputs", False):
        model.max_chunk_size = max_chunk
    if hasattr(model, "speed_up_decoder"):
        model.speed_up_decoder(compile=compile)
    return model
