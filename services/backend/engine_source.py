"""Putting sd-scripts at the pinned commit into a folder: with git, or from an archive.

With git (preferred): a local repository is cloned (its objects are copied or hard-linked, no
network); a URL is fetched at depth 1 at exactly the pinned commit (GitHub serves any reachable
commit), falling back to a full fetch. An existing checkout is moved in place (Update). Without
git (a fresh Windows machine): GitHub's archive of that commit is downloaded (resumable) and
unpacked, and the commit is written into the folder's marker file.

A fresh install is built in ``<dest>.partial`` and renamed into place only when it is complete, so
an interrupted fetch never leaves a folder that looks installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from services.backend.proc import CancelToken, clean_env, run_capture, run_streaming
from services.backend.runtime import ENGINE_MARKER, ENGINE_PROBE_FILE, read_commit
from services.errors import BackendError

Log = Callable[[str], None]
Progress = Callable[[float | None, str], None]
_GITHUB = re.compile(r"^(?:https?://|git@)github\.com[/:]([^/]+)/([^/]+?)(?:\.git)?/?$")


def git_available() -> str | None:
    return shutil.which("git")


def _git_env() -> dict[str, str]:
    return clean_env({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "LC_ALL": "C"})


def _is_local(repository: str) -> bool:
    return repository.startswith("file://") or Path(repository).expanduser().exists()


def archive_url(repository: str, commit: str) -> str | None:
    """GitHub's tarball of one commit, when the repository is on GitHub."""
    match = _GITHUB.match(repository.strip())
    if not match:
        return None
    return f"https://codeload.github.com/{match.group(1)}/{match.group(2)}/tar.gz/{commit}"


