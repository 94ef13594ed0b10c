"""Which models exist, where their weights come from, and why one cannot run here.

`list_models()` never loads weights and never waits on the network (unless `probe=True`): it looks at
the bundled checkpoints, the local mirrors of the settings (`weights_dir` / `sao_vae_dir`, by default from
`LINCAE_WEIGHTS_DIR` / `LINCAE_SAO_VAE_DIR`), the Hugging Face cache, `HF_HUB_OFFLINE` and whether a token
is set. `load_model()` downloads what is missing (at the settings' Hub revision, retried, see `lincae.hub`);
`weights_id()` names a model's weights without loading them, so cached results are found before (or without)
any load.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import torch

from lincae import hub
from lincae.models import official, oobleck
from lincae.models.base import Autoencoder, ModelInfo, weights_fingerprint
from lincae.settings import ENVIRONMENT, Settings, from_environment

WEIGHTS_DIR_ENV = ENVIRONMENT["weights_dir"]
SAO_VAE_DIR_ENV = ENVIRONMENT["sao_vae_dir"]
EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"
SAMPLE_RATE = 44100
PROBE_TIMEOUT_S = 3.0

PINNED_REVISIONS: dict[str, str] = {official.HUB_REPO: "main", oobleck.HUB_REPO: "main"}
"""The Hub revision each repository is downloaded at unless the settings name another. A commit SHA makes a
deployment reproducible and keeps it from changing under its caches; these repositories' SHAs could not be
looked up where this was written, so they follow `main` until a deployer fills them in (README, "Deploy on a
Hugging Face Space")."""


LoadProgress = Callable[[str], object]
"""Called with a line for people while a model loads ("downloading lin-cae 120/230 MB (…)")."""


class ModelUnavailable(RuntimeError):
    """A known model that cannot be loaded here; `reason` says why in words."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"model {name!r} is unavailable: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class _Where:
    """Where a model's weights are right now. `location` is None when they are downloaded on load."""

    source: str
    reason: str = ""
    location: object = None
    revision: str = "main"


@dataclass(frozen=True)
class _Spec:
    name: str
    display_name: str
    family: str
    linear: bool
    embedded: bool
    description: str
    locate: Callable[[str, bool, Settings], _Where]
    load: Callable[[str, _Where, torch.device, LoadProgress | None], Autoencoder]
    identify: Callable[[str, _Where], str | None]


# --- where weights come from ------------------------------------------------------------------------


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def _hub_token() -> str | None:
    """The Hub token as `huggingface_hub` finds it (`HF_TOKEN`, then the saved login)."""
    from huggingface_hub import get_token

    return get_token()


def _revision(repo: str, settings: Settings) -> str:
    chosen = {official.HUB_REPO: settings.official_revision, oobleck.HUB_REPO: settings.sao_vae_revision}[repo]
    return chosen or PINNED_REVISIONS[repo]


def _hub_download(repo: str, filenames: list[str], name: str, revision: str,
                  progress: LoadProgress | None) -> list[Path]:
    def report(filename: str, done: int, total: int) -> None:
        progress(f"downloading {name} {done / 1e6:.1f}/{total / 1e6:.1f} MB ({Path(filename).name})")

    try:
        return hub.download(repo, filenames, revision, token=_hub_token(),
                            report=report if progress is not None else None)
    except Exception as e:  # network, auth and disk errors all mean the same thing to the caller
        raise ModelUnavailable(name, f"could not download the weights from {repo}: {hub.failure_reason(e)}") from e


def _remote(repo: str, probe_file: str, probe: bool, local_env: str, gated: bool, revision: str) -> _Where:
    """The Hub as the source of weights that are in no local folder or cache."""
    source = f"Hugging Face Hub: {repo}"
    offline = f"weights not reachable offline (set {local_env} or connect to the Hub)"
    if _hub_offline():
        return _Where(source, offline)
    token = _hub_token()
    if gated and not token:
        return _Where(source, f"needs an HF token (gated model: accept the licence of {repo}, then set HF_TOKEN)")
    if probe:
        from huggingface_hub import get_hf_file_metadata, hf_hub_url
        from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

        try:
            get_hf_file_metadata(hf_hub_url(repo, probe_file, revision=revision), token=token,
                                 timeout=PROBE_TIMEOUT_S)
        except (GatedRepoError, HfHubHTTPError) as e:
            licence = f": accept the licence of {repo} with the account of the token" if gated else ""
            return _Where(source, f"the Hub refused access ({e.__class__.__name__}){licence}")
        except Exception:  # DNS, connection, timeout
            return _Where(source, offline)
    return _Where(f"{source}, downloaded on first load", revision=revision)


def _official_files(name: str) -> list[str]:
    return [f"{official.hub_folder(name)}/{f}" for f in official.FILE_NAMES]


def _locate_official(name: str, probe: bool, settings: Settings) -> _Where:
    hub_files = _official_files(name)
    revision = _revision(official.HUB_REPO, settings)
    if find_spec("linear_cae") is None:
        return _Where(official.HUB_REPO, "package linear-cae not installed")
    mirror = settings.weights_dir
    if mirror:
        files = official.WeightFiles(*(Path(mirror) / f for f in hub_files))
        if all(p.is_file() for p in files):
            return _Where(f"local mirror ({WEIGHTS_DIR_ENV})", location=files)
    cached = hub.cached(official.HUB_REPO, hub_files, revision)
    if cached:
        return _Where("Hugging Face cache", location=official.WeightFiles(*cached))
    return _remote(official.HUB_REPO, hub_files[1], probe, WEIGHTS_DIR_ENV, gated=False, revision=revision)


def _load_official(name: str, where: _Where, device: torch.device, progress: LoadProgress | None) -> Autoencoder:
    files = where.location
    if files is None:
        downloaded = _hub_download(official.HUB_REPO, _official_files(name), name, where.revision, progress)
        files = official.WeightFiles(*downloaded)
    module = official.build_module(name, files)
    return official.OfficialAutoencoder(module, weights_fingerprint(files.checkpoint)).to(device)


def _identify_official(name: str, where: _Where) -> str | None:
    if where.location is not None:
        return weights_fingerprint(where.location.checkpoint)
    return hub.remote_identity(official.HUB_REPO, _official_files(name)[0], where.revision, _hub_token(),
                               PROBE_TIMEOUT_S)


def _sao_weights(folder: Path) -> Path | None:
    return next(iter(sorted(folder.glob("diffusion_pytorch_model*"))), None)


_SAO_FILES = [f"{oobleck.SUBFOLDER}/{oobleck.CONFIG_FILE}", f"{oobleck.SUBFOLDER}/{oobleck.WEIGHTS_FILE}"]


def _locate_sao(name: str, probe: bool, settings: Settings) -> _Where:
    revision = _revision(oobleck.HUB_REPO, settings)
    if find_spec("diffusers") is None:
        return _Where(oobleck.HUB_REPO, "package diffusers not installed")
    local = settings.sao_vae_dir
    if local and (Path(local) / oobleck.CONFIG_FILE).is_file() and _sao_weights(Path(local)):
        return _Where(f"local folder ({SAO_VAE_DIR_ENV})", location=Path(local))
    cached = hub.cached(oobleck.HUB_REPO, _SAO_FILES, revision)
    if cached:
        return _Where("Hugging Face cache", location=cached[0].parent)
    return _remote(oobleck.HUB_REPO, _SAO_FILES[0], probe, SAO_VAE_DIR_ENV, gated=True, revision=revision)


def _load_sao(name: str, where: _Where, device: torch.device, progress: LoadProgress | None) -> Autoencoder:
    folder = where.location
    if folder is None:
        folder = _hub_download(oobleck.HUB_REPO, _SAO_FILES, name, where.revision, progress)[0].parent
    module = oobleck.build_module(folder)
    return oobleck.OobleckAutoencoder(module, weights_fingerprint(_sao_weights(folder)), name).to(device)


def _identify_sao(name: str, where: _Where) -> str | None:
    if where.location is not None:
        return weights_fingerprint(_sao_weights(where.location))
    return hub.remote_identity(oobleck.HUB_REPO, _SAO_FILES[1], where.revision, _hub_token(), PROBE_TIMEOUT_S)


def _locate_embedded(name: str, probe: bool, settings: Settings) -> _Where:
    path = EMBEDDED_DIR / f"{name}.pt"
    source = f"bundled checkpoint assets/models/{name}.pt"
    if not path.is_file():
        return _Where(source, "embedded checkpoint not found")
    if find_spec("lincae.models.spectral_ae") is None:
        return _Where(source, "embedded model code (lincae.models.spectral_ae) not found")
    return _Where(source, location=path)


def _load_embedded(name: str, where: _Where, device: torch.device, progress: LoadProgress | None) -> Autoencoder:
    from lincae.models.spectral_ae import load_checkpoint

    return load_checkpoint(where.location, device)


def _identify_embedded(name: str, where: _Where) -> str | None:
    return weights_fingerprint(where.location)


# --- the models -------------------------------------------------------------------------------------

_EMBEDDED_NOTE = (
    "Trained by this project on generated songs and CC0 recordings, demo-scale (under an hour on one CPU core; "
    "numbers in its model card): it shows the contrast between the two training recipes, not studio quality."
)
_OFFICIAL_NOTE = (
    "Released by the paper's authors (Torres et al., arXiv 2510.23530) through the linear-cae package: "
    "Music2Latent architecture, 58 M parameters, consistency decoder (one step, seeded noise), "
    "64 latent channels at 10.8 Hz."
)

_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "demo-lincae", "Demo Lin-AE (trained here)", "spectral-ae", linear=True, embedded=True,
        description="Small deterministic MDCT-domain autoencoder (0.7 M parameters, 4× compression: 64 latent "
        "values per 256 samples) with the paper's compressive magnitude front end (0.34·|c|^p), trained with the "
        "Lin-CAE augmentation (latent mixtures and gains). " + _EMBEDDED_NOTE,
        locate=_locate_embedded, load=_load_embedded, identify=_identify_embedded,
    ),
    _Spec(
        "demo-ae", "Demo AE baseline (trained here)", "spectral-ae", linear=False, embedded=True,
        description="The same small MDCT-domain autoencoder (4× compression, compressive front end), same "
        "data, seed and steps, trained without the augmentation. " + _EMBEDDED_NOTE,
        locate=_locate_embedded, load=_load_embedded, identify=_identify_embedded,
    ),
    _Spec(
        "lin-cae", "Lin-CAE (official)", "consistency-ae", linear=True, embedded=False,
        description="Linear consistency autoencoder, trained with latent mixtures and gains, the gain range "
        "annealed to 1 at the end. " + _OFFICIAL_NOTE,
        locate=_locate_official, load=_load_official, identify=_identify_official,
    ),
    _Spec(
        "lin-cae-2", "Lin-CAE-2 (official)", "consistency-ae", linear=True, embedded=False,
        description="Linear consistency autoencoder, trained with latent mixtures and gains, without "
        "annealing the gain range. " + _OFFICIAL_NOTE,
        locate=_locate_official, load=_load_official, identify=_identify_official,
    ),
    _Spec(
        "m2l", "M2L (official baseline)", "consistency-ae", linear=False, embedded=False,
        description="Music2Latent retrained on the same data and schedule without the linearity "
        "augmentation: the paper's baseline. " + _OFFICIAL_NOTE,
        locate=_locate_official, load=_load_official, identify=_identify_official,
    ),
    _Spec(
        "stable-audio-vae", "Stable Audio VAE", "oobleck", linear=False, embedded=False,
        description="The VAE of Stable Audio Open 1.0 by Stability AI (Oobleck, 156 M parameters, stereo, "
        "64 latent channels at 21.5 Hz), gated on the Hub; a non-linear reference. Mono input is duplicated "
        "to stereo, the output is the channel mean, the latent is the posterior mean.",
        locate=_locate_sao, load=_load_sao, identify=_identify_sao,
    ),
)
_BY_NAME = {s.name: s for s in _SPECS}


