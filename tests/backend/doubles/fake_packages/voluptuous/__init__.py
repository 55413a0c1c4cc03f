"""TEST DOUBLE of voluptuous: importable, nothing more."""

__version__ = "0.15.2"
