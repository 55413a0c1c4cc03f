"""Asking the backend interpreter for its packages (here: this interpreter, a real subprocess)."""

from __future__ import annotations

import sys

import pytest

from services.errors import BackendError
from services.training.backend_packages import installed_distributions, normalise


def test_the_packages_of_an_interpreter():
    names = installed_distributions(sys.executable)
    assert {"tomlkit", "pytest"} <= names


def test_a_missing_interpreter_is_a_backend_error(tmp_path):
    with pytest.raises(BackendError, match="could not be asked"):
        installed_distributions(str(tmp_path / "no-python"))


def test_names_are_normalised():
    assert normalise("Lycoris_Lora") == "lycoris-lora" and normalise("prodigy.opt") == "prodigy-opt"


def test_from_an_env_probe_report():
    from services.training.backend_packages import installed_from_probe

    assert installed_from_probe({"packages": {"Bitsandbytes": "0.50", "lycoris_lora": "4.1"}}) == \
        frozenset({"bitsandbytes", "lycoris-lora"})
    assert installed_from_probe({"python": {}}) is None