class EngineFetcher:
    def __init__(self, *, log: Log, progress: Progress, cancel: CancelToken, downloads: Path) -> None:
        self.log = log
        self.progress = progress
        self.cancel = cancel
        self.downloads = downloads

    # --- entry point ----------------------------------------------------------------------
    def fetch(self, repository: str, commit: str, dest: Path, *, prefer_git: bool = True) -> dict:
        """Make ``dest`` hold ``commit``; returns details for the step's marker (how, missing files)."""
        dest = Path(dest)
        kind = "archive" if repository.lower().endswith((".tar.gz", ".tgz", ".zip", ".tar")) else "git"
        git = git_available() if prefer_git else None
        if kind == "git" and git:
            if (dest / ".git").exists() and self._update_in_place(repository, commit, dest):
                return self._finish(dest, commit, "git (updated in place)")
            return self._fresh(dest, commit, lambda partial: self._clone(repository, commit, partial), "git")
        url = repository if kind == "archive" else archive_url(repository, commit)
        if url is None:
            raise BackendError(
                f"git is not installed, and {repository} is not on GitHub, so it cannot be downloaded as an archive.",
                "Install git (https://git-scm.com/downloads) and run the setup again.")
        return self._fresh(dest, commit, lambda partial: self._from_archive(url, commit, partial), "archive")

    # --- git ------------------------------------------------------------------------------
    def _git(self, *args: str, cwd: Path | None = None, check: bool = True) -> int:
        code = run_streaming(["git", *args], cwd=cwd, env=_git_env(), cancel=self.cancel, on_line=self.log)
        if check and code != 0:
            command = next((a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "-c")),
                           args[0])
            raise BackendError(f"git {command} failed (exit code {code}).",
                               "See the log above; check the network connection and run the setup again.")
        return code

    def _clone(self, repository: str, commit: str, partial: Path) -> None:
        if _is_local(repository):
            self.progress(None, f"Cloning {repository}")
            self._git("clone", "--no-checkout", "--quiet", repository, str(partial))
        else:
            partial.mkdir(parents=True)
            self._git("init", "--quiet", cwd=partial)
            self._git("remote", "add", "origin", repository, cwd=partial)
            self._fetch_commit(commit, partial)
        self._checkout(commit, partial)

    def _checkout(self, commit: str, repo: Path) -> None:
        """Check out ``commit``. A source that lacks some files' contents (a partial clone made
        without large files) makes git complain and exit non-zero while HEAD does move: that is
        judged by where HEAD is, and the files left out are reported (see ``_finish``)."""
        self.progress(None, f"Checking out {commit[:8]}")
        code = self._git("-c", "advice.detachedHead=false", "checkout", "--force", "--detach", commit, cwd=repo,
                         check=False)
        if read_commit(repo)[0] != commit:
            raise BackendError(f"git checkout of {commit[:8]} failed (exit code {code}).",
                               "See the log above; check that the engine source has this commit.")
        if code != 0:
            self.log("git reported errors, but the commit is checked out; the files it could not write are "
                     "listed below")

    def _fetch_commit(self, commit: str, repo: Path) -> None:
        self.progress(None, f"Fetching {commit[:8]}")
        if self._git("fetch", "--depth", "1", "--no-tags", "origin", commit, cwd=repo, check=False) == 0:
            return
        self.log("fetching that one commit did not work; fetching the whole history instead")
        self._git("fetch", "--no-tags", "origin", cwd=repo)

    def _update_in_place(self, repository: str, commit: str, dest: Path) -> bool:
        """Move an existing checkout to ``commit``; False when it cannot be (then it is re-cloned)."""
        current, _ = read_commit(dest)
        try:
            if current != commit:
                if self._git("remote", "set-url", "origin", repository, cwd=dest, check=False) != 0:
                    self._git("remote", "add", "origin", repository, cwd=dest, check=False)
                if _is_local(repository):
                    self._git("fetch", "--no-tags", "origin", cwd=dest)
                else:
                    self._fetch_commit(commit, dest)
            self._checkout(commit, dest)
        except BackendError as exc:
            self.log(f"updating the existing checkout failed ({exc.message}); cloning it afresh")
            return False
        return read_commit(dest)[0] == commit

    # --- archive --------------------------------------------------------------------------
    def _download(self, url: str, target: Path) -> None:
        """Resumable download: a ``.partial`` file is continued with an HTTP Range request."""
        partial = target.with_name(target.name + ".partial")
        offset = partial.stat().st_size if partial.exists() else 0
        request = urllib.request.Request(url, headers={"User-Agent": "LoRA-Studio"})
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        try:
            response = urllib.request.urlopen(request, timeout=60)
        except OSError as exc:
            raise BackendError(f"Downloading {url} failed ({exc}).",
                               "Check the network connection (or install git) and run the setup again.") from exc
        with response:
            if offset and response.status != 206:  # the server ignored the range: start over
                offset = 0
            total = response.headers.get("Content-Length")
            total = int(total) + offset if total and total.isdigit() else None
            done = offset
            last = 0.0
            with open(partial, "ab" if offset else "wb") as out:
                while chunk := response.read(1 << 16):
                    self.cancel.raise_if_cancelled()
                    out.write(chunk)
                    done += len(chunk)
                    if time.monotonic() - last > 0.25:
                        last = time.monotonic()
                        self.progress(done / total if total else None, f"Downloading sd-scripts: {done / 1e6:.1f} MB")
        os.replace(partial, target)

    def _from_archive(self, source: str, commit: str, partial: Path) -> None:
        local = Path(source[len("file://"):] if source.startswith("file://") else source).expanduser()
        if local.is_file():
            archive = local
        else:
            self.downloads.mkdir(parents=True, exist_ok=True)
            archive = self.downloads / f"sd-scripts-{commit}{'.zip' if source.endswith('.zip') else '.tar.gz'}"
            if not archive.is_file():
                self._download(source, archive)
        self.progress(None, f"Unpacking {archive.name}")
        self.log(f"unpacking {archive}")
        partial.mkdir(parents=True)
        _safe_extract(archive, partial)
        children = [p for p in partial.iterdir()]
        if len(children) == 1 and children[0].is_dir() and not (partial / ENGINE_PROBE_FILE).exists():
            inner = children[0]  # GitHub's archives hold one top folder: sd-scripts-<commit>/
            for item in inner.iterdir():
                item.rename(partial / item.name)
            inner.rmdir()
        (partial / ENGINE_MARKER).write_text(json.dumps({"commit": commit, "source": source}), encoding="utf-8")

    # --- common ---------------------------------------------------------------------------
    def _fresh(self, dest: Path, commit: str, make: Callable[[Path], None], how: str) -> dict:
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            make(partial)
            if not (partial / ENGINE_PROBE_FILE).is_file():
                raise BackendError(f"What was fetched is not sd-scripts (no {ENGINE_PROBE_FILE}).",
                                   "Check the engine source in the setup.")
            got, _ = read_commit(partial)
            if got != commit:
                raise BackendError(f"The checkout is at {got or 'an unknown commit'}, not at {commit}.",
                                   "Check that the engine source has the pinned commit.")
            if dest.exists():
                old = dest.with_name(f"{dest.name}.old-{int(time.time())}")
                dest.rename(old)
                partial.rename(dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                partial.rename(dest)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return self._finish(dest, commit, how)

    def _finish(self, dest: Path, commit: str, how: str) -> dict:
        details: dict = {"commit": commit, "how": how, "missing_files": []}
        if (dest / ".git").exists():
            with contextlib.suppress(OSError, BackendError):
                status = run_capture(["git", "status", "--porcelain", "--untracked-files=no"], cwd=dest,
                                     env=_git_env(), timeout=60).stdout
                missing = [line[3:] for line in status.splitlines() if line[:2].strip() == "D"]
                if missing:
                    # A partial clone without some large files can check out everything else.
                    details["missing_files"] = missing
                    self.log(f"warning: {len(missing)} file(s) of {commit[:8]} are not in the source and were not "
                             "checked out: " + ", ".join(missing[:5]))
        return details


def _safe_extract(archive: Path, target: Path) -> None:
    """Unpack without letting any member escape ``target`` (absolute paths, .., links)."""
    root = target.resolve()

    def inside(name: str) -> Path:
        path = (root / name).resolve()
        if path != root and root not in path.parents:
            raise BackendError(f"The archive {archive.name} holds a path outside its folder ({name}).",
                               "The download is damaged or not sd-scripts; delete it and run the setup again.")
        return path

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                inside(member.filename)
            zf.extractall(root)
        return
    try:
        with tarfile.open(archive) as tf:
            members = []
            for member in tf.getmembers():
                inside(member.name)
                if member.issym() or member.islnk():
                    inside(os.path.join(os.path.dirname(member.name), member.linkname))
                if member.isfile() or member.isdir() or member.issym():
                    members.append(member)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: the standard guard as well
                tf.extractall(root, members=members, filter="data")
            else:
                tf.extractall(root, members=members)
    except tarfile.TarError as exc:
        raise BackendError(f"The archive {archive.name} cannot be unpacked ({exc}).",
                           "Delete it and run the setup again to download it anew.") from exc
