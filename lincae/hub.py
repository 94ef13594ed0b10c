"""Weights from the Hugging Face Hub: pinned revisions, retried downloads, progress, and file identities.

Every download goes through `huggingface_hub` at a pinned revision, so a Space serves the weights it was
tested with and its caches stay valid. Transient Hub errors (connection errors, timeouts, 408/429/5xx) are
retried with exponential back-off by `huggingface_hub` itself (5 tries, 1–8 s apart); any other failure of a
transfer (a broken stream, a short file) is tried again here. A request that still fails raises, and the next
request tries again: nothing here remembers a failure.
`file_identity` names a weight file by its content (sha256) without loading it and, when it is in the local
Hugging Face cache, without reading it: the cache stores a Hub LFS file under its sha256.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tqdm.auto import tqdm

log = logging.getLogger(__name__)

DownloadProgress = Callable[[str, int, int], object]
"""Called as `report(file name, bytes done, bytes in all)` while a file downloads."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Retry:
    """How often and how patiently a failed transfer is tried again within one request (on top of
    `huggingface_hub`'s own back-off)."""

    attempts: int = 2
    first_wait_s: float = 2.0

    def waits(self) -> list[float]:
        return [self.first_wait_s * 2**k for k in range(self.attempts - 1)]


RETRY = Retry()


def _byte_counter(name: str, report: DownloadProgress) -> type[tqdm]:
    """A silent tqdm class that passes the bytes `huggingface_hub` reports on to `report`."""

    class ByteCounter(tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.pop("name", None)  # huggingface_hub's logger name, not a tqdm option
            kwargs["file"] = io.StringIO()
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            report(name, int(self.n), int(self.total or 0))
            return shown

    return ByteCounter


def download(
    repo: str,
    filenames: Sequence[str],
    revision: str,
    token: str | None = None,
    report: DownloadProgress | None = None,
    retry: Retry | None = None,
) -> list[Path]:
    """Local paths of `filenames` of `repo` at `revision`, downloaded into the Hugging Face cache if missing.

    A file whose transfer fails is tried `retry.attempts` times with doubling waits; errors the Hub answered
    with, or that `huggingface_hub` already retried, are raised at once. Raises the last error.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    retry = retry or RETRY
    paths = []
    for filename in filenames:
        bar = _byte_counter(filename, report) if report is not None else None
        for wait in [*retry.waits(), None]:
            try:
                paths.append(Path(hf_hub_download(repo, filename, revision=revision, token=token, tqdm_class=bar)))
                break
            except (HfHubHTTPError, LocalEntryNotFoundError):
                raise
            except Exception as err:  # a transfer that broke off: the next try resumes it
                if wait is None:
                    raise
                log.warning("downloading %s/%s failed (%s); retrying in %.0f s", repo, filename, err, wait)
                time.sleep(wait)
    return paths


def failure_reason(err: BaseException) -> str:
    """What went wrong, in one line: the Hub's own error, else the deepest cause (`huggingface_hub` wraps an
    HTTP 503 or a refused connection in a generic "cannot find the requested files" error)."""
    from huggingface_hub.errors import HfHubHTTPError

    while not isinstance(err, HfHubHTTPError) and (err.__cause__ or err.__context__) is not None:
        err = err.__cause__ or err.__context__
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(err).__name__


def cached(repo: str, filenames: Sequence[str], revision: str) -> list[Path] | None:
    """Paths of all `filenames` at `revision` in the local Hugging Face cache, or None if any is missing."""
    from huggingface_hub import try_to_load_from_cache

    paths = [try_to_load_from_cache(repo, f, revision=revision) for f in filenames]
    return [Path(p) for p in paths] if all(isinstance(p, str) for p in paths) else None


def file_identity(path: Path) -> str:
    """The sha256 of a file's content (16 hex digits): the Hub's own LFS name for it, read from the cache's blob
    name when the file is a Hugging Face cache entry, else computed once per file version."""
    blob = Path(os.path.realpath(path))
    if blob.parent.name == "blobs" and _SHA256.match(blob.name):
        return blob.name[:16]
    stat = blob.stat()
    return _sha256(str(blob), stat.st_size, stat.st_mtime_ns)[:16]


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Keyed on size and modification time too, so a replaced file is hashed again."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def remote_identity(repo: str, filename: str, revision: str, token: str | None, timeout_s: float) -> str | None:
    """The content identity of a Hub file from its metadata (one HEAD request, nothing downloaded), or None when
    the Hub does not answer or the file is not stored by content hash."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    try:
        meta = get_hf_file_metadata(hf_hub_url(repo, filename, revision=revision), token=token, timeout=timeout_s)
    except Exception:  # unreachable or refused: the caller loads the model instead
        return None
    etag = (meta.etag or "").strip('"')
    return etag[:16] if _SHA256.match(etag) else None
