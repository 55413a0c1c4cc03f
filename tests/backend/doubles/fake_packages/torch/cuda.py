"""TEST DOUBLE of torch.cuda: this stand-in never sees a GPU."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0
