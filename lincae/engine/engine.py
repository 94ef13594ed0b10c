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

Threads: on a CPU, forward passes run on `COMPUTE_THREADS` computing threads of lower priority
(`lincae.engine.workers`), whatever thread asks, so requests that need no computation are answered first when the
cores are busy.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import torch

from lincae import ops
from lincae.data.track import Track
from lincae.engine.cache import Entry, TwoLevelCache, cache_key, sweep_temporary
from lincae.engine import zerogpu
from lincae.engine.device import Precision, auto_device, on_zero_gpu
from lincae.engine.disk_budget import DiskBudget
from lincae.engine.entries import NonFiniteAudio, TrackTable, complete_entry, table_from_entry
from lincae.engine.forward import ROW_COEFFICIENTS, ForwardPasses
from lincae.engine.loading import prepare
from lincae.engine.memory import Computations
from lincae.engine.passes import AUTO, BATCH_SECONDS, Progress
from lincae.engine.workers import Workers, share_cores
from lincae.limits import check_coefficients, check_seed
from lincae.models.base import Autoencoder
from lincae.rows import MODEL_ROWS, SIGNALS, STEMS
from lincae.settings import DEFAULT_CACHE_GB, Settings

log = logging.getLogger(__name__)

# Bump when the meaning of a cached result changes, so old entries are no longer found.
CACHE_VERSION = 3
COMPUTE_THREADS = 2
"""Forward passes at once, over every request (one per core of a small CPU server)."""
T = TypeVar("T")
WARM_UP_SECONDS = 0.5


def table_row(coeffs: Mapping[str, float], origin_correction: bool = False) -> str | None:
    """The model row of the demo table whose latent is Σ coeffs · z (with origin correction, when that adds
    nothing: the coefficients sum to 1), or None."""
    if origin_correction and sum(coeffs.values()) != 1:
        return None
    wanted = {s: c for s, c in coeffs.items() if c != 0}
    return next((r for r, latent in ROW_COEFFICIENTS.items() if latent == wanted), None)


@dataclass
class _Slot:
    """One model and the lock that serialises its loading and its forward passes."""

    lock: threading.Lock
    model: Autoencoder | None = None


