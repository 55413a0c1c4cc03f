"""The project file: one TOML file with the model, the training mode, the chosen profiles, the user's
own parameter values, the dataset subsets and the captioning settings.

It is read and written with tomlkit and edited in place, so comments and ordering survive a round
trip. Loading a file that is not valid, or that a newer LoRA Studio wrote, raises a
``FileFormatError`` and touches nothing on disk. Secrets are never written (see ``secrets``).

    schema_version = 1
    [project]   name
    [model]     path, family, variant
    [training]  mode, training_profile, memory_profile, cleared = [keys the user emptied]
    [training.values]              registry keys (network_args etc. as sub-tables)
    [[dataset.subsets]]            name, image_dir, num_repeats, class_tokens, is_reg, enabled
    [dataset.subsets.values]       per-subset overrides of dataset parameters
    [captioning]                   the captioning panel's settings (free-form)
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from services.atomic import atomic_write_text
from services.errors import FileAccessError, FileFormatError, UserInputError
from services.training import project_file
from services.training.families import Family, Mode
from services.training.registry import registry
from services.training.secrets import is_secret_key, strip_secret_keys
from services.training.value_types import normalise, type_problem
from services.training.values import Resolved, flatten, resolve

log = logging.getLogger(__name__)

FILE_SUFFIX = ".lsproj.toml"
MODEL_PATH_KEY = "pretrained_model_name_or_path"

_SUBSET_FIELDS = ("name", "image_dir", "num_repeats", "class_tokens", "is_reg", "enabled")


@dataclass
class Subset:
    """One folder of images in the dataset, as sd-scripts' dataset config calls a subset."""

    image_dir: str
    name: str = ""
    num_repeats: int = 1
    class_tokens: str | None = None
    is_reg: bool = False
    enabled: bool = True
    values: dict[str, Any] = field(default_factory=dict)  # overrides of subset-level registry parameters

    def display_name(self) -> str:
        return self.name or Path(self.image_dir).name or self.image_dir


