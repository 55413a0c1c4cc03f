import logging

import pytest
from PySide6.QtCore import qWarning

from app import qt_messages
from app.crash_dialog import ExceptionReporter
from services.errors import FileAccessError, LoraStudioError, ValidationError
from services.logging_setup import LOG_FILE_NAME, redact, setup_logging


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_log_file_lines_have_timestamps(tmp_path, restore_root_logging):
    log_file = setup_logging(tmp_path, "DEBUG", console=False)
    logging.getLogger("lora.test").info("hello %s", "world")
    for handler in logging.getLogger().handlers:
        handler.flush()
    line = (tmp_path / LOG_FILE_NAME).read_text().strip().splitlines()[-1]
    assert log_file == tmp_path / LOG_FILE_NAME
    assert line.endswith("lora.test: hello world")
    assert line[:4].isdigit() and line[10] == " " and line[19] == "."  # 2026-11-23 18:40:59.123


def test_bad_log_level_is_refused(tmp_path, restore_root_logging):
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging(tmp_path, "LOUD", console=False)


def test_secrets_are_redacted_in_the_log(tmp_path, restore_root_logging):
    setup_logging(tmp_path, "INFO", console=False)
    logging.getLogger("x").warning("env HF_TOKEN=hf_abcdefghijklmnop and WANDB_API_KEY: 123456")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / LOG_FILE_NAME).read_text()
    assert "hf_abcdefghijklmnop" not in text and "123456" not in text
    assert redact("token hf_abcdefghijk") == "token hf_***"


def test_qt_messages_go_to_python_logging(caplog):
    from PySide6.QtCore import qInstallMessageHandler

    previous = qt_messages.install()  # replaces pytest-qt's handler for the length of this test
    try:
        with caplog.at_level(logging.WARNING, logger="qt"):
            qWarning("a warning routed into logging")
    finally:
        qInstallMessageHandler(previous)
    assert any("routed into logging" in r.getMessage() for r in caplog.records if r.name == "qt")


def test_uncaught_exception_is_logged_and_counted(tmp_path, caplog):
    reporter = ExceptionReporter(tmp_path / "x.log", show_dialog=False)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        with caplog.at_level(logging.ERROR):
            reporter(type(exc), exc, exc.__traceback__)
    assert reporter.count == 1
    assert "boom" in caplog.text and "Traceback" in caplog.text


def test_errors_carry_message_hint_and_details():
    err = FileAccessError("Cannot read /x", details="errno 13")
    assert err.hint  # a default hint
    assert err.as_dict()["kind"] == "FileAccessError"
    assert isinstance(ValidationError("bad", problems=[1, 2]), LoraStudioError)
    assert ValidationError("bad", problems=[1, 2]).problems == [1, 2]
    assert str(LoraStudioError("a", "b")) == "a (b)"


def test_uncaught_exception_dialog_names_the_log_file_and_the_app_keeps_running(qapp, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    reporter = ExceptionReporter(tmp_path / "lora-studio.log", show_dialog=True)
    seen = {}

    def close_dialog():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen["text"], seen["info"] = box.text(), box.informativeText()
            box.accept()
        else:
            QTimer.singleShot(20, close_dialog)

    QTimer.singleShot(20, close_dialog)
    try:
        raise ValueError("kaput")
    except ValueError as exc:
        reporter(type(exc), exc, exc.__traceback__)
    assert "kaput" in seen["text"]
    assert str(tmp_path / "lora-studio.log") in seen["info"]
    assert "keeps running" in seen["info"]
    assert QApplication.instance() is not None
