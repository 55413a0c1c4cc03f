"""Qt's own messages (qDebug/qWarning/...) routed into Python logging."""

from __future__ import annotations

import logging

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
# Offscreen platform limitations (propagateSizeHints, raise...), harmless.
_IGNORED = ("This plugin does not support",)


def _handler(msg_type, context, message: str) -> None:
    if any(message.startswith(prefix) for prefix in _IGNORED):
        return
    category = getattr(context, "category", "") or "default"
    log.log(_LEVELS.get(msg_type, logging.WARNING), "[%s] %s", category, message)


def install():
    """Route Qt's messages into logging; returns the previous handler (to restore it)."""
    return qInstallMessageHandler(_handler)
