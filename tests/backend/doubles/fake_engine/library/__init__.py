"""TEST DOUBLE: stand-in for sd-scripts' library package (see tests/backend/doubles/README.md)."""
