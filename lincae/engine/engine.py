"""The engine: every piece of model audio the app plays comes from here.

Per (track, model) the six signals are encoded in batched passes and kept (`latents`); a track table's
seven rows are latent combinations decoded in batched passes with one shared seed (`track_table`); any
other combination of stems is one more decode of cached latents (`decode_combination`). Results go through
a two-level cache keyed by what they depend on, so nothing is computed twice, across restarts too.

Passes: on a GPU, 6 encodes and 7 decodes of a short track are one pass each; on a CPU, where batching long
items is slower, passes hold at most a few seconds of audio (`BATCH_SECONDS`).

Noise: a stochastic decoder gets one seed per call, and the `Autoencoder` contract is that every item of a
batch decoded with seed s equals the same latent decoded alone with seed s. Batching and splitting into
smaller batches therefore never change a result.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from lincae import ops
from lincae.audio import fit_length, resample
from lincae.data.track import Track
from lincae.engine.cache import TwoLevelCache, cache_key
from lincae.engine.chunking import ChunkPlan, overlap_add, plan_chunks, split
from lincae.engine.device import Precision, auto_device, gpu_task
from lincae.models.base import Autoencoder
from lincae.rows import MODEL_ROWS, SIGNALS, get_row
from lincae.settings import Settings

log = logging.getLogger(__name__)

# Bump when the meaning of a cached result changes, so old entries are no longer found.
CACHE_VERSION = 2
ROW_COEFFICIENTS: dict[str, dict[str, float]] = {r: dict(get_row(r).latent) for r in MODEL_ROWS}
"""Each model row of the demo table as a linear combination of the encoded signals (from `lincae.rows`)."""

_UNBOUNDED_BATCH = 1 << 20
AUTO = "auto"
BATCH_SECONDS: dict[str, dict[str, float]] = {
    "cpu": {"encode": 12.0, "decode": 6.0},
    "gpu": {"encode": 60.0, "decode": 60.0},
}
"""Most audio per forward pass when the engine decides (`max_batch_seconds="auto"`). On a CPU, batching long
items barely pays, so passes stay small there (measurements: docs/BENCHMARKS.md, "the CPU batch policy")."""
Progress = Callable[..., object]  # called as progress(fraction, desc=...), like gr.Progress or tqdm wrappers


class TrackTable(dict):
    """`{row_id: audio}` at the track's rate and length; `nonfinite` names rows whose decode produced
    NaN or inf (those samples were replaced by zeros)."""

    nonfinite: tuple[str, ...] = ()


def sanitize(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Zeros in place of NaN/inf; the flag says whether any were found. Nothing is clipped."""
    bad = ~np.isfinite(x)
    if bad.any():
        return np.where(bad, 0.0, x).astype(np.float32), True
    return x, False


@gpu_task
def _encode_pass(model: Autoencoder, x: np.ndarray, device: torch.device) -> np.ndarray:
    """Always fp32 (see `lincae.engine.device`)."""
    with torch.inference_mode():
        z = model.encode(torch.from_numpy(x).to(device))
    return z.float().cpu().numpy()


@gpu_task
def _decode_pass(model: Autoencoder, z: np.ndarray, length: int, seed: int, precision: Precision) -> np.ndarray:
    with torch.inference_mode(), precision.autocast():
        y = model.decode(torch.from_numpy(z).to(precision.device), length, seed=seed)
    return y.float().cpu().numpy()


def _is_oom(err: BaseException) -> bool:
    message = str(err).lower()
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in message or "can't allocate" in message


def _stage(
    progress: Progress | None, start: float, end: float, desc: str, done_desc: str
) -> Callable[[int, int], object] | None:
    """Report `desc` at `start`; return the pass-by-pass reporter up to `end` ("<done_desc> 3/7"), or None
    when nobody listens."""
    if progress is None:
        return None
    progress(start, desc=desc)
    return lambda done, total: progress(start + (end - start) * done / total, desc=f"{done_desc} {done}/{total}")


def _registry_loader(name: str, device: torch.device, settings: Settings | None = None) -> Autoencoder:
    from lincae.registry import load_model

    return load_model(name, device=device, settings=settings)


