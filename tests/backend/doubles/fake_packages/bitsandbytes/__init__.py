"""TEST DOUBLE of bitsandbytes: importable, with no optimizers (so never "usable")."""

__version__ = "0.50.2"
