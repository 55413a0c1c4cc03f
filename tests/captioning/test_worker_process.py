"""The real worker process end to end, through the driver the GUI and the CLI use.

Faults (a crash, running out of memory, slowness for the cancel test, another protocol version)
are injected by tests/captioning/fault_worker.py around the real worker code.
"""

from __future__ import annotations

import sys

import pytest

from services.captioning import protocol as P
from services.captioning.driver import WorkerDriver
from services.captioning.job import CaptionJob
from tests.captioning.builders import solid_image
from tests.captioning.conftest import fault_worker_command


def make_job(model, images, **options) -> CaptionJob:
    return CaptionJob("wd14", str(model), [str(p) for p in images], options, models_dir="").validate()


def run(job, command=None):
    driver = WorkerDriver(job, command=command)
    driver.start()
    messages = list(driver.messages())
    return driver.outcome, messages


def many_images(folder, n):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    return [solid_image(folder / f"img_{i:03d}.png", colours[i % 4], (32, 32)) for i in range(n)]


def test_a_folder_is_tagged_with_one_result_per_image(tmp_path, tiny_tagger, colour_images):
    broken = tmp_path / "dataset" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    images = [*colour_images.values(), broken]
    outcome, messages = run(make_job(tiny_tagger, images, batch_size=4))
    kinds = [m.type for m in messages]
    assert kinds[0] == P.HELLO and kinds[-1] == P.DONE and P.READY in kinds
    results = {m.get("path"): m for m in messages if m.type == P.RESULT}
    assert len(results) == 6 and outcome.done == 6 and outcome.failed == 1 and outcome.ok
    assert results[str(colour_images["red"])].get("caption").startswith("red, ^_^")
    assert results[str(colour_images["cyan"])].get("tags")[0] == "hatsune miku"
    assert [m.get("index") for m in messages if m.type == P.RESULT] == [0, 1, 2, 3, 4, 5]
    (failed,) = [m for m in messages if m.type == P.IMAGE_FAILED]
    assert failed.get("path") == str(broken) and "cannot be decoded" in failed.get("message")
    ready = next(m for m in messages if m.type == P.READY)
    assert ready.get("device") == "onnxruntime CPU" and ready.get("total") == 7
    assert outcome.returncode == 0 and not outcome.crashed


def test_library_output_on_stdout_cannot_corrupt_the_protocol(tiny_tagger, colour_images):
    outcome, messages = run(make_job(tiny_tagger, colour_images.values(), batch_size=2),
                            command=fault_worker_command("noise"))
    assert outcome.ok and outcome.done == 6
    assert sum(m.type == P.RESULT for m in messages) == 6


def test_a_worker_of_another_protocol_version_is_reported(tiny_tagger, colour_images):
    job = make_job(tiny_tagger, colour_images.values())
    outcome, _ = run(job, command=fault_worker_command("hello-version=7"))
    assert outcome.error is not None and outcome.error_kind == P.PROTOCOL_MISMATCH
    assert "protocol version 7" in outcome.error.message and "backend" in outcome.error.hint
    assert outcome.done == 0
    # ... and the worker refuses a driver of another version on its own.
    command = [sys.executable, "-m", "workers.captioning", "--protocol", "99"]
    outcome, messages = run(job, command=command)
    error = next(m for m in messages if m.type == P.ERROR)
    assert error.get("kind") == P.PROTOCOL_MISMATCH and "99" in error.get("message")
    assert outcome.error is not None and outcome.returncode == P.EXIT_PROTOCOL


def test_missing_models_are_named_with_where_to_put_them(tmp_path, colour_images):
    job = CaptionJob("wd14", "SmilingWolf/wd-vit-tagger-v3", [str(p) for p in colour_images.values()],
                     models_dir=str(tmp_path / "models"), offline=True).validate()
    outcome, _ = run(job)
    assert outcome.error_kind == P.MISSING_MODEL
    assert "SmilingWolf/wd-vit-tagger-v3" in outcome.error.message and "not downloaded" in outcome.error.message
    assert str(tmp_path / "models" / "SmilingWolf" / "wd-vit-tagger-v3") in outcome.error.hint
    assert "model.onnx" in outcome.error.hint and not outcome.crashed
    local = make_job(tmp_path / "no-such-folder", colour_images.values())
    outcome, _ = run(local)
    assert outcome.error_kind == P.MISSING_MODEL and "no-such-folder" in outcome.error.message


