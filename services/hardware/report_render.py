"""The system report for people: Markdown (for bug reports) and plain text (for the terminal).

Both are rendered from the same list of sections, built from the report dict of
``services.hardware.report``, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.hardware import units


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)  # after the rows
    bullets: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # shown as code: what fixes a problem
    table: tuple[list[str], list[list[str]]] | None = None  # (header, rows)


def _system(report: dict) -> Section:
    os_, py, app = report["os"], report["python"], report["app"]
    cpu = (report.get("hardware") or {}).get("cpu") or {}
    section = Section("System")
    section.rows.append(("LoRA Studio", f"{app['version']} ({app['install']})"))
    os_text = os_["distribution"] or os_["system"]
    section.rows.append(("Operating system", f"{os_text} · {os_['system']} {os_['release']} · {os_['machine']}"))
    supported = "supported" if py["supported"] else f"NOT supported (LoRA Studio needs {py['supported_range']})"
    section.rows.append(("Python (GUI)", f"{py['version']} {py['implementation']}, {supported} · {py['executable']}"))
    if cpu:
        section.rows.append(("CPU", f"{cpu['name']} · {cpu.get('physical_cores') or '?'} cores / "
                                    f"{cpu.get('logical_cores') or '?'} threads"))
        swap = units.size(cpu["swap_total"]) if cpu.get("swap_total") else "none"
        section.rows.append(("RAM", f"{units.size(cpu['memory_total'])} (swap: {swap})"))
    return section


def _gpus(report: dict) -> Section:
    hardware = report.get("hardware") or {}
    section = Section("GPUs")
    gpus = hardware.get("gpus") or []
    readings = {r["key"]: r for r in hardware.get("readings") or []}
    section.rows.append(("Detected", hardware.get("summary", "No GPU detected.")))
    vram = report.get("vram") or {}
    if vram:
        section.rows.append(("VRAM for training", vram.get("message", "")))
    if gpus:
        header = ["#", "GPU", "VRAM", "in use", "driver", "CUDA", "compute", "temp", "power"]
        rows = []
        for gpu in gpus:
            reading = readings.get(gpu["key"], {})
            rows.append([str(gpu["index"]), gpu["name"], units.size(gpu.get("memory_total")),
                         units.size(reading.get("memory_used")), gpu.get("driver") or "",
                         gpu.get("cuda_version") or "", gpu.get("compute_capability") or "",
                         units.celsius(reading.get("temperature_c")),
                         units.watts(reading.get("power_w"), gpu.get("power_limit_w"))])
        section.table = (header, rows)
        for gpu in gpus:
            if gpu.get("unavailable"):
                section.bullets.append(f"GPU {gpu['index']}: not reported by its driver: "
                                       + "; ".join(gpu["unavailable"]))
    section.bullets.extend(f"checked {p['vendor']} ({p['name']}): {p['message']}"
                           for p in hardware.get("providers") or [])
    return section


def _dependencies(title: str, deps: dict | None) -> Section:
    section = Section(title)
    if not deps:
        section.paragraphs.append("not checked")
        return section
    section.rows.append(("Result", deps["summary"]))
    for check in deps["checks"]:
        status = check["status"]
        if status in ("missing", "mismatch", "unparseable"):
            wanted = check["specifier"] or "any version"
            have = check["installed"] or "not installed"
            section.bullets.append(f"{check['name']}: {have}, needs {wanted}")
    section.commands.extend(deps.get("fix_commands") or [])
    ok = list(dict.fromkeys(f"{c['name']} {c['installed']}" for c in deps["checks"] if c["status"] == "ok"))
    if ok:
        section.paragraphs.append("Installed: " + ", ".join(ok))
    for skipped in deps.get("skipped") or []:
        section.paragraphs.append(f"Not checked: `{skipped['line']}` ({skipped['reason']})")
    return section


_ACCELERATOR_LABELS = {"cuda": "CUDA", "rocm": "ROCm", "xpu": "Intel XPU", "mps": "Apple MPS"}


def _backend(report: dict) -> list[Section]:
    backend = report.get("backend") or {}
    runtime = Section("Training backend")
    status = backend.get("status")
    if status in (None, "pending"):
        runtime.paragraphs.append("Being probed…")
        return [runtime]
    if status == "skipped":
        runtime.paragraphs.append("Not probed (--no-backend).")
        return [runtime]
    runtime.rows.append(("Runtime", backend.get("runtime_summary", "")))
    runtime.bullets.extend((backend.get("runtime") or {}).get("problems") or [])
    if not backend.get("python"):
        runtime.paragraphs.append("No interpreter to probe: install the training backend (Settings > Training "
                                  "backend, or `lora-studio backend install`).")
        return [runtime]
    probed = Section("Backend interpreter")
    probed.rows.append(("Interpreter", f"{backend['python']} ({backend.get('chosen_by', '')})"))
    facts = backend.get("facts") or {}
    if facts.get("fatal"):
        probed.rows.append(("Probe", f"failed: {facts['fatal']}"))
        return [runtime, probed]
    py = facts.get("python") or {}
    supported = backend.get("python_supported")
    probed.rows.append(("Python", f"{py.get('version') or 'unknown'} {py.get('implementation') or ''}".strip()
                        + ("" if supported is None else (", supported" if supported else ", NOT supported"))))
    torch = facts.get("torch") or {}
    if torch.get("installed"):
        compute = torch.get("compute") or {}
        works = compute.get("ok")
        probed.rows.append(("torch", f"{torch.get('version')} (build: {torch.get('build') or 'unknown'})"
                            + ("" if works is None else f"; a test computation on {compute.get('device')} "
                               + ("ran" if works else f"FAILED: {compute.get('error')}"))))
    else:
        probed.rows.append(("torch", f"cannot be imported: {torch.get('error') or 'not installed'}"))
    probed.rows.append(("Training device", facts.get("devices", "unknown")))
    seen = [f"{_ACCELERATOR_LABELS.get(kind, kind)}: {'yes' if a['available'] else 'no'}"
            + (f" (built for {a['build']})" if a.get("build") and a["build"] != "yes" else "")
            for kind, a in (torch.get("accelerators") or {}).items()]
    probed.rows.append(("Sees", ", ".join([*seen, "CPU: yes"])))
    probed.rows.append(("bitsandbytes", (facts.get("bitsandbytes") or {}).get("summary", "unknown")))
    packages = backend.get("key_packages") or {}
    if packages:
        probed.rows.append(("Key packages", ", ".join(f"{k} {v}" for k, v in packages.items())))
    return [runtime, probed, _dependencies("Backend runtime dependencies", backend.get("dependencies"))]


def _disk(report: dict) -> Section:
    section = Section("Free disk space")
    rows = []
    for row in report.get("disk") or []:
        free = units.size(row.get("free_bytes")) if row.get("free_bytes") is not None else row.get("error", "?")
        total = units.size(row.get("total_bytes")) if row.get("total_bytes") is not None else "?"
        rows.append([row["label"], row["path"] + ("" if row["exists"] else " (not created yet)"),
                     f"{free} of {total}"])
    section.table = (["folder", "path", "free"], rows)
    return section


def sections(report: dict) -> list[Section]:
    return [_system(report), _gpus(report), *_backend(report),
            _dependencies("GUI dependencies", report.get("gui_dependencies")), _disk(report)]


# --- Markdown ---------------------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict) -> str:
    lines = ["## LoRA Studio system report", "", f"Generated {report.get('generated_at', '')}", ""]
    for section in sections(report):
        lines += [f"### {section.title}", ""]
        if section.rows:  # a list, not a table: a table needs a header row these facts lack
            lines += [f"- **{k}:** {v}" for k, v in section.rows]
            lines.append("")
        if section.table:
            header, rows = section.table
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
        if section.bullets:
            lines += [f"- {b}" for b in section.bullets] + [""]
        for command in section.commands:
            lines += ["```", command, "```", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
    return "\n".join(lines).rstrip() + "\n"


# --- plain text ---------------------------------------------------------------------------------------

def render_text(report: dict) -> str:
    lines = [f"LoRA Studio system report ({report.get('generated_at', '')})"]
    for section in sections(report):
        lines += ["", section.title, "-" * len(section.title)]
        width = max((len(k) for k, _ in section.rows), default=0)
        lines += [f"{k.ljust(width)}  {v}" for k, v in section.rows]
        if section.table:
            header, rows = section.table
            widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
            for row in [header, *rows]:
                lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        lines += [f"  * {b}" for b in section.bullets]
        lines += [f"  fix: {c}" for c in section.commands]
        lines += [p.replace("`", "") for p in section.paragraphs]
    return "\n".join(lines).rstrip() + "\n"
