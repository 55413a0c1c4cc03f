"""Buckets as sd-scripts forms them, and the health report's findings on a made-up dataset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from services.dataset.buckets import BucketPlanner, BucketSettings, bucket_histogram, bucket_resolutions
from services.dataset.health import near_duplicate_groups, perceptual_hash, run_health_report, snapshot
from services.dataset.scanner import scan_folders
from services.dataset.thumbnails import decode_reduced
from tests.dataset.files import write_jpeg, write_png, write_truncated_jpeg

SIZES = [(1024, 1024), (832, 1216), (1216, 832), (512, 512), (4000, 3000), (300, 1200), (1920, 1080),
         (640, 480), (2048, 512), (777, 333), (1000, 1001)]


def test_bucket_resolutions_for_sdxl():
    resos = bucket_resolutions(BucketSettings((1024, 1024), 256, 2048, 64))
    assert (1024, 1024) in resos and (832, 1216) in resos and (1216, 832) in resos
    assert all(w % 64 == 0 and h % 64 == 0 and w * h <= 1024 * 1024 for w, h in resos)
    assert resos == sorted(resos)


def test_placement():
    planner = BucketPlanner(BucketSettings((1024, 1024)))
    square = planner.place(1024, 1024)
    assert square.bucket == (1024, 1024) and square.scale == 1 and square.crop_fraction == 0
    assert planner.place(512, 512).scale == 2  # enlarged: the health report calls it too small
    assert planner.place(832, 1216).bucket == (832, 1216)
    tall = planner.place(300, 1300)
    assert tall.bucket[1] > tall.bucket[0] and tall.crop_fraction > 0
    no_up = BucketPlanner(BucketSettings((1024, 1024), no_upscale=True))
    assert no_up.place(512, 512).bucket == (512, 512) and no_up.place(700, 500).bucket == (640, 448)
    big = no_up.place(4000, 3000)
    assert big.bucket[0] * big.bucket[1] <= 1024 * 1024


def test_histogram_counts_repeats():
    hist = bucket_histogram([(1024, 1024, 10), (1024, 1024, 10), (832, 1216, 1)], BucketSettings((1024, 1024)))
    by = {b.bucket: b for b in hist}
    assert by[(1024, 1024)].images == 2 and by[(1024, 1024)].weighted == 20
    assert by[(832, 1216)].images == 1
    assert hist[0].aspect >= hist[-1].aspect  # wide to tall


def test_bucket_settings_validation():
    assert BucketSettings((1024, 1024), 256, 512).validate()
    assert BucketSettings((1024, 1024), 2048, 4096).validate()
    assert not BucketSettings((1024, 1024)).validate()


SDSCRIPTS = os.environ.get("LORA_STUDIO_SDSCRIPTS")
SDPYTHON = os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON")


@pytest.mark.sdscripts
@pytest.mark.skipif(not (SDSCRIPTS and SDPYTHON), reason="needs LORA_STUDIO_SDSCRIPTS and _PYTHON")
@pytest.mark.parametrize("no_upscale", [False, True])
def test_buckets_match_sd_scripts(no_upscale):
    probe = f"""
import json, sys
sys.path.insert(0, {SDSCRIPTS!r})
from library.train_util import BucketManager
out = {{}}
for res, lo, hi, step in (((1024, 1024), 256, 2048, 64), ((512, 512), 256, 1024, 64), ((768, 512), 320, 1280, 32)):
    m = BucketManager({no_upscale}, res, lo, hi, step)
    m.make_buckets()
    out[str((res, lo, hi, step))] = {{"resos": [list(r) for r in m.predefined_resos],
        "placed": [[list(m.select_bucket(w, h)[0]), list(m.select_bucket(w, h)[1])] for w, h in {SIZES!r}]}}
print(json.dumps(out))
"""
    proc = subprocess.run([SDPYTHON, "-c", probe], capture_output=True, text=True, timeout=300, cwd=SDSCRIPTS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for res, lo, hi, step in (((1024, 1024), 256, 2048, 64), ((512, 512), 256, 1024, 64), ((768, 512), 320, 1280, 32)):
        settings = BucketSettings(res, lo, hi, step, no_upscale)
        expected = theirs[str((res, lo, hi, step))]
        assert [list(r) for r in bucket_resolutions(settings)] == expected["resos"]
        planner = BucketPlanner(settings)
        ours = [[list(planner.place(w, h).bucket), list(planner.place(w, h).resized)] for w, h in SIZES]
        assert ours == expected["placed"]


def test_perceptual_hash_finds_resized_copies_not_different_pictures(tmp_path):
    from PIL import Image

    a = write_jpeg(tmp_path / "a.jpg", (600, 400), seed=1)
    Image.open(a).resize((300, 200)).save(tmp_path / "a_small.jpg", quality=60)
    write_jpeg(tmp_path / "b.jpg", (600, 400), seed=2)
    hashes = {p.name: perceptual_hash(decode_reduced(p, 64)) for p in sorted(tmp_path.glob("*.jpg"))}
    groups = near_duplicate_groups(hashes, 6)
    assert groups == [["a.jpg", "a_small.jpg"]]


def test_health_report_findings(tmp_path):
    from PIL import Image

    root = tmp_path / "ds"
    write_jpeg(root / "10_x" / "ok.jpg", (1024, 1024), seed=1)
    (root / "10_x" / "ok.txt").write_text("a, b", encoding="utf-8")
    shutil.copy(root / "10_x" / "ok.jpg", root / "10_x" / "copy.jpg")
    Image.open(root / "10_x" / "ok.jpg").resize((1000, 1000)).save(root / "10_x" / "near.jpg", quality=80)
    write_png(root / "10_x" / "tiny.png", (200, 200), seed=3)
    (root / "10_x" / "tiny.txt").write_text("  ", encoding="utf-8")
    write_jpeg(root / "10_x" / "banner.jpg", (2400, 400), seed=4)
    (root / "10_x" / "banner.txt").write_bytes(b"\xff\xfe\x00\xd8")
    write_truncated_jpeg(root / "10_x" / "cut.jpg")
    (root / "10_x" / "zero.png").write_bytes(b"")
    write_jpeg(root / "0_off" / "skipped.jpg", (1024, 1024), seed=5)
    ws = scan_folders([root])
    report = run_health_report(snapshot(ws), BucketSettings((1024, 1024)), threads=2)
    found = {f.kind: sorted(os.path.basename(k) for k in f.keys) for f in report.findings}
    assert found["unreadable"] == ["zero.png"]
    assert found["corrupt"] == ["cut.jpg"]
    assert found["duplicate"] == ["copy.jpg", "ok.jpg"]
    assert {"near.jpg", "ok.jpg"} <= set(found["near_duplicate"])
    assert found["too_small"] == ["tiny.png"]
    assert found["empty_caption"] == ["tiny.png"]
    assert found["caption_encoding"] == ["banner.jpg"]
    assert "banner.jpg" in found["odd_aspect"]
    assert "near.jpg" in found["no_caption"] and "copy.jpg" in found["no_caption"]
    assert found["zero_repeats"] == ["skipped.jpg"]
    assert [f.severity for f in report.findings] == sorted((f.severity for f in report.findings),
                                                           key=["error", "warning", "info"].index)
    as_json = json.loads(json.dumps(report.as_dict()))
    assert as_json["buckets"]["histogram"] and as_json["findings"]
    assert sum(b.images for b in report.buckets) == 6  # readable, decodable, training images (not 0_off: skipped)
