"""Models downloaded on first use into the models folder, with progress, cancel and resume.

The Hub is replaced by tests/captioning/fake_hub.py on 127.0.0.1; the download code is the
product's (huggingface_hub in the worker process).
"""

from __future__ import annotations

import os

import pytest

from services.captioning import protocol as P
from services.captioning.driver import WorkerDriver
from services.captioning.job import CaptionJob
from tests.captioning.builders import build_tiny_tagger
from tests.captioning.fake_hub import FakeHub

REPO = "tester/tiny-tagger"


def hub_env(hub: FakeHub) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1", HF_HUB_ETAG_TIMEOUT="5", NO_PROXY="127.0.0.1",
               no_proxy="127.0.0.1")
    return env


@pytest.fixture
def big_tagger(tmp_path):
    # huggingface_hub reports progress every 10 MB: make the file large enough for several reports.
    return build_tiny_tagger(tmp_path / "published", padding_mb=24)


def job_for(models_dir, images) -> CaptionJob:
    return CaptionJob("wd14", REPO, [str(p) for p in images], {"batch_size": 2}, models_dir=str(models_dir)).validate()


def test_a_hub_model_is_downloaded_on_first_use_with_progress(tmp_path, big_tagger, colour_images):
    models = tmp_path / "models"
    with FakeHub({REPO: big_tagger}, chunk=256 * 1024, delay_per_chunk=0.02) as hub:
        driver = WorkerDriver(job_for(models, colour_images.values()), env=hub_env(hub))
        driver.start()
        messages = list(driver.messages())
    assert driver.outcome.ok, (driver.outcome.error, driver.stderr_tail())
    folder = models / "tester" / "tiny-tagger"
    assert (folder / "model.onnx").read_bytes() == (big_tagger / "model.onnx").read_bytes()
    assert (folder / "selected_tags.csv").is_file()
    downloads = [m for m in messages if m.type == P.DOWNLOAD and m.get("file") == "model.onnx"]
    size = (big_tagger / "model.onnx").stat().st_size
    assert len(downloads) >= 2 and downloads[-1].get("done") == size and downloads[-1].get("total") == size
    assert [m.get("done") for m in downloads] == sorted(m.get("done") for m in downloads)
    assert driver.outcome.done == 6
    # The second job finds the model on disk and does not ask the Hub again.
    with FakeHub({REPO: big_tagger}) as hub:
        driver = WorkerDriver(job_for(models, colour_images.values()), env=hub_env(hub))
        assert driver.run().ok and hub.requests == []


def test_a_cancelled_download_resumes_where_it_stopped(tmp_path, big_tagger, colour_images):
    models = tmp_path / "models"
    size = (big_tagger / "model.onnx").stat().st_size
    with FakeHub({REPO: big_tagger}, chunk=256 * 1024, delay_per_chunk=0.03) as hub:
        driver = WorkerDriver(job_for(models, colour_images.values()), env=hub_env(hub))
        driver.start()
        for message in driver.messages():
            if message.type == P.DOWNLOAD and message.get("file") == "model.onnx" and message.get("done", 0) > 0:
                driver.cancel()
        assert driver.outcome.cancelled and driver.outcome.error is None and driver.outcome.done == 0
    assert not (models / "tester" / "tiny-tagger" / "model.onnx").exists()
    with FakeHub({REPO: big_tagger}, chunk=256 * 1024) as hub:
        driver = WorkerDriver(job_for(models, colour_images.values()), env=hub_env(hub))
        assert driver.run().ok, driver.stderr_tail()
        ranges = [r for method, path, r in hub.requests if method == "GET" and path.endswith("model.onnx")]
    assert ranges and ranges[0].startswith("bytes=") and 0 < int(ranges[0][6:].split("-")[0]) < size
    assert (models / "tester" / "tiny-tagger" / "model.onnx").read_bytes() == (big_tagger / "model.onnx").read_bytes()


def test_an_unknown_repository_and_an_unreachable_hub_are_explained(tmp_path, colour_images, big_tagger):
    models = tmp_path / "models"
    with FakeHub({"someone/else": big_tagger}) as hub:
        outcome = WorkerDriver(job_for(models, colour_images.values()), env=hub_env(hub)).run()
    assert outcome.error is not None and outcome.error_kind in (P.INVALID_MODEL, P.DOWNLOAD_FAILED)
    env = hub_env(FakeHub({}))  # a port nobody listens on once the server is gone
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    outcome = WorkerDriver(job_for(models, colour_images.values()), env=env).run()
    assert outcome.error_kind == P.MISSING_MODEL, outcome.error
    assert "cannot be reached" in outcome.error.message or "download failed" in outcome.error.message
    assert str(models / "tester" / "tiny-tagger") in outcome.error.hint
