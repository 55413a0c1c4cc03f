"""What a backend runtime can do: run with ITS python, print ONE JSON object on stdout, exit 0.

    python -m workers.env_probe [--sd-scripts DIR [--scripts train_network.py,...]] [--in-process]

Reports the Python, every installed distribution with its version (from metadata, without
importing), torch (version, build: cuda / rocm / xpu / mps / cpu, the devices it sees with names
and memory, whether a small computation runs), torchvision, bitsandbytes (importable, and usable:
an 8-bit optimizer step), LoRA Studio's installed worker payload, and, with ``--sd-scripts``,
whether each training script builds its argument parser. The fields are listed in
docs/backend-api.md (the hardware area's system report reads them).

It never crashes: every probe is isolated. By default each heavy probe runs in its own child
process (a native crash in bitsandbytes cannot take the torch report with it); ``--in-process``
runs them all here (faster, less isolated). Libraries that print on import cannot corrupt the
JSON: while probing, file descriptor 1 points at stderr, and the JSON goes to the saved stdout.
Standard library only at module level: this runs in interpreters we know nothing about.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback

PROBE_VERSION = 1
PAYLOAD_DIST = "lora-studio-workers"
PAYLOAD_MANIFEST = "lora_studio_payload.json"
DEFAULT_SCRIPTS = ("train_network.py", "sdxl_train_network.py", "flux_train_network.py", "sd3_train_network.py",
                   "train_db.py", "fine_tune.py", "sdxl_train.py", "flux_train.py", "sd3_train.py")
HEAVY_PROBES = ("torch", "torchvision", "bitsandbytes", "parsers")
ERROR_CHARS = 1500


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS] + "…"


def _isolated(fn, *args) -> tuple[dict, dict]:
    """Run one probe; whatever it raises (SystemExit included) becomes a result, not a crash."""
    start = time.perf_counter()
    try:
        result, error = fn(*args), None
    except BaseException as exc:  # the point of a probe is to survive anything
        result, error = {}, _error(exc)
        result["traceback_tail"] = traceback.format_exc(limit=-3)[-ERROR_CHARS:]
    meta = {"ok": error is None, "seconds": round(time.perf_counter() - start, 3), "error": error}
    return result, meta


# --- light probes (metadata only) ----------------------------------------------------------

def probe_python() -> dict:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "in_venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
        "sys_platform": sys.platform,
        "machine": platform.machine(),
        "os": platform.platform(),
    }


def probe_packages() -> dict:
    """Every distribution installed (name -> version), for the dependency check of the runtime."""
    from importlib import metadata

    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            if name and name not in versions:
                versions[name] = dist.version
        except Exception:  # a broken dist-info must not hide the others
            continue
    return dict(sorted(versions.items(), key=lambda kv: kv[0].lower()))


def probe_payload() -> dict:
    """LoRA Studio's worker modules as installed in this runtime, and the copy running now."""
    from importlib import metadata

    installed = None
    try:
        dist = metadata.distribution(PAYLOAD_DIST)
        text = dist.read_text(PAYLOAD_MANIFEST)
        installed = json.loads(text) if text else {"version": dist.version}
    except metadata.PackageNotFoundError:
        installed = None
    running_from = os.path.dirname(os.path.abspath(__file__))
    running = None
    with contextlib.suppress(OSError, ValueError), \
            open(os.path.join(running_from, "_payload.json"), encoding="utf-8") as fh:
        running = json.load(fh)
    return {"installed": installed, "running": running, "running_from": running_from}


def _cpu_name() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_bytes() -> int | None:
    with contextlib.suppress(Exception):
        import psutil

        return int(psutil.virtual_memory().total)
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return None


def probe_cpu() -> dict:
    return {"type": "cpu", "index": 0, "name": _cpu_name(), "total_memory": _ram_bytes(), "cores": os.cpu_count()}


# --- heavy probes (each may run in its own process) ----------------------------------------

def _device_list(module, kind: str) -> list[dict]:
    devices = []
    for i in range(module.device_count()):
        dev: dict = {"type": kind, "index": i}
        try:
            props = module.get_device_properties(i)
            dev.update(name=str(props.name), total_memory=int(props.total_memory))
            if hasattr(props, "major"):
                dev["capability"] = f"{props.major}.{props.minor}"
            arch = getattr(props, "gcnArchName", None)
            if arch:
                dev["arch"] = str(arch)
        except Exception as exc:
            dev["error"] = _error(exc)
        devices.append(dev)
    return devices


