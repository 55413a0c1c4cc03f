"""Getting a model onto disk: already there, downloaded from the Hub (resumable), or a clear error.

Files go into ``<models folder>/<owner>/<name>``; a partial file is kept in its ``.partial`` folder
and resumed on the next attempt (after a cancel, a crash or a lost connection), and checked
against its size and, for large files, the SHA-256 the Hub gives as its ETag. Progress is reported
per file in bytes. Pickle weights (``*.bin``, ``*.pt``, ``*.ckpt``, ``*.pth``) are never fetched.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from services.captioning.families import Family
from services.captioning.models import ModelStatus, check, missing_model_error
from services.captioning.protocol import DOWNLOAD_FAILED, MISSING_MODEL
from workers.captioning.base import LoadError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5", ".msgpack")
Progress = Callable[[str, int, int, int, int], None]  # file, done, total, file_index, files


class DownloadCancelled(Exception):
    pass


def hub_offline(job_offline: bool) -> bool:
    """The job says so, or the environment does (huggingface_hub honours both variables)."""
    return job_offline or any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
                              for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def ensure_model(family: Family, model: str, models_dir: str, *, offline: bool, progress: Progress,
                 cancelled: threading.Event) -> Path:
    """The folder holding a complete model, downloading what is missing when allowed."""
    status = check(family, model, models_dir)
    if status.ready:
        return status.location.folder
    if status.location.is_local:
        error = missing_model_error(family, status, "")
        raise LoadError(MISSING_MODEL, error.message, error.hint)
    if hub_offline(offline):
        error = missing_model_error(family, status, "offline mode is on")
        raise LoadError(MISSING_MODEL, error.message, error.hint)
    download(family, status, progress=progress, cancelled=cancelled)
    after = check(family, model, models_dir)
    if not after.ready:
        raise LoadError("invalid_model",
                        f"{status.location.repo_id} does not have the files a {family.title} model needs: "
                        f"{', '.join(after.missing)}.",
                        "Choose a repository made for this captioner, or a local folder.")
    return after.location.folder


def _wanted(family: Family, repo_id: str) -> list[str]:
    patterns = family.download_patterns
    if not any(ch in p for p in patterns for ch in "*?["):
        return list(patterns)
    from huggingface_hub import HfApi

    files = HfApi().list_repo_files(repo_id)
    chosen = [f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns)
              and not f.lower().endswith(PICKLE_SUFFIXES) and "/" not in f]
    if any(p.endswith(".safetensors") for p in patterns) and not any(f.endswith(".safetensors") for f in chosen):
        raise LoadError("invalid_model", f"{repo_id} has no .safetensors weights.",
                        "LoRA Studio does not load pickle weights (.bin, .pt); choose a repository that publishes "
                        ".safetensors, or convert the model and choose its folder.")
    return sorted(chosen, key=lambda f: (f.endswith(".safetensors"), f))  # small files first


def _progress_class(report: Callable[[int, int], None]):
    from tqdm.auto import tqdm

    class _Report(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs["file"] = io.StringIO()
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)
            self._last = 0.0

        def update(self, n=1):
            result = super().update(n)
            now = time.monotonic()
            if now - self._last >= 0.2 or (self.total and self.n >= self.total):
                self._last = now
                report(int(self.n), int(self.total or 0))
            return result

    return _Report


def _fetch(repo_id: str, name: str, folder: Path, progress_class, cancelled: threading.Event) -> None:
    """One file into ``folder``, resuming a ``.part`` left by an earlier, interrupted attempt.

    huggingface_hub resumes only within one call (it deletes its partial file on failure), so the
    partial file is kept here, beside the model, until the download is complete and checked."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    target = folder / name
    meta = get_hf_file_metadata(hf_hub_url(repo_id, name))
    part = folder / ".partial" / f"{name}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    resume = part.stat().st_size if part.exists() else 0
    if meta.size is not None and resume > meta.size:
        part.unlink()
        resume = 0
    if meta.size is None or resume < meta.size:
        with open(part, "ab") as fh:
            http_get(meta.location, fh, resume_size=resume, headers=build_hf_headers(),
                     expected_size=meta.size, displayed_filename=name, tqdm_class=progress_class)
    if cancelled.is_set():
        raise DownloadCancelled()
    if meta.size is not None and part.stat().st_size != meta.size:
        raise OSError(f"{name}: received {part.stat().st_size} bytes of {meta.size}")
    etag = (meta.etag or "").strip('"')
    if len(etag) == 64 and all(c in "0123456789abcdef" for c in etag):  # large files: the etag is their sha256
        digest = hashlib.sha256()
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        if digest.hexdigest() != etag:
            part.unlink()
            raise OSError(f"{name}: the downloaded file does not match its checksum; it will be downloaded again")
    os.replace(part, target)


def download(family: Family, status: ModelStatus, *, progress: Progress, cancelled: threading.Event) -> None:
    repo_id, folder = status.location.repo_id, status.location.folder
    try:
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError as exc:  # pragma: no cover - huggingface_hub is a dependency of the app itself
        raise LoadError("missing_dependency", f"huggingface_hub is not installed ({exc}).") from None
    folder.mkdir(parents=True, exist_ok=True)
    try:
        files = _wanted(family, repo_id)
        for index, name in enumerate(files):
            if (folder / name).is_file():
                continue

            def report(done: int, total: int, name=name, index=index) -> None:
                if cancelled.is_set():
                    raise DownloadCancelled()
                progress(name, done, total, index, len(files))

            report(0, 0)
            _fetch(repo_id, name, folder, _progress_class(report), cancelled)
    except (DownloadCancelled, LoadError):
        raise
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        why = "it needs an accepted licence or a token" if isinstance(exc, GatedRepoError) else "not found"
        raise LoadError(DOWNLOAD_FAILED, f"The Hub repository {repo_id} cannot be downloaded: {why}.",
                        "Check the name, or log in with `hf auth login` if the repository is gated.",
                        details=str(exc)) from None
    except EntryNotFoundError as exc:
        raise LoadError("invalid_model", f"{repo_id} lacks a file the {family.title} captioner needs.",
                        "Choose a repository made for this captioner.", details=str(exc)) from None
    except LocalEntryNotFoundError as exc:
        error = missing_model_error(family, status, "the Hugging Face Hub cannot be reached")
        raise LoadError(MISSING_MODEL, error.message, error.hint, details=str(exc)) from None
    except Exception as exc:
        connection = _is_connection(exc)
        reason = "the Hugging Face Hub cannot be reached" if connection else \
            f"the download failed: {type(exc).__name__}: {exc}"
        error = missing_model_error(family, status, reason)
        if not connection and not isinstance(exc, (HfHubHTTPError, OSError)):
            raise
        raise LoadError(MISSING_MODEL if connection else DOWNLOAD_FAILED, error.message,
                        error.hint + " What was received is kept, and the download resumes on the next attempt.",
                        details=str(exc)) from None


def _is_connection(exc: BaseException) -> bool:
    names = {t.__name__ for t in type(exc).__mro__}
    return bool(names & {"ConnectError", "ConnectTimeout", "ConnectionError", "Timeout", "TimeoutException",
                         "NetworkError", "OfflineModeIsEnabled", "LocalEntryNotFoundError"})
