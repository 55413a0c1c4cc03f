"""``lora-studio dataset scan DIR [--json]``: the dataset scan and health report, headless."""

from __future__ import annotations

import json
import sys

COMMAND = "dataset"
ORDER = 20


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="inspect a dataset folder without the window")
    actions = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    scan = actions.add_parser("scan", help="scan folders: subsets, images, captions and the health report")
    scan.add_argument("folders", nargs="+", metavar="DIR", help="dataset folder(s); Kohya N_name folders are subsets")
    scan.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    scan.add_argument("--caption-ext", default=None, metavar="EXT",
                      help="caption file extension (default: the one most images have, .txt if none)")
    scan.add_argument("--resolution", default="1024", metavar="W[xH]", help="training resolution (default 1024)")
    scan.add_argument("--min-bucket", type=int, default=256)
    scan.add_argument("--max-bucket", type=int, default=2048)
    scan.add_argument("--bucket-step", type=int, default=64)
    scan.add_argument("--no-upscale", action="store_true", help="as sd-scripts' --bucket_no_upscale")
    scan.add_argument("--quick", action="store_true",
                      help="skip decoding every image (no corruption check, no near-duplicates)")
    scan.add_argument("--fail-on-errors", action="store_true", help="exit with 3 when a finding is an error")
    scan.set_defaults(func=run_scan)


def _resolution(text: str) -> tuple[int, int]:
    from services.errors import UserInputError

    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UserInputError(f"--resolution {text!r} is not W or WxH.", "For example 1024 or 832x1216.") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 64:
        raise UserInputError(f"--resolution {text!r} is not W or WxH.", "For example 1024 or 832x1216.")
    return values[0], values[1]


def run_scan(args) -> int:
    from services.dataset.buckets import BucketSettings
    from services.dataset.health import run_health_report, snapshot
    from services.dataset.scanner import ScanOptions, scan_folders
    from services.errors import UserInputError

    options = ScanOptions()
    if args.caption_ext:
        options.caption_extension = args.caption_ext
    settings = BucketSettings(_resolution(args.resolution), args.min_bucket, args.max_bucket, args.bucket_step,
                              args.no_upscale)
    problems = settings.validate()
    if problems:
        raise UserInputError("The bucket settings do not fit together.", " ".join(problems))
    interactive = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int, text: str) -> None:
        if interactive and total:
            sys.stderr.write(f"\r{text or 'Reading'}: {done:,}/{total:,}   ")
            sys.stderr.flush()

    ws = scan_folders(args.folders, options, progress=progress, guess_extension=not args.caption_ext)
    report = run_health_report(snapshot(ws), settings, decode=not args.quick, report=progress)
    if interactive:
        sys.stderr.write("\r" + " " * 60 + "\r")
    totals = ws.totals()
    summary = {
        "folders": [str(r) for r in ws.roots],
        "caption_extension": ws.caption_extension,
        "images": totals.images,
        "images_x_repeats": totals.weighted,
        "train_images": totals.train_images,
        "reg_images": totals.reg_images,
        "reg_images_x_repeats": totals.reg_weighted,
        "scan_seconds": round(ws.scan_seconds, 3),
        "subsets": [{"folder": str(s.path), "name": s.name, "images": s.image_count, "repeats": s.repeats,
                     "class_tokens": s.class_tokens, "kohya": s.kohya, "regularisation": s.is_reg,
                     "images_x_repeats": s.weighted} for s in ws.subsets.values()],
        "messages": [{"path": m.path, "message": m.message} for m in ws.messages],
        **report.as_dict(),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print_text(summary)
    failed = any(f["severity"] == "error" for f in summary["findings"])
    return 3 if (failed and args.fail_on_errors) else 0


def print_text(s: dict) -> None:
    print(f"{s['images']:,} images in {len(s['subsets'])} folders, captions {s['caption_extension']} "
          f"(read in {s['scan_seconds']:.2f} s)")
    print(f"images × repeats: {s['images_x_repeats']:,} (training {s['train_images']:,}, "
          f"regularisation {s['reg_images']:,} × repeats {s['reg_images_x_repeats']:,})")
    print()
    width = max([len(x["name"]) for x in s["subsets"]] + [6])
    print(f"  {'folder':<{width}}  {'images':>7}  {'repeats':>7}  {'img×rep':>8}")
    for sub in s["subsets"]:
        reg = "  (reg)" if sub["regularisation"] else ""
        print(f"  {sub['name']:<{width}}  {sub['images']:>7,}  {sub['repeats']:>7}  {sub['images_x_repeats']:>8,}{reg}")
    for m in s["messages"]:
        print(f"! {m['path']}: {m['message']}")
    print()
    if not s["findings"]:
        print("No problems found.")
    for f in s["findings"]:
        print(f"[{f['severity']}] {f['title']}")
        print(f"    {f['detail']}")
        for key in f["images"][:5]:
            print(f"      {key}")
        if len(f["images"]) > 5:
            print(f"      … and {len(f['images']) - 5:,} more")
    b = s["buckets"]
    print()
    print(f"Buckets for {b['resolution'][0]}×{b['resolution'][1]} (min {b['min']}, max {b['max']}, step {b['step']}"
          f"{', no upscale' if b['no_upscale'] else ''}):")
    most = max([h["images"] for h in b["histogram"]] + [1])
    for h in b["histogram"]:
        bar = "█" * max(1, round(30 * h["images"] / most))
        print(f"  {h['width']:>5}×{h['height']:<5} {bar} {h['images']:,} (×rep {h['images_x_repeats']:,})")
