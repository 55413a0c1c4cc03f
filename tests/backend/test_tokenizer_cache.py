"""The tokenizer cache: offline, the CLIP tokenizers come from the bundled vocabulary and the
others are named as missing; a complete folder is kept; a half-written one is redone."""

from __future__ import annotations

import json

from services.backend import tokenizer_cache as tc


def test_families_map_to_the_hub_ids_sd_scripts_loads():
    ids = lambda family: [s.repo_id for s in tc.specs_for([family])]  # noqa: E731
    assert ids("sd1") == ["openai/clip-vit-large-patch14"]
    assert ids("sdxl") == ["openai/clip-vit-large-patch14", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"]
    assert ids("flux") == ["openai/clip-vit-large-patch14", "google/t5-v1_1-xxl"]
    assert ids("sd2") == ["stabilityai/stable-diffusion-2"]
    assert len(tc.specs_for(["sd1", "sdxl", "sd3", "flux"])) == 3     # shared ones once
    assert tc.T5_XXL.folder_name == "google_t5-v1_1-xxl"              # as sd-scripts names the folder


def test_offline_the_clip_tokenizers_are_written_from_the_bundled_vocabulary(tmp_path):
    lines = []
    report = tc.fill(tmp_path / "cache", ["sdxl", "flux"], hf_cache=tmp_path / "hf", log_line=lines.append,
                     offline=True)
    assert sorted(report.filled) == [("laion/CLIP-ViT-bigG-14-laion2B-39B-b160k", "bundled-vocabulary"),
                                     ("openai/clip-vit-large-patch14", "bundled-vocabulary")]
    assert report.missing == [("google/t5-v1_1-xxl", "offline")]
    clip_l = tmp_path / "cache" / "openai_clip-vit-large-patch14"
    vocab = json.loads((clip_l / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["<|startoftext|>"] == 49406 and vocab["cat</w>"] == 2368
    pads = [json.loads((tmp_path / "cache" / s.folder_name / "special_tokens_map.json").read_text())["pad_token"]
            for s in (tc.CLIP_L, tc.CLIP_G)]
    assert pads == ["<|endoftext|>", "!"]
    assert tc.missing_for(tmp_path / "cache", ["sdxl"]) == []
    assert tc.missing_for(tmp_path / "cache", ["flux"]) == ["google/t5-v1_1-xxl"]
    message = tc.missing_message(["google/t5-v1_1-xxl"], ["flux"])
    assert "google/t5-v1_1-xxl" in message and "Flux.1" in message and "offline" in message


def test_the_cache_is_readable_by_transformers_and_tokenizes_like_clip(tmp_path):
    from transformers import CLIPTokenizer

    tc.fill(tmp_path, ["sd1"], hf_cache=tmp_path / "hf", offline=True)
    tokenizer = CLIPTokenizer.from_pretrained(str(tmp_path / "openai_clip-vit-large-patch14"))
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_present_folders_are_kept_and_partial_ones_redone(tmp_path):
    cache = tmp_path / "cache"
    theirs = cache / "openai_clip-vit-large-patch14"
    theirs.mkdir(parents=True)
    (theirs / "vocab.json").write_text("{}")
    (theirs / "merges.txt").write_text("#version: 0.2\n")   # e.g. saved by sd-scripts itself while online
    half = cache / "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k.partial"
    half.mkdir()
    (half / "vocab.json").write_text("{trunc")
    report = tc.fill(cache, ["sdxl"], hf_cache=tmp_path / "hf", offline=True)
    assert report.already == ["openai/clip-vit-large-patch14"]
    assert [r for r, _ in report.filled] == ["laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"]
    assert (theirs / "vocab.json").read_text() == "{}"               # nothing of theirs replaced
    assert not half.exists()
    states = {s.spec.repo_id: s.source for s in tc.status(cache, ["sdxl"])}
    assert states == {"openai/clip-vit-large-patch14": "unknown",
                      "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k": "bundled-vocabulary"}


def test_a_failed_download_falls_back_or_is_reported(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_network)
    monkeypatch.setattr(tc, "hub_reachable", lambda: (True, ""))
    lines = []
    report = tc.fill(tmp_path, ["sd2", "sd1"], hf_cache=tmp_path / "hf", log_line=lines.append, offline=False)
    assert report.filled == [("openai/clip-vit-large-patch14", "bundled-vocabulary")]
    assert report.missing[0][0] == "stabilityai/stable-diffusion-2"
    assert "download failed: OSError: Temporary failure" in report.missing[0][1]
    assert not (tmp_path / "stabilityai_stable-diffusion-2").exists()
    assert not (tmp_path / "stabilityai_stable-diffusion-2.partial").exists()


def test_online_the_files_are_downloaded_from_the_hub_into_a_flat_folder(tmp_path, monkeypatch):
    calls = []

    def fake_download(repo_id, filename, subfolder=None, cache_dir=None):
        from huggingface_hub import errors

        calls.append((repo_id, subfolder, filename))
        if filename in ("tokenizer.json", "added_tokens.json"):
            absent = getattr(errors, "RemoteEntryNotFoundError", errors.EntryNotFoundError)
            exc = absent.__new__(absent)      # without an HTTP response object
            Exception.__init__(exc, "404 absent")
            raise exc
        path = tmp_path / "hub" / filename
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"{repo_id}/{filename}")
        return str(path)

    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    monkeypatch.setattr(tc, "hub_reachable", lambda: (True, ""))
    report = tc.fill(tmp_path / "cache", ["sd2"], hf_cache=tmp_path / "hf", offline=False)
    assert report.filled == [("stabilityai/stable-diffusion-2", "hub")]
    folder = tmp_path / "cache" / "stabilityai_stable-diffusion-2"
    assert (folder / "merges.txt").read_text() == "stabilityai/stable-diffusion-2/merges.txt"
    assert {c[1] for c in calls} == {"tokenizer"}


def test_an_unreachable_hub_is_found_out_once_and_quickly(tmp_path, monkeypatch):
    def must_not_download(*args, **kwargs):
        raise AssertionError("no download may be tried when the hub cannot be reached")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", must_not_download)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")   # the discard port: refused at once
    report = tc.fill(tmp_path, ["sd3", "sd2"], hf_cache=tmp_path / "hf", offline=False)
    assert {r for r, _ in report.filled} == {"openai/clip-vit-large-patch14",
                                             "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"}
    reasons = dict(report.missing)
    assert set(reasons) == {"google/t5-v1_1-xxl", "stabilityai/stable-diffusion-2"}
    assert all("http://127.0.0.1:9 cannot be reached" in r for r in reasons.values())
