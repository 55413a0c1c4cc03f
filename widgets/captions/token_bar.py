"""The CLIP token counter: how many tokens a caption has, against sd-scripts' 75/150/225 chunks.

A bar with ticks at 75, 150 and 225 tokens, filled to the caption's count. sd-scripts keeps one
chunk of 75 tokens by default (``max_token_length`` unset) and two or three with 150 or 225; a
caption longer than the chosen length is cut. The colour says which of those applies.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from services.captions.tokens import MAX_TOKEN_LENGTHS

SCALE_MAX = 225
OK, NOTE, CUT = QColor("#4caf6a"), QColor("#d9a33b"), QColor("#e05a4f")


def describe(total: int | None) -> tuple[str, str]:
    """(short text, explanation) for a token count; None while the tokenizer loads."""
    if total is None:
        return "… tokens", "Loading the CLIP tokenizer…"
    chunks = max(1, -(-total // 75))
    short = f"{total} token{'s' if total != 1 else ''}"
    if total <= 75:
        return short, f"{short}: fits in one 75-token chunk (sd-scripts' default max_token_length)."
    if total <= SCALE_MAX:
        need = next(n for n in MAX_TOKEN_LENGTHS if total <= n)
        return f"{short} · {chunks} chunks", (
            f"{short} in {chunks} chunks of 75. With sd-scripts' default max_token_length (75) everything "
            f"after token 75 is cut; set max_token_length to {need} to train on the whole caption.")
    return f"{short} · cut at 225", (
        f"{short}: longer than sd-scripts' largest max_token_length (225). Tokens after 225 are never seen "
        "in training; shorten the caption.")


class TokenBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-token-bar")
        self._total: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("CLIP token count")
        self._update_tip()

    @property
    def total(self) -> int | None:
        return self._total

    def set_total(self, total: int | None) -> None:
        if total != self._total:
            self._total = total
            self._update_tip()
            self.update()

    def text(self) -> str:
        return describe(self._total)[0]

    def _update_tip(self) -> None:
        _short, long = describe(self._total)
        self.setToolTip(long)
        self.setAccessibleDescription(long)

    def sizeHint(self) -> QSize:
        return QSize(220, self.fontMetrics().height() + 12)

    def colour(self) -> QColor:
        if self._total is None or self._total <= 75:
            return OK
        return NOTE if self._total <= SCALE_MAX else CUT

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        fm = self.fontMetrics()
        text = self.text()
        text_w = fm.horizontalAdvance(text) + 10
        bar = QRectF(0, (self.height() - 8) / 2, max(40, self.width() - text_w - 4), 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pal.color(QPalette.ColorRole.Mid))
        painter.drawRoundedRect(bar, 4, 4)
        if self._total:
            fill = QRectF(bar)
            fill.setWidth(bar.width() * min(1.0, self._total / SCALE_MAX))
            painter.setBrush(self.colour())
            painter.drawRoundedRect(fill, 4, 4)
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        for tick in MAX_TOKEN_LENGTHS[:-1]:
            x = bar.left() + bar.width() * tick / SCALE_MAX
            painter.drawLine(int(x), int(bar.top()) - 2, int(x), int(bar.bottom()) + 2)
        painter.drawText(QRectF(bar.right() + 8, 0, text_w, self.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.end()
