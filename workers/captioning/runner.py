"""One captioning job in the worker: model on disk, model loaded once, batches through it, freed.

Decoding runs ahead on loader threads (``Prefetcher``) while the main thread runs the model. A
``cancel`` from the driver is honoured between batches, so it takes effect within one batch.
Every result is sent as soon as its batch is done, so whatever happens later (cancel, a crash,
running out of memory) cannot take back what was already produced.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import Any

from services.captioning import protocol as P
from services.captioning.families import Family, family
from services.captioning.job import CaptionJob
from services.errors import LoraStudioError
from workers.captioning.base import Captioner, LoadError, is_out_of_memory
from workers.captioning.channel import Channel
from workers.captioning.download import DownloadCancelled, ensure_model
from workers.captioning.loader import Prefetcher

log = logging.getLogger(__name__)


def make_captioner(fam: Family, folder: Path, options: dict[str, Any], separator: str) -> Captioner:
    if fam.id == "wd14":
        from workers.captioning.wd14 import WD14Captioner

        return WD14Captioner(folder, options, separator)
    if fam.id == "blip":
        from workers.captioning.blip import BlipCaptioner

        return BlipCaptioner(folder, options, separator)
    if fam.id == "blip2":
        from workers.captioning.blip import Blip2Captioner

        return Blip2Captioner(folder, options, separator)
    raise LoadError(P.BAD_JOB, f"No worker for captioner {fam.id!r}.")


class JobRunner:
    def __init__(self, channel: Channel, job: CaptionJob) -> None:
        self.channel = channel
        self.job = job
        self.family = family(job.family)
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last_download = 0.0

    @property
    def cancelled(self) -> bool:
        return self.channel.cancelled.is_set()

    def _download_progress(self, name: str, done: int, total: int, index: int, files: int) -> None:
        self.channel.emit(P.DOWNLOAD, file=name, done=done, total=total, file_index=index, files=files)

    def _finish(self, code: int) -> int:
        self.channel.emit(P.DONE, done=self.done, failed=self.failed, total=len(self.job.images),
                          cancelled=self.cancelled, elapsed_s=round(time.monotonic() - self.started, 3))
        return code

    def _error(self, kind: str, message: str, hint: str = "", details: str = "") -> None:
        self.channel.emit(P.ERROR, kind=kind, message=message, hint=hint, details=details[-8000:])

    def run(self) -> int:
        job, channel = self.job, self.channel
        channel.emit(P.STATUS, stage="starting", message=f"Preparing the {self.family.title} model {job.model}")
        captioner: Captioner | None = None
        try:
            folder = ensure_model(self.family, job.model, job.models_dir, offline=job.offline,
                                  progress=self._download_progress, cancelled=channel.cancelled)
            if self.cancelled:
                return self._finish(P.EXIT_OK)
            channel.emit(P.STATUS, stage="loading", message=f"Loading {folder.name}")
            load_start = time.monotonic()
            captioner = make_captioner(self.family, folder, job.options, job.separator)
            loaded = captioner.load()
        except DownloadCancelled:
            return self._finish(P.EXIT_OK)
        except Exception as exc:
            if captioner is not None:
                captioner.close()
            if isinstance(exc, LoadError):
                self._error(exc.kind, exc.message, exc.hint, exc.details)
            else:
                self._report_exception(exc, "loading the model")
            return self._finish(P.EXIT_FAILED)
        for warning in loaded.warnings:
            channel.emit(P.WARNING, message=warning, hint="")
        try:
            channel.emit(P.READY, total=len(job.images), batch_size=job.batch_size, device=loaded.device,
                         load_s=round(time.monotonic() - load_start, 3))
            return self._finish(self._caption_all(captioner))
        finally:
            captioner.close()

    def _caption_all(self, captioner: Captioner) -> int:
        job, channel = self.job, self.channel
        total = len(job.images)
        threads = int(job.options.get("loader_threads", 2))
        batches = Prefetcher(job.images, captioner.preprocess, job.batch_size, threads=threads,
                             cancelled=channel.cancelled, first_batch=1)
        try:
            for batch in batches:
                if self.cancelled:
                    break
                good = []
                for item in batch:
                    if item.error:
                        self.failed += 1
                        channel.emit(P.IMAGE_FAILED, index=item.index, path=item.path, message=item.error)
                    else:
                        good.append(item)
                if good:
                    captions = captioner.caption([item.data for item in good])
                    for item, caption in zip(good, captions):
                        channel.emit(P.RESULT, index=item.index, path=item.path, caption=caption.text,
                                     tags=caption.tags)
                    self.done += len(good)
                channel.emit(P.PROGRESS, done=self.done, failed=self.failed, total=total,
                             elapsed_s=round(time.monotonic() - self.started, 3))
        except Exception as exc:
            self._report_exception(exc, "captioning")
            return P.EXIT_FAILED
        finally:
            batches.close()
        return P.EXIT_OK

    def _report_exception(self, exc: BaseException, during: str) -> None:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("error while %s: %s", during, details)
        if is_out_of_memory(exc):
            device = self.job.options.get("device") or self.job.options.get("execution_provider") or ""
            hint = (P.OOM_HINT.format(batch_size=self.job.batch_size) if device != "cpu" else
                    f"Lower the batch size (it was {self.job.batch_size}), or choose a smaller model.")
            self._error(P.OOM, f"The captioner ran out of memory while {during}.", hint, details)
        elif isinstance(exc, LoraStudioError):
            self._error(P.INTERNAL, exc.message, exc.hint, details)
        else:
            self._error(P.INTERNAL, f"The captioner failed while {during}: {type(exc).__name__}: {exc}",
                        "The details are in the log; please report them.", details)
