"""Model detection reads headers only: families and variants, diffusers folders, LoRAs given as base
models, pickles refused unopened, hostile headers rejected with a reason (hypothesis included)."""

from __future__ import annotations

import json
import pickle
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.errors import FileAccessError, FileFormatError, UnsafeFileError
from services.training.detect import detect_model
from services.training.families import Family
from services.training.safetensors_header import MAX_HEADER_BYTES, parse_header, read_header
from tests.support.model_headers import (
    flux_tensors,
    lora_tensors,
    sd1_tensors,
    sd2_tensors,
    sd3_tensors,
    sdxl_tensors,
    write_safetensors_header,
)


@pytest.mark.parametrize(("tensors", "family", "variant"), [
    (sd1_tensors(), Family.SD1, "1.x"),
    (sd2_tensors(), Family.SD2, "2.x"),
    (sdxl_tensors(), Family.SDXL, "base"),
    (sdxl_tensors(refiner=True), Family.SDXL, "refiner"),
    (flux_tensors(), Family.FLUX, "dev"),
    (flux_tensors(prefix="model.diffusion_model."), Family.FLUX, "dev"),
    (flux_tensors(variant="schnell"), Family.FLUX, "schnell"),
    (flux_tensors(variant="chroma"), Family.FLUX, "chroma"),
    (sd3_tensors(), Family.SD3, "3 medium"),
    (sd3_tensors(mmdit_x=True), Family.SD3, "3.5 medium"),
    (sd3_tensors(depth=38, with_te=True), Family.SD3, "3.5 large"),
])
def test_families_and_variants_from_the_header(tmp_path, tensors, family, variant):
    result = detect_model(write_safetensors_header(tmp_path / "m.safetensors", tensors))
    assert (result.kind, result.family, result.variant) == ("checkpoint", family, variant)
    assert result.size_bytes == (tmp_path / "m.safetensors").stat().st_size
    assert result.parameters and result.precision


@pytest.mark.parametrize(("tensors", "summary"), [
    (sd1_tensors(), "Stable Diffusion 1.x"),
    (sd2_tensors(), "Stable Diffusion 2.x"),
    (sdxl_tensors(), "SDXL (base)"),
    (sdxl_tensors(refiner=True), "SDXL (refiner)"),
    (flux_tensors(), "Flux.1 (dev)"),
    (flux_tensors(variant="chroma"), "Flux.1 (chroma)"),
    (sd3_tensors(), "SD3 medium"),
    (sd3_tensors(depth=38, with_te=True), "SD3.5 large"),
])
def test_the_summary_names_the_model_once(tmp_path, tensors, summary):
    result = detect_model(write_safetensors_header(tmp_path / "m.safetensors", tensors))
    assert result.summary == summary
    assert result.to_dict()["summary"] == summary


def test_a_loras_summary_names_its_family_and_module(tmp_path):
    plain = detect_model(write_safetensors_header(tmp_path / "a.safetensors", lora_tensors("sd1")))
    assert plain.summary == "a Stable Diffusion 1.x LoRA/LyCORIS file"
    lycoris = detect_model(write_safetensors_header(tmp_path / "b.safetensors", lora_tensors("sd1"),
                                                    metadata={"ss_network_module": "lycoris.kohya"}))
    assert lycoris.summary == "a Stable Diffusion 1.x LoRA/LyCORIS file (lycoris.kohya)"


def test_precision_and_what_the_file_contains(tmp_path):
    sd1 = detect_model(write_safetensors_header(tmp_path / "a.safetensors", sd1_tensors("F32")))
    assert sd1.precision == "fp32" and sd1.contains == ["unet", "vae", "text_encoder"]
    mixed = {**sd1_tensors("F16"), "x": ("F32", [320 * 320 * 4 * 3 * 3 * 20])}
    assert "mixed" in detect_model(write_safetensors_header(tmp_path / "b.safetensors", mixed)).precision
    flux = detect_model(write_safetensors_header(tmp_path / "f.safetensors", flux_tensors("F8_E4M3")))
    assert flux.precision == "fp8 (e4m3)" and any("ae" in n for n in flux.notes)
    sd3 = detect_model(write_safetensors_header(tmp_path / "s.safetensors", sd3_tensors()))
    assert any("clip_l, clip_g, t5xxl" in n for n in sd3.notes)


