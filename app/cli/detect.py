"""``lora-studio detect MODEL``: what model a file or diffusers folder is, read from its header."""

from __future__ import annotations

import json

COMMAND = "detect"
ORDER = 30


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="detect the family, variant and precision of a model file",
                            description="Read a .safetensors header (never the weights; pickles are refused) or "
                                        "a diffusers folder and say what model it is.")
    parser.add_argument("model", help="a .safetensors file or a diffusers folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from services.training.detect import detect_model

    result = detect_model(args.model)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"{result.path}")
        print(f"  kind:       {result.kind}")
        print(f"  model:      {result.summary}")
        if result.precision:
            print(f"  precision:  {result.precision}")
        print(f"  size:       {result.size_bytes / 1024 ** 3:.2f} GB"
              + (f", {result.parameters / 1e6:,.0f}M parameters" if result.parameters else ""))
        if result.contains:
            print(f"  contains:   {', '.join(result.contains)}")
        if result.v_prediction is not None:
            print(f"  prediction: {'v-prediction' if result.v_prediction else 'noise (epsilon)'}")
        for note in result.notes:
            print(f"  note: {note}")
        for question in result.questions:
            print(f"  question: {question.text}")
    return 0 if result.kind != "unknown" else 1
