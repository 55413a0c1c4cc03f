"""Tokenizers needed without the ML stack: CLIP's BPE, for token counts and the engine's cache."""