def _spec(name: str) -> _Spec:
    if name not in _BY_NAME:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def _info(spec: _Spec, where: _Where) -> ModelInfo:
    return ModelInfo(
        name=spec.name, display_name=spec.display_name, family=spec.family, source=where.source,
        sample_rate=SAMPLE_RATE, embedded=spec.embedded, linear=spec.linear, available=not where.reason,
        reason=where.reason, description=spec.description,
    )


def model_info(name: str, probe: bool = False, settings: Settings | None = None) -> ModelInfo:
    """One model's registry row. `settings`: where local weights are (None: as the environment says)."""
    spec = _spec(name)
    return _info(spec, spec.locate(name, probe, settings or from_environment()))


class Reprober:
    """`model_info(name, probe=True)` for models that could not run, asked again at most once per `cool_down_s`
    per model: a Hub that answers again makes the model playable without a restart, while an unreachable Hub
    costs one quick probe a minute instead of a download attempt (and its back-off) in every table request."""

    def __init__(self, settings: Settings, cool_down_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.settings, self.cool_down_s, self.clock = settings, cool_down_s, clock
        self._last: dict[str, tuple[float, ModelInfo]] = {}

    def __call__(self, name: str) -> ModelInfo:
        now = self.clock()
        last = self._last.get(name)
        if last is not None and now - last[0] < self.cool_down_s:
            return last[1]
        info = model_info(name, probe=True, settings=self.settings)
        self._last[name] = (now, info)
        return info


def list_models(probe: bool = False, settings: Settings | None = None) -> list[ModelInfo]:
    """Every known model, embedded first, then the official ones, then Stable Audio.

    Looks only at local files and the environment; `probe=True` also asks the Hub (a few seconds at most)
    whether weights that would be downloaded are reachable.
    """
    settings = settings or from_environment()

    def info(spec: _Spec) -> ModelInfo:
        return _info(spec, spec.locate(spec.name, probe, settings))

    if not probe:
        return [info(s) for s in _SPECS]
    with ThreadPoolExecutor(max_workers=len(_SPECS)) as pool:  # probes wait on the network: not one after another
        return list(pool.map(info, _SPECS))


def load_model(
    name: str,
    device: torch.device | str | None = None,
    settings: Settings | None = None,
    progress: LoadProgress | None = None,
) -> Autoencoder:
    """The model ready to run on `device` (default: CUDA when present, else CPU); `progress` hears about
    downloads. `settings`: local weight folders and Hub revisions (None: as the environment says).

    Raises `ValueError` for an unknown name and `ModelUnavailable` (with the reason) when it cannot run here.
    Nothing is remembered about a failure: the next call tries again.
    """
    spec = _spec(name)
    where = spec.locate(name, False, settings or from_environment())
    if where.reason:
        raise ModelUnavailable(name, where.reason)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return spec.load(name, where, device, progress)


def weights_id(name: str, settings: Settings | None = None) -> str | None:
    """The identity of the weights `load_model(name)` would load (its `weights_hash`), found without loading
    them: from the local file, or from the Hub's metadata for a file not downloaded yet. None when it cannot be
    known without loading (the Hub does not answer, or the model cannot run here)."""
    spec = _spec(name)
    where = spec.locate(name, False, settings or from_environment())
    return None if where.reason else spec.identify(name, where)


def engine_loader(settings: Settings | None = None) -> Callable[..., Autoencoder]:
    """`load_model` as the engine calls it: `(name, device, progress)`, progress as `progress(0.0, desc=line)`."""

    def load(name: str, device: torch.device, progress: Callable[..., object] | None = None) -> Autoencoder:
        report = None if progress is None else (lambda line: progress(0.0, desc=line))
        return load_model(name, device=device, settings=settings, progress=report)

    return load


def engine_fingerprint(settings: Settings | None = None) -> Callable[[str], str | None]:
    """`weights_id` for the engine's cache keys; None for a name the registry does not know (its loader is the
    one to ask)."""

    def fingerprint(name: str) -> str | None:
        try:
            return weights_id(name, settings)
        except ValueError:
            return None

    return fingerprint