def probe_torch() -> dict:
    from importlib import metadata

    out: dict = {"installed": False, "version": None}
    with contextlib.suppress(Exception):
        out["version"] = metadata.version("torch")
    try:
        import torch
    except ImportError as exc:
        out["error"] = _error(exc)
        return out
    out["installed"] = True
    version = str(torch.__version__)
    out["version"] = version
    cuda_build = getattr(torch.version, "cuda", None)
    hip_build = getattr(torch.version, "hip", None)
    gpu_available = False
    with contextlib.suppress(Exception):
        gpu_available = bool(torch.cuda.is_available())
    gpu_devices = _device_list(torch.cuda, "rocm" if hip_build else "cuda") if gpu_available else []
    out["cuda"] = {"build": cuda_build, "available": gpu_available and not hip_build,
                   "devices": [] if hip_build else gpu_devices}
    out["rocm"] = {"build": hip_build, "available": gpu_available and bool(hip_build),
                   "devices": gpu_devices if hip_build else []}
    xpu_mod = getattr(torch, "xpu", None)
    xpu_build, xpu_available = "xpu" in version, False
    with contextlib.suppress(Exception):
        xpu_build = xpu_build or bool(xpu_mod._is_compiled())
    with contextlib.suppress(Exception):
        xpu_available = bool(xpu_mod is not None and xpu_mod.is_available())
    out["xpu"] = {"build": xpu_build, "available": xpu_available,
                  "devices": _device_list(xpu_mod, "xpu") if xpu_available else []}
    mps_available = False
    with contextlib.suppress(Exception):
        mps_available = bool(torch.backends.mps.is_available())
    out["mps"] = {"available": mps_available}
    out["build"] = ("rocm" if hip_build else "cuda" if cuda_build else "xpu" if xpu_build
                    else "mps" if sys.platform == "darwin" else "cpu")
    with contextlib.suppress(Exception):
        out["cudnn"] = torch.backends.cudnn.version() if gpu_available else None
    # A real computation on the best device: "sees the device" is not "can use it".
    device = "cuda" if gpu_available else "xpu" if xpu_available else "mps" if mps_available else "cpu"
    try:
        a = torch.ones((64, 64), device=device)
        value = float((a @ a).sum().item())
        out["compute"] = {"device": device, "ok": value == 64.0 * 64 * 64, "error": None}
    except Exception as exc:
        out["compute"] = {"device": device, "ok": False, "error": _error(exc)}
    return out


def probe_torchvision() -> dict:
    from importlib import metadata

    out: dict = {"installed": False, "version": None}
    with contextlib.suppress(Exception):
        out["version"] = metadata.version("torchvision")
    try:
        import torchvision
        from torchvision import transforms  # what sd-scripts uses

        transforms.Compose([transforms.ToTensor()])
    except Exception as exc:  # a CUDA build beside a CPU torch raises RuntimeError
        out["error"] = _error(exc)
        return out
    out.update(installed=True, version=str(getattr(torchvision, "__version__", out["version"])),
               cuda=getattr(getattr(torchvision, "version", None), "cuda", None))
    return out


def probe_bitsandbytes() -> dict:
    from importlib import metadata

    out: dict = {"installed": False, "version": None, "usable": False}
    with contextlib.suppress(Exception):
        out["version"] = metadata.version("bitsandbytes")
    try:
        import bitsandbytes as bnb
        import torch
    except Exception as exc:
        out["error"] = _error(exc)
        return out
    out["installed"] = True
    out["version"] = str(getattr(bnb, "__version__", out["version"]))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with contextlib.suppress(Exception):
        if device == "cpu" and torch.xpu.is_available():
            device = "xpu"
    out["device"] = device
    try:  # usable = its native library works for this device: one 8-bit optimizer step
        weight = torch.nn.Parameter(torch.ones(4096, device=device))
        optimizer = bnb.optim.AdamW8bit([weight], lr=1e-3)
        weight.grad = torch.ones_like(weight)
        optimizer.step()
        out["usable"] = bool(torch.isfinite(weight).all().item()) and float(weight[0].item()) < 1.0
    except Exception as exc:
        out["error"] = _error(exc)
    return out


def probe_parsers(sd_scripts: str, scripts: list[str]) -> dict:
    import importlib.util

    results: dict[str, dict] = {}
    os.chdir(sd_scripts)  # sd-scripts imports its own modules relative to its folder
    if sd_scripts not in sys.path:
        sys.path.insert(0, sd_scripts)
    for script in scripts:
        start = time.perf_counter()
        entry: dict = {"ok": False, "arguments": 0, "error": None, "missing_module": None}
        path = os.path.join(sd_scripts, script)
        try:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{script} is not in {sd_scripts}")
            name = "_lora_studio_probe_" + os.path.splitext(os.path.basename(script))[0]
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            parser = module.setup_parser()
            entry.update(ok=True, arguments=len(getattr(parser, "_actions", [])))
        except BaseException as exc:
            entry["error"] = _error(exc)
            if isinstance(exc, ModuleNotFoundError):
                entry["missing_module"] = exc.name
            entry["traceback_tail"] = traceback.format_exc(limit=-2)[-ERROR_CHARS:]
        entry["seconds"] = round(time.perf_counter() - start, 3)
        results[script] = entry
    return {"dir": sd_scripts, "scripts": results}


