"""Choosing onnxruntime's execution provider: the best installed one, or the one the user asked for."""

from __future__ import annotations

from workers.captioning.base import LoadError

PROVIDERS = {"cuda": "CUDAExecutionProvider", "rocm": "ROCMExecutionProvider",
             "directml": "DmlExecutionProvider", "cpu": "CPUExecutionProvider"}
AUTO_ORDER = ("cuda", "rocm", "directml", "cpu")
_PACKAGES = {"cuda": "onnxruntime-gpu", "rocm": "onnxruntime-rocm", "directml": "onnxruntime-directml"}


def choose(requested: str, available: list[str]) -> list[str]:
    """The provider list for an InferenceSession (CPU always last, as the fallback)."""
    if requested == "auto":
        chosen = [PROVIDERS[k] for k in AUTO_ORDER if PROVIDERS[k] in available]
        return chosen or ["CPUExecutionProvider"]
    name = PROVIDERS.get(requested)
    if name is None:
        raise LoadError("bad_job", f"Unknown execution provider {requested!r}.",
                        "Choose one of: auto, " + ", ".join(PROVIDERS))
    if name not in available:
        raise LoadError(
            "device_unavailable",
            f"The {requested.upper() if requested != 'directml' else 'DirectML'} execution provider is not "
            f"available in this onnxruntime (it has {', '.join(available) or 'none'}).",
            f"Choose Automatic or CPU, or install {_PACKAGES.get(requested, 'onnxruntime')} in the backend "
            "runtime.")
    return [name] if name == "CPUExecutionProvider" else [name, "CPUExecutionProvider"]


def describe(used: list[str]) -> str:
    first = used[0] if used else "CPUExecutionProvider"
    for key, name in PROVIDERS.items():
        if name == first:
            return f"onnxruntime {key.upper() if key != 'directml' else 'DirectML'}"
    return f"onnxruntime {first}"
