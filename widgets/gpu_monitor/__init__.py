"""The GPU monitor dock (issue 9)."""
