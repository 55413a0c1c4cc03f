"""The worker protocol's encoding and version check; model locations and missing-model messages."""

from pathlib import Path

import pytest

from services.captioning import protocol as P
from services.captioning.families import BLIP, WD14
from services.captioning.job import CaptionJob
from services.captioning.models import check, is_repo_id, locate, missing_model_error, models_dir_from
from services.errors import UserInputError, WorkerError


def test_messages_round_trip_one_per_line():
    line = P.encode(P.RESULT, index=3, path="/d/ä b.png", caption="a, b\nc", tags=["a"])
    assert "\n" not in line
    message = P.decode(line + "\n")
    assert message.type == P.RESULT and message.get("caption") == "a, b\nc" and message.get("path") == "/d/ä b.png"


@pytest.mark.parametrize("line", ["", "hello", "[1, 2]", '{"no": "type"}', '{"type": "job"}', '{"type": "bogus"}'])
def test_anything_else_is_a_protocol_error(line):
    with pytest.raises(P.ProtocolError):
        P.decode(line)


def test_hello_of_another_version_is_refused_with_a_hint():
    P.check_hello(P.Message(P.HELLO, {"protocol": P.PROTOCOL_VERSION}))
    with pytest.raises(WorkerError) as info:
        P.check_hello(P.Message(P.HELLO, {"protocol": P.PROTOCOL_VERSION + 1, "worker_version": "9.9"}))
    assert "protocol version" in info.value.message and "backend" in info.value.hint


def test_job_round_trip_and_validation():
    job = CaptionJob("wd14", "SmilingWolf/wd-vit-tagger-v3", ["/x.png"], {"general_threshold": "0.4"})
    valid = job.validate()
    assert valid.options["general_threshold"] == 0.4 and valid.batch_size == 4
    assert CaptionJob.from_dict(valid.to_dict()) == valid
    with pytest.raises(UserInputError, match="no images"):
        CaptionJob("wd14", "x/y", []).validate()
    with pytest.raises(UserInputError, match="No model"):
        CaptionJob("wd14", " ", ["/x.png"]).validate()
    with pytest.raises(UserInputError):
        CaptionJob.from_dict({"family": "wd14"})
    with pytest.raises(UserInputError):
        CaptionJob.from_dict({"family": "wd14", "model": "a/b", "images": [1, 2]})


def test_repo_ids_and_local_folders(tmp_path):
    assert is_repo_id("SmilingWolf/wd-vit-tagger-v3") and not is_repo_id("a/b/c") and not is_repo_id("../x")
    repo = locate("SmilingWolf/wd-vit-tagger-v3", tmp_path / "models")
    assert repo.repo_id and repo.folder == tmp_path / "models" / "SmilingWolf" / "wd-vit-tagger-v3"
    (tmp_path / "owner" / "name").mkdir(parents=True)
    local = locate(str(tmp_path / "owner" / "name"), tmp_path / "models")
    assert local.is_local and local.folder == (tmp_path / "owner" / "name").resolve()
    assert locate("./relative/folder", tmp_path).is_local
    assert models_dir_from("").name == "models" and models_dir_from(str(tmp_path)) == tmp_path


def test_check_names_missing_files_and_weights(tmp_path):
    folder = tmp_path / "tagger"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"x")
    status = check(WD14, str(folder), tmp_path)
    assert status.missing == ("selected_tags.csv",) and not status.ready and not status.will_download
    assert "Missing in" in status.describe()
    (folder / "selected_tags.csv").write_text("tag_id,name,category,count\n")
    assert check(WD14, str(folder), tmp_path).ready
    blip = tmp_path / "blip"
    blip.mkdir()
    (blip / "config.json").write_text("{}")
    (blip / "pytorch_model.bin").write_bytes(b"pickle")  # not accepted as weights
    assert check(BLIP, str(blip), tmp_path).missing == (
        "preprocessor_config.json or processor_config.json", "model.safetensors or model.safetensors.index.json")
    (blip / "processor_config.json").write_text("{}")
    (blip / "model.safetensors").write_bytes(b"x")
    assert check(BLIP, str(blip), tmp_path).ready


def test_missing_model_messages_say_what_and_where(tmp_path):
    status = check(WD14, "SmilingWolf/wd-vit-tagger-v3", tmp_path / "models")
    assert status.will_download and "Downloaded on first use" in status.describe()
    error = missing_model_error(WD14, status, "offline mode is on")
    assert "SmilingWolf/wd-vit-tagger-v3" in error.message and "offline" in error.message
    assert "model.onnx, selected_tags.csv" in error.hint
    assert str(Path(tmp_path / "models" / "SmilingWolf" / "wd-vit-tagger-v3")) in error.hint
    assert "https://huggingface.co/SmilingWolf/wd-vit-tagger-v3" in error.hint
    local = check(WD14, str(tmp_path / "nowhere"), tmp_path)
    assert "Folder not found" in local.describe()
    assert "incomplete" in missing_model_error(WD14, local, "").message


def test_progress_estimates():
    from services.captioning.progress import estimate, format_duration, format_rate

    p = estimate(done=30, failed=2, total=64, elapsed_s=16.0)
    assert p.images_per_s == 2.0 and p.eta_s == 16.0 and p.fraction == 0.5
    assert estimate(0, 0, 10, 0.0).eta_s is None
    assert format_duration(75) == "1 min 15 s" and format_duration(3700) == "1 h 01 min" and format_duration(None)
    assert format_rate(0.5) == "2.0 s/image" and format_rate(12.34) == "12.3 images/s"
