"""``lora-studio captions DIR OPERATION …``: batch caption operations from a terminal.

Examples::

    lora-studio captions ./img add sks --at front --dry-run
    lora-studio captions ./img remove "watermark" "signature"
    lora-studio captions ./img rename "cat" --to "feline"
    lora-studio captions ./img replace "(\\w+) hair" "\\1_hair" --regex
    lora-studio captions ./img dedupe
    lora-studio captions ./img sort --by frequency --keep-tokens 1
    lora-studio captions ./img extension .caption
"""

from __future__ import annotations

import argparse
import json
import sys

COMMAND = "captions"
ORDER = 20
SEPARATORS = {"comma-space": ", ", "comma": ",", "newline": "\n"}


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="edit the captions of a dataset folder in batch (add, remove, rename, "
                                       "replace, dedupe, sort, …)",
                            description="Run a caption operation over every caption under DIR. Files are written "
                                        "atomically in their own encoding; undecodable files are never written.")
    parser.add_argument("dir", metavar="DIR", help="the dataset folder (searched recursively)")
    _common_options(parser, argparse.SUPPRESS)
    parser.set_defaults(extension=".txt", separator="comma-space", dry_run=False, show=5, json=False)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)  # accepted before or after the operation
    ops = parser.add_subparsers(dest="operation", metavar="OPERATION", required=True)

    p = ops.add_parser(parents=[common], name="add", help="add tags (trigger words) that a caption lacks")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--at", default="front", help="front, end, or a position (1 = first; default front)")
    p.add_argument("--keep-tokens", type=int, default=0, metavar="N", help="never insert before the first N tags")

    p = ops.add_parser(parents=[common], name="remove", help="remove tags")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--regex", action="store_true", help="each TAG is a regular expression matched against whole tags")

    p = ops.add_parser(parents=[common], name="rename", help="rename a tag, or merge several tags into one")
    p.add_argument("sources", nargs="+", metavar="TAG")
    p.add_argument("--to", required=True, metavar="NEW", help="the new name")

    p = ops.add_parser(parents=[common], name="replace", help="find and replace in caption text")
    p.add_argument("find", metavar="FIND")
    p.add_argument("replacement", metavar="REPLACEMENT")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--regex", action="store_true", help="FIND is a regular expression (\\1 in REPLACEMENT)")
    mode.add_argument("--whole-tag", action="store_true", help="replace only tags equal to FIND")
    p.add_argument("--ignore-case", action="store_true")

    p = ops.add_parser(parents=[common], name="dedupe", help="remove duplicate and empty tags")
    p.add_argument("--keep-empty", action="store_true", help="leave empty tags alone")
    p.add_argument("--keep-duplicates", action="store_true", help="leave duplicate tags alone")

    p = ops.add_parser(parents=[common], name="sort", help="sort tags")
    p.add_argument("--by", choices=("alphabetical", "frequency"), default="alphabetical")
    p.add_argument("--reverse", action="store_true")
    p.add_argument("--keep-tokens", type=int, default=0, metavar="N", help="keep the first N tags where they are")

    p = ops.add_parser(parents=[common], name="move-front", help="move tags to the front")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--keep-tokens", type=int, default=0, metavar="N", help="keep the first N tags where they are")

    p = ops.add_parser(parents=[common], name="affix", help="add text before and/or after natural-language captions")
    p.add_argument("--prefix", default="")
    p.add_argument("--suffix", default="")

    p = ops.add_parser(parents=[common], name="extension", help="rename every caption file to a new extension")
    p.add_argument("new_extension", metavar="EXT", help="for example .caption")

    parser.set_defaults(func=run)


def _common_options(parser, default) -> None:
    parser.add_argument("--extension", default=default, help="caption file extension (default .txt)")
    parser.add_argument("--separator", choices=sorted(SEPARATORS), default=default,
                        help="how tags are separated (default comma-space)")
    parser.add_argument("--dry-run", action="store_true", default=default, help="show what would change; write nothing")
    parser.add_argument("--show", type=int, default=default, metavar="N", help="show N example changes (default 5)")
    parser.add_argument("--json", action="store_true", default=default, help="print a JSON summary instead of text")


