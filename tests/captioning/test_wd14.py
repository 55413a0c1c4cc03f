"""The WD14 tagger code on a tiny ONNX tagger with the WD14 convention, in this process."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from services.captioning.families import WD14
from services.captioning.options import resolve
from tests.captioning.builders import build_tiny_tagger, expected_probabilities, solid_image
from workers.captioning.base import LoadError
from workers.captioning.images import ImageReadError, open_rgb
from workers.captioning.wd14 import WD14Captioner
from workers.captioning.wd14_tags import LabelFileError, display_name, read_labels


def tagger(folder, **options) -> WD14Captioner:
    captioner = WD14Captioner(folder, resolve(WD14.options, options), ", ")
    captioner.load()
    return captioner


def tags_of(captioner, *paths):
    return [c.tags for c in captioner.caption([captioner.preprocess(str(p)) for p in paths])]


def test_preprocessing_follows_the_wd14_convention(tmp_path, tiny_tagger):
    # A red 200x100 image: NHWC float32 448x448, BGR, 0-255, white padding above and below.
    path = solid_image(tmp_path / "wide.png", (255, 0, 0), (200, 100))
    array = tagger(tiny_tagger).preprocess(str(path))
    assert array.shape == (448, 448, 3) and array.dtype == np.float32
    assert array[224, 224].tolist() == [0.0, 0.0, 255.0]  # BGR: red is the last channel
    assert array[5, 224].tolist() == [255.0, 255.0, 255.0] and array[-5, 224].tolist() == [255.0, 255.0, 255.0]
    assert array.min() >= 0.0 and array.max() <= 255.0


def test_transparency_is_composited_on_white_and_exif_is_honoured(tmp_path):
    transparent = solid_image(tmp_path / "t.png", (255, 0, 0), mode="RGBA")
    assert open_rgb(str(transparent)).getpixel((3, 3)) == (255, 255, 255)
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90 degrees
    image.save(tmp_path / "r.jpg", exif=exif.tobytes())
    assert open_rgb(str(tmp_path / "r.jpg")).size == (20, 40)
    palette = Image.new("P", (8, 8), 1)
    palette.save(tmp_path / "p.gif")
    assert open_rgb(str(tmp_path / "p.gif")).mode == "RGB"
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(ImageReadError):
        open_rgb(str(tmp_path / "bad.png"))


def test_thresholds_pick_the_tags_the_model_is_sure_of(tmp_path, tiny_tagger, colour_images):
    probs = expected_probabilities((0.0, 0.0, 1.0))  # red image, BGR mean
    general = sorted((p, n) for n, p in probs.items() if n not in ("general", "sensitive", "questionable",
                                                                   "explicit", "hatsune_miku", "char_b")
                     and p >= 0.35)
    red = tags_of(tagger(tiny_tagger, replace_underscores=False), colour_images["red"])[0]
    assert red == [n for _p, n in sorted(general, reverse=True)]  # most confident first
    assert red[0] == "red" and "long_hair" in red and "smile_(happy)" in red and "green" not in red
    strict = tags_of(tagger(tiny_tagger, general_threshold=0.6), colour_images["red"])[0]
    assert strict == ["red", "^_^"]


def test_character_threshold_and_order(tiny_tagger, colour_images):
    default = tags_of(tagger(tiny_tagger), colour_images["cyan"], colour_images["white"])
    assert "hatsune miku" in default[0] and "char b" not in default[0]  # 0.73 < 0.85
    assert "hatsune miku" not in default[1] and "white background" in default[1]
    low = tags_of(tagger(tiny_tagger, character_threshold=0.7, character_first=True), colour_images["cyan"])[0]
    assert low[:2] == ["hatsune miku", "char b"]


def test_rating_exclusions_replacements_and_names(tiny_tagger, colour_images):
    first = tags_of(tagger(tiny_tagger, rating="first"), colour_images["black"])[0]
    last = tags_of(tagger(tiny_tagger, rating="last"), colour_images["black"])[0]
    assert first[0] == "general" and last[-1] == "general"
    assert "general" not in tags_of(tagger(tiny_tagger), colour_images["black"])[0]
    out = tags_of(tagger(tiny_tagger, exclude_tags="^_^, long hair", tag_replacements="dark -> night\nsmile_(happy) ->",
                         escape_parentheses=True), colour_images["black"])[0]
    assert out == ["night"]  # ^_^ and long hair excluded, smile_(happy) removed by an empty replacement
    escaped = tags_of(tagger(tiny_tagger, escape_parentheses=True), colour_images["black"])[0]
    assert r"smile \(happy\)" in escaped and "^_^" in escaped  # emoticons keep their underscore
    assert display_name("long_hair", replace_underscores=True, escape_parentheses=False) == "long hair"
    assert display_name("o_o", replace_underscores=True, escape_parentheses=False) == "o_o"


def test_max_tags_keeps_the_most_confident_and_prefix_suffix_wrap_the_caption(tiny_tagger, colour_images):
    captioner = tagger(tiny_tagger, max_tags=2, prefix="sks", suffix="masterpiece", rating="first")
    (caption,) = captioner.caption([captioner.preprocess(str(colour_images["red"]))])
    assert caption.tags == ["general", "red", "^_^"]
    assert caption.text == "sks, general, red, ^_^, masterpiece"


def test_batches_give_the_same_tags_as_single_images(tiny_tagger, colour_images):
    captioner = tagger(tiny_tagger)
    paths = list(colour_images.values())
    together = tags_of(captioner, *paths)
    alone = [tags_of(captioner, p)[0] for p in paths]
    assert together == alone


def test_fixed_batch_models_and_models_without_sigmoid(tmp_path, colour_images):
    fixed = build_tiny_tagger(tmp_path / "fixed", fixed_batch=2)
    raw = build_tiny_tagger(tmp_path / "raw", with_sigmoid=False)
    reference = tags_of(tagger(build_tiny_tagger(tmp_path / "ref")), *colour_images.values())
    assert tags_of(tagger(fixed), *colour_images.values()) == reference  # 6 images in chunks of 2 (+ pad)
    assert tags_of(tagger(raw), *colour_images.values()) == reference


def test_broken_model_folders_give_load_errors(tmp_path, tiny_tagger):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not onnx")
    (folder / "selected_tags.csv").write_text((tiny_tagger / "selected_tags.csv").read_text())
    with pytest.raises(LoadError) as info:
        tagger(folder)
    assert info.value.kind == "invalid_model"
    (folder / "model.onnx").write_bytes((tiny_tagger / "model.onnx").read_bytes())
    (folder / "selected_tags.csv").write_text("tag_id,name,category,count\n1,a,0,5\n")
    with pytest.raises(LoadError, match=r"outputs but selected_tags\.csv lists 1"):
        tagger(folder)
    (folder / "selected_tags.csv").write_text("id;name\n")
    with pytest.raises(LoadError, match="header"):
        tagger(folder)
    with pytest.raises(LoadError) as info:
        tagger(tiny_tagger, execution_provider="cuda")
    assert info.value.kind == "device_unavailable" and "Automatic" in info.value.hint


def test_label_file_errors(tmp_path):
    path = tmp_path / "selected_tags.csv"
    for text, why in [("tag_id,name,category\n1,a,x\n", "not a number"), ("tag_id,name,category\n1,a\n", "columns"),
                      ("tag_id,name,category\n", "no tags")]:
        path.write_text(text)
        with pytest.raises(LabelFileError, match=why):
            read_labels(path)
    with pytest.raises(LabelFileError):
        read_labels(tmp_path / "missing.csv")


def test_provider_choice():
    from workers.captioning.providers import choose, describe

    available = ["DmlExecutionProvider", "CPUExecutionProvider"]
    assert choose("auto", available) == ["DmlExecutionProvider", "CPUExecutionProvider"]
    assert choose("cpu", available) == ["CPUExecutionProvider"]
    assert choose("auto", ["CUDAExecutionProvider", "ROCMExecutionProvider", "CPUExecutionProvider"])[0] \
        == "CUDAExecutionProvider"
    with pytest.raises(LoadError):
        choose("rocm", available)
    assert describe(["DmlExecutionProvider"]) == "onnxruntime DirectML"
