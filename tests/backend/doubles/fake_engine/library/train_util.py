"""TEST DOUBLE: the shared arguments of the stand-in engine's scripts. Imports what the real one
imports at the top (torch, torchvision, voluptuous), so a missing package shows as it would."""

import argparse

import torch  # noqa: F401 - imported for its side effect: failing when absent
import torchvision  # noqa: F401
import voluptuous  # noqa: F401


def base_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pretrained_model_name_or_path", type=str)
    parser.add_argument("--output_dir", type=str)
    parser.add_argument("--tokenizer_cache_dir", type=str)
    parser.add_argument("--max_train_steps", type=int, default=1600)
    return parser
