"""Batch atomic writes: content, permissions, failures, cancel and leftover temporary files."""

import os
import stat
import sys
from pathlib import Path

import pytest

from services.captions import durable
from services.captions.durable import WriteItem, is_stale_temp, remove_stale_temps, write_many


def test_writes_every_file_and_reports_its_stat(tmp_path):
    items = [WriteItem(tmp_path / f"{i}.txt", f"new {i}".encode()) for i in range(25)]
    for item in items[:10]:
        item.path.write_bytes(b"old")
    progress = []
    report = write_many(items, chunk=10, progress=progress.append)
    assert sorted(report.written) == list(range(25)) and not report.failed
    for i, item in enumerate(items):
        assert item.path.read_bytes() == f"new {i}".encode()
        st = item.path.stat()
        assert (st.st_mtime_ns, st.st_size) == (report.written[i].mtime_ns, report.written[i].size)
    assert progress == [10, 20, 25]
    assert not [p for p in tmp_path.iterdir() if p.suffix == durable.TEMP_SUFFIX]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_many([WriteItem(target, b"new")])
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_failing_file_leaves_the_others_written_and_itself_intact(tmp_path):
    ok = tmp_path / "ok.txt"
    missing_dir = tmp_path / "nope" / "x.txt"
    report = write_many([WriteItem(ok, b"1"), WriteItem(missing_dir, b"2")])
    assert ok.read_bytes() == b"1"
    assert list(report.failed) == [1] and isinstance(report.failed[1], OSError)


def test_cancel_between_chunks(tmp_path):
    items = [WriteItem(tmp_path / f"{i}.txt", b"x") for i in range(6)]
    calls = iter([False, True])
    report = write_many(items, chunk=3, cancelled=lambda: next(calls))
    assert report.cancelled and sorted(report.written) == [0, 1, 2]
    assert not (tmp_path / "4.txt").exists()


def test_without_syncfs_each_temp_file_is_flushed(tmp_path, monkeypatch):
    monkeypatch.setattr(durable, "_SYNCFS", None)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(durable.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    write_many([WriteItem(tmp_path / "a.txt", b"a"), WriteItem(tmp_path / "b.txt", b"b")])
    assert len(synced) >= 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux-only")
def test_linux_uses_one_barrier_per_filesystem(tmp_path, monkeypatch):
    calls = []
    real = durable._SYNCFS
    monkeypatch.setattr(durable, "_SYNCFS", lambda fd: (calls.append(fd), real(fd))[1])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_many([WriteItem(tmp_path / "a" / "1.txt", b"1"), WriteItem(tmp_path / "b" / "2.txt", b"2")])
    assert len(calls) == 1


def test_remove_stale_temps_only_removes_ours(tmp_path):
    ours = tmp_path / ".cat.txt.0a1b2c3d-1f.lstmp"
    ours.write_bytes(b"half")
    theirs = [tmp_path / "notes.lstmp", tmp_path / ".cat.txt.tmp", tmp_path / "cat.txt"]
    for path in theirs:
        path.write_bytes(b"keep")
    assert remove_stale_temps(tmp_path) == 1
    assert not ours.exists() and all(p.exists() for p in theirs)


def test_replaced_contents_can_be_kept_for_a_later_cleanup(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    new_file = tmp_path / "b.txt"
    report = write_many([WriteItem(target, b"new"), WriteItem(new_file, b"fresh")], keep_old_versions=True)
    assert target.read_bytes() == b"new" and new_file.read_bytes() == b"fresh"
    if durable._RENAMEAT2 is not None:  # Linux: the old content waits under our temporary name
        assert len(report.old_versions) == 1
        old = report.old_versions[0]
        assert Path(old).read_bytes() == b"old" and is_stale_temp(os.path.basename(old))
    assert durable.remove_files(report.old_versions) == len(report.old_versions)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_exchange_falls_back_to_replace_where_unsupported(tmp_path, monkeypatch):
    import errno

    calls = []

    def unsupported(*args):
        calls.append(args)
        import ctypes

        ctypes.set_errno(errno.EINVAL)
        return -1

    if durable._RENAMEAT2 is None:
        pytest.skip("renameat2 is Linux-only")
    monkeypatch.setattr(durable, "_RENAMEAT2", unsupported)
    targets = [tmp_path / f"{i}.txt" for i in range(3)]
    for t in targets:
        t.write_bytes(b"old")
    report = write_many([WriteItem(t, b"new") for t in targets], keep_old_versions=True)
    assert len(calls) == 1  # tried once, then plain replace for the rest
    assert not report.old_versions and all(t.read_bytes() == b"new" for t in targets)
