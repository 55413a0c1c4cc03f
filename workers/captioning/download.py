"""Getting a model onto disk: already there, downloaded from the Hub (resumable), or a clear error.

Files go into ``<models folder>/<owner>/<name>`` with huggingface_hub's ``local_dir`` mode, which
keeps partial downloads and resumes them on the next attempt. Progress is reported per file in
bytes. Pickle weights (``*.bin``, ``*.pt``, ``*.ckpt``, ``*.pth``) are never fetched.
"""

from __future__ import annotations

import fnmatch
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
    return job_offline or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


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


def download(family: Family, status: ModelStatus, *, progress: Progress, cancelled: threading.Event) -> None:
    repo_id, folder = status.location.repo_id, status.location.folder
    try:
        from huggingface_hub import hf_hub_download
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
            def report(done: int, total: int, name=name, index=index) -> None:
                if cancelled.is_set():
                    raise DownloadCancelled()
                progress(name, done, total, index, len(files))

            report(0, 0)
            hf_hub_download(repo_id, name, local_dir=folder, tqdm_class=_progress_class(report))
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
    except (HfHubHTTPError, OSError) as exc:
        error = missing_model_error(family, status, f"the download failed: {type(exc).__name__}")
        raise LoadError(MISSING_MODEL if _is_connection(exc) else DOWNLOAD_FAILED, error.message,
                        error.hint + " A partial download is resumed on the next attempt.", details=str(exc)) from None
    except Exception as exc:
        if _is_connection(exc):
            error = missing_model_error(family, status, "the Hugging Face Hub cannot be reached")
            raise LoadError(MISSING_MODEL, error.message, error.hint, details=str(exc)) from None
        raise


def _is_connection(exc: BaseException) -> bool:
    names = {t.__name__ for t in type(exc).__mro__}
    return bool(names & {"ConnectError", "ConnectTimeout", "ConnectionError", "Timeout", "TimeoutException",
                         "NetworkError", "OfflineModeIsEnabled", "LocalEntryNotFoundError"})
