"""Facts about the project that every packaging step shares: paths, names, the one version number."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"

APP_NAME = "LoRA Studio"
SLUG = "lora-studio"  # executable, .deb package, desktop-entry id, icon name, install folder
BUNDLE_NAME = SLUG  # dist/<BUNDLE_NAME>/ is the one-folder bundle
GUI_EXE_WINDOWS = "LoRA Studio"  # the windowed executable on Windows (shortcuts point at it)
SUMMARY = "Prepare image datasets and train LoRAs for Stable Diffusion-family models"
# Debian wants a maintainer; a release build names a real address through LORA_STUDIO_MAINTAINER.
MAINTAINER = "LoRA Studio developers"

# The ML stack lives in the backend runtime, never in the GUI bundle (ARCHITECTURE.md, invariant 2).
# The spec excludes these and bundle checks fail if any of them turns up anyway.
FORBIDDEN_MODULES = ("torch", "torchvision", "torchaudio", "transformers", "diffusers", "onnxruntime",
                     "onnx", "onnxscript", "accelerate", "bitsandbytes", "lycoris", "tensorflow", "jax",
                     "triton", "tokenizers", "sentencepiece", "workers")
SIZE_BUDGET_MB = 250  # the unpacked bundle


def version() -> str:
    """The one version number: pyproject.toml, read the way the app itself reads it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from services.version import app_version

    return app_version()


def debian_version(pep440: str) -> str:
    """PEP 440 -> a Debian version that sorts the same way (pre-releases before the release)."""
    from packaging.version import Version

    v = Version(pep440)
    result = (f"{v.epoch}:" if v.epoch else "") + ".".join(str(n) for n in v.release)
    if v.pre:
        result += f"~{v.pre[0]}{v.pre[1]}"
    if v.dev is not None:  # 1.0.dev1 < 1.0a1 < 1.0rc1.dev1 < 1.0rc1 < 1.0; "~~" sorts before "~"
        result += f"~dev{v.dev}" if v.pre else f"~~dev{v.dev}"
    if v.post is not None:
        result += f"+post{v.post}"
    if v.local:
        result += f"+local.{v.local}"
    return result


def windows_file_version(pep440: str) -> tuple[int, int, int, int]:
    """PEP 440 -> the four numbers a Windows version resource accepts (the release part)."""
    from packaging.version import Version

    release = [min(n, 65535) for n in Version(pep440).release[:3]]
    return (*release, *[0] * (3 - len(release)), 0)


def machine() -> str:
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(),
                                                                          platform.machine().lower())


def deb_architecture() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386"}.get(machine(), machine())


def deb_name(ver: str) -> str:
    return f"{SLUG}_{debian_version(ver)}_{deb_architecture()}.deb"


def run_name(ver: str) -> str:
    return f"LoRA-Studio-{ver}-linux-{machine()}.run"


def setup_exe_name(ver: str) -> str:
    return f"LoRA-Studio-Setup-{ver}.exe"


def bundle_executable(bundle: Path) -> Path:
    """The command-line executable inside a bundle (on Windows the console one)."""
    return bundle / (SLUG + (".exe" if sys.platform == "win32" else ""))
