"""TEST DOUBLE of torch.backends."""


class mps:
    @staticmethod
    def is_available() -> bool:
        return False


class cudnn:
    @staticmethod
    def version():
        return None
