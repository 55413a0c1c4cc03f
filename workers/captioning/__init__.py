"""Captioning workers: WD14 taggers, BLIP and BLIP-2, run as ``python -m workers.captioning``.

This package runs only in the backend runtime subprocess. It imports onnxruntime, torch and
transformers lazily (transformers alone takes seconds to import) and talks to its driver through
the line protocol of ``services.captioning.protocol``.
"""
