"""``lora-studio caption`` from a terminal, as a user runs it (a subprocess of ``python -m app``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.captioning.builders import solid_image

ROOT = Path(__file__).resolve().parents[2]


def caption(*args, timeout=120):
    env = dict(os.environ, COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "app", "caption", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_a_folder_is_tagged_from_the_terminal(tmp_path, tiny_tagger):
    data = tmp_path / "10_demo"
    solid_image(data / "red.png", (255, 0, 0))
    solid_image(data / "sub" / "white.png", (255, 255, 255))
    (data / "red.txt").write_bytes(b"\xef\xbb\xbfsks\r\n")  # UTF-8 with BOM and CRLF: kept as it is
    (data / "bad.png").write_bytes(b"junk")
    proc = caption(data, "--captioner", "wd14", "--model", tiny_tagger, "--existing", "append",
                   "--general-threshold", "0.6", "--rating", "first", "--tag-replacements", "^_^ -> smile",
                   "--no-replace-underscores")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (data / "red.txt").read_bytes() == b"\xef\xbb\xbfsks, general, red, smile\r\n"
    assert (data / "sub" / "white.txt").read_text(encoding="utf-8") == "general, white_background, smile"
    assert "2 of 2 image(s) captioned" in proc.stderr and "2 caption file(s) written" in proc.stderr
    assert "1 unreadable image(s)" in proc.stderr
    again = caption(data, "--captioner", "wd14", "--model", tiny_tagger)  # default policy: skip
    assert again.returncode == 0 and "Nothing to caption" in again.stderr


def test_errors_are_explained_with_a_hint_and_exit_code_1(tmp_path, tiny_tagger):
    data = tmp_path / "data"
    solid_image(data / "a.png", (1, 2, 3))
    offline = caption(data, "--captioner", "wd14", "--model", "SmilingWolf/wd-vit-tagger-v3", "--offline",
                      "--models-dir", tmp_path / "models")
    assert offline.returncode == 1
    assert "error: The WD14 tagger model SmilingWolf/wd-vit-tagger-v3 is not downloaded" in offline.stderr
    assert "hint:" in offline.stderr and "model.onnx" in offline.stderr
    wrong = caption(data, "--captioner", "wd14", "--model", tiny_tagger, "--num-beams", "3")
    assert wrong.returncode == 1 and "--num-beams do(es) not apply to the WD14 tagger" in wrong.stderr
    bad = caption(data, "--captioner", "wd14", "--model", tiny_tagger, "--general-threshold", "2")
    assert bad.returncode == 1 and "above the maximum" in bad.stderr


def test_help_lists_the_declared_options():
    proc = caption("--help")
    assert proc.returncode == 0
    for flag in ("--general-threshold", "--character-first", "--num-beams", "--top-p", "--quantization",
                 "--execution-provider", "--existing"):
        assert flag in proc.stdout
