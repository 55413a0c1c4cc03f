"""BLIP and BLIP-2 (OPT and Flan-T5) captioners on tiny random-weight models the tests build.

The captions of random weights are random words; what is checked is that the real loading,
preprocessing, generation options and decoding code runs and yields words of the test vocabulary.
"""

from __future__ import annotations

import pytest

from services.captioning import protocol as P
from services.captioning.driver import WorkerDriver
from services.captioning.families import BLIP, BLIP2
from services.captioning.job import CaptionJob
from services.captioning.options import resolve
from tests.captioning.builders import WORDS
from workers.captioning.base import LoadError

VOCAB = set(WORDS)


def words_of(text: str, *, prefix: str = "") -> list[str]:
    assert text.startswith(prefix), text
    return text[len(prefix):].split()


def run_job(family, model, images, **options):
    job = CaptionJob(family, str(model), [str(p) for p in images], options).validate()
    driver = WorkerDriver(job)
    driver.start()
    messages = list(driver.messages())
    return driver.outcome, [m for m in messages if m.type == P.RESULT], messages


def test_blip_worker_captions_with_beam_search_and_a_prompt(tiny_blip, colour_images):
    images = list(colour_images.values())[:3]
    outcome, results, messages = run_job("blip", tiny_blip, images, batch_size=2, num_beams=2, min_length=3,
                                         max_length=8, prompt="a photo of", prefix="sks")
    assert outcome.ok, outcome.error
    assert [r.get("path") for r in results] == [str(p) for p in images]
    for result in results:
        words = words_of(result.get("caption"), prefix="sks, a photo of")
        assert words and set(words) <= VOCAB
        assert result.get("tags") is None
    assert next(m for m in messages if m.type == P.READY).get("device") == "torch CPU, float32"


def test_blip2_flan_t5_worker_answers_a_prompt(tiny_blip2_t5, colour_images):
    images = list(colour_images.values())[:2]
    outcome, results, _ = run_job("blip2", tiny_blip2_t5, images, batch_size=2, prompt="question : what is answer :",
                                  min_new_tokens=2, max_new_tokens=6)
    assert outcome.ok, outcome.error
    assert len(results) == 2
    for result in results:
        words = result.get("caption").split()
        assert 1 <= len(words) <= 6 and set(words) <= VOCAB


def _in_process(cls, folder, family, **options):
    captioner = cls(folder, resolve(family.options, options), ", ")
    captioner.load()
    return captioner


def test_blip_sampling_and_lengths(tiny_blip, colour_images):
    from workers.captioning.blip import BlipCaptioner

    captioner = _in_process(BlipCaptioner, tiny_blip, BLIP, decoding="sampling", top_p=0.8, min_length=4,
                            max_length=6)
    try:
        assert captioner.min_side == 32
        batch = [captioner.preprocess(str(p)) for p in colour_images.values()]
        assert batch[0].shape == (3, 32, 32)
        captions = captioner.caption(batch)
        assert len(captions) == len(batch)
        for caption in captions:
            words = caption.text.split()
            assert 1 <= len(words) <= 6 and set(words) <= VOCAB
    finally:
        captioner.close()
    assert captioner.model is None


def test_blip2_opt_returns_the_answer_without_the_prompt(tiny_blip2_opt, colour_images):
    from workers.captioning.blip import Blip2Captioner

    prompt = "question : what is in the picture answer :"
    captioner = _in_process(Blip2Captioner, tiny_blip2_opt, BLIP2, prompt=prompt, min_new_tokens=3, max_new_tokens=5,
                            suffix="end")
    try:
        captions = captioner.caption([captioner.preprocess(str(p)) for p in list(colour_images.values())[:2]])
    finally:
        captioner.close()
    for caption in captions:
        assert not caption.text.startswith("question")
        body, _, suffix = caption.text.rpartition(", ")
        assert suffix == "end" and 3 <= len(body.split()) <= 5 and set(body.split()) <= VOCAB


@pytest.mark.parametrize("options,kind", [
    ({"device": "cuda"}, "device_unavailable"),
    ({"precision": "fp16"}, "device_unavailable"),
    ({"quantization": "8bit"}, "device_unavailable"),
])
def test_gpu_only_choices_are_refused_clearly_on_a_cpu_machine(tiny_blip2_opt, options, kind):
    from workers.captioning.blip import Blip2Captioner

    with pytest.raises(LoadError) as info:
        _in_process(Blip2Captioner, tiny_blip2_opt, BLIP2, **options)
    assert info.value.kind == kind and info.value.hint


def test_a_folder_with_pickle_weights_only_is_refused(tmp_path, tiny_blip):
    import shutil

    from workers.captioning.blip import BlipCaptioner

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_blip, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(LoadError) as info:
        _in_process(BlipCaptioner, folder, BLIP)
    assert info.value.kind == "invalid_model" and ".safetensors" in info.value.hint