def test_sd2_prediction_type_is_asked_unless_the_file_says(tmp_path):
    plain = detect_model(write_safetensors_header(tmp_path / "a.safetensors", sd2_tensors()))
    assert plain.v_prediction is None and plain.questions[0].key == "v_parameterization"
    spec = {"modelspec.architecture": "stable-diffusion-v2-768-v", "modelspec.prediction_type": "v"}
    told = detect_model(write_safetensors_header(tmp_path / "b.safetensors", sd2_tensors(), spec))
    assert told.v_prediction is True and not told.questions
    marker = detect_model(write_safetensors_header(tmp_path / "c.safetensors", {**sdxl_tensors(),
                                                                                  "v_pred": ("F16", [0])}))
    assert marker.v_prediction is True


def test_modelspec_fills_in_and_the_weights_win_a_conflict(tmp_path):
    unknown = {"some.weight": ("F16", [4, 4])}
    by_spec = detect_model(write_safetensors_header(tmp_path / "a.safetensors", unknown,
                                                    {"modelspec.architecture": "flux-1-dev"}))
    assert by_spec.family is Family.FLUX
    conflict = detect_model(write_safetensors_header(tmp_path / "b.safetensors", sd1_tensors(),
                                                     {"modelspec.architecture": "stable-diffusion-xl-v1-base"}))
    assert conflict.family is Family.SD1 and any("trusted" in n for n in conflict.notes)


@pytest.mark.parametrize(("family", "expected"), [("sd1", Family.SD1), ("sdxl", Family.SDXL),
                                                   ("flux", Family.FLUX)])
def test_a_lora_given_as_base_model_is_recognised(tmp_path, family, expected):
    result = detect_model(write_safetensors_header(tmp_path / "l.safetensors", lora_tensors(family)))
    assert result.kind == "lora" and result.family is expected and not result.usable_as_base
    assert "not a base model" in result.notes[0]


def test_components_are_named(tmp_path):
    t5 = detect_model(write_safetensors_header(tmp_path / "t5.safetensors",
                                               {"encoder.block.0.layer.0.SelfAttention.q.weight": ("F16", [8, 8])}))
    clip = detect_model(write_safetensors_header(tmp_path / "c.safetensors",
                                                 {"text_model.encoder.layers.0.mlp.fc1.weight": ("F16", [8, 8])}))
    vae = detect_model(write_safetensors_header(tmp_path / "v.safetensors",
                                                {"encoder.down.0.block.0.conv1.weight": ("F16", [8, 8])}))
    assert (t5.kind, t5.contains, clip.contains, vae.contains) == ("component", ["t5xxl"], ["clip"], ["vae"])
    other = detect_model(write_safetensors_header(tmp_path / "o.safetensors", {"w": ("F16", [2])}))
    assert other.kind == "unknown" and not other.usable_as_base


def _diffusers(folder, index, **configs):
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps(index))
    for name, cfg in configs.items():
        (folder / name).mkdir()
        target = "scheduler_config.json" if name == "scheduler" else "config.json"
        (folder / name / target).write_text(json.dumps(cfg))
    return folder


def test_diffusers_folders(tmp_path):
    sd2 = _diffusers(tmp_path / "sd2", {"_class_name": "StableDiffusionPipeline"}, unet={"cross_attention_dim": 1024},
                     scheduler={"prediction_type": "v_prediction"})
    r = detect_model(sd2)
    assert (r.kind, r.family, r.v_prediction) == ("diffusers", Family.SD2, True) and not r.questions
    sd1 = detect_model(_diffusers(tmp_path / "sd1", {"_class_name": "StableDiffusionPipeline"},
                                  unet={"cross_attention_dim": 768}))
    assert sd1.family is Family.SD1
    assert detect_model(_diffusers(tmp_path / "xl", {"_class_name": "StableDiffusionXLPipeline"})).family is Family.SDXL
    flux = detect_model(_diffusers(tmp_path / "flux", {"_class_name": "FluxPipeline"},
                                   transformer={"guidance_embeds": True}))
    assert (flux.family, flux.variant) == (Family.FLUX, "dev")
    sd35 = detect_model(_diffusers(tmp_path / "sd3", {"_class_name": "StableDiffusion3Pipeline"},
                                   transformer={"num_layers": 38}))
    assert (sd35.family, sd35.variant) == (Family.SD3, "3.5 large")
    other = detect_model(_diffusers(tmp_path / "kan", {"_class_name": "KandinskyPipeline"}))
    assert other.kind == "unknown"
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileFormatError, match=r"model_index\.json"):
        detect_model(tmp_path / "empty")


