"""Saving keeps each file's encoding and line endings, never writes what could not be decoded,
and reports files changed by another program as conflicts."""

from __future__ import annotations

import os

from services.captions.operations import AddTags, FindReplace
from services.captions.saving import SaveItem, disk_state, save_captions
from services.dataset.caption_files import CaptionFormat, read_caption
from tests.captions.helpers import key_of, make_dataset, open_workspace, wait_idle

ENCODED = {
    "utf8": b"cat, dog",
    "utf8_final_newline": b"cat, dog\n",
    "utf8_bom_crlf": b"\xef\xbb\xbfcat, dog\r\nsecond line\r\n",
    "utf16le_bom": "\ufeffcat, dog, \u00e9t\u00e9".encode("utf-16-le"),
    "utf16be_bom_crlf": "\ufeffcat, dog\r\n".encode("utf-16-be"),
    "cr_only": b"cat, dog\rmore\r",
    "latin1": "cat, caf\u00e9, dog".encode("latin-1"),  # undecodable: not UTF-8, no BOM
    "utf16_no_bom": "cat, dog".encode("utf-16-le"),
}
EXPECTED = {  # after adding "sks" at the front
    "utf8": b"sks, cat, dog",
    "utf8_final_newline": b"sks, cat, dog\n",
    "utf8_bom_crlf": b"\xef\xbb\xbfsks, cat, dog\r\nsecond line\r\n",
    "utf16le_bom": "\ufeffsks, cat, dog, \u00e9t\u00e9".encode("utf-16-le"),
    "utf16be_bom_crlf": "\ufeffsks, cat, dog\r\n".encode("utf-16-be"),
    "cr_only": b"sks, cat, dog\rmore\r",
    "latin1": ENCODED["latin1"],
    "utf16_no_bom": ENCODED["utf16_no_bom"],
}


def test_batch_keeps_every_encoding_and_never_writes_undecodable(session, controller, tmp_path, qtbot):
    dataset = make_dataset(tmp_path / "data", ENCODED)
    ws = open_workspace(session, dataset.parent)
    wait_idle(qtbot, controller)
    controller.run_operation(AddTags(("sks",), "front"), ws.keys())
    wait_idle(qtbot, controller)
    assert controller.flush()
    for name, data in EXPECTED.items():
        assert (dataset / f"{name}.txt").read_bytes() == data, name
    command = session.undo_stack.command(0)
    assert len(command.changes) == 6
    session.undo_stack.undo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    for name, data in ENCODED.items():
        assert (dataset / f"{name}.txt").read_bytes() == data, name


def test_undecodable_captions_are_locked_in_the_editor(session, controller, tmp_path, qtbot):
    dataset = make_dataset(tmp_path / "data", {"latin1": ENCODED["latin1"]})
    ws = open_workspace(session, dataset.parent)
    wait_idle(qtbot, controller)
    key = key_of(ws, "latin1")
    assert "decoded" in controller.locked_reason(key)
    controller.edit_texts({key: "overwrite"})
    assert session.undo_stack.count() == 0
    changes = controller.edit([key], FindReplace("cat", "dog"))
    assert changes is not None and not changes and key in changes.skipped


def test_save_pipeline_refuses_undecodable_files(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(ENCODED["latin1"])
    base = read_caption(path)
    result = save_captions([SaveItem("k", base, "new")])
    assert "k" in result.errors and path.read_bytes() == ENCODED["latin1"]


def test_a_touch_is_not_a_conflict_but_a_change_is(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("a, b", encoding="utf-8")
    base = read_caption(path)
    os.utime(path, ns=(base.snapshot.mtime_ns + 10_000_000, base.snapshot.mtime_ns + 10_000_000))
    assert disk_state(base) is None
    path.write_text("a, c", encoding="utf-8")
    theirs = disk_state(base)
    assert theirs is not None and theirs.text == "a, c"
    result = save_captions([SaveItem("k", base, "mine")])
    assert list(result.conflicts) == ["k"] and path.read_text() == "a, c"


def test_deleted_and_created_elsewhere_are_conflicts(tmp_path):
    gone = tmp_path / "gone.txt"
    gone.write_text("x", encoding="utf-8")
    base_gone = read_caption(gone)
    gone.unlink()
    born = tmp_path / "born.txt"
    base_born = read_caption(born)  # did not exist when read
    born.write_text("someone else's", encoding="utf-8")
    result = save_captions([SaveItem("g", base_gone, "mine"), SaveItem("b", base_born, "mine")])
    assert set(result.conflicts) == {"g", "b"}
    assert not gone.exists() and born.read_text() == "someone else's"


def test_new_files_take_the_given_format_and_snapshots_match_a_reread(tmp_path):
    path = tmp_path / "new.txt"
    fmt = CaptionFormat("utf-8", True, "\r\n", True)
    result = save_captions([SaveItem("n", read_caption(path), "a\nb", fmt)])
    assert path.read_bytes() == b"\xef\xbb\xbfa\r\nb\r\n"
    saved = result.saved["n"]
    assert saved.snapshot == read_caption(path).snapshot
    assert saved.text == "a\nb" and saved.format == fmt


def test_new_captions_follow_their_neighbours_format(session, controller, tmp_path, qtbot):
    dataset = make_dataset(tmp_path / "data", {"has": b"\xef\xbb\xbfx\r\n", "none": None})
    ws = open_workspace(session, dataset.parent)
    wait_idle(qtbot, controller)
    controller.edit([key_of(ws, "none")], AddTags(("sks",), "front"))
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert (dataset / "none.txt").read_bytes() == b"\xef\xbb\xbfsks\r\n"


def test_unwritable_file_is_reported_and_left_alone(tmp_path, monkeypatch):
    from services.captions import durable

    path = tmp_path / "x.txt"
    path.write_text("old", encoding="utf-8")
    other = tmp_path / "y.txt"
    other.write_text("old", encoding="utf-8")
    real = durable._write_temp

    def refuse(tmp, item, fsync):
        if item.path == path:
            raise PermissionError(13, "Permission denied", tmp)
        return real(tmp, item, fsync)

    monkeypatch.setattr(durable, "_write_temp", refuse)
    result = save_captions([SaveItem("x", read_caption(path), "new"), SaveItem("y", read_caption(other), "new")])
    assert "x" in result.errors and "Permission denied" in result.errors["x"].details
    assert path.read_text() == "old" and other.read_text() == "new"
