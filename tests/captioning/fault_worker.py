"""A test double around the real captioning worker: it injects one fault, then runs the worker.

    python -m tests.captioning.fault_worker --fault crash-after=2 --protocol 1

Faults: ``noise`` (prints to stdout each batch), ``slow=S`` (each batch takes S more seconds),
``crash-after=N`` (the process dies of a segmentation fault after N batches, as a broken native
library would), ``oom-at=N`` (batch N raises the error onnxruntime raises when an allocation
fails), ``hello-version=V`` (introduces itself with protocol V). Everything else is the product's worker code.
"""

from __future__ import annotations

import argparse
import os
import sys


def _install(faults: list[str]) -> None:
    from workers.captioning import runner

    batches = {"n": 0}
    original_make = runner.make_captioner

    def make(*args, **kwargs):
        captioner = original_make(*args, **kwargs)
        caption = captioner.caption

        def faulty(batch):
            batches["n"] += 1
            for fault in faults:
                name, _, value = fault.partition("=")
                if name == "noise":  # a library that prints: must not reach the protocol channel
                    print("noise from a library")
                    os.write(1, b"raw noise on fd 1\n")
                elif name == "slow":
                    import time

                    time.sleep(float(value))
                elif name == "crash-after" and batches["n"] > int(value):
                    import ctypes
                    import faulthandler
                    import resource

                    faulthandler.disable()
                    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                    ctypes.string_at(0)  # a real segmentation fault
                elif name == "oom-at" and batches["n"] == int(value):
                    raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned "
                                       "while running MatMul node. Failed to allocate memory for requested buffer "
                                       "of size 1073741824")
            return caption(batch)

        captioner.caption = faulty
        return captioner

    runner.make_captioner = make


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fault", action="append", default=[])
    args, rest = parser.parse_known_args()
    for fault in args.fault:
        if fault.startswith("hello-version="):
            from services.captioning import protocol

            protocol.PROTOCOL_VERSION = int(fault.split("=", 1)[1])
    _install(args.fault)
    from workers.captioning.__main__ import main as worker_main

    return worker_main(rest)


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)
