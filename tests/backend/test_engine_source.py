"""Fetching sd-scripts: from a local git repository (the stand-in engine, a TEST DOUBLE), in place
for an update, from an archive; an interrupted or wrong fetch never leaves a folder that looks done."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from conftest import git

from services.backend.engine_source import EngineFetcher, archive_url
from services.backend.proc import CancelToken
from services.backend.runtime import ENGINE_MARKER, read_commit
from services.errors import BackendError, OperationCancelled


def fetcher(tmp_path, cancel=None, log=None):
    return EngineFetcher(log=(log or []).append if isinstance(log, list) else (lambda line: None),
                         progress=lambda f, t: None, cancel=cancel or CancelToken(), downloads=tmp_path / "dl")


def test_a_local_repository_is_cloned_at_the_commit(engine_repo, tmp_path):
    repo, commit = engine_repo
    dest = tmp_path / "rt" / "sd-scripts"
    dest.parent.mkdir()
    details = fetcher(tmp_path).fetch(str(repo), commit, dest)
    assert read_commit(dest) == (commit, "git")
    assert details == {"commit": commit, "how": "git", "missing_files": []}
    assert not dest.with_name("sd-scripts.partial").exists()


def test_an_update_moves_the_checkout_in_place(engine_repo, tmp_path):
    repo, first = engine_repo
    dest = tmp_path / "sd-scripts"
    fetcher(tmp_path).fetch(str(repo), first, dest)
    (repo / "train_network.py").write_text("# newer\ndef setup_parser():\n    pass\n")
    git(repo, "commit", "-qam", "newer engine")
    second = git(repo, "rev-parse", "HEAD")
    details = fetcher(tmp_path).fetch(str(repo), second, dest)
    assert details["how"] == "git (updated in place)"
    assert read_commit(dest)[0] == second
    assert "# newer" in (dest / "train_network.py").read_text()


def test_a_commit_the_source_does_not_have_fails_and_leaves_nothing(engine_repo, tmp_path):
    repo, _ = engine_repo
    dest = tmp_path / "sd-scripts"
    with pytest.raises(BackendError):
        fetcher(tmp_path).fetch(str(repo), "0" * 40, dest)
    assert not dest.exists() and not dest.with_name("sd-scripts.partial").exists()


def test_cancel_stops_the_fetch_and_leaves_nothing(engine_repo, tmp_path):
    repo, commit = engine_repo
    cancel = CancelToken()
    cancel.cancel()
    dest = tmp_path / "sd-scripts"
    with pytest.raises(OperationCancelled):
        fetcher(tmp_path, cancel).fetch(str(repo), commit, dest)
    assert not dest.exists() and not dest.with_name("sd-scripts.partial").exists()


def _tarball(repo, commit, path, *, top="sd-scripts-" + "x" * 8, extra: dict | None = None):
    with tarfile.open(path, "w:gz") as tf:
        for file in sorted(repo.rglob("*")):
            if ".git" in file.parts or not file.is_file():
                continue
            tf.add(file, arcname=f"{top}/{file.relative_to(repo).as_posix()}")
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_an_archive_is_unpacked_and_its_commit_written_to_the_marker(engine_repo, tmp_path):
    repo, commit = engine_repo
    archive = _tarball(repo, commit, tmp_path / "engine.tar.gz")
    dest = tmp_path / "sd-scripts"
    details = fetcher(tmp_path).fetch(str(archive), commit, dest)
    assert details["how"] == "archive"
    assert (dest / "train_network.py").is_file() and (dest / "library" / "train_util.py").is_file()
    assert read_commit(dest) == (commit, "marker")
    assert json.loads((dest / ENGINE_MARKER).read_text())["source"] == str(archive)


def test_without_git_a_repository_is_fetched_as_an_archive(engine_repo, tmp_path, monkeypatch):
    from services.backend import engine_source

    repo, commit = engine_repo
    archive = _tarball(repo, commit, tmp_path / "engine.tar.gz")
    seen = []
    monkeypatch.setattr(engine_source, "git_available", lambda: None)
    monkeypatch.setattr(engine_source, "archive_url", lambda repository, c: seen.append((repository, c)) or
                        str(archive))
    fetcher(tmp_path).fetch("https://github.com/kohya-ss/sd-scripts", commit, tmp_path / "sd-scripts")
    assert seen == [("https://github.com/kohya-ss/sd-scripts", commit)]
    assert read_commit(tmp_path / "sd-scripts") == (commit, "marker")


def test_an_archive_with_a_path_outside_its_folder_is_refused(engine_repo, tmp_path):
    repo, commit = engine_repo
    archive = _tarball(repo, commit, tmp_path / "evil.tar.gz", extra={"../escaped.txt": b"x"})
    with pytest.raises(BackendError, match="outside its folder"):
        fetcher(tmp_path).fetch(str(archive), commit, tmp_path / "rt" / "sd-scripts")
    assert not (tmp_path / "rt" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()


def test_github_repositories_have_an_archive_url():
    commit = "48d368fa557731ad0488c07304dfeba8c07910eb"
    assert archive_url("https://github.com/kohya-ss/sd-scripts", commit) == \
        f"https://codeload.github.com/kohya-ss/sd-scripts/tar.gz/{commit}"
    assert archive_url("https://github.com/kohya-ss/sd-scripts.git", commit).endswith(f"/sd-scripts/tar.gz/{commit}")
    assert archive_url("https://gitlab.com/x/y", commit) is None
