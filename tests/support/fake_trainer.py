"""TEST DOUBLE -- never shipped, never used by the product.

A stand-in for an sd-scripts training script that prints what the real engine prints (it replays
the start of a real transcript from tests/runs/transcripts/ verbatim, then draws the training
progress bar, sample, checkpoint and state lines in the engine's exact formats) and writes the
files the engine writes (checkpoints, sample PNGs, state folders with train_state.json) -- so the
runner, the monitor and the queue can be tested fast and without torch. It also misbehaves on
request: crash, CUDA out of memory, hang (optionally ignoring SIGTERM), NaN loss, missing module,
missing file, dataset-schema error, offline tokenizer, and child processes (as accelerate and
data-loader workers spawn them) for the process-tree tests.

It takes the engine's command line (``--config_file``, ``--dataset_config``, ``--resume`` ...) and
reads ``output_dir``, ``output_name``, ``max_train_steps``, ``save_every_n_steps``, ``save_state``,
``sample_every_n_steps`` and ``sample_prompts`` from the config file. Everything else comes from
environment variables (all optional):

  FAKE_TRAINER_TRANSCRIPT     transcript to replay (default: the SD1 accelerate one)
  FAKE_TRAINER_SCENARIO       ok, crash, oom, hang, hang_ignore_term, nan, children, missing_module,
                              missing_file, schema_error, tokenizer_offline, slow_exit, leak_secret,
                              replay (the whole transcript verbatim, FAKE_TRAINER_REPEAT times)
  FAKE_TRAINER_LINES_PER_S    pace of the output (0 = as fast as possible)
  FAKE_TRAINER_STEP_SECONDS   time per training step (default 0)
  FAKE_TRAINER_FAIL_AT_STEP   step at which crash / oom / hang / nan happen (default 2)
  FAKE_TRAINER_PIDFILE        the fake writes its own pid and its children's pids here
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import tomlkit

HERE = Path(__file__).resolve().parent
DEFAULT_TRANSCRIPT = HERE.parent / "runs" / "transcripts" / "sd1_lora_accelerate_config.log"
BAR_WIDTH = 10
BLOCKS = " ▏▎▍▌▋▊▉█"


class Pacer:
    def __init__(self, lines_per_s: float) -> None:
        self.rate = lines_per_s
        self.start = time.perf_counter()
        self.count = 0

    def write(self, stream, text: str, lines: int = 1) -> None:
        stream.write(text)
        stream.flush()
        self.count += lines
        if self.rate > 0:
            ahead = self.start + self.count / self.rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)


def lines_of(text: str) -> list[str]:
    """Split after each newline only (str.splitlines would also split at tqdm's \r)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def parse_args(argv: list[str]) -> dict:
    out: dict = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            key = arg[2:]
            if "=" in key:
                key, value = key.split("=", 1)
                out[key] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                out[key] = argv[i + 1]
                i += 1
            else:
                out[key] = True
        i += 1
    return out


def load_config(args: dict) -> dict:
    config: dict = {}
    if args.get("config_file"):
        with open(args["config_file"], encoding="utf-8") as fh:
            for value in tomlkit.parse(fh.read()).unwrap().values():  # tables are flattened, as the engine does
                if isinstance(value, dict):
                    config.update(value)
    for key, value in args.items():
        if key not in ("config_file", "dataset_config"):
            config[key] = value
    return config


def fmt_interval(seconds: float) -> str:
    mins, s = divmod(int(seconds), 60)
    h, m = divmod(mins, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def bar(label: str, n: int, total: int, elapsed: float, postfix: str = "") -> str:
    frac = n / total if total else 0
    filled = frac * BAR_WIDTH
    full = int(filled)
    part = BLOCKS[int((filled - full) * 8)] if full < BAR_WIDTH else ""
    body = ("█" * full + part).ljust(BAR_WIDTH)
    if n and elapsed > 0:
        per = elapsed / n
        rate = f"{per:5.2f}s/it" if per >= 1 else f"{1 / per:5.2f}it/s"
        remaining = fmt_interval(per * (total - n))
    else:
        rate, remaining = "?it/s", "?"
    head = f"{label}: " if label else ""
    tail = f", {postfix}" if postfix else ""
    return f"\r{head}{int(frac * 100):3d}%|{body}| {n}/{total} [{fmt_interval(elapsed)}<{remaining}, {rate}{tail}]"


def record(level: str, message: str, source: str) -> str:
    """A log record in rich's 80-column layout (time column blank, as when it repeats)."""
    width = 80 - 29 - 1 - len(source)
    words, lines, current = message.split(" "), [], ""
    for word in words:
        while len(word) > width:  # rich folds a word longer than the column
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    out = [f"{' ' * 20}{level:<8} {lines[0]:<{width}} {source}"]
    out += [f"{' ' * 29}{line:<{80 - 29}}" for line in lines[1:]]
    return "\n".join(out) + "\n"


def png(path: Path, seed: int, size: int = 64) -> None:
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row += bytes(((x * 4 + seed * 40) % 256, (y * 4 + seed * 90) % 256, (x + y + seed * 60) % 256))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def traceback_text(frames: list[tuple[str, int, str]], final: str) -> str:
    lines = ["Traceback (most recent call last):"]
    for file, line, func in frames:
        lines.append(f'  File "{file}", line {line}, in {func}')
    lines.append(final)
    return "\n".join(lines) + "\n"


def accelerate_wrapper_failure(code: int) -> str:
    return traceback_text(
        [("/venv/bin/accelerate", 8, "<module>"), ("/venv/lib/accelerate/commands/launch.py", 1200, "launch_command"),
         ("/venv/lib/accelerate/commands/launch.py", 795, "simple_launcher")],
        f"subprocess.CalledProcessError: Command '['/venv/bin/python', 'train_network.py']' returned non-zero "
        f"exit status {code}.")


def spawn_children(pidfile: Path | None) -> list[subprocess.Popen]:
    """A child that ignores SIGTERM and has a grandchild of its own, like accelerate's launcher
    and the data-loader workers of the training script."""
    grandchild_code = "import signal,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(1)\n"
    child_code = (
        "import signal,subprocess,sys,time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"g = subprocess.Popen([sys.executable, '-c', {grandchild_code!r}])\n"
        "print(g.pid, flush=True)\n"
        "while True: time.sleep(1)\n")
    child = subprocess.Popen([sys.executable, "-c", child_code], stdout=subprocess.PIPE, text=True)
    grandchild_pid = int(child.stdout.readline())
    if pidfile is not None:
        pidfile.write_text(json.dumps({"trainer": os.getpid(), "children": [child.pid, grandchild_pid]}))
    return [child]


def main() -> int:
    args = parse_args(sys.argv[1:])
    config = load_config(args)
    env = os.environ
    scenario = env.get("FAKE_TRAINER_SCENARIO", "ok")
    transcript = Path(env.get("FAKE_TRAINER_TRANSCRIPT", DEFAULT_TRANSCRIPT))
    pacer = Pacer(float(env.get("FAKE_TRAINER_LINES_PER_S", "0") or 0))
    step_seconds = float(env.get("FAKE_TRAINER_STEP_SECONDS", "0") or 0)
    fail_at = int(env.get("FAKE_TRAINER_FAIL_AT_STEP", "2"))
    pidfile = Path(env["FAKE_TRAINER_PIDFILE"]) if env.get("FAKE_TRAINER_PIDFILE") else None
    out, err = sys.stdout, sys.stderr

    if pidfile is not None and scenario != "children":
        pidfile.write_text(json.dumps({"trainer": os.getpid(), "children": []}))
    if scenario == "hang_ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    children = spawn_children(pidfile) if scenario == "children" else []

    with open(transcript, encoding="utf-8", newline="") as fh:  # keep tqdm's \r
        text = fh.read()
    prelude = text[:text.index("\rsteps:")] if "\rsteps:" in text else text
    total = int(config.get("max_train_steps", 0) or 0) or None

    early = {
        "missing_module": ("ModuleNotFoundError: No module named 'bitsandbytes'", "import network module"),
        "missing_file": ("FileNotFoundError: [Errno 2] No such file or directory: '/models/missing.safetensors'",
                         "prepare images"),
        "schema_error": ("voluptuous.error.MultipleInvalid: extra keys not allowed @ data['general']['bogus_key']",
                         "Loading dataset config"),
        "tokenizer_offline": ("TypeError: expected str, bytes or os.PathLike object, not NoneType",
                              "load tokenizer"),
    }
    if scenario == "replay":  # the transcript verbatim, again and again, line by line at the given pace
        for _ in range(int(env.get("FAKE_TRAINER_REPEAT", "1"))):
            for line in lines_of(text):
                pacer.write(err, line)
        return 0
    if scenario == "leak_secret":  # an engine that prints a token it was given must not leak it to the log
        pacer.write(out, f"token in use: {env.get('HF_TOKEN', '')}\n")
    if scenario in early:
        final, marker = early[scenario]
        cut = prelude.find(marker)
        cut = prelude.find("\n", cut) + 1 if cut >= 0 else len(prelude) // 3
        for line in lines_of(prelude[:cut]):
            pacer.write(err, line)
        err.write(traceback_text([("/sd-scripts/train_network.py", 1900, "<module>"),
                                  ("/sd-scripts/train_network.py", 520, "train")], final))
        err.write(accelerate_wrapper_failure(1))
        err.flush()
        return 1

    for line in lines_of(prelude):
        if total and "total optimization steps" in line:
            line = line[:line.rindex(":") + 1] + f" {total}\n"
        pacer.write(err, line)
    if total is None:
        total = 4

    output_dir = Path(config.get("output_dir") or Path.cwd() / "output")
    output_dir.mkdir(parents=True, exist_ok=True)
    name = config.get("output_name") or "last"
    save_every = int(config.get("save_every_n_steps") or 0)
    sample_every = int(config.get("sample_every_n_steps") or 0)
    save_state = bool(config.get("save_state"))
    prompts = []
    if config.get("sample_prompts") and Path(config["sample_prompts"]).is_file():
        prompts = [p.split(" --")[0].strip() for p in Path(config["sample_prompts"]).read_text("utf-8").splitlines()
                   if p.strip() and not p.startswith("#")]

    first = 1
    resume = config.get("resume")
    if resume:
        err.write(record("INFO", f"resume training from local state: {resume}", "train_util.py:4777"))
        state_file = Path(resume) / "train_state.json"
        if state_file.is_file():
            data = json.loads(state_file.read_text())
            err.write(record("INFO", f"load train state from {state_file}: {data}", "train_network.py:967"))
            first = int(data["current_step"]) + 1
            err.write(record("INFO", f"skipping {first - 1} steps / {first - 1}ステップをスキップします",
                             "train_network.py:1265"))
    bar_total = total - (first - 1)
    start = time.perf_counter()
    pacer.write(err, bar("steps", 0, bar_total, 0))
    pacer.write(out, "\nepoch 1/1\n\n", 3)
    loss = 1.10
    for step in range(first, total + 1):
        if step_seconds:
            time.sleep(step_seconds)
        n = step - first + 1
        elapsed = time.perf_counter() - start
        previous = f"avr_loss={loss:.3g}" if n > 1 else ""
        pacer.write(err, bar("steps", n, bar_total, elapsed, previous))
        if scenario in ("crash", "oom") and step == fail_at:
            if scenario == "oom":
                final = ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
                         "capacity of 7.65 GiB of which 1.12 GiB is free. Of the allocated memory 5.91 GiB is "
                         "allocated by PyTorch, and 210.50 MiB is reserved by PyTorch but unallocated.")
            else:
                final = "RuntimeError: the fake trainer crashed on purpose (test double)"
            err.write("\n" + traceback_text([("/sd-scripts/train_network.py", 1900, "<module>"),
                                             ("/sd-scripts/train_network.py", 1430, "train")], final))
            err.write(accelerate_wrapper_failure(1))
            err.flush()
            return 1
        if scenario in ("hang", "hang_ignore_term") and step == fail_at:
            while True:
                time.sleep(1)
        # As the engine: update() redraws the bar, then samples and saves happen, then set_postfix().
        if sample_every and step % sample_every == 0 and prompts:
            sample_dir = output_dir / "sample"
            sample_dir.mkdir(exist_ok=True)
            err.write(record("INFO", "", "train_util.py:6393"))
            err.write(record("INFO", f"generating sample images at step / サンプル画像生成 ステップ: {step}",
                             "train_util.py:6394"))
            for i, prompt in enumerate(prompts):
                err.write(record("INFO", f"prompt: {prompt}", "train_util.py:6542"))
                err.write(record("INFO", "negative_prompt: None", "train_util.py:6543"))
                err.flush()
                png(sample_dir / f"{name}_{step:06d}_{i:02d}_{time.strftime('%Y%m%d%H%M%S')}.png", step + i)
        if save_every and step % save_every == 0 and step < total:
            ckpt = output_dir / f"{name}-step{step:08d}.safetensors"
            pacer.write(out, f"\nsaving checkpoint: {ckpt}\n", 2)
            ckpt.write_bytes(b"FAKE CHECKPOINT (test double)")
            if save_state:
                err.write(record("INFO", "", "train_util.py:5963"))
                err.write(record("INFO", f"saving state at step {step}", "train_util.py:5964"))
                state = output_dir / f"{name}-step{step:08d}-state"
                state.mkdir(exist_ok=True)
                (state / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
        if scenario == "nan" and step >= fail_at:
            loss = float("nan")
        else:
            loss = round(max(0.05, loss * 0.985 + (0.04 if step % 3 == 0 else -0.02)), 4)
        pacer.write(err, bar("steps", n, bar_total, elapsed, f"avr_loss={loss:.3g}"))
    elapsed = time.perf_counter() - start
    ckpt = output_dir / f"{name}.safetensors"
    pacer.write(out, f"\nsaving checkpoint: {ckpt}\n", 2)
    ckpt.write_bytes(b"FAKE CHECKPOINT (test double)")
    err.write(record("WARNING", "Failed to get git commit hash, using fallback", "sai_model_spec.py:288"))
    err.write(record("INFO", "model saved.", "train_network.py:1729"))
    pacer.write(err, bar("steps", bar_total, bar_total, elapsed, f"avr_loss={loss:.3g}") + "\n")
    if scenario == "slow_exit":
        time.sleep(30)
    for child in children:
        child.wait()  # children ignore SIGTERM: only a kill of the tree ends this
    return 0


if __name__ == "__main__":
    sys.exit(main())