def _run_probe(name: str, args) -> tuple[dict, dict]:
    if name == "parsers":
        return _isolated(probe_parsers, args.sd_scripts, args.scripts)
    return _isolated({"torch": probe_torch, "torchvision": probe_torchvision,
                      "bitsandbytes": probe_bitsandbytes}[name])


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(name: str, args, env: dict) -> tuple[dict, dict]:
    cmd = [sys.executable, "-m", "workers.env_probe", "--probe", name]
    if name == "parsers":
        cmd += ["--sd-scripts", args.sd_scripts, "--scripts", ",".join(args.scripts)]
    start = time.perf_counter()

    def failed(error: str, stderr: bytes = b"") -> tuple[dict, dict]:
        return {}, {"ok": False, "seconds": round(time.perf_counter() - start, 3), "error": error,
                    "stderr_tail": stderr.decode("utf-8", "replace")[-ERROR_CHARS:]}

    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                stdin=subprocess.DEVNULL)
    except OSError as exc:
        return failed(_error(exc))
    try:
        stdout, stderr = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        return failed(f"the probe did not finish within {args.timeout:.0f} s", stderr)
    with contextlib.suppress(Exception):  # the child's own messages stay visible, on our stderr
        sys.stderr.write(stderr.decode("utf-8", "replace"))
    try:
        payload = json.loads(stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        return payload["result"], payload["meta"]
    except (ValueError, IndexError, KeyError, TypeError):
        code = proc.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with {code}"
        return failed(f"the probe process {how} without a result", stderr)


def _children(names: list[str], args) -> dict[str, tuple[dict, dict]]:
    """Each probe in its own interpreter; a crash or a hang is a result too. As many at once as
    there are spare cores (each child imports torch; on two cores one at a time is fastest)."""
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    workers = max(1, min(len(names), (os.cpu_count() or 2) // 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_child, name, args, env) for name in names}
        return {name: future.result() for name, future in futures.items()}


def collect(args) -> dict:
    report: dict = {"probe": PROBE_VERSION, "probes": {}}
    for key, fn in (("python", probe_python), ("packages", probe_packages), ("payload", probe_payload)):
        report[key], report["probes"][key] = _isolated(fn)
    cpu, report["probes"]["cpu"] = _isolated(probe_cpu)
    names = [n for n in HEAVY_PROBES if n != "parsers" or args.sd_scripts]
    heavy = {name: _run_probe(name, args) for name in names} if args.in_process else _children(names, args)
    for name in names:
        result, meta = heavy[name]
        report["probes"][name] = meta
        if name == "parsers":
            report["sd_scripts"] = result if meta["ok"] else {"dir": args.sd_scripts, "scripts": {},
                                                              "error": meta["error"]}
        else:
            if not meta["ok"]:  # the probe itself failed (crash, hang): say so where readers look
                result = {"installed": False, "usable": False, **result, "error": meta["error"]}
            report[name] = result
    torch_report = report.get("torch") or {}
    devices = [d for key in ("cuda", "rocm", "xpu") for d in (torch_report.get(key) or {}).get("devices", [])]
    if (torch_report.get("mps") or {}).get("available"):
        devices.append({"type": "mps", "index": 0, "name": "Apple GPU (Metal)"})
    report["devices"] = [cpu, *devices] if cpu else devices
    return report


def main(argv: list[str] | None = None) -> int:
    real_stdout = os.dup(1)
    os.dup2(2, 1)  # anything printed while probing goes to stderr
    sys.stdout = sys.stderr
    try:
        parser = argparse.ArgumentParser(prog="python -m workers.env_probe")
        parser.add_argument("--sd-scripts", default="")
        parser.add_argument("--scripts", default=",".join(DEFAULT_SCRIPTS))
        parser.add_argument("--in-process", action="store_true")
        parser.add_argument("--probe", choices=HEAVY_PROBES)
        parser.add_argument("--timeout", type=float, default=300.0)
        try:
            args = parser.parse_args(argv)
            args.scripts = [s for s in args.scripts.split(",") if s]
            if args.sd_scripts:
                args.sd_scripts = os.path.abspath(args.sd_scripts)
            if args.probe:
                result, meta = _run_probe(args.probe, args)
                text = json.dumps({"result": result, "meta": meta}, default=str)
            else:
                text = json.dumps(collect(args), default=str)
        except BaseException as exc:  # even a bad argument ends in JSON
            text = json.dumps({"probe": PROBE_VERSION, "fatal": _error(exc)})
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
        sys.stdout = sys.__stdout__
    with os.fdopen(real_stdout, "w", encoding="utf-8", closefd=True) as out:
        out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
