"""Helpers shared by tests (test doubles live here, never in the product)."""
