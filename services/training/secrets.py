"""Secrets (Hugging Face token, wandb key): read from the environment or the system keyring at launch,
never written to a project, a profile, a generated config or a log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# environment variable -> what it is. huggingface_hub reads HF_TOKEN, wandb reads WANDB_API_KEY, so
# sd-scripts finds them without the secret ever appearing in its arguments.
SECRET_ENV: dict[str, str] = {
    "HF_TOKEN": "Hugging Face token",
    "WANDB_API_KEY": "Weights & Biases API key",
}
# Names under which secrets turn up in other tools' configs; never copied into ours.
SECRET_KEYS = frozenset({"huggingface_token", "wandb_api_key", "hf_token", "token", "api_key"})
KEYRING_SERVICE = "lora-studio"


def is_secret_key(key: str) -> bool:
    name = key.rsplit(".", 1)[-1].lower()
    return name in SECRET_KEYS or name.endswith(("_token", "_api_key", "_secret", "_password"))


def secret_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The secrets to hand to a training process: from the environment, else from the keyring (when
    the optional ``keyring`` package is installed). Only for the child's environment; never persisted."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name in SECRET_ENV:
        value = environ.get(name)
        if not value:
            value = _from_keyring(name)
        if value:
            found[name] = value
    return found


def _from_keyring(name: str) -> str | None:
    try:
        import keyring  # optional dependency
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception:  # any keyring backend failure means "not available"
        return None


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with every secret value replaced, for logs and error messages."""
    for name, value in secrets.items():
        if value:
            text = text.replace(value, f"<{name}>")
    return text


def strip_secret_keys(table) -> list[str]:
    """Remove secret-like keys from a nested mapping (a tomlkit document included), in place; returns
    what was removed. Defence in depth: nothing should have put them there."""
    removed: list[str] = []
    for key in list(table.keys()):
        item = table[key]
        if isinstance(item, Mapping):
            removed += strip_secret_keys(item)
        elif isinstance(item, list):
            for element in item:
                if isinstance(element, Mapping):
                    removed += strip_secret_keys(element)
        elif is_secret_key(str(key)):
            del table[key]
            removed.append(str(key))
    return removed
