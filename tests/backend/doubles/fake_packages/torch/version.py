"""TEST DOUBLE of torch.version; the tests rewrite these values to build CUDA stand-ins."""

__version__ = "2.13.0+cpu"
cuda = None
hip = None