class Engine(ForwardPasses):
    """Loads models once, runs them in batches, caches everything.

    device: "cuda", "mps", "cpu" or None for the best available. cache_dir: on-disk cache root (None: results
    are kept in memory only). memory_bytes: bound of the in-memory LRU. disk_budget_bytes: bound of the cache
    folder, least recently used files deleted beyond it (None: `lincae.settings.DEFAULT_CACHE_GB`). cpu_bf16:
    decode under bf16 autocast on CPU (faster, less exact: docs/BENCHMARKS.md). compile: compile decoders that
    support it with TorchInductor (faster after minutes of compilation per input shape). max_batch_seconds:
    most audio (items × chunk length) per forward pass, None for no limit, "auto" for `BATCH_SECONDS` (small
    passes on CPU, where big ones are slower); on a GPU an out-of-memory error also halves the passes.
    max_chunk_seconds: longer audio is processed in overlapping chunks (a model's own `max_chunk_size`, in
    samples, is a further limit). loader: `(name, device) -> Autoencoder`, the registry by default.
    fingerprint: `name -> str | None`, the identity of the weights the loader would load, found without loading
    them (the registry's `weights_id` by default; with a custom loader and no fingerprint, the loaded model's
    `weights_hash`). Cached results are keyed on it, so a cached table is served without loading, or
    downloading, its model. registry_settings: where the registry finds local weights and which Hub revisions
    it downloads (None: the environment's). A loaded model is prepared for the engine's passes
    (`lincae.engine.loading.prepare`).
    """

    def __init__(
        self,
        device: str | torch.device | None = None,
        cache_dir: str | os.PathLike | None = None,
        memory_bytes: int = 256 << 20,
        disk_budget_bytes: int | None = None,
        cpu_bf16: bool = False,
        compile: bool = False,
        max_batch_seconds: float | None | Literal["auto"] = AUTO,
        max_chunk_seconds: float | None = 30.0,
        loader: Callable[[str, torch.device], Autoencoder] | None = None,
        fingerprint: Callable[[str], str | None] | None = None,
        registry_settings: Settings | None = None,
    ) -> None:
        self.device = torch.device(device) if device is not None else auto_device()
        self.precision = Precision.for_device(self.device, cpu_bf16=cpu_bf16)
        self.compile = compile
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        if self.compile and on_zero_gpu():
            log.warning("ZeroGPU does not support torch.compile: decoders run without it")
            self.compile = False
        self.disk_budget = None
        if self.cache_dir is not None:
            sweep_temporary(self.cache_dir)  # what a killed process left half-written
            self.disk_budget = DiskBudget(self.cache_dir, disk_budget_bytes or int(DEFAULT_CACHE_GB * 1e9))
        self.cache = TwoLevelCache(self.cache_dir, memory_bytes,
                                   on_write=self.disk_budget.wrote if self.disk_budget else None)
        self.computations = Computations()
        # On a CPU, computations share the cores with the server; a GPU computes in the caller's thread (on
        # ZeroGPU the GPU call must come from the request's own thread).
        self.workers = Workers(COMPUTE_THREADS) if self.device.type == "cpu" and not on_zero_gpu() else None
        if self.workers is not None:
            share_cores(COMPUTE_THREADS)
        if max_batch_seconds == AUTO:
            self.batch_seconds = BATCH_SECONDS["cpu" if self.device.type == "cpu" else "gpu"]
        else:
            self.batch_seconds = {"encode": max_batch_seconds, "decode": max_batch_seconds}
        self.max_chunk_seconds = max_chunk_seconds
        if loader is None:  # the registry, which reports downloads and names weights without loading them
            from lincae import registry

            self._loader = registry.engine_loader(registry_settings)
            fingerprint = fingerprint or registry.engine_fingerprint(registry_settings)
        else:
            self._loader = loader
        self._loader_reports = loader is None
        self._fingerprint = fingerprint
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._token = zerogpu.register(self)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs) -> Engine:
        """The engine a `Settings` describes: its device, cache folder and its budget, decoder precision and
        compilation."""
        return cls(device=settings.device, cache_dir=settings.cache_dir, cpu_bf16=settings.cpu_bf16,
                   compile=settings.compile, registry_settings=settings,
                   disk_budget_bytes=int(settings.cache_gb * 1e9), **kwargs)

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

    def model(self, name: str, progress: Progress | None = None) -> Autoencoder:
        """The loaded model (loaded on first use, then kept; a failed load is tried again on the next call).
        `progress` hears about downloads."""
        slot = self._slot(name)
        if slot.model is not None:
            return slot.model  # loaded: no need to wait for the lock, which a computation may hold
        with slot.lock:
            if slot.model is None:
                model = (self._loader(name, self.device, progress) if self._loader_reports
                         else self._loader(name, self.device))
                slot.model = prepare(model, self._max_chunk(model), self.compile)
            return slot.model

    def warm_up(self, name: str) -> None:
        """Load the model and pass `WARM_UP_SECONDS` of silence through the engine's own encode and decode, so that a
        visitor's first request pays neither for loading nor for the first call's set-up. Nothing is cached."""
        model = self.model(name)
        n = int(WARM_UP_SECONDS * model.sample_rate)
        silent = Track(id="warm-up", title="warm-up", stems={s: np.zeros(n, np.float32) for s in STEMS},
                       sample_rate=model.sample_rate)
        with self._slot(name).lock:
            z = self._on_gpu("silence", name, silent, 1)
            self._on_gpu("decode", name, silent, 1, z=z[None], seed=0)

    # --- keys ---------------------------------------------------------------------------------------

    def _max_chunk(self, model: Autoencoder) -> int | None:
        limits = [getattr(model, "max_chunk_size", None)]
        if self.max_chunk_seconds is not None:
            limits.append(int(self.max_chunk_seconds * model.sample_rate))
        limits = [n for n in limits if n is not None]
        return min(limits) if limits else None

    def weights_id(self, name: str, progress: Progress | None = None) -> str:
        """The identity of a model's weights: without loading the model when the fingerprint knows it."""
        known = self._fingerprint(name) if self._fingerprint is not None else None
        loaded = self._slot(name).model
        return known or (loaded or self.model(name, progress)).weights_hash

    def _key(self, name: str, op: str, track: Track | None = None, progress: Progress | None = None,
             **params) -> str:
        """What a result depends on: the weights, the audio, the chunking, the operation and its parameters."""
        return cache_key(
            v=CACHE_VERSION,
            model=name,
            weights=self.weights_id(name, progress),
            audio=None if track is None else track.content_hash,
            chunk_seconds=self.max_chunk_seconds,
            op=op,
            **params,
        )

    def _on_gpu(self, method: str, name: str, track: Track, items: int, progress: Progress | None = None,
                **kwargs):
        """`_gpu_<method>` as one GPU call processing `items` signals of the track's length. The caller has
        loaded the model (outside any GPU call, where downloads can report progress) and holds its lock."""
        return self.compute(lambda: zerogpu.call(self._token, method, name, items * track.duration, progress,
                                                 track=track, **kwargs))

    def compute(self, fn: Callable[[], T]) -> T:
        """`fn()` on the engine's computing threads (`lincae.engine.workers`), at most `COMPUTE_THREADS` at once,
        at a lower priority than the threads that answer requests; on a GPU, in this thread. `fn` must not take
        the engine's locks."""
        return fn() if self.workers is None else self.workers.run(fn)

    # --- public ---------------------------------------------------------------------------------------

    def latents(self, track: Track, model_name: str, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Latents of mix, stems and accompaniment: `{signal: [chunks, *latent_shape]}` (one chunk unless
        the model limits its input length)."""
        key = self._key(model_name, "latents", track, progress)
        hit = self.cache.get(key, **complete_entry(SIGNALS))
        if hit is not None:
            return hit
        self.model(model_name, progress)
        with self._slot(model_name).lock, self.computations.running_one():
            hit = self.cache.get(key, **complete_entry(SIGNALS))  # another thread may have computed it meanwhile
            if hit is not None:
                return hit
            return self.cache.put(key, self._on_gpu("latents", model_name, track, len(SIGNALS), progress))

    def track_table(
        self, track: Track, model_name: str, seed: int = 0, progress: Progress | None = None
    ) -> TrackTable:
        """The model rows of the demo table (`MODEL_ROWS`), all decoded with `seed`. A cached table is served
        without loading the model."""
        seed = check_seed(seed)
        key = self._table_key(model_name, track, seed, progress)
        complete = complete_entry(MODEL_ROWS, track.num_samples, also=("nonfinite",))
        hit = self.cache.get(key, **complete)
        if hit is None:
            self.model(model_name, progress)  # outside the model's lock: a download must not hold it
            latents_key = self._key(model_name, "latents", track)
            with self._slot(model_name).lock, self.computations.running_one():
                hit = self.cache.get(key, **complete)
                if hit is None:
                    z = self.cache.get(latents_key, **complete_entry(SIGNALS))
                    items = len(MODEL_ROWS) + (len(SIGNALS) if z is None else 0)
                    z_new, entry = self._on_gpu("table", model_name, track, items, progress, seed=seed, z=z)
                    if z is None:
                        self.cache.put(latents_key, z_new)
                    hit = self.cache.put(key, entry)
            if progress is not None:
                progress(1.0, desc=f"{model_name}: done")
        return table_from_entry(hit, model_name, track)

    def cached_table(self, track: Track, model_name: str, seed: int = 0) -> TrackTable | None:
        """The table if it is cached, else None. Never computes, never loads a model and never waits for a
        computation, so a cached table is served at once while others compute."""
        if not self._knows_weights(model_name):
            return None  # the key needs the weights' identity, which only loading would tell
        hit = self.cache.get(self._table_key(model_name, track, check_seed(seed)),
                             **complete_entry(MODEL_ROWS, track.num_samples, also=("nonfinite",)))
        return None if hit is None else table_from_entry(hit, model_name, track)

    def _knows_weights(self, model_name: str) -> bool:
        """Whether the weights' identity is known without loading the model (fingerprint, or loaded already)."""
        loaded = self._slots.get(model_name)
        return ((self._fingerprint is not None and self._fingerprint(model_name) is not None)
                or (loaded is not None and loaded.model is not None))

    def derived(self, track: Track, model_name: str, op: str, names: tuple[str, ...],
                compute: Callable[[], Entry] | None = None, **params) -> Entry | None:
        """A result computed from a model's outputs on a track (its metrics, say), cached under everything those
        depend on, `op` and `params`. It holds `names`. Without `compute`, only the cache is looked at: None if
        absent, and the model is never loaded."""
        if compute is None and not self._knows_weights(model_name):
            return None
        key = self._key(model_name, op, track, precision=self.precision.name, **params)
        hit = self.cache.get(key, names=names)
        if hit is None and compute is not None:
            hit = self.cache.put(key, compute())
        return hit

    def _table_key(self, model_name: str, track: Track, seed: int, progress: Progress | None = None) -> str:
        return self._key(model_name, "table", track, progress, seed=seed, rows=ROW_COEFFICIENTS,
                         precision=self.precision.name)

    def silence_latent(self, track: Track, model_name: str) -> np.ndarray:
        """Enc(silence) of the track's length, chunked like its latents: the origin of the latent space."""
        key = self._key(model_name, "silence", length=track.num_samples, rate=track.sample_rate)
        hit = self.cache.get(key, names=("z",))
        if hit is None:
            self.model(model_name)
            with self._slot(model_name).lock:
                hit = self.cache.get(key, names=("z",))
                if hit is None:
                    hit = self.cache.put(key, {"z": self._on_gpu("silence", model_name, track, 1)})
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

        With `origin_correction`, Enc(silence) · (1 − Σ coeffs) is added to the latent first. Coefficients beyond
        `lincae.limits.COEFFICIENT_LIMIT` raise `InputError`; a decode with NaN/inf raises `NonFiniteAudio`. A
        combination that is a row of the track's table (`table_row`) comes from the cached table when it has one.
        """
        row = self._table_row(track, model_name, self._checked_combination(coeffs), check_seed(seed),
                              origin_correction)
        if row is not None:
            return row
        [audio] = self.decode_combinations(track, model_name, [coeffs], seed, origin_correction)
        return audio

    def _table_row(self, track: Track, model_name: str, coeffs: dict[str, float], seed: int,
                   origin_correction: bool) -> np.ndarray | None:
        """The combination's audio if it is one of the track's table rows (`table_row`) and that table is cached."""
        row = table_row(coeffs, origin_correction)
        table = None if row is None else self.cached_table(track, model_name, seed)
        return table[row] if table is not None and row not in table.nonfinite else None

    def decode_combinations(
        self,
        track: Track,
        model_name: str,
        combinations: Sequence[Mapping[str, float]],
        seed: int = 0,
        origin_correction: bool = False,
    ) -> list[np.ndarray]:
        """`decode_combination` of each combination; those not cached are decoded together, in batched passes."""
        combinations = [self._checked_combination(c) for c in combinations]
        seed = check_seed(seed)
        keys = [self._combination_key(model_name, track, c, seed, origin_correction) for c in combinations]
        complete = complete_entry(("audio",), track.num_samples, also=("nonfinite",))
        hits = [self.cache.get(k, **complete) for k in keys]
        if any(h is None for h in hits):
            z = self.latents(track, model_name)
            silence = self.silence_latent(track, model_name) if origin_correction else None
            self.model(model_name)
            with self._slot(model_name).lock, self.computations.running_one():
                hits = [h if h is not None else self.cache.get(k, **complete) for h, k in zip(hits, keys)]
                todo = [i for i, h in enumerate(hits) if h is None]  # another thread may have decoded the rest
                if todo:
                    z_comb = np.stack([ops.combine(combinations[i], z, silence=silence) for i in todo])
                    decoded = self._on_gpu("decode", model_name, track, len(todo),
                                           z=np.ascontiguousarray(z_comb, dtype=np.float32), seed=seed)
                    for i, (audio, bad) in zip(todo, decoded):
                        hits[i] = self.cache.put(keys[i], {"audio": audio, "nonfinite": np.array(bad)})
        if any(bool(h["nonfinite"]) for h in hits):
            raise NonFiniteAudio(f"{model_name} decoded this combination to NaN/inf: there is no audio to play. "
                                 "Try smaller gains.")
        return [h["audio"] for h in hits]

    def cached_combination(self, track: Track, model_name: str, coeffs: Mapping[str, float], seed: int = 0,
                           origin_correction: bool = False) -> np.ndarray | None:
        """`decode_combination` if it is cached (and finite), else None. Never computes, never loads a model."""
        if not self._knows_weights(model_name):
            return None
        coeffs, seed = self._checked_combination(coeffs), check_seed(seed)
        row = self._table_row(track, model_name, coeffs, seed, origin_correction)
        if row is not None:
            return row
        key = self._combination_key(model_name, track, coeffs, seed, origin_correction)
        hit = self.cache.get(key, **complete_entry(("audio",), track.num_samples, also=("nonfinite",)))
        return None if hit is None or hit["nonfinite"] else hit["audio"]

    def _combination_key(self, model_name: str, track: Track, coeffs: dict[str, float], seed: int,
                         origin_correction: bool) -> str:
        return self._key(model_name, "combination", track, coeffs=coeffs, seed=seed, origin=origin_correction,
                         precision=self.precision.name)

    @staticmethod
    def _checked_combination(coeffs: Mapping[str, float]) -> dict[str, float]:
        """The non-zero coefficients, in a stable order; unknown signals raise `KeyError`, absurd values
        `InputError`."""
        unknown = sorted(set(coeffs) - set(SIGNALS))
        if unknown:
            raise KeyError(f"unknown signals {unknown}; choose from {', '.join(SIGNALS)}")
        return {s: c for s, c in sorted(check_coefficients(coeffs).items()) if c != 0}
