"""Every registry entry exists, with a compatible type, in each script it is emitted to; every
argument of every training script is declared, derived by the emitter, or deliberately omitted."""

from __future__ import annotations

import pytest

from services.training.families import TRAINING_SCRIPTS, pairs_for_script
from services.training.registry import ParamType, Selection, Target, registry
from services.training.registry.omitted import DATASET_OMITTED, DERIVED, OMITTED
from tests.training.kohya_schema import args_schema, dataset_schema

ARG_TARGET_DESTS = {Target.NETWORK_ARGS: "network_args", Target.OPTIMIZER_ARGS: "optimizer_args",
                    Target.SCHEDULER_ARGS: "lr_scheduler_args"}


def _scripts_of(param) -> set[str]:
    """The training scripts this parameter applies to (for some family/mode of the script)."""
    out = set()
    for script in TRAINING_SCRIPTS:
        for family, mode in pairs_for_script(script):
            sel = Selection(family, mode)
            reason = param.why_not(sel)
            # algorithm/optimizer/scheduler restrictions do not change which script it belongs to
            if reason is None or reason.startswith("only for the "):
                out.add(script)
    return out


def _compatible(param, action, script) -> str | None:
    kind, nargs, atype = action["action"], action["nargs"], action["type"]
    t = param.type
    if kind == "_StoreTrueAction":
        return None if t is ParamType.BOOL else f"{param.key}: a flag in the engine, {t} here"
    if t is ParamType.BOOL:
        return f"{param.key}: a flag here, {kind} in the engine"
    if nargs == "*":
        ok = (t in (ParamType.STR_LIST, ParamType.FILE_LIST, ParamType.KV_LIST) and atype in ("str", None)) \
            or (t is ParamType.FLOAT_LIST and atype == "float")
        return None if ok else f"{param.key}: a list of {atype} in the engine, {t} here"
    if t in (ParamType.INT,):
        ok = atype == "int"
    elif t is ParamType.FLOAT:
        ok = atype == "float"
    elif t is ParamType.INT_OR_FLOAT:
        ok = atype in ("library.train_util.int_or_float", "float")
    elif t in (ParamType.STR, ParamType.TEXT, ParamType.FILE, ParamType.DIR, ParamType.PATH):
        ok = atype in ("str", "Path", None)
    elif t is ParamType.CHOICE:
        kinds = {type(c) for c in param.choices}
        ok = (kinds == {int} and atype == "int") or (kinds == {str} and atype in ("str", None))
        for family, mode in pairs_for_script(script):
            extra = set(param.choices_for(family, mode)) - set(action["choices"] or param.choices)
            if ok and extra:
                return f"{param.key}: choices {sorted(map(str, extra))} unknown to the engine"
    else:
        ok = False
    return None if ok else f"{param.key}: {t} here, {atype} in the engine"


def test_every_config_parameter_exists_in_each_of_its_scripts_with_a_compatible_type():
    schema = args_schema()
    problems = []
    for param in registry().with_target(Target.CONFIG):
        scripts = _scripts_of(param)
        assert scripts, f"{param.key} applies to no training script"
        for script in scripts:
            action = schema[script].get(param.engine_name)
            if action is None:
                problems.append(f"{param.key}: not an argument of {script}")
                continue
            problem = _compatible(param, action, script)
            if problem:
                problems.append(f"{script}: {problem}")
            default = action["default"]
            if param.engine_default(script) != default:
                problems.append(f"{script}: {param.key}: engine default recorded as "
                                f"{param.engine_default(script)!r}, the parser says {default!r}")
    assert not problems, "\n".join(problems)


def test_list_targets_go_to_list_arguments():
    schema = args_schema()
    for param in registry().parameters():
        dest = ARG_TARGET_DESTS.get(param.target)
        if dest is None:
            continue
        for script in _scripts_of(param):
            action = schema[script][dest]
            assert action["nargs"] == "*", (param.key, script)


