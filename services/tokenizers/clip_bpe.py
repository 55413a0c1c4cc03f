"""CLIP's byte-level BPE tokenizer in plain Python, from the vocabulary in resources/.

Used for the caption token counter (sd-scripts splits prompts into 75-token chunks) and to write
the Hugging Face tokenizer files (vocab.json, merges.txt, ...) that sd-scripts loads from its
``--tokenizer_cache_dir`` when it cannot reach the hub.

The id layout is CLIP's: 256 byte symbols, the same 256 with the end-of-word marker, one id per
merge in file order, then <|startoftext|> and <|endoftext|>.
"""

from __future__ import annotations

import functools
import gzip
import html
import json
from pathlib import Path

import regex

from services.atomic import atomic_write_text
from services.paths import resources_dir

VOCAB_FILE = "tokenizers/clip/bpe_simple_vocab_16e6.txt.gz"
N_MERGES = 49152 - 256 - 2
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
BOS_ID, EOS_ID = 49406, 49407
CHUNK = 75  # tokens per chunk between BOS and EOS, as sd-scripts and CLIP's context of 77 give
END_OF_WORD = "</w>"

# Contractions, letters, single digits, and runs of other non-space symbols: CLIP's pre-split.
_PRE_SPLIT = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)
_SPACES = regex.compile(r"\s+")


@functools.cache
def byte_symbols() -> dict[int, str]:
    """A printable unicode character for every byte value (printable bytes map to themselves)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    table: dict[int, str] = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ClipTokenizer:
    def __init__(self, vocab_path: Path | None = None) -> None:
        path = vocab_path or resources_dir() / VOCAB_FILE
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        self.merges: list[tuple[str, str]] = [tuple(line.split()) for line in lines[1:N_MERGES + 1]]
        symbols = list(byte_symbols().values())
        tokens = symbols + [s + END_OF_WORD for s in symbols] + ["".join(m) for m in self.merges] + [BOS, EOS]
        self.encoder: dict[str, int] = {tok: i for i, tok in enumerate(tokens)}
        self.ranks: dict[tuple[str, str], int] = {m: i for i, m in enumerate(self.merges)}
        self._bytes = byte_symbols()
        self._cache: dict[str, list[str]] = {BOS: [BOS], EOS: [EOS]}

    def _bpe(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = [*word[:-1], word[-1] + END_OF_WORD]
        while len(parts) > 1:
            best_rank, best_at = None, -1
            for i in range(len(parts) - 1):
                rank = self.ranks.get((parts[i], parts[i + 1]))
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_rank, best_at = rank, i
            if best_rank is None:
                break
            first, second = parts[best_at], parts[best_at + 1]
            merged: list[str] = []
            i = 0
            while i < len(parts):  # merge every occurrence of the best pair in one pass
                if i < len(parts) - 1 and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        if len(self._cache) < 100_000:
            self._cache[word] = parts
        return parts

    @staticmethod
    def normalise(text: str) -> str:
        text = html.unescape(html.unescape(text))
        return _SPACES.sub(" ", text).strip().lower()

    def tokenize(self, text: str) -> list[str]:
        pieces: list[str] = []
        for word in _PRE_SPLIT.findall(self.normalise(text)):
            mapped = "".join(self._bytes[b] for b in word.encode("utf-8"))
            pieces.extend(self._bpe(mapped))
        return pieces

    def encode(self, text: str, *, with_special: bool = False) -> list[int]:
        ids = [self.encoder[p] for p in self.tokenize(text)]
        return [BOS_ID, *ids, EOS_ID] if with_special else ids

    def count(self, text: str) -> int:
        """Tokens between BOS and EOS, as sd-scripts counts against max_token_length."""
        return len(self.tokenize(text))

    # --- Hugging Face files for sd-scripts' tokenizer cache ----------------------------------
    def write_hf_files(self, folder: Path, *, pad_token: str = EOS) -> list[Path]:
        """Write a CLIPTokenizer folder: what ``CLIPTokenizer.from_pretrained(folder)`` reads.

        ``pad_token`` is "<|endoftext|>" for openai/clip-vit-large-patch14 and "!" for the
        laion ViT-bigG (SDXL's second encoder).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            "vocab.json": json.dumps(self.encoder, ensure_ascii=False),
            "merges.txt": "#version: 0.2\n" + "\n".join(" ".join(m) for m in self.merges) + "\n",
            "special_tokens_map.json": json.dumps({
                "bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": pad_token}),
            "tokenizer_config.json": json.dumps({
                "tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
                "bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": pad_token,
                "add_prefix_space": False, "errors": "replace"}),
        }
        written = []
        for name, text in files.items():
            atomic_write_text(folder / name, text, fsync=False)
            written.append(folder / name)
        return written


@functools.cache
def default_tokenizer() -> ClipTokenizer:
    return ClipTokenizer()


def chunk_boundaries(count: int, max_token_length: int = 225) -> list[int]:
    """Token positions where sd-scripts starts a new 75-token chunk, up to max_token_length."""
    return [b for b in range(CHUNK, max_token_length + 1, CHUNK) if b < count]
