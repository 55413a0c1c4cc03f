"""The small vocabulary the ``decl_*`` modules declare parameters with."""

from __future__ import annotations

from services.training.registry.spec import Condition, Group, Parameter, ParamType, Target, when

_PREFIX_TARGETS = {
    "network_args.": Target.NETWORK_ARGS,
    "optimizer_args.": Target.OPTIMIZER_ARGS,
    "lr_scheduler_args.": Target.SCHEDULER_ARGS,
    "accelerate.": Target.ACCELERATE,
    "project.": Target.PROJECT,
}

# Short names for the types, so a declaration fits on a few lines.
BOOL, INT, FLOAT, INT_OR_FLOAT = ParamType.BOOL, ParamType.INT, ParamType.FLOAT, ParamType.INT_OR_FLOAT
STR, TEXT, CHOICE = ParamType.STR, ParamType.TEXT, ParamType.CHOICE
FILE, DIR, PATH = ParamType.FILE, ParamType.DIR, ParamType.PATH
RESOLUTION, FLOAT_PAIR = ParamType.RESOLUTION, ParamType.FLOAT_PAIR
STR_LIST, FLOAT_LIST, FILE_LIST, KV_LIST = (ParamType.STR_LIST, ParamType.FLOAT_LIST, ParamType.FILE_LIST,
                                            ParamType.KV_LIST)

ALL_LEVELS = ("general", "dataset", "subset")
DATASET_LEVELS = ("general", "dataset")
SUBSET_LEVEL = ("subset",)
DREAMBOOTH_KIND = frozenset({"dreambooth"})
FINETUNING_KIND = frozenset({"finetuning"})


def declarer(group: Group):
    """A ``p(key, type, default, label, help, **more)`` that fills in the group and the target."""

    def p(key: str, type: ParamType, default=None, label: str = "", help: str = "", **more) -> Parameter:
        targets = more.pop("targets", None)
        if targets is None:
            if more.get("levels"):
                targets = (Target.DATASET,)
            else:
                targets = next((t,) for prefix, t in [*_PREFIX_TARGETS.items(), ("", Target.CONFIG)]
                               if key.startswith(prefix))
        for name in ("families", "modes", "scripts", "algorithms", "optimizers", "schedulers"):
            if name in more and more[name] is not None and not isinstance(more[name], frozenset):
                more[name] = frozenset(more[name])
        if "conditions" in more:
            more["conditions"] = _conditions(more["conditions"])
        return Parameter(key=key, type=type, default=default, label=label, help=help, group=group,
                         targets=tuple(targets), **more)

    return p


def _conditions(spec) -> tuple[Condition, ...]:
    """"key" (is set), Condition, or a tuple of those."""
    if isinstance(spec, (str, Condition)):
        spec = (spec,)
    return tuple(when(c) if isinstance(c, str) else c for c in spec)
