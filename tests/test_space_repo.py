"""What a Hugging Face Space needs of this repository: a valid front matter whose preloads are the files the
app asks for, no binary or large file outside LFS, and requirements that need no system package."""
from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from lincae.models import official
from lincae.registry import PINNED_REVISIONS

ROOT = Path(__file__).resolve().parents[1]
PLAIN_GIT_LIMIT = 10 * 1024 * 1024  # the Hub rejects larger files outside LFS/Xet
SPACE_KEYS = {  # https://huggingface.co/docs/hub/spaces-config-reference
    "title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version", "suggested_hardware",
    "suggested_storage", "app_file", "app_build_command", "app_port", "base_path", "fullWidth", "header",
    "short_description", "models", "datasets", "tags", "thumbnail", "pinned", "hf_oauth", "hf_oauth_scopes",
    "hf_oauth_expiration_minutes", "hf_oauth_authorized_org", "disable_embedding", "startup_duration_timeout",
    "custom_headers", "preload_from_hub", "license",
}
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with a YAML front matter block"
    return yaml.safe_load(match.group(1))


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the files a Space would receive are unknown")
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def test_front_matter_is_a_valid_gradio_space() -> None:
    meta = front_matter()
    assert set(meta) <= SPACE_KEYS, f"unknown keys: {set(meta) - SPACE_KEYS}"
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == version("gradio")
    assert (ROOT / meta["app_file"]).is_file()
    assert meta["colorFrom"] in COLORS and meta["colorTo"] in COLORS
    assert str(meta["python_version"]) == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert len(meta["short_description"]) <= 60  # the Hub refuses longer ones


def test_preloads_are_the_official_checkpoints_at_the_pinned_revision() -> None:
    """Each line is `repo file,file,… [revision]`; together they are every file the registry downloads for the
    official models, at the revision it downloads them at."""
    preloaded: set[str] = set()
    for line in front_matter()["preload_from_hub"]:
        repo, files, *revision = line.split()
        assert repo == official.HUB_REPO
        assert (revision[0] if revision else "main") == PINNED_REVISIONS[repo]
        preloaded |= set(files.split(","))
    wanted = {f"{official.hub_folder(m)}/{f}" for m in official.HASHES for f in official.FILE_NAMES}
    assert preloaded == wanted


def _lfs_patterns() -> list[str]:
    path = ROOT / ".gitattributes"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [line.split()[0] for line in lines if "filter=lfs" in line and not line.startswith("#")]


def _binary(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\0" in f.read(8192)


def test_binary_and_large_files_go_through_lfs() -> None:
    patterns = _lfs_patterns()
    outside = [f for f in tracked_files()
               if ((ROOT / f).stat().st_size > PLAIN_GIT_LIMIT or _binary(ROOT / f))
               and not any(fnmatch.fnmatch(Path(f).name, p) for p in patterns)]
    assert not outside, f"binary or > 10 MB, not LFS-tracked in .gitattributes: {outside}"


def test_requirements_are_pinned_and_need_no_system_package() -> None:
    """A Space installs `requirements.txt` with pip; system packages would need a `packages.txt`. The app's
    native needs come inside wheels: libsndfile in soundfile's, ffmpeg in imageio-ffmpeg's."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", r) for r in requirements), requirements
    assert not (ROOT / "packages.txt").exists()
    import imageio_ffmpeg
    import soundfile

    from lincae.audio import ffmpeg_exe

    assert Path(ffmpeg_exe()).resolve().is_relative_to(Path(imageio_ffmpeg.__file__).resolve().parent)
    assert soundfile.__libsndfile_version__
