"""TEST DOUBLE of torchvision (see tests/backend/doubles/README.md)."""

from torchvision import transforms  # noqa: F401

__version__ = "0.28.0+cpu"
