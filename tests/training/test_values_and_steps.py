"""Values in layers with their origins, and the step arithmetic with its explanation."""

from __future__ import annotations

from services.training.families import Family, Mode
from services.training.steps import SubsetCount, plan_steps
from services.training.values import Origin, flatten, nest, resolve


def test_layers_resolve_in_order_and_say_where_each_value_came_from():
    r = resolve(Family.SDXL, Mode.LORA, training={"learning_rate": 2e-4, "network_dim": 32},
                memory={"network_dim": 8, "train_batch_size": 2}, user={"train_batch_size": 4},
                training_source="sdxl/style", memory_source="sdxl/8gb")
    assert (r["learning_rate"], r.origin("learning_rate"), r.source("learning_rate")) == \
        (2e-4, Origin.TRAINING_PROFILE, "sdxl/style")
    assert (r["network_dim"], r.origin("network_dim")) == (8, Origin.MEMORY_PROFILE)
    assert (r["train_batch_size"], r.origin("train_batch_size")) == (4, Origin.USER)
    assert (r["seed"], r.origin("seed")) == (42, Origin.DEFAULT)
    assert [layer.origin for layer in r.layers("train_batch_size")] == \
        [Origin.DEFAULT, Origin.MEMORY_PROFILE, Origin.USER]
    assert set(r.changed()) == {"learning_rate", "network_dim", "train_batch_size"}


def test_a_user_can_empty_a_value_a_profile_sets():
    r = resolve(Family.SD1, Mode.LORA, training={"clip_skip": 2}, user={"clip_skip": None})
    assert r["clip_skip"] is None and r.origin("clip_skip") is Origin.USER


def test_unknown_keys_are_kept_aside_not_dropped_silently():
    r = resolve(Family.SD1, Mode.LORA, training={"no_such": 1})
    assert "no_such" in r.unknown and "no_such" not in r


def test_applicable_values_leave_out_what_does_not_apply():
    r = resolve(Family.SD1, Mode.LORA, user={"network_algorithm": "lycoris.lokr"})
    applied = r.applicable()
    assert "network_args.factor" in applied and "ae" not in applied and "huber_c" not in applied


def test_flatten_and_nest_are_inverse():
    table = {"seed": 1, "network_args": {"conv_dim": 8}, "optimizer_args": {"betas": [0.9, 0.99]},
             "accelerate": {"num_processes": 2}}
    flat = flatten(table)
    assert flat == {"seed": 1, "network_args.conv_dim": 8, "optimizer_args.betas": [0.9, 0.99],
                    "accelerate.num_processes": 2}
    assert nest(flat) == table


def test_step_arithmetic_with_regularisation_batch_accumulation_and_gpus():
    plan = plan_steps({"train_batch_size": 2, "gradient_accumulation_steps": 2, "accelerate.num_processes": 2,
                       "max_train_epochs": 10},
                      [SubsetCount("a", 12, 10), SubsetCount("b", 3, 5), SubsetCount("reg", 100, 1, is_reg=True)])
    assert plan.train_views == 135 and plan.reg_used == 135 and plan.samples_per_epoch == 270
    assert plan.batches_per_epoch == 135
    assert plan.steps_per_epoch == 34   # ceil(135 / 2 / 2)
    assert plan.total_steps == 340 and plan.decided_by == "epochs"
    assert "12 images x 10 repeats = 120" in plan.explanation
    assert "34 steps x 10 epochs = 340 steps" in plan.explanation


def test_explicit_steps_decide_and_say_so():
    plan = plan_steps({"train_batch_size": 1, "max_train_epochs": 10, "max_train_steps": 500},
                      [SubsetCount("a", 20, 5)])
    assert plan.total_steps == 500 and plan.decided_by == "max_train_steps" and plan.epochs == 5
    assert "decides the length" in plan.explanation


def test_no_silent_fallback_to_the_engines_1600_steps():
    plan = plan_steps({"train_batch_size": 1}, [SubsetCount("a", 20, 5)])
    assert plan.total_steps is None and plan.decided_by == "nothing"
    assert "1,600" in plan.explanation


def test_validation_split_holds_back_images():
    plan = plan_steps({"train_batch_size": 1, "max_train_epochs": 1, "validation_split": 0.2},
                      [SubsetCount("a", 10, 1)])
    assert plan.train_views == 8 and plan.total_steps == 8
