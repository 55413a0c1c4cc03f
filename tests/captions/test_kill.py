"""The kill test: a batch over 1,000 captions killed at random moments leaves every file old or new.

A child process (the real command line, ``lora-studio captions DIR add …``) is killed with SIGKILL
(TerminateProcess on Windows) at random moments while it writes, at least 20 times. After each
kill every caption file must hold exactly its old content or exactly its new content: never empty,
never half-written, never missing. The temporary files a killed run leaves are ours only, and the
next run clears them.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from services.captions.durable import is_stale_temp, remove_stale_temps
from services.paths import repo_root

N_FILES = 1000
KILLS = 24
MAX_WINDOW_S = 2.0  # a very slow disk must not make the test take minutes


def _captions(i: int) -> tuple[bytes, bytes]:
    old = ", ".join(f"tag{(i * 7 + j) % 97}" for j in range(20 + i % 7))
    if i % 5 == 0:
        old += "\n"
    new = "trigger, " + old
    # Every fourth file is UTF-16 with a BOM: a torn write there would be very visible.
    if i % 4 == 1:
        return b"\xff\xfe" + old.encode("utf-16-le"), b"\xff\xfe" + new.encode("utf-16-le")
    return old.encode(), new.encode()


def _make(folder: Path) -> dict[Path, tuple[bytes, bytes]]:
    from PIL import Image

    folder.mkdir(parents=True)
    tiny = folder / "img_0000.png"
    Image.new("RGB", (8, 8), (120, 30, 200)).save(tiny)
    data = tiny.read_bytes()
    expected = {}
    for i in range(N_FILES):
        if i:
            (folder / f"img_{i:04d}.png").write_bytes(data)
        old, new = _captions(i)
        path = folder / f"img_{i:04d}.txt"
        path.write_bytes(old)
        expected[path] = (old, new)
    return expected


def _fresh_copy(pristine: Path, expected: dict[Path, tuple[bytes, bytes]], folder: Path
                ) -> dict[Path, tuple[bytes, bytes]]:
    """A new dataset folder of hard links to the pristine files (cheap to make, and the child's
    atomic replace of a caption never touches the pristine file behind the link)."""
    folder.mkdir(parents=True)
    for entry in os.scandir(pristine):
        os.link(entry.path, folder / entry.name)
    return {folder / path.name: contents for path, contents in expected.items()}


def _start(folder: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "app", "captions", str(folder), "add", "trigger", "--at", "front"],
                            cwd=repo_root(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_saving(proc: subprocess.Popen) -> None:
    """Until the child says it starts writing (it has scanned and planned by then)."""
    line = proc.stderr.readline()
    assert line.startswith(b"saving"), line


def _wait_for_content(path: Path, content: bytes, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if path.read_bytes() == content:
                return
        except OSError:  # not there for an instant: never, with atomic swaps, but do not fail here
            pass


def _check(expected: dict[Path, tuple[bytes, bytes]]) -> tuple[int, int]:
    old_n = new_n = 0
    for path, (old, new) in expected.items():
        data = path.read_bytes()
        assert data in (old, new), f"{path.name} holds neither its old nor its new content: {data[:60]!r}"
        old_n += data == old
        new_n += data == new
    return old_n, new_n


def test_killed_batches_leave_every_caption_old_or_new(tmp_path):
    pristine = tmp_path / "pristine"
    originals = _make(pristine)
    folder = tmp_path / "full" / "10_kill"
    expected = _fresh_copy(pristine, originals, folder)

    # One uninterrupted run: it must complete, and it tells how long the writing takes.
    proc = _start(folder)
    _wait_for_saving(proc)
    started = time.perf_counter()
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode(errors="replace")
    write_time = min(time.perf_counter() - started, MAX_WINDOW_S)
    assert _check(expected) == (0, N_FILES)
    assert _check(originals) == (N_FILES, 0)

    rng = random.Random(1234)
    outcomes = []
    first = "img_0000.txt"
    for kill in range(KILLS):
        folder = tmp_path / f"run{kill}" / "10_kill"
        expected = _fresh_copy(pristine, originals, folder)
        proc = _start(folder)
        _wait_for_saving(proc)
        if kill % 2 == 0:
            # Anywhere in the writing phase (stratified over it), at a random moment.
            time.sleep(write_time * (kill + rng.random()) / KILLS)
        else:
            # While files are being swapped: as soon as the first caption holds its new content,
            # plus a random few milliseconds (the swaps of 1,000 files take tens of milliseconds).
            _wait_for_content(folder / first, expected[folder / first][1], proc)
            time.sleep(rng.random() * 0.03)
        proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
        outcomes.append(_check(expected))
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        assert all(is_stale_temp(name) for name in leftovers), leftovers
        remove_stale_temps(folder)

    assert len(outcomes) >= 20
    # The kills really landed while files were being replaced, not only before or after.
    assert any(0 < new < N_FILES for _old, new in outcomes), outcomes

    # A run over a killed run's folder completes and leaves no temporary file behind.
    leftover = tmp_path / "leftover" / "10_kill"
    expected = _fresh_copy(pristine, originals, leftover)
    (leftover / ".img_0001.txt.0123abcd-1.lstmp").write_bytes(b"half a capt")
    proc = _start(leftover)
    _wait_for_saving(proc)
    assert proc.wait(timeout=120) == 0
    proc.stderr.close()
    assert _check(expected) == (0, N_FILES)
    assert not [p for p in leftover.iterdir() if p.name.startswith(".")]