def test_pickles_are_refused_and_never_opened(tmp_path, monkeypatch):
    def no_unpickling(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    payload = pickle.dumps({"state_dict": {}}, protocol=2)
    for name in ("m.ckpt", "m.pt", "m.bin", "m.pth"):
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(UnsafeFileError, match="pickle"):
            detect_model(tmp_path / name)
    (tmp_path / "m.model").write_bytes(b"PK\x03\x04rest-of-a-zip")
    with pytest.raises(UnsafeFileError):
        detect_model(tmp_path / "m.model")
    # a pickle renamed to .safetensors: its first bytes read as an absurd header length
    (tmp_path / "renamed.safetensors").write_bytes(payload)
    with pytest.raises(FileFormatError):
        detect_model(tmp_path / "renamed.safetensors")


def _raw(tmp_path, header: bytes, length: int | None = None, data: int = 0):
    path = tmp_path / "h.safetensors"
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + b"\0" * data)
    return path


@pytest.mark.parametrize(("header", "length", "data", "match"), [
    (b"", 0, 0, "header"),
    (b"{}", 10 * 1024**3, 0, "claims a 10.0 GB header"),
    (b"{}", 100, 0, "truncated"),
    (b"not json", None, 0, "not valid JSON"),
    (b"[1, 2]", None, 0, "not a JSON object"),
    (b"[" * 5000 + b"]" * 5000, None, 0, "not valid JSON"),
    (json.dumps({"t": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}}).encode(), None, 4, "outside"),
    (json.dumps({"t": {"dtype": "F16", "shape": [4], "data_offsets": [0, 6]}}).encode(), None, 8, "bytes for"),
    (json.dumps({"t": {"dtype": "Q99", "shape": [4], "data_offsets": [0, 8]}}).encode(), None, 8, "unknown dtype"),
    (json.dumps({"t": {"dtype": "F16", "shape": [-4], "data_offsets": [0, 8]}}).encode(), None, 8, "shape"),
    (json.dumps({"t": {"dtype": "F16", "shape": [4], "data_offsets": [8, 0]}}).encode(), None, 8, "outside"),
    (json.dumps({"t": [1]}).encode(), None, 0, "not an object"),
    (json.dumps({"__metadata__": [1]}).encode(), None, 0, "__metadata__"),
])
def test_hostile_headers_are_rejected_with_a_reason(tmp_path, header, length, data, match):
    with pytest.raises(FileFormatError, match=match):
        read_header(_raw(tmp_path, header, length, data))


def test_tiny_files_missing_files_and_folders(tmp_path):
    (tmp_path / "t.safetensors").write_bytes(b"\x01\x02")
    with pytest.raises(FileFormatError, match="too short"):
        detect_model(tmp_path / "t.safetensors")
    with pytest.raises(FileAccessError):
        detect_model(tmp_path / "missing.safetensors")
    with pytest.raises(FileFormatError, match="folder"):
        read_header(tmp_path)


def test_the_header_limit_is_enforced_before_reading(tmp_path):
    assert MAX_HEADER_BYTES <= 64 * 1024 * 1024
    path = _raw(tmp_path, b"{}", MAX_HEADER_BYTES + 1)
    with pytest.raises(FileFormatError, match="claims"):
        read_header(path)


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_property_any_bytes_are_read_or_rejected_cleanly(data):
    from pathlib import Path

    path = Path("/nonexistent/x.safetensors")
    try:
        header = parse_header(data, path=path, file_size=8 + len(data) + 64)
    except FileFormatError as exc:
        assert exc.message
        return
    assert isinstance(header.tensors, dict)


_entry = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F16", "BF16", "F32", "I8", "X", 3]),
    "shape": st.lists(st.integers(-2, 6), max_size=3),
    "data_offsets": st.lists(st.integers(-2, 300), min_size=0, max_size=3)})


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=20), st.one_of(_entry, st.integers(), st.text(max_size=5)), max_size=5),
       st.integers(0, 400))
def test_property_structured_headers_never_crash(tmp_path_factory, entries, data_size):
    raw = json.dumps(entries).encode()
    folder = tmp_path_factory.mktemp("h")
    path = folder / "p.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * data_size)
    try:
        header = read_header(path)
    except FileFormatError:
        return
    for info in header.tensors.values():
        assert 0 <= info.start <= info.end <= data_size
    try:
        detect_model(path)
    except FileFormatError:
        pass
