"""The GPU monitor dock: this machine (no GPU), scripted GPUs charted live, the training run marked,
polling paused while hidden, cheap construction."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from services.hardware.model import GIB
from services.hardware.monitor import HardwareMonitor
from services.paths import app_dirs
from services.qt.session import Session
from services.settings import Settings
from tests.hardware.doubles import ScriptedGpuProvider
from widgets.gpu_monitor.dock import GpuMonitorDock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def session(qapp):
    session = Session(Settings(), None, app_dirs())
    yield session
    session.deleteLater()


@pytest.fixture
def make_dock(qtbot, session):
    docks = []

    def make(factory=None, interval_s=0.05):
        dock = GpuMonitorDock(session, monitor_factory=factory, interval_s=interval_s)
        qtbot.addWidget(dock)
        dock.resize(1000, 700)
        docks.append(dock)
        return dock

    yield make
    for dock in docks:
        dock.shutdown()


def scripted(count=2, **kwargs):
    provider = ScriptedGpuProvider(count, **kwargs)
    return provider, (lambda: HardwareMonitor([provider]))


def curve_points(chart, name) -> np.ndarray:
    _x, y = chart.curves[name].getData()
    return np.asarray(y if y is not None else [], dtype=float)


def test_construction_is_cheap_nothing_starts_until_shown():
    code = (
        "import sys, time\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from services.qt.session import Session\n"
        "from services.settings import Settings\n"
        "from services.paths import app_dirs\n"
        "t = time.perf_counter()\n"
        "from widgets.gpu_monitor.dock import GpuMonitorDock\n"
        "dock = GpuMonitorDock(Session(Settings(), None, app_dirs()))\n"
        "import json\n"
        "print(json.dumps({'pyqtgraph': 'pyqtgraph' in sys.modules, 'psutil': 'psutil' in sys.modules,\n"
        "                  'pynvml': 'pynvml' in sys.modules, 'sampler': dock.sampler is not None}))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == \
        {"pyqtgraph": False, "psutil": False, "pynvml": False, "sampler": False}


def test_this_machine_without_gpu_says_so_and_shows_cpu_and_ram(make_dock, qtbot):
    dock = make_dock(interval_s=0.2)
    assert "starts when this panel is shown" in dock.message_text
    dock.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 2, timeout=15000)
    if dock.snapshot.gpus:  # pragma: no cover - a machine with a GPU
        assert dock.gpu_cards
        return
    assert dock.headline == "No GPU detected."
    assert dock.message_text.startswith("No GPU detected. Training will run on the CPU")
    assert "CPU and RAM are shown below." in dock.message_text
    assert dock.gpu_cards == {}
    card = dock.system_card
    assert card.isVisible() and "cores" in card.details.text()
    assert card.cpu_chart.value_text.endswith("%")
    assert " GB" in card.ram_chart.value_text
    qtbot.waitUntil(lambda: len(curve_points(card.ram_chart, "ram")) >= 2, timeout=5000)
    # What was checked: every provider's answer, one click away.
    assert not dock.details.isVisible()
    dock.message.linkActivated.emit("details")
    assert dock.details.isVisible() and "NVML library was not found" in dock.details.text()


def test_the_user_can_state_the_vram_when_none_is_detected(make_dock, qtbot, session, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    dock = make_dock(interval_s=0.2)
    dock.show()
    qtbot.waitUntil(lambda: dock.snapshot is not None, timeout=15000)
    if dock.snapshot.gpus:  # pragma: no cover - a machine with a GPU
        return
    assert '<a href="vram">State your GPU&#x27;s VRAM</a>' in dock.message.text()
    asked = []
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *args: (asked.append(args[3]) or 12.0, True))
    dock.message.linkActivated.emit("vram")
    assert asked == [8.0]  # a sensible starting value
    assert session.settings.hardware.stated_vram_gb == 12.0
    assert "12 GB of VRAM, as you stated it" in dock.message_text
    assert '<a href="vram">Change the stated VRAM</a>' in dock.message.text()
    dock.set_stated_vram(0)
    assert "as you stated it" not in dock.message_text


def test_a_detected_gpu_needs_no_stated_vram(make_dock, qtbot):
    _provider, factory = scripted(1)
    dock = make_dock(factory)
    dock.show()
    qtbot.waitUntil(lambda: dock.snapshot is not None, timeout=15000)
    assert 'href="vram"' not in dock.message.text()


def test_scripted_gpus_are_charted_live(make_dock, qtbot):
    provider, factory = scripted(2)
    dock = make_dock(factory)
    dock.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 6, timeout=15000)
    assert sorted(dock.gpu_cards) == ["scripted:0", "scripted:1"]
    assert dock.headline == "" and dock.message_text == "scripted: 2 GPUs"
    card = dock.gpu_cards["scripted:0"]
    assert card.title() == "GPU 0 · Scripted GPU 0"
    assert "CUDA 12.4" in card.details.text() and "compute 8.9" in card.details.text()
    for chart, name in ((card.util_chart, "util"), (card.vram_chart, "vram"), (card.temp_chart, "temp"),
                        (card.power_chart, "power")):
        points = curve_points(chart, name)
        assert len(points) >= 5 and np.isfinite(points).all(), name
        assert len(set(points.round(3))) > 1, f"{name} does not move"  # live, not a constant
    shown = dock.samples_shown
    latest = card.history["util"].latest
    assert card.util_chart.value_text == f"{latest:.0f} %"
    assert card.power_chart.value_text.endswith("/ 300 W")
    assert card.vram_chart.y_max == pytest.approx(24.0)
    assert not card.vram_chart.value_text.count("run")  # no training run: nothing marked
    assert len(curve_points(card.vram_chart, "run")) == 0 or np.isnan(curve_points(card.vram_chart, "run")).all()
    qtbot.waitUntil(lambda: dock.samples_shown > shown + 2, timeout=5000)
    assert provider.tick >= dock.samples_shown


def test_the_training_runs_vram_is_marked(make_dock, qtbot, session):
    provider, factory = scripted(2)
    dock = make_dock(factory)
    dock.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 2, timeout=15000)
    session.set_training_process(os.getpid())
    assert dock.run_label.isVisible() and str(os.getpid()) in dock.run_label.text()
    qtbot.waitUntil(lambda: provider.watched_seen and os.getpid() in provider.watched_seen[-1], timeout=5000)
    first, second = dock.gpu_cards["scripted:0"], dock.gpu_cards["scripted:1"]
    qtbot.waitUntil(lambda: "run 6.0 GB" in first.vram_chart.value_text, timeout=5000)
    run = curve_points(first.vram_chart, "run")
    assert np.nanmax(run) == pytest.approx(6.0)  # GB, drawn in its own colour under the total
    assert "run" not in second.vram_chart.value_text  # the run does not use GPU 1
    qtbot.waitUntil(lambda: "run" in dock.system_card.ram_chart.value_text, timeout=5000)
    session.set_training_process(0)
    assert not dock.run_label.isVisible()
    qtbot.waitUntil(lambda: "run" not in first.vram_chart.value_text, timeout=5000)


def test_polling_pauses_while_hidden_and_resumes_when_shown(make_dock, qtbot):
    _provider, factory = scripted(1)
    dock = make_dock(factory)
    dock.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 2, timeout=15000)
    assert dock.polling
    dock.hide()
    assert not dock.polling and dock.sampler.paused
    time.sleep(0.15)  # at most one reading already under way may still arrive
    taken = dock.sampler.samples_taken
    time.sleep(0.4)  # eight intervals
    assert dock.sampler.samples_taken == taken
    dock.show()
    assert dock.polling
    qtbot.waitUntil(lambda: dock.sampler.samples_taken > taken + 2, timeout=5000)
    # The pause is a gap in the history, not a line drawn through time nobody saw.
    assert np.isnan(curve_points(dock.gpu_cards["scripted:0"].util_chart, "util")).any()


def test_a_provider_failing_mid_run_is_shown_and_the_rest_keeps_going(make_dock, qtbot):
    flaky = ScriptedGpuProvider(1, name="flaky", fail_read_after=3)
    good = ScriptedGpuProvider(1, name="good", first_bus=9)
    dock = make_dock(lambda: HardwareMonitor([flaky, good]))
    dock.show()
    qtbot.waitUntil(lambda: dock.errors.isVisible(), timeout=15000)
    assert "flaky: scripted read failure" in dock.errors.text()
    before = len(dock.gpu_cards["good:0"].history["util"])
    qtbot.waitUntil(lambda: len(dock.gpu_cards["good:0"].history["util"]) > before + 1, timeout=5000)


def test_charts_follow_the_theme(make_dock, qtbot, qapp):
    from app.themes import ThemeManager

    _provider, factory = scripted(1)
    dock = make_dock(factory)
    dock.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 1, timeout=15000)
    chart = dock.gpu_cards["scripted:0"].util_chart
    themes = ThemeManager(qapp)
    try:
        for theme_id in ("light", "dark", "cyberpunk"):
            themes.apply(theme_id)
            qapp.processEvents()
            assert chart.plot.backgroundBrush().color().name() == themes.current.colors["base"], theme_id
    finally:
        themes.deleteLater()


def test_the_main_window_has_the_monitor_and_stops_it_on_close(app_parts, qtbot):
    window = app_parts.window
    dock = window.dock_widget("gpu")
    assert isinstance(dock, GpuMonitorDock)
    window.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 1, timeout=20000)
    window.docks["gpu"].close()
    assert dock.sampler.paused
    window.close()
    assert not dock.sampler.isRunning()


def test_history_breaks_the_line_over_a_pause_and_forgets_old_values():
    from services.hardware.history import History

    history = History(seconds=10, interval_s=1)
    for t in range(5):
        history.append(float(t), t * 10)
    history.append(20.0, None)  # after a pause, and a missing value
    history.append(21.0, 5)
    x, y = history.series()
    assert x[-1] == 0 and x[0] >= -10
    assert math.isnan(y[-2]) and y[-1] == 5  # old values dropped, the gap kept as NaN
    assert history.maximum() == 5 and history.latest == 5
    assert len(History()) == 0 and History().maximum() is None
    assert GIB == 1024 ** 3


def test_cards_out_of_sight_are_not_redrawn_until_scrolled_into_view(make_dock, qtbot):
    _provider, factory = scripted(3)
    dock = make_dock(factory)
    dock.resize(500, 260)  # the strip the main window gives the dock: one card in sight
    dock.show()
    qtbot.waitUntil(lambda: dock.samples_shown >= 4, timeout=15000)
    last = dock.gpu_cards["scripted:2"]
    assert last.visibleRegion().isEmpty()
    assert last._pending is not None  # readings kept, drawing skipped
    assert len(last.history["util"]) >= 4
    bar = dock.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: not last.visibleRegion().isEmpty(), timeout=5000)
    qtbot.waitUntil(lambda: len(curve_points(last.util_chart, "util")) >= 4, timeout=5000)
    assert dock.gpu_cards["scripted:0"].visibleRegion().isEmpty()
