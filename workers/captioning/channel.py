"""The worker's end of the protocol: protocol lines on the real stdout, commands from stdin.

At start the process's stdout file descriptor is moved aside and replaced by stderr, so whatever a
library prints (transformers' warnings, a C extension's ``printf``) lands on stderr and can never
corrupt the protocol channel.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from typing import IO, Any

from services.captioning.protocol import CANCEL, DRIVER_TYPES, JOB, ProtocolError, decode, encode


class FdLines:
    """Lines from a raw file descriptor. Unlike ``sys.stdin`` it holds no buffer lock, so a thread
    blocked in it cannot stall the interpreter's shutdown."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def readline(self) -> str:
        while b"\n" not in self._buffer:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line.decode("utf-8", errors="replace")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", errors="replace") + "\n"

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class Channel:
    def __init__(self, out: IO[str], inp: FdLines | IO[str] | None) -> None:
        self._out = out
        self._in = inp
        self._lock = threading.Lock()
        self.cancelled = threading.Event()
        self._reader: threading.Thread | None = None

    @classmethod
    def from_process_streams(cls) -> Channel:
        sys.stdout.flush()
        protocol_fd = os.dup(1)
        os.dup2(2, 1)  # fd 1 now writes to stderr: stray prints cannot reach the driver
        sys.stdout = sys.stderr
        out = io.TextIOWrapper(os.fdopen(protocol_fd, "wb", buffering=0), encoding="utf-8",
                               line_buffering=True, write_through=True)
        return cls(out, FdLines(sys.stdin.fileno()))

    def emit(self, message_type: str, /, **data: Any) -> None:
        line = encode(message_type, **data) + "\n"
        with self._lock:
            try:
                self._out.write(line)
                self._out.flush()
            except (BrokenPipeError, OSError, ValueError):
                # The driver is gone: nobody will read results any more, so stop working.
                self.cancelled.set()

    def read_job(self) -> dict:
        """The first line on stdin: the job. ProtocolError if it is anything else."""
        if self._in is None:
            raise ProtocolError("No job given.")
        line = self._in.readline()
        if not line:
            raise ProtocolError("The driver closed stdin before sending a job.")
        message = decode(line, allowed=DRIVER_TYPES)
        if message.type != JOB:
            raise ProtocolError(f"Expected a job, got {message.type!r}.")
        return message.data

    def listen_for_cancel(self) -> None:
        """Watch stdin for ``cancel`` (or its end: the driver died) on a daemon thread."""
        if self._in is None or self._reader is not None:
            return

        def read() -> None:
            try:
                for line in self._in:
                    try:
                        message = decode(line, allowed=DRIVER_TYPES)
                    except (ProtocolError, json.JSONDecodeError):
                        continue
                    if message.type == CANCEL:
                        break
            except (OSError, ValueError):
                pass
            self.cancelled.set()

        self._reader = threading.Thread(target=read, name="caption-stdin", daemon=True)
        self._reader.start()
