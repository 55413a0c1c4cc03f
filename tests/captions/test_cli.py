"""``lora-studio captions DIR OPERATION …``: each operation, --dry-run, errors and the exit code."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.captions.helpers import make_dataset

CAPTIONS = {"a": "cat, long hair, smile, cat", "b": "dog, smile", "c": None,
            "bad": "caf\u00e9".encode("latin-1")}


@pytest.fixture
def folder(tmp_path):
    return make_dataset(tmp_path / "data", CAPTIONS)


def read(folder, name):
    path = folder / f"{name}.txt"
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("argv, expected_a", [
    (["add", "sks", "--at", "front"], b"sks, cat, long hair, smile, cat"),
    (["add", "sks", "--at", "2"], b"cat, sks, long hair, smile, cat"),
    (["remove", "smile"], b"cat, long hair, cat"),
    (["remove", ".*hair", "--regex"], b"cat, smile, cat"),
    (["rename", "cat", "--to", "feline"], b"feline, long hair, smile"),
    (["replace", "long", "short"], b"cat, short hair, smile, cat"),
    (["replace", "CAT", "kitten", "--whole-tag", "--ignore-case"], b"kitten, long hair, smile"),
    (["dedupe"], b"cat, long hair, smile"),
    (["sort"], b"cat, cat, long hair, smile"),
    (["move-front", "smile"], b"smile, cat, long hair, cat"),
    (["affix", "--prefix", "photo of "], b"photo of cat, long hair, smile, cat"),
])
def test_operations_write_and_dry_run_does_not(folder, capsys, argv, expected_a):
    before = {n: read(folder, n) for n in CAPTIONS}
    assert main(["captions", str(folder.parent), *argv, "--dry-run"]) == 0
    assert {n: read(folder, n) for n in CAPTIONS} == before
    assert "would change" in capsys.readouterr().out
    assert main(["captions", str(folder.parent), *argv]) == 0
    assert read(folder, "a") == expected_a
    assert read(folder, "bad") == before["bad"]  # undecodable: never written


def test_json_summary_and_created_caption(folder, capsys):
    assert main(["captions", str(folder.parent), "--json", "add", "sks"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["changed"] == 3 and summary["saved"] == 3 and summary["skipped"] == 1
    assert read(folder, "c") == b"sks"


def test_extension_rename(folder, capsys):
    assert main(["captions", str(folder.parent), "extension", ".caption", "--dry-run"]) == 0
    assert read(folder, "a") is not None
    assert main(["captions", str(folder.parent), "extension", "caption"]) == 0
    assert read(folder, "a") is None and (folder / "a.caption").read_bytes() == CAPTIONS["a"].encode()
    assert (folder / "bad.caption").exists()  # renaming keeps the bytes, whatever they are


def test_bad_input_is_a_clear_error(folder, capsys):
    assert main(["captions", str(folder.parent), "replace", "(", "x", "--regex"]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "regular expression" in err
    assert main(["captions", str(folder.parent / "missing"), "dedupe"]) == 1
    assert "does not exist" in capsys.readouterr().err
