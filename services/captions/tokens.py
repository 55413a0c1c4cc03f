"""Counting a caption's CLIP tokens and finding where sd-scripts' 75-token chunks begin.

sd-scripts feeds a caption to CLIP in chunks of 75 tokens (77 with the start and end tokens); with
``max_token_length`` 75 (its default), 150 or 225 it keeps one, two or three chunks and cuts the
rest. The editor shows the count, the chunk each tag falls in, and where in a sentence a boundary
lies. Counting uses the real CLIP BPE (``services.tokenizers.clip_bpe``), which is plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.tokenizers.clip_bpe import _PRE_SPLIT, CHUNK, ClipTokenizer

MAX_TOKEN_LENGTHS = (75, 150, 225)


@dataclass(frozen=True)
class TokenCount:
    total: int
    # Character offsets (text mode) where the 76th, 151st and 226th tokens start.
    boundary_offsets: tuple[int, ...] = ()
    # For tag mode: the chunk (0, 1, 2, ...) in which each tag starts.
    tag_chunks: tuple[int, ...] = ()

    @property
    def chunks(self) -> int:
        return max(1, -(-self.total // CHUNK))

    def fits(self, max_token_length: int) -> bool:
        return self.total <= max_token_length


def _pieces(text: str):
    """(start offset, piece) for each pre-split piece, as CLIP splits the lower-cased text."""
    for match in _PRE_SPLIT.finditer(text.lower()):
        yield match.start(), match.group()


def count_text(tokenizer: ClipTokenizer, text: str, max_token_length: int = 225) -> TokenCount:
    total = 0
    offsets: list[int] = []
    next_boundary = CHUNK
    for start, piece in _pieces(text):
        n = tokenizer.count(piece)
        if total + n > next_boundary and next_boundary <= max_token_length:
            offsets.append(start)
            next_boundary += CHUNK
        total += n
    return TokenCount(total, tuple(offsets))


def count_tags(tokenizer: ClipTokenizer, tags: list[str], separator: str = ", ") -> TokenCount:
    sep_tokens = tokenizer.count(separator)
    total = 0
    chunks: list[int] = []
    for i, tag in enumerate(tags):
        if i:
            total += sep_tokens
        chunks.append(total // CHUNK)
        total += tokenizer.count(tag)
    return TokenCount(total, tag_chunks=tuple(chunks))
