"""The parameter tree's item model and its filter: generated from the registry, grouped, showing
only what applies, searchable, and editing through the controller."""

import pytest
from PySide6.QtCore import QModelIndex, Qt

from services.training.families import Family
from services.training.qt.parameter_model import (
    ORIGIN,
    VALUE,
    ParameterFilter,
    ParameterTreeModel,
    Role,
    format_value,
)
from tests.parameters.conftest import choose_model, validated


@pytest.fixture
def model(controller):
    return ParameterTreeModel(controller)


@pytest.fixture
def proxy(model):
    proxy = ParameterFilter()
    proxy.setSourceModel(model)
    return proxy


def visible_keys(proxy) -> list[str]:
    keys = []
    for g in range(proxy.rowCount()):
        group = proxy.index(g, 0)
        keys += [proxy.index(r, 0, group).data(Role.KEY) for r in range(proxy.rowCount(group))]
    return keys


def test_model_passes_qtmodeltester(qtmodeltester, model, qtbot, controller, models):
    qtmodeltester.check(model, force_py=True)
    choose_model(qtbot, controller, models["sdxl"])
    qtmodeltester.check(model, force_py=True)


def test_proxy_passes_qtmodeltester(qtmodeltester, proxy, qtbot, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    proxy.set_text("rate")
    qtmodeltester.check(proxy, force_py=True)


def test_groups_in_order_with_every_registry_parameter(model, controller):
    labels = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert labels[:4] == ["Model", "Dataset", "Network", "Optimizer and scheduler"]
    total = sum(model.rowCount(model.index(r, 0)) for r in range(model.rowCount()))
    assert total == len(controller.registry)


def test_columns_show_label_value_origin_and_tooltip_names_the_engine_argument(qtbot, model, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    index = model.index_of("learning_rate")
    assert index.data() == controller.registry.get("learning_rate").display_label
    assert "learning_rate" in index.data(Qt.ItemDataRole.ToolTipRole)
    controller.set_value("learning_rate", 1e-4)
    assert index.siblingAtColumn(VALUE).data() == "1e-4"
    assert index.siblingAtColumn(ORIGIN).data() == "user"


def test_only_what_applies_is_shown_and_the_toggle_shows_the_rest(qtbot, proxy, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    shown = visible_keys(proxy)
    flux_only = [p.key for p in controller.registry.parameters() if p.families == frozenset({Family.FLUX})]
    assert flux_only and not set(flux_only) & set(shown)
    proxy.set_show_inapplicable(True)
    assert set(flux_only) <= set(visible_keys(proxy))
    index = proxy.sourceModel().index_of(flux_only[0])
    assert index.data(Role.WHY_NOT)  # the reason it is greyed


def test_before_a_model_is_chosen_every_parameter_is_shown_greyed(qtbot, proxy, controller, models):
    every = {p.key for p in controller.registry.parameters()}
    assert set(visible_keys(proxy)) == every  # an empty tree would hide what there is to set
    assert proxy.sourceModel().index_of("learning_rate").data(Qt.ItemDataRole.ForegroundRole) is not None
    choose_model(qtbot, controller, models["sd1"])
    flux_only = {p.key for p in controller.registry.parameters() if p.families == frozenset({Family.FLUX})}
    assert flux_only and not flux_only & set(visible_keys(proxy))


def test_choosing_loha_shows_loha_arguments(qtbot, proxy, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    assert "network_args.use_tucker" not in visible_keys(proxy)
    controller.set_value("network_algorithm", "lycoris.loha")
    assert "network_args.use_tucker" in visible_keys(proxy)
    assert "network_args.loraplus_lr_ratio" not in visible_keys(proxy)


@pytest.mark.parametrize("query,key", [("learning rate", "learning_rate"), ("lr_scheduler", "lr_scheduler"),
                                       ("network_dim", "network_dim")])
def test_search_by_label_engine_name_and_help(qtbot, proxy, controller, models, query, key):
    choose_model(qtbot, controller, models["sd1"])
    proxy.set_text(query)
    keys = visible_keys(proxy)
    assert key in keys
    assert len(keys) < 40


def test_search_finds_help_text(qtbot, proxy, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    param = controller.registry.get("gradient_accumulation_steps")
    word = next(w for w in param.help.lower().split() if len(w) > 7 and w.isalpha())
    proxy.set_text(word)
    assert "gradient_accumulation_steps" in visible_keys(proxy)


def test_changed_only(qtbot, proxy, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    proxy.set_changed_only(True)
    assert visible_keys(proxy) == ["pretrained_model_name_or_path"]
    controller.set_value("max_train_epochs", 4)
    assert set(visible_keys(proxy)) == {"pretrained_model_name_or_path", "max_train_epochs"}


def test_editing_goes_through_the_controller_and_the_undo_stack(qtbot, model, controller, session, models):
    choose_model(qtbot, controller, models["sd1"])
    index = model.index_of("network_dim", VALUE)
    assert model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(index, 32)
    assert index.data(Qt.ItemDataRole.EditRole) == 32
    session.undo_stack.undo()
    assert index.data(Qt.ItemDataRole.EditRole) != 32


def test_booleans_toggle_by_check_state(qtbot, model, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    index = model.index_of("gradient_checkpointing", VALUE)
    assert model.flags(index) & Qt.ItemFlag.ItemIsUserCheckable
    start = index.data(Qt.ItemDataRole.CheckStateRole)
    flipped = Qt.CheckState.Unchecked if start == Qt.CheckState.Checked else Qt.CheckState.Checked
    model.setData(index, flipped.value, Qt.ItemDataRole.CheckStateRole)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == flipped


def test_nothing_is_editable_before_a_model_is_chosen(model):
    index = model.index_of("learning_rate", VALUE)
    assert not model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(index, 1e-4)
    assert model.index_of("learning_rate").data(Role.WHY_NOT) == "choose a base model first"


def test_problems_mark_their_rows(qtbot, model, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    controller.set_value("learning_rate", -1.0)
    validated(qtbot, controller)
    index = model.index_of("learning_rate")
    assert index.data(Role.PROBLEMS)
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None
    group = index.parent()
    assert group.data(Qt.ItemDataRole.DecorationRole) is not None
    controller.set_value("learning_rate", 1e-4)
    validated(qtbot, controller)
    assert not index.data(Role.PROBLEMS)


def test_invalid_indexes_are_harmless(model):
    assert model.parameter(QModelIndex()) is None
    assert not model.index(999, 0).isValid()
    assert not model.index_of("no_such_key").isValid()


@pytest.mark.parametrize("value,text", [(1e-4, "1e-4"), (0.5, "0.5"), (None, ""), (True, "on"),
                                        ([832, 1216], "832×1216")])
def test_format_value(controller, value, text):
    key = {float: "learning_rate", type(None): "learning_rate", bool: "gradient_checkpointing",
           list: "resolution"}[type(value)]
    if key == "learning_rate" and value == 0.5:
        key = "network_dropout"
    assert format_value(controller.registry.get(key), value) == text
