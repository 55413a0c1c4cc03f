"""What a training parameter is: the declaration format of the registry.

A ``Parameter`` is one row of data: the name sd-scripts (or accelerate, or a network module, or an
optimizer) knows it by, its type, our default and the engine's own default, range or choices, unit,
group, help in our own words, and where it applies (families, modes, scripts, network algorithms,
optimizers, schedulers, conditions on other values) and where it is emitted (``Target``).

The declarations themselves live in the ``decl_*`` modules beside this one, one per group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from services.training.families import ALL_FAMILIES, ALL_MODES, Family, Mode, script_for


class Group(str, Enum):
    MODEL = "model"
    DATASET = "dataset"
    NETWORK = "network"
    OPTIMIZER = "optimizer"
    TRAINING = "training"
    MEMORY = "memory"
    SAMPLING = "sampling"
    SAVING = "saving"
    LOGGING = "logging"
    ACCELERATE = "accelerate"
    ADVANCED = "advanced"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]


GROUP_LABELS = {
    Group.MODEL: "Model",
    Group.DATASET: "Dataset",
    Group.NETWORK: "Network",
    Group.OPTIMIZER: "Optimizer and scheduler",
    Group.TRAINING: "Training",
    Group.MEMORY: "Memory",
    Group.SAMPLING: "Sampling",
    Group.SAVING: "Saving",
    Group.LOGGING: "Logging",
    Group.ACCELERATE: "Accelerate / multi-GPU",
    Group.ADVANCED: "Advanced",
}
GROUP_ORDER: tuple[Group, ...] = tuple(Group)


class ParamType(str, Enum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    INT_OR_FLOAT = "int_or_float"  # an int counts steps, a float below 1 is a fraction of the run
    STR = "str"
    TEXT = "text"                  # multi-line text
    CHOICE = "choice"              # one of ``choices`` (or free text when ``open_choices``)
    FILE = "file"
    DIR = "dir"
    PATH = "path"                  # a file or a folder (a diffusers model is a folder)
    RESOLUTION = "resolution"      # an int (square) or [width, height]
    FLOAT_PAIR = "float_pair"      # [low, high]
    STR_LIST = "str_list"
    FLOAT_LIST = "float_list"
    FILE_LIST = "file_list"
    KV_LIST = "kv_list"            # "key=value" strings, passed through to a module


PATH_TYPES = frozenset({ParamType.FILE, ParamType.DIR, ParamType.PATH})
LIST_TYPES = frozenset({ParamType.STR_LIST, ParamType.FLOAT_LIST, ParamType.FILE_LIST, ParamType.KV_LIST})


class Target(str, Enum):
    """Where a value goes when a run folder is emitted."""

    CONFIG = "config"                  # the --config_file TOML (an argparse dest of the script)
    DATASET = "dataset"                # the --dataset_config TOML, at ``levels``
    NETWORK_ARGS = "network_args"      # one "name=value" of --network_args
    OPTIMIZER_ARGS = "optimizer_args"  # one "name=value" of --optimizer_args (a Python literal)
    SCHEDULER_ARGS = "lr_scheduler_args"
    ACCELERATE = "accelerate"          # an `accelerate launch` flag
    PROJECT = "project"                # kept in the project, used by the emitter (not passed as is)


UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET", "__bool__": lambda self: False})()


@dataclass(frozen=True)
class Condition:
    """This parameter only matters when the value of ``key`` is one of ``values``;
    with ``values=None``, when it is set (not None, not False, not 0, not empty)."""

    key: str
    values: tuple | None = None

    def holds(self, values: Mapping[str, Any]) -> bool:
        value = values.get(self.key)
        if self.values is None:
            return value not in (None, False, 0, 0.0, "", [], ())
        if isinstance(value, str):
            return value.lower() in {str(v).lower() for v in self.values}
        return value in self.values

    def describe(self) -> str:
        if self.values is None:
            return f"only when {self.key} is set"
        shown = ", ".join(str(v) for v in self.values)
        return f"only when {self.key} is {shown}"


def when(key: str, *values: Any) -> Condition:
    return Condition(key, tuple(values) if values else None)


@dataclass(frozen=True)
class Selection:
    """What decides which parameters apply: the model family, the training mode, and the chosen
    network algorithm, optimizer and learning-rate scheduler."""

    family: Family
    mode: Mode
    algorithm: str | None = None
    optimizer: str | None = None
    scheduler: str | None = None

    @property
    def script(self) -> str:
        return script_for(self.family, self.mode)

    @classmethod
    def from_values(cls, family: Family, mode: Mode, values: Mapping[str, Any]) -> Selection:
        return cls(Family(family), Mode(mode), values.get("network_algorithm"),
                   values.get("optimizer_type"), values.get("lr_scheduler"))


@dataclass(frozen=True)
class Parameter:
    key: str                       # unique id; "network_args.conv_dim" style for non-config targets
    type: ParamType
    default: Any = None            # our default (None: not set)
    label: str = ""
    help: str = ""
    group: Group = Group.ADVANCED
    targets: tuple[Target, ...] = (Target.CONFIG,)
    name: str = ""                 # the engine's name; defaults to the key after its last dot
    choices: tuple = ()
    open_choices: bool = False     # a choice list that also accepts other text (module.Class)
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    unit: str = ""
    scientific: bool = False       # shown in scientific notation (learning rates)
    families: frozenset = ALL_FAMILIES
    modes: frozenset = ALL_MODES
    scripts: frozenset | None = None       # only these entry scripts have it
    algorithms: frozenset | None = None    # only these network algorithms
    optimizers: frozenset | None = None    # only these optimizers (lower case)
    schedulers: frozenset | None = None
    conditions: tuple[Condition, ...] = ()
    levels: tuple[str, ...] = ()   # dataset config levels: "general", "dataset", "subset"
    dataset_kinds: frozenset | None = None  # dataset keys valid only for "dreambooth" or "finetuning" subsets
    by: tuple = ()                 # ((families or None, modes or None, value), ...): default overrides
    choices_by: tuple = ()         # ((families or None, modes or None, choices), ...): narrower choices
    engine: Any = UNSET            # sd-scripts' own default; UNSET: False for flags, None otherwise
    engine_by_script: Mapping[str, Any] = field(default_factory=dict)
    must_exist: bool = True        # for paths: an input that must exist (False: created by the run)
    file_filter: str = ""
    emit_bool_as: str = "python"   # network args: "python" -> True/False; "true_only" -> only when True

    # --- derived ------------------------------------------------------------------------
    @property
    def target(self) -> Target:
        return self.targets[0]

    @property
    def engine_name(self) -> str:
        return self.name or self.key.rsplit(".", 1)[-1]

    @property
    def display_label(self) -> str:
        return self.label or self.engine_name.replace("_", " ").capitalize()

    @property
    def subset_only(self) -> bool:
        return self.levels == ("subset",)

    def engine_default(self, script: str | None = None) -> Any:
        if script is not None and script in self.engine_by_script:
            return self.engine_by_script[script]
        if self.engine is not UNSET:
            return self.engine
        return False if self.type is ParamType.BOOL and self.target is Target.CONFIG else None

    def default_for(self, family: Family | None, mode: Mode | None) -> Any:
        for families, modes, value in self.by:
            if families is not None and family not in _as_set(families):
                continue
            if modes is not None and mode not in _as_set(modes):
                continue
            return value
        return self.default

    def choices_for(self, family: Family | None, mode: Mode | None) -> tuple:
        for families, modes, choices in self.choices_by:
            if families is not None and family not in _as_set(families):
                continue
            if modes is not None and mode not in _as_set(modes):
                continue
            return tuple(choices)
        return self.choices

    # --- applicability ----------------------------------------------------------------------
    def applies(self, selection: Selection, values: Mapping[str, Any] | None = None) -> bool:
        return self.why_not(selection, values) is None

    def why_not(self, selection: Selection, values: Mapping[str, Any] | None = None) -> str | None:
        """None when the parameter applies; otherwise a short reason a person can read."""
        if selection.family not in self.families:
            return "only for " + _join(f.label for f in Family if f in self.families)
        if selection.mode not in self.modes:
            return "only for " + _join(m.label for m in Mode if m in self.modes)
        if self.scripts is not None and selection.script not in self.scripts:
            return f"{selection.script} has no such option"
        if self.algorithms is not None and (selection.algorithm or "") not in self.algorithms:
            return "only for the network algorithms " + _join(sorted(self.algorithms))
        if self.optimizers is not None and (selection.optimizer or "").lower() not in self.optimizers:
            return "only for the optimizers " + _join(sorted(self.optimizers))
        if self.schedulers is not None and (selection.scheduler or "").lower() not in self.schedulers:
            return "only for the schedulers " + _join(sorted(self.schedulers))
        if values is not None:
            for condition in self.conditions:
                if not condition.holds(values):
                    return condition.describe()
        return None


def _as_set(items) -> frozenset:
    if isinstance(items, (Family, Mode)):
        return frozenset({items})
    return frozenset(items)


def _join(items) -> str:
    items = list(items)
    return ", ".join(str(i) for i in items) if items else "nothing"