class Project:
    """A training project backed by a tomlkit document (edited in place)."""

    def __init__(self, doc: tomlkit.TOMLDocument, path: Path | None = None) -> None:
        self._doc = doc
        self.path = Path(path) if path else None
        self.load_warnings: list[str] = []

    # --- creating, loading, saving ---------------------------------------------------------------
    @classmethod
    def new(cls, name: str = "Untitled", *, family: Family | None = None, mode: Mode = Mode.LORA,
            model_path: str | None = None) -> Project:
        doc = tomlkit.document()
        doc.add(tomlkit.comment("LoRA Studio project"))
        doc["schema_version"] = project_file.SCHEMA_VERSION
        doc["project"] = {"name": name}
        model = tomlkit.table()
        if model_path:
            model["path"] = str(model_path)
        if family:
            model["family"] = Family(family).value
        doc["model"] = model
        training = tomlkit.table()
        training["mode"] = Mode(mode).value
        training["values"] = tomlkit.table()
        doc["training"] = training
        dataset = tomlkit.table()
        dataset["subsets"] = tomlkit.aot()
        doc["dataset"] = dataset
        return cls(doc)

    @classmethod
    def load(cls, path: str | Path) -> Project:
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > project_file.MAX_PROJECT_BYTES:
                raise FileFormatError(f"{path} is {size // 1024 // 1024} MB, far too large to be a project file.",
                                      "Choose the project's .toml file.")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileAccessError(f"The project file {path} does not exist.") from None
        except UnicodeDecodeError:
            raise FileFormatError(f"{path} is not a text file.", "Choose the project's .toml file.") from None
        except OSError as exc:
            raise FileAccessError(f"The project file {path} cannot be read: {exc.strerror or exc}.") from None
        return cls.from_toml(text, path)

    @classmethod
    def from_toml(cls, text: str, path: Path | None = None) -> Project:
        where = str(path) if path else "The project"
        doc, migrated = project_file.parse(text, where)
        project = cls(doc, path)
        project.load_warnings += project_file.unknown_keys(flatten(doc.get("training", {}).get("values", {})))
        if migrated:
            project.load_warnings.append("The project was upgraded to the current format; saving writes the new "
                                         "format.")
        return project

    def to_toml(self) -> str:
        for key in strip_secret_keys(self._doc):
            log.warning("removed the secret-like key %r from the project", key)
        return tomlkit.dumps(self._doc)

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise UserInputError("The project has no file yet.", "Use File > Save As to choose where to save it.")
        text = self.to_toml()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, text)
        except OSError as exc:
            raise FileAccessError(f"The project could not be saved to {target}: {exc.strerror or exc}.") from None
        self.path = target
        return target

    def copy(self) -> Project:
        twin = Project(copy.deepcopy(self._doc), self.path)
        twin.load_warnings = list(self.load_warnings)
        return twin

    # --- top-level fields -------------------------------------------------------------------------
    def _table(self, name: str) -> Table:
        if name not in self._doc:
            self._doc[name] = tomlkit.table()
        return self._doc[name]

    @property
    def name(self) -> str:
        name = self._doc.get("project", {}).get("name")
        if name:
            return str(name)
        if self.path:
            return self.path.name.removesuffix(FILE_SUFFIX).removesuffix(".toml")
        return "Untitled"

    @name.setter
    def name(self, value: str) -> None:
        self._table("project")["name"] = value

    @property
    def family(self) -> Family | None:
        value = self._doc.get("model", {}).get("family")
        return Family(value) if value else None

    @family.setter
    def family(self, value: Family | None) -> None:
        self._set_or_remove(self._table("model"), "family", Family(value).value if value else None)

    @property
    def variant(self) -> str | None:
        return self._doc.get("model", {}).get("variant")

    @variant.setter
    def variant(self, value: str | None) -> None:
        self._set_or_remove(self._table("model"), "variant", value)

    @property
    def model_path(self) -> str | None:
        return self._doc.get("model", {}).get("path")

    @model_path.setter
    def model_path(self, value: str | None) -> None:
        self._set_or_remove(self._table("model"), "path", _plain(value))

    @property
    def mode(self) -> Mode:
        return Mode(self._doc.get("training", {}).get("mode", Mode.LORA.value))

    @mode.setter
    def mode(self, value: Mode) -> None:
        self._table("training")["mode"] = Mode(value).value

    @property
    def training_profile(self) -> str | None:
        return self._doc.get("training", {}).get("training_profile")

    @training_profile.setter
    def training_profile(self, value: str | None) -> None:
        self._set_or_remove(self._table("training"), "training_profile", value)

    @property
    def memory_profile(self) -> str | None:
        return self._doc.get("training", {}).get("memory_profile")

    @memory_profile.setter
    def memory_profile(self, value: str | None) -> None:
        self._set_or_remove(self._table("training"), "memory_profile", value)

    @property
    def folder(self) -> Path | None:
        return self.path.parent if self.path else None

    # --- parameter values (the user layer) ------------------------------------------------------
    @property
    def user_values(self) -> dict[str, Any]:
        """The user's own values (flat registry keys); a key the user emptied maps to None."""
        training = self._doc.get("training", {})
        values = flatten(training.get("values", {}))
        for key in training.get("cleared", []):
            values[str(key)] = None
        if self.model_path:
            values[MODEL_PATH_KEY] = self.model_path
        return values

    def set_value(self, key: str, value: Any) -> None:
        """Set the user's value; None means "empty", overriding whatever a profile sets."""
        if is_secret_key(key):
            raise UserInputError(f"{key} is a secret and is never stored in a project.",
                                 "Set it in the environment (HF_TOKEN, WANDB_API_KEY) or the system keyring.")
        value = _plain(value)
        param = registry().find(key)
        if param is not None and type_problem(param, value) is None:
            value = normalise(param, value)
        if key == MODEL_PATH_KEY:
            self.model_path = value
            return
        self._remove_value(key)
        if value is None:
            training = self._table("training")
            cleared = training.get("cleared")
            if cleared is None:
                training["cleared"] = [key]
            elif key not in cleared:
                cleared.append(key)
            return
        values = self._table("training").setdefault("values", tomlkit.table())
        head, dot, tail = key.partition(".")
        if dot and head in ("network_args", "optimizer_args", "lr_scheduler_args", "accelerate"):
            sub = values.get(head)
            if sub is None:
                sub = tomlkit.table()
                values[head] = sub
            sub[tail] = value
        else:
            values[key] = value

    def reset_value(self, key: str) -> None:
        """Forget the user's value: the profile's or the default applies again."""
        if key == MODEL_PATH_KEY:
            self.model_path = None
            return
        self._remove_value(key)

    def _remove_value(self, key: str) -> None:
        training = self._doc.get("training")
        if training is None:
            return
        cleared = training.get("cleared")
        if cleared is not None and key in cleared:
            cleared.remove(key)
            if not cleared:
                del training["cleared"]
        values = training.get("values")
        if values is None:
            return
        head, dot, tail = key.partition(".")
        if dot and head in values and isinstance(values[head], (Table, dict)):
            values[head].pop(tail, None)
            if not values[head]:
                del values[head]
        else:
            values.pop(key, None)

    def set_values(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.set_value(key, value)

    # --- subsets -------------------------------------------------------------------------------
    @property
    def subsets(self) -> list[Subset]:
        out = []
        for table in self._doc.get("dataset", {}).get("subsets", []):
            raw = table.unwrap() if hasattr(table, "unwrap") else dict(table)
            out.append(Subset(
                image_dir=raw["image_dir"], name=raw.get("name", ""), num_repeats=raw.get("num_repeats", 1),
                class_tokens=raw.get("class_tokens"), is_reg=raw.get("is_reg", False),
                enabled=raw.get("enabled", True), values=flatten(raw.get("values", {}))))
        return out

    def _subset_aot(self) -> AoT:
        dataset = self._table("dataset")
        if "subsets" not in dataset:
            dataset["subsets"] = tomlkit.aot()
        return dataset["subsets"]

    def add_subset(self, subset: Subset) -> int:
        aot = self._subset_aot()
        aot.append(self._subset_table(subset))
        return len(aot) - 1

    def update_subset(self, index: int, subset: Subset) -> None:
        """Replace subset ``index`` in place (keeps its position and any comments above it)."""
        aot = self._subset_aot()
        table = aot[index]
        for key in list(table.keys()):
            if key not in _SUBSET_FIELDS and key != "values":
                continue
            del table[key]
        for key, value in self._subset_table(subset).items():
            table[key] = value

    def remove_subset(self, index: int) -> Subset:
        removed = self.subsets[index]
        del self._subset_aot()[index]
        return removed

    def set_subsets(self, subsets: list[Subset]) -> None:
        aot = tomlkit.aot()
        for subset in subsets:
            aot.append(self._subset_table(subset))
        self._table("dataset")["subsets"] = aot

    @staticmethod
    def _subset_table(subset: Subset) -> Table:
        table = tomlkit.table()
        if subset.name:
            table["name"] = subset.name
        table["image_dir"] = str(subset.image_dir)
        table["num_repeats"] = subset.num_repeats
        if subset.class_tokens:
            table["class_tokens"] = subset.class_tokens
        table["is_reg"] = subset.is_reg
        if not subset.enabled:
            table["enabled"] = False
        values = {k: _plain(v) for k, v in subset.values.items() if v is not None and not is_secret_key(k)}
        if values:
            table["values"] = values
        return table

    # --- captioning settings (owned by the captioning panel) -------------------------------------
    @property
    def captioning(self) -> dict[str, Any]:
        table = self._doc.get("captioning")
        return table.unwrap() if hasattr(table, "unwrap") else dict(table or {})

    def set_captioning(self, settings: Mapping[str, Any]) -> None:
        self._doc["captioning"] = {k: v for k, v in settings.items() if not is_secret_key(k) and v is not None}

    # --- resolution ---------------------------------------------------------------------------
    def resolve(self, library=None) -> Resolved:
        """The effective values: defaults < training profile < memory profile < the user's values.
        Needs the family (raises UserInputError without one). Profiles that cannot be found are
        skipped; validation reports them."""
        if self.family is None:
            raise UserInputError("The project has no model family yet.",
                                 "Choose a base model; its family is detected from the file.")
        from services.training.profiles import ProfileKind, ProfileLibrary

        library = library or ProfileLibrary()
        training = library.find(ProfileKind.TRAINING, self.training_profile)
        memory = library.find(ProfileKind.MEMORY, self.memory_profile)
        return resolve(self.family, self.mode,
                       training=training.values_for(self.mode) if training else None,
                       memory=memory.values_for(self.mode) if memory else None,
                       user=self.user_values,
                       training_source=training.id if training else "", memory_source=memory.id if memory else "")

    def absolute(self, path: str | None) -> str | None:
        """A path of the project made absolute (relative paths are relative to the project's folder)."""
        if not path:
            return path
        p = Path(path).expanduser()
        if not p.is_absolute() and self.folder is not None:
            p = self.folder / p
        return str(p.absolute())

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _set_or_remove(table: Table, key: str, value: Any) -> None:
        if value is None or value == "":
            table.pop(key, None)
        else:
            table[key] = value


def _plain(value: Any) -> Any:
    """Paths as text and tuples as lists: what TOML can hold."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
