"""MUSDB18's 7-second previews, offered as extra tracks when they could be downloaded.

The archive is the one the `musdb` package downloads (`musdb.DB(download=True)`, the URL of its
`configs/mus.yaml`), unpacked the same way into the same folder, `~/MUSDB18/MUSDB18-7`:
`<root>/{train,test}/<Artist - Title>.stem.mp4`. The package itself is not used: importing it imports stempeg,
which refuses to load without a system ffmpeg (an apt package), while this app decodes with the ffmpeg inside
the imageio-ffmpeg wheel (`lincae.data.library.decode_stem_file`). Without the network the previews are simply
not offered: the bundled songs are the tracks that always exist.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from lincae.data.library import TrackInfo, decode_stem_file
from lincae.data.track import Track

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path.home() / "MUSDB18" / "MUSDB18-7"
"""Where the `musdb` package keeps the previews."""
URL = "https://github.com/sigsep/sigsep-mus-db/releases/download/v0.4.0/MUSDB18-7-STEMS.zip"
TIMEOUT_S = 30.0
ID_PREFIX = "musdb7:"
SUBSETS = ("test", "train")
SOURCE = "MUSDB18 7-second preview (sigsep), downloaded by the musdb package"
LICENCE = "MUSDB18: research use, per-track licences (see the dataset's documentation)"


def fetch(root: Path = DEFAULT_ROOT, url: str = URL) -> bool:
    """Download and unpack the previews into `root` unless they are there; False (and a log line) when that
    fails. Only `.stem.mp4` files of the two subsets are unpacked, into a temporary folder renamed into place."""
    if any((root / subset).is_dir() for subset in SUBSETS):
        return True
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
            archive = Path(tmp) / "previews.zip"
            request = urllib.request.Request(url, headers={"User-Agent": "lincae"})
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out)
            unpacked = Path(tmp) / "unpacked"
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    parts = Path(member).parts
                    if len(parts) == 2 and parts[0] in SUBSETS and parts[1].endswith(".stem.mp4"):
                        (unpacked / parts[0]).mkdir(parents=True, exist_ok=True)
                        with zf.open(member) as src, open(unpacked / parts[0] / parts[1], "wb") as dst:
                            shutil.copyfileobj(src, dst)
            if not unpacked.is_dir():
                raise ValueError(f"no {'/'.join(SUBSETS)} .stem.mp4 files in {url}")
            unpacked.rename(root)
    except Exception as err:  # offline, a proxy, a full disk: the app goes on with its bundled songs
        log.warning("MUSDB18 previews not downloaded (%s): only the bundled songs are offered", err)
        return False
    return True


def _files(root: Path) -> dict[str, Path]:
    return {f"{ID_PREFIX}{subset}/{path.name.removesuffix('.stem.mp4')}": path
            for subset in SUBSETS for path in sorted((root / subset).glob("*.stem.mp4"))}


def list_previews(root: Path = DEFAULT_ROOT) -> list[TrackInfo]:
    """The previews found under `root`, test songs first, each sorted by name."""
    return [TrackInfo(track_id, f"{path.name.removesuffix('.stem.mp4')} (MUSDB18 preview, 7 s)", SOURCE, LICENCE)
            for track_id, path in _files(root).items()]


def load_preview(track_id: str, root: Path = DEFAULT_ROOT) -> Track:
    """One preview as a track; KeyError for an id that names no preview file under `root`."""
    path = _files(root).get(track_id) if track_id.startswith(ID_PREFIX) else None
    if path is None:
        raise KeyError(f"unknown track {track_id!r}")
    name = path.name.removesuffix(".stem.mp4")
    return Track(id=track_id, title=f"{name} (MUSDB18 preview)", stems=decode_stem_file(path), source=SOURCE,
                 licence=LICENCE)