def test_cancel_takes_effect_within_one_batch_and_keeps_results(tmp_path, tiny_tagger):
    images = many_images(tmp_path / "many", 24)
    driver = WorkerDriver(make_job(tiny_tagger, images, batch_size=2), command=fault_worker_command("slow=0.25"))
    driver.start()
    seen_at_cancel = None
    results = []
    for message in driver.messages():
        if message.type == P.RESULT:
            results.append(message.get("path"))
            if seen_at_cancel is None:
                seen_at_cancel = len(results)
                driver.cancel()
    outcome = driver.outcome
    assert outcome.cancelled and outcome.error is None and not outcome.crashed
    assert seen_at_cancel == 1
    # The first batch (of one image: the first caption comes early) and at most the one in flight after it.
    assert outcome.done in (1, 3) and outcome.done == len(results)
    assert outcome.returncode == 0


def test_a_worker_crash_mid_job_keeps_what_it_produced(tmp_path, tiny_tagger):
    images = many_images(tmp_path / "many", 12)
    outcome, messages = run(make_job(tiny_tagger, images, batch_size=2), command=fault_worker_command("crash-after=2"))
    assert outcome.crashed and outcome.done == 3  # batches of 1 and 2 images
    assert len([m for m in messages if m.type == P.RESULT]) == 3
    assert "stopped unexpectedly" in outcome.error.message and "SIGSEGV" in outcome.error.message
    assert "3 caption(s)" in outcome.error.hint and "kept" in outcome.error.hint


def test_out_of_memory_is_reported_with_advice_and_earlier_results_kept(tmp_path, tiny_tagger):
    images = many_images(tmp_path / "many", 8)
    outcome, messages = run(make_job(tiny_tagger, images, batch_size=2), command=fault_worker_command("oom-at=2"))
    assert outcome.error_kind == P.OOM and outcome.done == 1 and not outcome.crashed
    assert "ran out of memory" in outcome.error.message
    assert "batch size (it was 2)" in outcome.error.hint and "CPU" in outcome.error.hint
    assert "Failed to allocate" in outcome.error.details
    assert messages[-1].type == P.DONE


def test_closing_stdin_stops_the_worker(tmp_path, tiny_tagger):
    """A driver that dies (its end of the pipe closes) must not leave the worker running."""
    images = many_images(tmp_path / "many", 30)
    driver = WorkerDriver(make_job(tiny_tagger, images, batch_size=1), command=fault_worker_command("slow=0.2"))
    driver.start()
    for message in driver.messages():
        if message.type == P.RESULT:
            driver._proc.stdin.close()
    assert driver.outcome.done < 30 and driver.outcome.returncode == 0


@pytest.mark.parametrize("bad", [{"general_threshold": 3}, {"colour": 1}])
def test_bad_jobs_are_refused_before_any_work(tiny_tagger, colour_images, bad):
    from services.errors import UserInputError

    with pytest.raises(UserInputError):
        make_job(tiny_tagger, colour_images.values(), **bad)


def test_a_worker_that_cannot_start_is_explained(tiny_tagger, colour_images):
    command = [sys.executable, "-c", "import sys; sys.stderr.write(\"ModuleNotFoundError: No module named "
               "'onnxruntime'\\n\"); sys.exit(1)"]
    outcome, messages = run(make_job(tiny_tagger, colour_images.values()), command=command)
    assert messages == [] and outcome.crashed
    assert "could not start (exit code 1)" in outcome.error.message
    assert "No module named 'onnxruntime'" in outcome.error.hint and "repair" in outcome.error.hint


def test_the_worker_runs_in_the_backend_runtime_named_in_the_settings(tiny_tagger, colour_images):
    from services.settings import BackendSettings

    driver = WorkerDriver(make_job(tiny_tagger, colour_images.values()),
                          backend_settings=BackendSettings(python=sys.executable))
    assert driver.command[:3] == [sys.executable, "-m", "workers.captioning"]
    assert driver.run().ok and driver.outcome.done == 6


def test_without_a_backend_runtime_a_frozen_app_says_how_to_install_one(monkeypatch, tiny_tagger, colour_images):
    from services.backend import payload
    from services.errors import BackendError

    monkeypatch.setattr(payload, "is_frozen", lambda: True)
    with pytest.raises(BackendError) as info:
        WorkerDriver(make_job(tiny_tagger, colour_images.values()))
    assert "not installed" in info.value.message and "Training backend" in info.value.hint
