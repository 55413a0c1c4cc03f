"""TEST DOUBLE of torch (see tests/backend/doubles/README.md): just enough API for
workers.env_probe and the stand-in engine. Not PyTorch."""

from torch import backends, cuda, version  # noqa: F401
from torch.version import __version__  # noqa: F401


class _Scalar:
    def __init__(self, value: float) -> None:
        self._value = value

    def item(self) -> float:
        return self._value


class _Matrix:
    def __init__(self, rows: int, cols: int, value: float = 1.0) -> None:
        self.rows, self.cols, self.value = rows, cols, value

    def __matmul__(self, other: "_Matrix") -> "_Matrix":
        return _Matrix(self.rows, other.cols, self.value * other.value * self.cols)

    def sum(self) -> _Scalar:
        return _Scalar(self.rows * self.cols * self.value)


def ones(shape, device: str = "cpu") -> _Matrix:
    if device != "cpu" and not cuda.is_available():
        raise RuntimeError(f"no {device} device in this stand-in")
    rows, cols = shape
    return _Matrix(rows, cols)
