"""``python -m workers.captioning --protocol N``: read one job on stdin, caption, report on stdout."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    from services.captioning import protocol as P
    from services.version import app_version
    from workers.captioning.channel import Channel

    parser = argparse.ArgumentParser(prog="python -m workers.captioning")
    parser.add_argument("--protocol", type=int, required=True, help="the protocol version the driver speaks")
    args = parser.parse_args(argv)

    # Ctrl+C in a terminal reaches the whole process group: the driver (the CLI) decides what it
    # means and tells the worker through the protocol, so the worker itself ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    channel = Channel.from_process_streams()
    channel.emit(P.HELLO, protocol=P.PROTOCOL_VERSION, worker_version=app_version(), pid=os.getpid(),
                 python=sys.version.split()[0])

    def refuse(kind: str, message: str, hint: str) -> int:
        channel.emit(P.ERROR, kind=kind, message=message, hint=hint, details="")
        channel.emit(P.DONE, done=0, failed=0, total=0, cancelled=False, elapsed_s=0.0)
        return P.EXIT_PROTOCOL

    mismatch_hint = ("The backend runtime holds another LoRA Studio version's worker; repair or update the "
                     "backend from Settings > Training backend.")
    if args.protocol != P.PROTOCOL_VERSION:
        return refuse(P.PROTOCOL_MISMATCH, f"The application speaks protocol version {args.protocol}, this "
                      f"captioning worker version {P.PROTOCOL_VERSION}.", mismatch_hint)
    try:
        raw = channel.read_job()
    except P.ProtocolError as exc:
        return refuse(P.BAD_JOB, exc.message, exc.hint)
    if raw.get("protocol") != P.PROTOCOL_VERSION:
        return refuse(P.PROTOCOL_MISMATCH, f"The job is in protocol version {raw.get('protocol')}, this worker "
                      f"speaks {P.PROTOCOL_VERSION}.", mismatch_hint)

    from services.captioning.job import CaptionJob
    from services.errors import LoraStudioError
    from workers.captioning.runner import JobRunner

    try:
        job = CaptionJob.from_dict(raw.get("job")).validate()
    except LoraStudioError as exc:
        channel.emit(P.ERROR, kind=P.BAD_JOB, message=exc.message, hint=exc.hint, details="")
        channel.emit(P.DONE, done=0, failed=0, total=0, cancelled=False, elapsed_s=0.0)
        return P.EXIT_FAILED
    channel.listen_for_cancel()
    return JobRunner(channel, job).run()


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    # Leave without the interpreter's shutdown: the stdin watcher may still be blocked in a read,
    # and libraries' exit hooks have nothing left to do for a finished job.
    os._exit(code)