def build_operation(args):
    from services.captions import operations as ops
    from services.errors import UserInputError

    name = args.operation
    if name == "add":
        where, index = args.at, 0
        if where not in ("front", "end"):
            try:
                index = int(where) - 1
            except ValueError:
                raise UserInputError(f"--at {where!r} is not front, end or a number.",
                                     "Use --at 1 for first.") from None
            where = "index"
        return ops.AddTags(tuple(args.tags), where, index, args.keep_tokens)
    if name == "remove":
        return ops.RemoveTags(tuple(args.tags), regex=args.regex)
    if name == "rename":
        return ops.RenameTag(tuple(args.sources), args.to)
    if name == "replace":
        mode = "regex" if args.regex else "whole_tag" if args.whole_tag else "plain"
        return ops.FindReplace(args.find, args.replacement, mode, case_sensitive=not args.ignore_case)
    if name == "dedupe":
        return ops.RemoveDuplicates(duplicates=not args.keep_duplicates, empty=not args.keep_empty)
    if name == "sort":
        return ops.SortTags(args.by, args.reverse, args.keep_tokens)
    if name == "move-front":
        return ops.MoveToFront(tuple(args.tags), args.keep_tokens)
    if name == "affix":
        return ops.PrefixSuffix(args.prefix, args.suffix)
    raise UserInputError(f"Unknown operation {name!r}.")


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, flush=True)


def run(args) -> int:
    if args.operation == "extension":
        return _run_extension(args)
    from services.captions.headless import run_operation

    op = build_operation(args)
    quiet = args.json
    run_ = run_operation(args.dir, op, caption_extension=args.extension, separator=SEPARATORS[args.separator],
                         dry_run=args.dry_run,
                         on_saving=lambda n: print(f"saving {n} caption(s)", file=sys.stderr, flush=True))
    changes, ws = run_.changes, run_.workspace
    verb = "would change" if args.dry_run else "changing"
    _say(f"{op.describe()}: {verb} {len(changes)} of {changes.examined} caption(s)", quiet)
    for key, (old, new) in list(changes.changes.items())[:max(0, args.show)]:
        before = old if old is not None else "(no caption file)"
        _say(f"  {ws.item(key).caption.path}\n    - {before}\n    + {new}", quiet)
    if changes.skipped:
        reasons = "; ".join(sorted(set(changes.skipped.values())))
        _say(f"{len(changes.skipped)} caption(s) left alone: {reasons}", quiet)
    summary = {"operation": op.describe(), "examined": changes.examined, "changed": len(changes),
               "skipped": len(changes.skipped), "dry_run": bool(args.dry_run)}
    code = 0
    if run_.result is not None:
        result = run_.result
        summary.update(saved=len(result.saved), conflicts=len(result.conflicts), errors=len(result.errors))
        _say(f"saved {len(result.saved)} caption(s)", quiet)
        for key in result.conflicts:
            _say(f"conflict: {ws.item(key).caption.path} changed while running; left as it is", quiet)
        for key, exc in result.errors.items():
            _say(f"error: {ws.item(key).caption.path}: {exc.message}", quiet)
        code = 1 if (result.conflicts or result.errors) else 0
    if args.json:
        print(json.dumps(summary))
    return code


def _run_extension(args) -> int:
    from services.captions.headless import plan_extension, rename_extension

    _ws, plan = plan_extension(args.dir, args.extension, args.new_extension)
    quiet = args.json
    verb = "would rename" if args.dry_run else "renaming"
    _say(f"{verb} {len(plan.renames)} caption file(s) from {plan.old_extension} to {plan.new_extension}", quiet)
    for rename in plan.renames[:max(0, args.show)]:
        _say(f"  {rename.source} -> {rename.target.name}", quiet)
    for key, reason in list(plan.blocked.items())[:max(0, args.show)]:
        _say(f"  not renamed: {key}: {reason}", quiet)
    summary = {"operation": "extension", "renames": len(plan.renames), "blocked": len(plan.blocked),
               "dry_run": bool(args.dry_run)}
    code = 0
    if not args.dry_run:
        report = rename_extension(plan)
        summary.update(renamed=len(report.done), failed=len(report.failed))
        for key, reason in report.failed.items():
            _say(f"error: {key}: {reason}", quiet)
        code = 1 if report.failed else 0
    if args.json:
        print(json.dumps(summary))
    return code