_DS_TYPES = {
    ParamType.BOOL: {"bool"}, ParamType.INT: {"int"}, ParamType.FLOAT: {"float", "float|int"},
    ParamType.INT_OR_FLOAT: {"float|int"}, ParamType.STR: {"str"}, ParamType.DIR: {"str"},
    ParamType.CHOICE: {"str"}, ParamType.RESOLUTION: {"int|[int,int]"}, ParamType.FLOAT_PAIR: {"[float,float]"},
}


def test_dataset_parameters_exist_at_their_levels_with_compatible_types():
    ds = dataset_schema()
    for param in registry().with_target(Target.DATASET):
        assert param.levels, param.key
        for level in param.levels:
            entry = ds[level].get(param.engine_name)
            assert entry is not None, f"{param.key} is not a {level}-level dataset key"
            assert entry["type"] in _DS_TYPES[param.type], (param.key, entry["type"], param.type)
            applies = set(entry["applies_to"])
            if param.dataset_kinds is not None:
                assert applies & {"dreambooth", "support_dreambooth"}, param.key
            elif param.subset_only:
                assert applies >= {"dreambooth", "finetuning"} or "all" in applies, (param.key, applies)
            else:
                assert applies & {"all", "support_dropout"}, (param.key, applies)


def test_every_dataset_key_is_declared_or_deliberately_omitted():
    ds = dataset_schema()
    declared = {p.engine_name for p in registry().with_target(Target.DATASET)}
    keys = set(ds["general"]) | set(ds["dataset"]) | set(ds["subset"])
    missing = keys - declared - set(DATASET_OMITTED)
    assert not missing, f"dataset keys neither declared nor omitted: {sorted(missing)}"
    assert not (declared & set(DATASET_OMITTED))


def coverage() -> dict[str, dict]:
    """Per script: the arguments declared, derived by the emitter, and omitted (for the report)."""
    schema = args_schema()
    reg = registry()
    out = {}
    for script in TRAINING_SCRIPTS:
        dests = set(schema[script])
        declared = set()
        for param in reg.parameters():
            if script not in _scripts_of(param):
                continue
            if param.target is Target.CONFIG or param.target is Target.DATASET:
                declared.add(param.engine_name)
            elif param.target in ARG_TARGET_DESTS:
                declared.add(ARG_TARGET_DESTS[param.target])
        declared &= dests
        derived = dests & set(DERIVED)
        omitted = dests & set(OMITTED)
        # Arguments every script's parser accepts but this script's families ignore (declared in the
        # registry for the families that use them, hidden here).
        ignored = {p.engine_name for p in reg.parameters() if p.target is Target.CONFIG} & dests
        ignored -= declared
        out[script] = {"arguments": len(dests), "declared": len(declared), "derived": len(derived),
                       "omitted": sorted(omitted), "ignored_here": sorted(ignored),
                       "uncovered": sorted(dests - declared - derived - omitted - ignored)}
    return out


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
def test_every_script_argument_is_declared_derived_or_deliberately_omitted(script):
    result = coverage()[script]
    assert not result["uncovered"], f"{script}: arguments neither declared nor omitted: {result['uncovered']}"


def test_omitted_and_derived_names_are_real_arguments_and_not_declared():
    schema = args_schema()
    every = set().union(*(set(schema[s]) for s in TRAINING_SCRIPTS))
    for name in (*OMITTED, *DERIVED):
        assert name in every, f"{name} is listed as omitted/derived but no training script has it"
    config_names = {p.engine_name for p in registry().with_target(Target.CONFIG)}
    assert not config_names & (set(OMITTED) | set(DERIVED))


if __name__ == "__main__":  # the coverage table for the report
    for name, row in coverage().items():
        print(f"{name:24s} {row['arguments']:4d} arguments: {row['declared']:4d} declared, "
              f"{row['derived']} derived, {len(row['omitted'])} omitted, "
              f"{len(row['ignored_here'])} not used by this script's families {row['ignored_here']}")