@dataclass
class _Slot:
    """One model and the lock that serialises its loading and its forward passes."""

    lock: threading.Lock
    model: Autoencoder | None = None


class Engine:
    """Loads models once, runs them in batches, caches everything.

    device: "cuda", "mps", "cpu" or None for the best available. cache_dir: on-disk cache root (None: results
    are kept in memory only). memory_bytes: bound of the in-memory LRU. cpu_bf16: decode under bf16 autocast
    on CPU (faster, less exact: docs/BENCHMARKS.md). compile: compile decoders that support it with
    TorchInductor (faster after minutes of compilation per input shape). max_batch_seconds: most audio (items × chunk length) per
    forward pass, None for no limit, "auto" for `BATCH_SECONDS` (small passes on CPU, where big ones are
    slower; up to 60 s on a GPU); on a GPU an out-of-memory error also halves the passes. max_chunk_seconds:
    longer audio is processed in overlapping chunks (a model's own `max_chunk_size`, in samples, is a further
    limit). loader: `(name, device) -> Autoencoder`, the registry by default.

    The engine decides the batching: a model exposing a settable `max_batch_size` (the official package's
    per-pass limit) gets it raised so that one engine batch is one network pass. A model that
    `chunks_long_inputs` gets its `max_chunk_size` set to the engine's limit and chunks long signals itself. A
    model with a
    `speed_up_decoder(compile)` method gets it called once after loading.
    """

    def __init__(
        self,
        device: str | torch.device | None = None,
        cache_dir: str | os.PathLike | None = None,
        memory_bytes: int = 1 << 30,
        cpu_bf16: bool = False,
        compile: bool = False,
        max_batch_seconds: float | None | Literal["auto"] = AUTO,
        max_chunk_seconds: float | None = 30.0,
        loader: Callable[[str, torch.device], Autoencoder] | None = None,
    ) -> None:
        self.device = torch.device(device) if device is not None else auto_device()
        self.precision = Precision.for_device(self.device, cpu_bf16=cpu_bf16)
        self.compile = compile
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.cache = TwoLevelCache(self.cache_dir, memory_bytes)
        if max_batch_seconds == AUTO:
            self.batch_seconds = BATCH_SECONDS["cpu" if self.device.type == "cpu" else "gpu"]
        else:
            self.batch_seconds = {"encode": max_batch_seconds, "decode": max_batch_seconds}
        self.max_chunk_seconds = max_chunk_seconds
        self._loader = loader or _registry_loader
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs) -> Engine:
        """The engine a `Settings` describes: its device, cache folder, decoder precision and compilation."""
        kwargs.setdefault("loader", lambda name, device: _registry_loader(name, device, settings))
        return cls(device=settings.device, cache_dir=settings.cache_dir, cpu_bf16=settings.cpu_bf16,
                   compile=settings.compile, **kwargs)

    def describe(self) -> str:
        """How this engine computes, in a phrase for people: device, decoder precision, compilation."""
        parts = [self.device.type.upper(), "encoders in fp32", f"decoders in {self.precision.name}"]
        if self.compile:
            parts.append("decoders compiled")
        return ", ".join(parts)

    # --- models -----------------------------------------------------------------------------------

    def _slot(self, name: str) -> _Slot:
        with self._slots_lock:
            return self._slots.setdefault(name, _Slot(threading.Lock()))

    def model(self, name: str) -> Autoencoder:
        """The loaded model (loaded on first use, then kept)."""
        slot = self._slot(name)
        with slot.lock:
            if slot.model is None:
                model = self._loader(name, self.device)
                if hasattr(model, "max_batch_size"):
                    model.max_batch_size = _UNBOUNDED_BATCH
                if getattr(model, "chunks_long_inputs", False):
                    model.max_chunk_size = self._max_chunk(model)
                if hasattr(model, "speed_up_decoder"):
                    model.speed_up_decoder(compile=self.compile)
                slot.model = model
            return slot.model

    # --- keys ---------------------------------------------------------------------------------------

    def _max_chunk(self, model: Autoencoder) -> int | None:
        limits = [getattr(model, "max_chunk_size", None)]
        if self.max_chunk_seconds is not None:
            limits.append(int(self.max_chunk_seconds * model.sample_rate))
        limits = [n for n in limits if n is not None]
        return min(limits) if limits else None

    def _key(self, model: Autoencoder, track: Track, op: str, **params) -> str:
        return cache_key(
            v=CACHE_VERSION,
            model=model.name,
            weights=model.weights_hash,
            audio=track.content_hash,
            chunk=self._max_chunk(model),
            op=op,
            **params,
        )

    def _plan(self, model: Autoencoder, track: Track) -> ChunkPlan:
        """Chunks at the model's rate; audio shorter than a model's `min_length` is zero-padded to it (and
        the output trimmed back). A model that `chunks_long_inputs` gets whole signals: it splits them into
        chunks of its `max_chunk_size` and gives each chunk its own noise, as its reference code does."""
        length = round(track.num_samples * model.sample_rate / track.sample_rate)
        max_chunk = None if getattr(model, "chunks_long_inputs", False) else self._max_chunk(model)
        return plan_chunks(max(length, getattr(model, "min_length", 0)), max_chunk)

    def _items_per_pass(self, model: Autoencoder, plan: ChunkPlan, n_items: int, op: str) -> int:
        seconds = self.batch_seconds[op]
        if seconds is None:
            return n_items
        return max(1, min(n_items, int(seconds * model.sample_rate // plan.chunk)))

    # --- forward passes (callers hold the model's lock) ------------------------------------------------

    def _batched(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        items: np.ndarray,
        per_pass: int,
        report: Callable[[int, int], object] | None = None,
    ) -> np.ndarray:
        """Run `fn` over `items` in passes of at most `per_pass` items, halving the passes on out-of-memory
        (finished passes are kept); `report(items done, items)` after each pass."""
        out: list[np.ndarray] = []
        done = 0
        while done < len(items):
            batch = items[done : done + per_pass]
            try:
                out.append(fn(batch))
            except (RuntimeError, torch.OutOfMemoryError) as err:
                if per_pass == 1 or not _is_oom(err):
                    raise
                per_pass = (per_pass + 1) // 2
                log.warning("out of memory: retrying with %d items per pass", per_pass)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            done += len(batch)
            if report is not None:
                report(done, len(items))
        return np.concatenate(out)

    def _encode_signals(
        self, model: Autoencoder, track: Track, plan: ChunkPlan, report: Callable[[int, int], object] | None = None
    ) -> dict[str, np.ndarray]:
        audio = {"mix": track.mix, **track.stems, "accomp": track.accomp}
        x = np.stack([resample(audio[s], track.sample_rate, model.sample_rate) for s in SIGNALS])
        chunks = split(fit_length(x, plan.length), plan).reshape(-1, plan.chunk)  # [signals·n, chunk]
        z = self._batched(
            lambda b: _encode_pass(model, b, self.device),
            chunks,
            self._items_per_pass(model, plan, len(chunks), "encode"),
            report,
        )
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
        y = self._batched(
            lambda b: _decode_pass(model, b, plan.chunk, seed, self.precision),
            flat,
            self._items_per_pass(model, plan, len(flat), "decode"),
            report,
        )
        y = overlap_add(y.reshape(len(z), plan.n, -1), plan)
        out = []
        for item in y:
            audio = fit_length(resample(item, model.sample_rate, track.sample_rate), track.num_samples)
            out.append(sanitize(np.ascontiguousarray(audio, dtype=np.float32)))
        return out

    # --- public ---------------------------------------------------------------------------------------

    def latents(self, track: Track, model_name: str, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Latents of mix, stems and accompaniment: `{signal: [chunks, *latent_shape]}` (one chunk unless
        the model limits its input length)."""
        model = self.model(model_name)
        key = self._key(model, track, "latents")
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        slot = self._slot(model_name)
        with slot.lock:
            hit = self.cache.get(key)  # another thread may have computed it while we waited
            if hit is not None:
                return hit
            report = _stage(progress, 0.0, 0.3, f"{model_name}: encoding", f"{model_name}: encoded")
            return self.cache.put(key, self._encode_signals(model, track, self._plan(model, track), report))

    def track_table(
        self, track: Track, model_name: str, seed: int = 0, progress: Progress | None = None
    ) -> TrackTable:
        """The model rows of the demo table (`MODEL_ROWS`), all decoded with `seed`."""
        model = self.model(model_name)
        key = self._key(model, track, "table", seed=seed, rows=ROW_COEFFICIENTS, precision=self.precision.name)
        hit = self.cache.get(key)
        if hit is None:
            z = self.latents(track, model_name, progress)
            slot = self._slot(model_name)
            with slot.lock:
                hit = self.cache.get(key)
                if hit is None:
                    report = _stage(progress, 0.3, 1.0, f"{model_name}: decoding {len(MODEL_ROWS)} rows",
                                    f"{model_name}: decoded")
                    stacked = np.stack([ops.combine(ROW_COEFFICIENTS[r], z) for r in MODEL_ROWS])
                    decoded = self._decode_latents(model, track, self._plan(model, track), stacked, seed, report)
                    entry = {r: audio for r, (audio, _) in zip(MODEL_ROWS, decoded)}
                    entry["nonfinite"] = np.array([bad for _, bad in decoded], dtype=bool)
                    hit = self.cache.put(key, entry)
            if progress is not None:
                progress(1.0, desc=f"{model_name}: done")
        table = TrackTable((r, hit[r]) for r in MODEL_ROWS)
        table.nonfinite = tuple(r for r, bad in zip(MODEL_ROWS, hit["nonfinite"]) if bad)
        if table.nonfinite:
            log.warning("%s on %s: NaN/inf replaced by zeros in %s", model_name, track.id, ", ".join(table.nonfinite))
        return table

    def silence_latent(self, track: Track, model_name: str) -> np.ndarray:
        """Enc(silence) of the track's length, chunked like its latents: the origin of the latent space."""
        model = self.model(model_name)
        plan = self._plan(model, track)
        key = cache_key(v=CACHE_VERSION, model=model.name, weights=model.weights_hash,
                        op="silence", length=plan.length, chunk=plan.chunk)
        hit = self.cache.get(key)
        if hit is None:
            with self._slot(model_name).lock:
                silence = np.zeros((plan.n, plan.chunk), dtype=np.float32)
                per_pass = self._items_per_pass(model, plan, plan.n, "encode")
                z = self._batched(lambda b: _encode_pass(model, b, self.device), silence, per_pass)
                hit = self.cache.put(key, {"z": z})
        return hit["z"]

    def decode_combination(
        self,
        track: Track,
        model_name: str,
        coeffs: Mapping[str, float],
        seed: int = 0,
        origin_correction: bool = False,
    ) -> np.ndarray:
        """Dec(Σ coeffs[s] · z_s) for signals s in `SIGNALS`, at the track's rate and length.

        With `origin_correction`, Enc(silence) · (1 − Σ coeffs) is added to the latent first.
        """
        unknown = sorted(set(coeffs) - set(SIGNALS))
        if unknown:
            raise KeyError(f"unknown signals {unknown}; choose from {', '.join(SIGNALS)}")
        coeffs = {s: float(c) for s, c in sorted(coeffs.items()) if c != 0}
        model = self.model(model_name)
        key = self._key(model, track, "combination", coeffs=coeffs, seed=seed, origin=origin_correction,
                        precision=self.precision.name)
        hit = self.cache.get(key)
        if hit is None:
            z = self.latents(track, model_name)
            silence = self.silence_latent(track, model_name) if origin_correction else None
            z_comb = ops.combine(coeffs, z, silence=silence)
            with self._slot(model_name).lock:
                hit = self.cache.get(key)
                if hit is None:
                    [(audio, bad)] = self._decode_latents(model, track, self._plan(model, track), z_comb[None], seed)
                    if bad:
                        log.warning("%s on %s: NaN/inf replaced by zeros in %s", model_name, track.id, coeffs)
                    hit = self.cache.put(key, {"audio": audio})
        return hit["audio"]
