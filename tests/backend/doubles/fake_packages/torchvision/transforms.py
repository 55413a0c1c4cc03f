"""TEST DOUBLE of torchvision.transforms: the two names workers.env_probe touches."""


class ToTensor:
    pass


class Compose:
    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)
