"""Tiny random- or hand-weighted captioning models that the tests build on disk (test doubles).

* ``build_tiny_tagger``: an ONNX model with the WD14 convention (input NHWC float32 448x448 BGR 0-255,
  sigmoid outputs over a ``selected_tags.csv`` with rating 9 / general 0 / character 4 categories).
  Its weights are chosen by hand so that the tags follow the colours of the image, which lets the
  tests predict what the real tagging code must write: a red image is "red", a white one "white
  background", a cyan one the character "hatsune_miku".
* ``build_tiny_blip`` / ``build_tiny_blip2``: BLIP and BLIP-2 (OPT or Flan-T5) from tiny configs with
  random weights and a tokenizer made from a vocabulary file written here.

No network is used. The BLIP builders import torch and transformers (seconds), so tests build them
once per session (see conftest.py).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

RATINGS = ("general", "sensitive", "questionable", "explicit")
# name: (category, weights on the mean (b, g, r) in 0..1, bias)
TINY_TAGS: dict[str, tuple[int, tuple[float, float, float], float]] = {
    "red": (0, (-4.0, -4.0, 8.0), -2.0),
    "green": (0, (-4.0, 8.0, -4.0), -2.0),
    "blue": (0, (8.0, -4.0, -4.0), -2.0),
    "white_background": (0, (3.0, 3.0, 3.0), -7.5),
    "dark": (0, (-4.0, -4.0, -4.0), 3.0),
    "long_hair": (0, (0.0, 0.0, 0.0), 0.0),  # always 0.5
    "^_^": (0, (0.0, 0.0, 0.0), 1.0),  # always 0.73
    "smile_(happy)": (0, (0.0, 0.0, 0.0), -0.2),  # always 0.45
    "hatsune_miku": (4, (6.0, 6.0, -12.0), -9.0),  # cyan: 0.95
    "char_b": (4, (0.0, 0.0, 0.0), 1.0),  # always 0.73: under the default character threshold
}
RATING_BIAS = (2.0, 0.0, -1.0, -2.0)
FILLER_BIAS = -5.0  # 0.0067: never above a threshold


def tiny_tag_names(filler: int = 20) -> list[str]:
    return list(RATINGS) + list(TINY_TAGS) + [f"filler_{i}" for i in range(filler)]


def write_selected_tags(path: Path, names: list[str], categories: list[int]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tag_id", "name", "category", "count"])
        for i, (name, category) in enumerate(zip(names, categories)):
            writer.writerow([100000 + i, name, category, 1000 - i])


def build_tiny_tagger(folder: Path, *, size: int = 448, filler: int = 20, fixed_batch: int | None = None,
                      with_sigmoid: bool = True, padding_mb: int = 0) -> Path:
    """model.onnx (ReduceMean over the pixels -> linear -> sigmoid) and selected_tags.csv in ``folder``.

    ``padding_mb`` adds an initializer no node uses, to make the file as large as a download test needs."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    names = tiny_tag_names(filler)
    categories = [9] * len(RATINGS) + [TINY_TAGS[n][0] for n in TINY_TAGS] + [0] * filler
    weights = np.zeros((3, len(names)), np.float32)
    bias = np.full(len(names), FILLER_BIAS, np.float32)
    bias[: len(RATINGS)] = RATING_BIAS
    for i, name in enumerate(TINY_TAGS, start=len(RATINGS)):
        _, w, b = TINY_TAGS[name]
        weights[:, i], bias[i] = w, b
    batch = fixed_batch if fixed_batch else "batch"
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input", "axes"], ["mean"], keepdims=0),
         helper.make_node("Mul", ["mean", "scale"], ["unit"]),
         helper.make_node("MatMul", ["unit", "weights"], ["logits0"]),
         helper.make_node("Add", ["logits0", "bias"], ["logits"]),
          helper.make_node("Sigmoid" if with_sigmoid else "Identity", ["logits"], ["output"])],
        "tiny_wd14_tagger",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, size, size, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, len(names)])],
        initializer=[numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
                     numpy_helper.from_array(np.array(1 / 255, np.float32), "scale"),
                     numpy_helper.from_array(weights, "weights"),
                     numpy_helper.from_array(bias, "bias"),
                     *([numpy_helper.from_array(np.zeros(padding_mb << 18, np.float32), "padding")]
                       if padding_mb else [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    write_selected_tags(folder / "selected_tags.csv", names, categories)
    return folder


def expected_probabilities(bgr_mean: tuple[float, float, float], filler: int = 20) -> dict[str, float]:
    """What the tiny tagger outputs for an image whose mean (b, g, r) in 0..1 is ``bgr_mean``."""
    f = np.asarray(bgr_mean, np.float64)
    out = {name: 1 / (1 + np.exp(-b)) for name, b in zip(RATINGS, RATING_BIAS)}
    for name, (_cat, w, b) in TINY_TAGS.items():
        out[name] = float(1 / (1 + np.exp(-(f @ np.asarray(w) + b))))
    for i in range(filler):
        out[f"filler_{i}"] = float(1 / (1 + np.exp(-FILLER_BIAS)))
    return out


# --- BLIP / BLIP-2 ----------------------------------------------------------------------

WORDS = ("a", "an", "the", "photo", "picture", "of", "cat", "dog", "red", "blue", "green", "sky", "tree", "house",
         "man", "woman", "with", "on", "in", "and", "sitting", "standing", "field", "street", "question", "what",
         "is", "answer")


def build_tiny_blip(folder: Path, *, image_size: int = 32, seed: int = 0) -> Path:
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip import BlipImageProcessorPil

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", *WORDS]
    vocab_file = folder.parent / f"{folder.name}-vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(vocab_file), bos_token="[DEC]", model_max_length=64)
    processor = BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": image_size, "width": image_size}),
                              tokenizer=tokenizer)
    config = BlipConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=image_size, patch_size=8),
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, encoder_hidden_size=32, max_position_embeddings=64,
                         bos_token_id=vocab.index("[DEC]"), sep_token_id=vocab.index("[SEP]"),
                         pad_token_id=vocab.index("[PAD]")),
        projection_dim=32, image_text_hidden_size=32)
    BlipForConditionalGeneration(config).save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return folder


