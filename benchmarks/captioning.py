"""Auto-captioning throughput: a WD14-class tagger of realistic size through the real worker.

Builds (once, cached) a random-weight ONNX tagger with the WD14 convention and the size of the real
ones (ViT-B/16 at 448 px, ~95M parameters, 10,861 tags: 4 ratings, then general, then character
tags, in the order of SmilingWolf's label files), takes 64 images of the benchmark dataset, and
captions them from an offscreen GUI: CaptionService (worker process, QThread driver), results
applied through the caption controller into an open workspace and saved, as the dock does.

Prints one JSON object:
  images                  images captioned
  throughput_img_s        images / (job start .. last caption applied in the GUI), worker start and
                          model load included
  inference_bound_img_s   the same ONNX model and session options, fed pre-decoded batches in a bare
                          loop in one process (same threads): what the model alone can do. Measured
                          before and after the job and averaged, so that a load from other programs
                          that grows or fades during the run tilts neither side (both are printed)
  efficiency              throughput_img_s / inference_bound_img_s          (target >= 0.9)
  first_result_s          job start .. first caption in the GUI
  max_stall_ms            longest GUI event-loop stall during the job         (target <= 50)
cpu_s_per_image (worker and GUI process) and, for sd-scripts, sdscripts_cpu_s_per_image: CPU time is
less disturbed than wall time when other programs share the machine. And, when LORA_STUDIO_SDSCRIPTS
(and LORA_STUDIO_SDSCRIPTS_PYTHON) name an sd-scripts checkout, its
finetune/tag_images_by_wd14_tagger.py timed on the same model files and images (process start to
exit, as a user runs it): sdscripts_img_s and speedup_vs_sdscripts (target >= 1.2).

    python benchmarks/captioning.py [--batch-size N] [--images 64]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL_VERSION = 1
N_TAGS, N_RATINGS, N_CHARACTERS = 10_861, 4, 1_857
REPO_ID = "bench/wd14-vit-b16-448"


def cache_dir() -> Path:
    env = os.environ.get("LORA_STUDIO_BENCH_CACHE")
    return Path(env) if env else ROOT / "benchmarks" / ".cache"


# --- the model ----------------------------------------------------------------------------

def build_vit_tagger(folder: Path) -> Path:
    """model.onnx + selected_tags.csv of a random ViT-B/16 448 px tagger (cached by version)."""
    marker = folder / "COMPLETE"
    if marker.exists() and marker.read_text().strip() == str(MODEL_VERSION):
        return folder
    import torch
    from torch import nn

    from tests.captioning.builders import write_selected_tags

    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

        def forward(self, x):
            b, n, c = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            x = x + self.proj(nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))
            return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))

    class ViTTagger(nn.Module):
        def __init__(self, image=448, patch=16, dim=768, depth=12, heads=12, tags=N_TAGS) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, dim, patch, patch)
            self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2, dim) * 0.02)
            self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
            self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, tags)
            with torch.no_grad():  # a realistic caption length: most tags improbable, a few dozen likely
                self.head.bias.fill_(-4.0)
                self.head.bias[torch.randperm(tags - N_RATINGS)[:25] + N_RATINGS] = 0.0

        def forward(self, x):  # NHWC, BGR, 0..255
            x = x.permute(0, 3, 1, 2) / 127.5 - 1.0
            x = self.patch(x).flatten(2).transpose(1, 2) + self.pos
            for block in self.blocks:
                x = block(x)
            return torch.sigmoid(self.head(self.norm(x).mean(1)))

    folder.mkdir(parents=True, exist_ok=True)
    model = ViTTagger().eval()
    params = sum(p.numel() for p in model.parameters())
    torch.onnx.export(model, (torch.zeros(1, 448, 448, 3),), str(folder / "model.onnx"), opset_version=18,
                      external_data=False, input_names=["input"], output_names=["output"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    general = N_TAGS - N_RATINGS - N_CHARACTERS
    names = (["general", "sensitive", "questionable", "explicit"] + [f"tag_{i:05d}" for i in range(general)]
             + [f"character_{i:04d}_(series)" for i in range(N_CHARACTERS)])
    write_selected_tags(folder / "selected_tags.csv", names, [9] * N_RATINGS + [0] * general + [4] * N_CHARACTERS)
    (folder / "params.json").write_text(json.dumps({"parameters": params, "tags": N_TAGS}))
    marker.write_text(str(MODEL_VERSION))
    return folder


def benchmark_images(count: int) -> list[Path]:
    """The first ``count`` images of the benchmark dataset (the 10,000 if generated, else the same
    first images generated alone: the generator's per-image content does not depend on the count)."""
    from benchmarks.common.dataset_gen import generate_dataset

    full = cache_dir() / "dataset-10000-s0-v1"
    if (full / "COMPLETE").exists():
        return generate_dataset(10_000).image_paths[:count]
    return generate_dataset(count).image_paths[:count]


# --- the inference bound ------------------------------------------------------------------------

def inference_bound(model: Path, images: list[Path], batch_size: int) -> float:
    import numpy as np

    from services.captioning.families import WD14
    from services.captioning.options import resolve
    from workers.captioning.wd14 import WD14Captioner

    captioner = WD14Captioner(model, resolve(WD14.options, {"batch_size": batch_size}), ", ")
    captioner.load()
    arrays = [captioner.preprocess(str(p)) for p in images]
    batches = [np.ascontiguousarray(np.stack(arrays[i:i + batch_size])) for i in range(0, len(arrays), batch_size)]
    captioner.infer(batches[0])  # warm-up, not timed
    start = time.perf_counter()
    for batch in batches:
        captioner.infer(batch)
    elapsed = time.perf_counter() - start
    captioner.close()
    return len(images) / elapsed


# --- the real job, from the GUI ------------------------------------------------------------------

def gui_run(model: Path, images: list[Path], batch_size: int, work: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["LORA_STUDIO_HOME"] = str(work / "home")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from services.captioning.job import CaptionJob
    from services.captioning.qt.apply import ResultApplier
    from services.captioning.qt.service import CaptionService
    from services.captions.qt.controller import caption_controller
    from services.dataset.scanner import scan_folders
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings

    app = QApplication.instance() or QApplication(["captioning-benchmark"])
    data = work / "data"
    data.mkdir()
    for path in images:
        shutil.copy2(path, data / path.name)
    session = Session(Settings(), None, app_dirs().ensure())
    workspace = scan_folders([data])
    session.set_workspace(workspace)
    controller = caption_controller(session)
    while controller.index is None or controller._threads:
        app.processEvents()
        time.sleep(0.005)

    service = CaptionService()
    applier = ResultApplier(session, title="Auto-caption (benchmark)", policy="overwrite", tags=True)
    clock = QElapsedTimer()
    state = {"first": None, "end": None, "outcome": None, "last_tick": 0, "max_gap": 0, "applied": 0, "ready": None}

    stalls: list[list[float]] = []

    def tick() -> None:
        now = clock.elapsed()
        gap = now - state["last_tick"]
        state["max_gap"] = max(state["max_gap"], gap)
        if gap - 5 > 50:
            stalls.append([round(state["last_tick"] / 1000, 2), gap - 5])
        state["last_tick"] = now

    def results(batch) -> None:
        if state["first"] is None:
            state["first"] = clock.nsecsElapsed() / 1e9
        state["applied"] += len(batch)
        applier.add(batch)

    def finished(outcome) -> None:
        state["end"] = clock.nsecsElapsed() / 1e9
        state["outcome"] = outcome
        applier.finish()

    def ready(_device) -> None:
        state["ready"] = clock.nsecsElapsed() / 1e9

    service.ready.connect(ready)
    service.results_arrived.connect(results)
    service.job_finished.connect(finished)
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(tick)
    job = CaptionJob("wd14", str(model), workspace.keys(), {"batch_size": batch_size}, separator=", ")
    cpu_before = _children_cpu() + _self_cpu()
    clock.start()
    heartbeat.start()
    loop = QEventLoop()
    service.job_finished.connect(loop.quit)
    service.start(job)
    if state["outcome"] is None:
        loop.exec()  # idle between events: the harness must not take CPU from the worker
    heartbeat.stop()
    cpu = _children_cpu() + _self_cpu() - cpu_before
    assert controller.flush(), "captions not saved"
    outcome = state["outcome"]
    if not outcome.ok:
        raise SystemExit(f"the job failed: {outcome.error} {getattr(outcome.error, 'details', '')}")
    written = sum(1 for p in data.glob("*.txt") if p.read_text(encoding="utf-8").strip())
    controller.shutdown()
    return {"elapsed_s": state["end"], "first_result_s": state["first"], "done": outcome.done,
            "written": written, "max_stall_ms": max(0, state["max_gap"] - 5), "ready_s": state["ready"],
            "cpu_s": cpu, "stalls": stalls}


# --- sd-scripts ---------------------------------------------------------------------------------

def sdscripts_run(model: Path, images: list[Path], batch_size: int, work: Path) -> tuple[float, float] | None:
    scripts, python = os.environ.get("LORA_STUDIO_SDSCRIPTS"), os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON")
    if not scripts or not python:
        return None
    model_dir = work / "sd-models"
    location = model_dir / REPO_ID.replace("/", "_")  # where it looks for a repo id; it never downloads then
    location.mkdir(parents=True)
    for name in ("model.onnx", "selected_tags.csv"):
        os.symlink(model / name, location / name)
    data = work / "sd-data"
    data.mkdir()
    for path in images:
        shutil.copy2(path, data / path.name)
    env = dict(os.environ, PYTHONPATH=scripts, HF_HUB_OFFLINE="1")
    command = [python, str(Path(scripts) / "finetune" / "tag_images_by_wd14_tagger.py"), str(data), "--onnx",
               "--repo_id", REPO_ID, "--model_dir", str(model_dir), "--batch_size", str(batch_size),
               "--general_threshold", "0.35", "--character_threshold", "0.85", "--caption_extension", ".txt"]
    start = time.perf_counter()
    cpu_before = _children_cpu()
    proc = subprocess.run(command, cwd=scripts, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if proc.returncode != 0 or len(list(data.glob("*.txt"))) != len(images):
        raise SystemExit(f"sd-scripts' tagger failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return len(images) / elapsed, cpu / len(images)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    from services.captioning.families import WD14

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=WD14.option("batch_size").default)
    parser.add_argument("--no-sdscripts", action="store_true")
    parser.add_argument("--model", choices=("vit", "tiny"), default="vit",
                        help="tiny: a tagger that costs nothing, to see the decode-bound case (startup, image "
                             "decoding and the GUI path alone)")
    args = parser.parse_args()

    if args.model == "tiny":
        from tests.captioning.builders import build_tiny_tagger

        model = build_tiny_tagger(cache_dir() / "wd14-tiny")
        info = {"parameters": 3 * 34 + 34, "tags": 34}
    else:
        model = build_vit_tagger(cache_dir() / f"wd14-vit-b16-448-v{MODEL_VERSION}")
        info = json.loads((model / "params.json").read_text())
    images = benchmark_images(args.images)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="lora-captioning-bench-") as tmp:
        work = Path(tmp)
        bound_before = inference_bound(model, images, args.batch_size)
        gui = gui_run(model, images, args.batch_size, work)
        bound_after = inference_bound(model, images, args.batch_size)
        bound = (bound_before + bound_after) / 2
        sd = None if args.no_sdscripts else sdscripts_run(model, images, args.batch_size, work)
    throughput = gui["done"] / gui["elapsed_s"]
    result = {
        "images": gui["done"],
        "throughput_img_s": round(throughput, 4),
        "inference_bound_img_s": round(bound, 4),
        "efficiency": round(throughput / bound, 3),
        "inference_bound_before_after_img_s": [round(bound_before, 4), round(bound_after, 4)],
        "first_result_s": round(gui["first_result_s"], 2),
        "max_stall_ms": gui["max_stall_ms"],
        # Each stall over 50 ms: [seconds after the start, ms]. With other programs loading the CPU
        # the GUI process is not scheduled for a while; compare with first_result_s and the total.
        "stalls_over_50ms": gui["stalls"][:10],
        "job_s": round(gui["elapsed_s"], 2),
        "batch_size": args.batch_size,
        "model_ready_s": round(gui["ready_s"], 2),  # job start .. worker started and model loaded
        "captions_written": gui["written"],
        "cpu_s_per_image": round(gui["cpu_s"] / gui["done"], 3),
        "model": args.model,
        "model_parameters": info["parameters"],
        "model_tags": info["tags"],
        "cpu_count": os.cpu_count(),
        # Other programs' load skews wall-clock figures (the CPU-time ones less): see both ends.
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)] if load_before is not None
        else None,
    }
    if sd is not None:
        result["sdscripts_img_s"] = round(sd[0], 4)
        result["speedup_vs_sdscripts"] = round(throughput / sd[0], 3)
        result["sdscripts_cpu_s_per_image"] = round(sd[1], 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
