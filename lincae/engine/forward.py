"""The forward passes of the engine: a track's signals encoded, latents decoded, in batched passes.

`Engine` inherits these; each `_gpu_<method>` is the work of one GPU call (see `lincae.engine.zerogpu`), and its
callers hold the model's lock.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from lincae import ops
from lincae.audio import fit_length, resample
from lincae.data.track import Track
from lincae.engine.chunking import ChunkPlan, overlap_add, plan_chunks, split
from lincae.engine.passes import Progress, batched, decode_pass, encode_pass, items_per_pass, sanitize, stage
from lincae.models.base import Autoencoder
from lincae.rows import MODEL_ROWS, SIGNALS, get_row

ROW_COEFFICIENTS: dict[str, dict[str, float]] = {r: dict(get_row(r).latent) for r in MODEL_ROWS}
"""Each model row of the demo table as a linear combination of the encoded signals (from `lincae.rows`)."""


class ForwardPasses:
    """Needs, from `Engine`: `_slot(name).model`, `_max_chunk(model)`, `device`, `precision`, `batch_seconds`."""

    def _plan(self, model: Autoencoder, track: Track) -> ChunkPlan:
        """Chunks at the model's rate; audio shorter than a model's `min_length` is zero-padded to it (and
        the output trimmed back). A model that `chunks_long_inputs` gets whole signals: it splits them into
        chunks of its `max_chunk_size` and gives each chunk its own noise, as its reference code does."""
        length = round(track.num_samples * model.sample_rate / track.sample_rate)
        max_chunk = None if getattr(model, "chunks_long_inputs", False) else self._max_chunk(model)
        return plan_chunks(max(length, getattr(model, "min_length", 0)), max_chunk)

    def _items_per_pass(self, model: Autoencoder, plan: ChunkPlan, n_items: int, op: str) -> int:
        return items_per_pass(self.batch_seconds[op], model.sample_rate, plan.chunk, n_items)

    def _encode_signals(
        self, model: Autoencoder, track: Track, plan: ChunkPlan, report: Callable[[int, int], object] | None = None
    ) -> dict[str, np.ndarray]:
        audio = {"mix": track.mix, **track.stems, "accomp": track.accomp}
        x = np.stack([resample(audio[s], track.sample_rate, model.sample_rate) for s in SIGNALS])
        chunks = split(fit_length(x, plan.length), plan).reshape(-1, plan.chunk)  # [signals·n, chunk]
        per_pass = self._items_per_pass(model, plan, len(chunks), "encode")
        z = batched(lambda b: encode_pass(model, b, self.device), chunks, per_pass, self.device, report)
        z = z.reshape(len(SIGNALS), plan.n, *z.shape[1:])
        return {s: z[i] for i, s in enumerate(SIGNALS)}

    def _decode_latents(
        self,
        model: Autoencoder,
        track: Track,
        plan: ChunkPlan,
        z: np.ndarray,
        seed: int,
        report: Callable[[int, int], object] | None = None,
    ) -> list[tuple[np.ndarray, bool]]:
        """`z`: [items, n, ...] → per item (audio at the track's rate and length, had NaN/inf)."""
        flat = np.ascontiguousarray(z.reshape(-1, *z.shape[2:]), dtype=np.float32)
        per_pass = self._items_per_pass(model, plan, len(flat), "decode")
        y = batched(lambda b: decode_pass(model, b, plan.chunk, seed, self.precision), flat, per_pass, self.device,
                    report)
        y = overlap_add(y.reshape(len(z), plan.n, -1), plan)
        out = []
        for item in y:
            audio = fit_length(resample(item, model.sample_rate, track.sample_rate), track.num_samples)
            out.append(sanitize(np.ascontiguousarray(audio, dtype=np.float32)))
        return out

    def _gpu_latents(self, name: str, progress: Progress | None, track: Track) -> dict[str, np.ndarray]:
        model = self._slot(name).model
        report = stage(progress, 0.0, 0.3, f"{name}: encoding", f"{name}: encoded")
        return self._encode_signals(model, track, self._plan(model, track), report)

    def _gpu_table(
        self, name: str, progress: Progress | None, track: Track, seed: int, z: Mapping[str, np.ndarray] | None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(latents, table entry): the track's signals encoded unless `z` has them, then every row decoded."""
        model = self._slot(name).model
        if z is None:
            z = self._gpu_latents(name, progress, track)
        report = stage(progress, 0.3, 1.0, f"{name}: decoding {len(MODEL_ROWS)} rows", f"{name}: decoded")
        stacked = np.stack([ops.combine(ROW_COEFFICIENTS[r], z) for r in MODEL_ROWS])
        decoded = self._decode_latents(model, track, self._plan(model, track), stacked, seed, report)
        entry = {r: audio for r, (audio, _) in zip(MODEL_ROWS, decoded)}
        entry["nonfinite"] = np.array([bad for _, bad in decoded], dtype=bool)
        return dict(z), entry

    def _gpu_silence(self, name: str, progress: Progress | None, track: Track) -> np.ndarray:
        model = self._slot(name).model
        plan = self._plan(model, track)
        silence = np.zeros((plan.n, plan.chunk), dtype=np.float32)
        per_pass = self._items_per_pass(model, plan, plan.n, "encode")
        return batched(lambda b: encode_pass(model, b, self.device), silence, per_pass, self.device)

    def _gpu_decode(
        self, name: str, progress: Progress | None, track: Track, z: np.ndarray, seed: int
    ) -> list[tuple[np.ndarray, bool]]:
        """`z`: [items, n, ...], one latent per item, decoded in batched passes."""
        model = self._slot(name).model
        return self._decode_latents(model, track, self._plan(model, track), z, seed)
