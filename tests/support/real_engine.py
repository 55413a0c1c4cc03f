"""What the tests that run the real sd-scripts share: where it is, their marks, and the machine-wide
lock that lets only one real training run at a time (one needs ~7 GB of RAM)."""

from __future__ import annotations

import os

import pytest

SD_SCRIPTS = os.environ.get("LORA_STUDIO_SDSCRIPTS")
BACKEND_PYTHON = os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON")

REAL_RUN_MARKS = [
    pytest.mark.sdscripts, pytest.mark.slow, pytest.mark.timeout(3600),
    pytest.mark.skipif(not (SD_SCRIPTS and BACKEND_PYTHON), reason="needs LORA_STUDIO_SDSCRIPTS(_PYTHON)"),
]


@pytest.fixture
def run_lock():
    import fcntl  # POSIX only: imported when a real run asks for it, not by every test session

    with open("/tmp/sd-run.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