def _word_level_tokenizer(folder: Path, vocab: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab_file = folder.parent / f"{folder.name}-vocab.json"
    vocab_file.write_text(json.dumps({w: i for i, w in enumerate(vocab)}), encoding="utf-8")
    model = models.WordLevel.from_file(str(vocab_file), unk_token="<unk>")
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   bos_token="<s>")


def build_tiny_blip2(folder: Path, *, variant: str = "opt", image_size: int = 32, num_query_tokens: int = 4,
                     seed: int = 0) -> Path:
    import torch
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, OPTConfig, T5Config
    from transformers.models.blip import BlipImageProcessorPil

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["<pad>", "</s>", "<unk>", "<s>", "<image>", *WORDS]
    tokenizer = _word_level_tokenizer(folder, vocab)
    if variant == "opt":
        text = OPTConfig(vocab_size=len(vocab), hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2,
                         max_position_embeddings=128, word_embed_proj_dim=32, pad_token_id=0, bos_token_id=3,
                         eos_token_id=1)
    elif variant == "t5":
        text = T5Config(vocab_size=len(vocab), d_model=32, d_kv=16, d_ff=64, num_layers=2, num_decoder_layers=2,
                        num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    else:
        raise ValueError(variant)
    config = Blip2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=image_size, patch_size=8),
        qformer_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=2, encoder_hidden_size=32, max_position_embeddings=64),
        text_config=text.to_dict(), num_query_tokens=num_query_tokens, image_token_index=vocab.index("<image>"))
    model = Blip2ForConditionalGeneration(config)
    with torch.no_grad():  # make the special tokens unlikely, so that the random model says words
        model.get_output_embeddings().weight[[0, 2, 3, 4]] = 0.0
    model.save_pretrained(str(folder))
    processor = Blip2Processor(image_processor=BlipImageProcessorPil(size={"height": image_size, "width": image_size}),
                               tokenizer=tokenizer, num_query_tokens=num_query_tokens)
    processor.save_pretrained(str(folder))
    return folder


# --- images -----------------------------------------------------------------------------

def solid_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 64), *,
                mode: str = "RGB") -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "RGBA":
        Image.new("RGBA", size, (*colour, 0)).save(path)  # fully transparent: composited onto white
    else:
        Image.new("RGB", size, colour).save(path)
    return path
