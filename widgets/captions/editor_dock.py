"""The caption editor dock: the caption(s) of the selected image(s), as tags or as text.

Tag mode shows chips (drag to reorder, F2 to rename, Del to remove) and a line to add tags with
autocompletion; with several images selected it shows the union of their tags with how many carry
each, and every edit applies to all of them. Text mode edits one caption as plain text. A token
counter shows the caption against sd-scripts' 75-token chunks. Every edit is one undoable command
on the application's undo stack; saving is automatic or on demand (Caption menu).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.captions.operations import AddTags, MoveToFront, RemoveTags, RenameTag
from services.captions.qt.controller import caption_controller
from services.captions.qt.tag_models import SelectionTagsModel, moved
from services.captions.stats import union_counts
from services.captions.tokens import count_tags, count_text
from widgets.captions.tag_chips import TagChipView
from widgets.captions.tag_input import TagInput
from widgets.captions.text_edit import CaptionTextEdit
from widgets.captions.token_bar import TokenBar
from widgets.empty_state import EmptyState

MAX_TOKEN_LENGTH = 225
SYNC_REFRESH_LIMIT = 200  # a larger multi-selection is refreshed once per event-loop turn
UNION_SYNC_LIMIT = 1000  # the tags of a larger selection are counted in a worker


def tag_query(tag: str) -> str:
    """The dataset filter for images carrying ``tag``."""
    return 'tag:"' + tag.replace("\\", "\\\\").replace('"', '\\"') + '"'


class CaptionEditorDock(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-editor")
        self.session = session
        self.controller = caption_controller(session)
        self.keys: list[str] = []
        self._union_sequence = 0
        self._close_filter_installed = False
        self._build()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(120)
        self._count_timer.timeout.connect(self._count_tokens)

        session.selection_changed.connect(self._selection_changed)
        session.current_image_changed.connect(self._selection_changed)
        session.workspace_changed.connect(self._selection_changed)
        session.captions_changed.connect(self._captions_changed)
        c = self.controller
        c.state_changed.connect(self._update_status)
        c.conflicts_changed.connect(self._captions_changed_all)
        c.busy_changed.connect(self._busy_changed)
        c.progress.connect(self._progress)
        c.tokenizer_ready.connect(lambda _t: self._count_tokens())
        c.stats_reset.connect(self._stats_changed)
        c.tags_changed.connect(lambda *_a: self._stats_changed())
        self._selection_changed()

    # --- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        header = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("caption-title")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.format_label = QLabel()
        self.format_label.setProperty("role", "muted")
        self.format_label.setToolTip("Encoding and line endings of the caption file; saving keeps them.")
        header.addWidget(self.title, 1)
        header.addWidget(self.format_label)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons = {}
        for mode, text, tip in (("tags", "Tags", "Edit the caption as tags (chips)"),
                                ("text", "Text", "Edit the caption as plain text (sentences for Flux, SD3)")):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setObjectName(f"caption-mode-{mode}")
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            header.addWidget(button)
        self.mode_buttons["tags"].setChecked(True)
        self.mode_group.buttonClicked.connect(lambda _b: self._mode_changed())
        layout.addLayout(header)

        self.banner = QFrame()
        self.banner.setObjectName("caption-banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 4, 8, 4)
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_label.setProperty("role", "warning")
        banner_layout.addWidget(self.banner_label, 1)
        self.theirs_button = QPushButton("Use theirs")
        self.theirs_button.setToolTip("Take the version another program saved (Undo brings your edit back)")
        self.mine_button = QPushButton("Keep mine")
        self.mine_button.setToolTip("Write your version over the one another program saved")
        self.theirs_button.clicked.connect(lambda: self.controller.use_theirs(self._conflict_keys()))
        self.mine_button.clicked.connect(lambda: self.controller.keep_mine(self._conflict_keys()))
        banner_layout.addWidget(self.theirs_button)
        banner_layout.addWidget(self.mine_button)
        self.banner.hide()
        layout.addWidget(self.banner)

        self.stack = QStackedWidget()
        self.empty = EmptyState("No image selected",
                                "Select an image in the Dataset panel to edit its caption; select several to "
                                "edit the tags they share. Batch operations are in the Caption menu.")
        self.stack.addWidget(self.empty)

        tag_page = QWidget()
        tag_layout = QVBoxLayout(tag_page)
        tag_layout.setContentsMargins(0, 0, 0, 0)
        self.model = SelectionTagsModel(self)
        self.model.rename_requested.connect(self._rename_row)
        self.model.move_requested.connect(self._move_rows)
        self.chips = TagChipView()
        self.chips.setModel(self.model)
        self.chips.remove_requested.connect(self._remove_rows)
        self.chips.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.chips.customContextMenuRequested.connect(self._chip_menu)
        self.tag_input = TagInput(self._suggest)
        self.tag_input.tags_entered.connect(self._add_tags)
        tag_layout.addWidget(self.chips, 1)
        tag_layout.addWidget(self.tag_input)
        self.stack.addWidget(tag_page)
        self.tag_page = tag_page

        text_page = QWidget()
        text_layout = QVBoxLayout(text_page)
        text_layout.setContentsMargins(0, 0, 0, 0)
        self.text_edit = CaptionTextEdit()
        self.text_edit.commit.connect(self._commit_text)
        self.text_edit.textChanged.connect(lambda: self._count_timer.start())
        self.text_edit.textChanged.connect(self._update_line_note)
        self.line_note = QLabel("sd-scripts trains on the first line of a caption file only (unless wildcards are "
                                "enabled); the other lines are ignored.")
        self.line_note.setObjectName("caption-line-note")
        self.line_note.setWordWrap(True)
        self.line_note.setProperty("role", "warning")
        self.line_note.hide()
        text_layout.addWidget(self.text_edit, 1)
        text_layout.addWidget(self.line_note)
        self.stack.addWidget(text_page)
        self.text_page = text_page

        self.note = EmptyState("", "")
        self.stack.addWidget(self.note)
        layout.addWidget(self.stack, 1)

        self.tokens = TokenBar()
        layout.addWidget(self.tokens)
        footer = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("caption-save-status")
        footer.addWidget(self.status, 1)
        self.save_button = QToolButton()
        self.save_button.setText("Save")
        self.save_button.setToolTip("Save every caption with unsaved edits (Caption > Save all captions)")
        self.save_button.clicked.connect(self.save_all)
        footer.addWidget(self.save_button)
        self.batch_button = QToolButton()
        self.batch_button.setText("Batch…")
        self.batch_button.setToolTip("Batch operations on the selection, the filtered images or the whole dataset")
        self.batch_button.clicked.connect(self.open_batch_dialog)
        footer.addWidget(self.batch_button)
        layout.addLayout(footer)

        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        layout.addWidget(self.progress)

    # --- what is shown ------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return "text" if self.mode_buttons["text"].isChecked() else "tags"

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)
        self._mode_changed()

    def show_tags_mode(self) -> None:
        self.set_mode("tags")

    def show_text_mode(self) -> None:
        self.set_mode("text")

    def _mode_changed(self) -> None:
        self.text_edit.flush()
        self.refresh()

    def _selection_changed(self, *_args) -> None:
        self.text_edit.flush()
        ws = self.session.workspace
        keys = [k for k in getattr(self.session, "selected_keys", []) if ws is not None and k in ws]
        current = getattr(self.session, "current_key", None)
        if not keys and current is not None and ws is not None and current in ws:
            keys = [current]
        self.keys = keys
        self.refresh()

    def _captions_changed(self, keys: list[str]) -> None:
        if self.keys and not set(keys).isdisjoint(self.keys):
            if len(self.keys) <= SYNC_REFRESH_LIMIT:
                self.refresh()  # at once: the chips' rows must match the caption before the next key press
            else:
                self._refresh_timer.start()

    def _captions_changed_all(self) -> None:
        self._refresh_timer.start()

    def _stats_changed(self) -> None:
        self.model.set_dataset_counts(self.controller.counts())

    def refresh(self) -> None:
        ws = self.session.workspace
        c = self.controller
        self._update_status()
        if ws is None or not self.keys:
            self.title.setText("Caption")
            self.format_label.clear()
            self.banner.hide()
            self.model.clear()
            self.stack.setCurrentWidget(self.empty)
            self.tokens.set_total(None if ws is not None and self.keys else 0)
            return
        if not self._close_filter_installed:
            self._install_close_filter()
        c.request_tokenizer()
        fmt = c.tag_format()
        single = len(self.keys) == 1
        self._show_banner()
        if single:
            key = self.keys[0]
            item = ws.item(key)
            self.title.setText(item.name)
            self.title.setToolTip(str(item.caption.path))
            cap = item.caption
            text = c.text_of(key)
            self.format_label.setText("no caption file yet" if text is None else
                                      (cap.format.label if cap.exists else "new file"))
            locked = c.locked_reason(key)
            if item.caption.undecodable:
                self.model.clear()
                self.note.set_text("This caption cannot be shown", f"The file {cap.path.name} {locked}. It is "
                                   "never overwritten. Convert it to UTF-8 with a text editor, then reopen the folder.")
                self.stack.setCurrentWidget(self.note)
                self.tokens.set_total(0)
                return
            tags = fmt.split(text)
            self.model.set_dataset_counts(c.counts())
            self.model.set_single(tags)
            self.tag_input.exclude = tags
            self.text_edit.setReadOnly(bool(locked))
            self.chips.setEnabled(not locked)
            self.tag_input.setEnabled(not locked)
            if self.mode == "text":
                if not (self.text_edit.hasFocus() and self.text_edit.pending):
                    self.text_edit.load(text or "")
                self._update_line_note()
                self.stack.setCurrentWidget(self.text_page)
            else:
                self.stack.setCurrentWidget(self.tag_page)
        else:
            self.title.setText(f"{len(self.keys)} images selected")
            self.title.setToolTip("Edits apply to every selected image; the number on a tag says how many carry it")
            self.format_label.clear()
            self.model.set_dataset_counts(c.counts())
            self._show_union(fmt)
            self.chips.setEnabled(True)
            self.tag_input.setEnabled(True)
            if self.mode == "text":
                self.note.set_text(f"{len(self.keys)} captions selected",
                                   "Text mode edits one caption at a time. Select one image, or use Tags mode "
                                   "to edit the tags of all selected images together.")
                self.stack.setCurrentWidget(self.note)
            else:
                self.stack.setCurrentWidget(self.tag_page)
        self._count_tokens()

    def _show_union(self, fmt) -> None:
        keys = list(self.keys)
        self._union_sequence += 1
        if len(keys) <= UNION_SYNC_LIMIT:
            self._union_ready(self._union_sequence, union_counts((self.controller.text_of(k) for k in keys), fmt))
            return
        # Thousands of captions: counted in a worker; the chips follow when it is done.
        sequence = self._union_sequence
        texts = [self.controller.text_of(k) for k in keys]
        self.title.setText(f"{len(keys)} images selected (counting tags…)")
        self.controller.start_task(lambda _p, _c: union_counts(texts, fmt), "caption-union", "",
                                   lambda result: self._union_ready(sequence, result))

    def _union_ready(self, sequence: int, result) -> None:
        if sequence != self._union_sequence or len(self.keys) < 2:
            return
        counted, total = result
        self.model.set_union(counted, total)
        self.title.setText(f"{total} images selected")
        self.tag_input.exclude = [r.name for r in self.model.rows if r.count == total]

    def _count_tokens(self) -> None:
        tokenizer = self.controller.tokenizer
        if len(self.keys) != 1 or self.session.workspace is None:
            self.tokens.set_total(None if tokenizer is None and self.keys else (0 if not self.keys else None))
            if len(self.keys) > 1:
                self.tokens.setVisible(False)
            return
        self.tokens.setVisible(True)
        if tokenizer is None:
            self.tokens.set_total(None)
            return
        if self.mode == "text" and self.stack.currentWidget() is self.text_page:
            counted = count_text(tokenizer, self.text_edit.toPlainText(), MAX_TOKEN_LENGTH)
            self.text_edit.mark_boundaries(counted.boundary_offsets, self.palette().color(QPalette.ColorRole.Highlight))
        else:
            counted = count_tags(tokenizer, self.model.names(), self.controller.tag_format().separator)
            self.model.set_chunks(counted.tag_chunks, MAX_TOKEN_LENGTH)
        self.tokens.set_total(counted.total)

    def _update_line_note(self) -> None:
        self.line_note.setVisible("\n" in self.text_edit.toPlainText().strip())

    def _show_banner(self) -> None:
        conflicts = self._conflict_keys()
        if conflicts:
            names = ", ".join(self.session.workspace.item(k).caption.path.name for k in conflicts[:3])
            more = f" and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
            theirs = self.controller.conflicts[conflicts[0]]
            what = "deleted" if not theirs.exists else "changed"
            self.banner_label.setText(f"{names}{more} was {what} by another program while you had unsaved edits. "
                                      "Nothing was overwritten.")
            self.mine_button.setEnabled(not all(self.controller.conflicts[k].undecodable for k in conflicts))
            self.theirs_button.show()
            self.mine_button.show()
            self.banner.show()
        else:
            self.banner.hide()

    def _conflict_keys(self) -> list[str]:
        return [k for k in self.keys if k in self.controller.conflicts]

    def _update_status(self) -> None:
        c = self.controller
        if c.conflicts:
            text, role = f"{len(c.conflicts)} conflict(s)", "error"
        elif c.saving:
            text, role = "Saving…", "muted"
        elif c.unsaved_count:
            text, role = f"{c.unsaved_count} unsaved", "warning"
        elif self.session.workspace is not None:
            text, role = "All saved", "ok"
        else:
            text, role = "", "muted"
        if not c.autosave and c.unsaved_count:
            text += " · autosave off"
        self.status.setText(text)
        if self.status.property("role") != role:
            self.status.setProperty("role", role)
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)
        self.save_button.setVisible(not c.autosave)
        self.save_button.setEnabled(bool(c.unsaved_count) and not c.saving)
        self._sync_autosave_action()

    def _busy_changed(self, text: str) -> None:
        self.progress.setVisible(bool(text))
        self.progress.setRange(0, 0)
        self.progress.setToolTip(text)

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    # --- edits --------------------------------------------------------------------------
    def _single_tags(self) -> list[str]:
        return self.controller.tag_format().split(self.controller.text_of(self.keys[0]))

    def _set_single_tags(self, tags: list[str], title: str) -> None:
        key = self.keys[0]
        old = self.controller.text_of(key)
        self.controller.edit_texts({key: self.controller.tag_format().rejoin(old, tags)}, title)

    def _add_tags(self, tags: list[str]) -> None:
        if self.keys:
            self.controller.edit(self.keys, AddTags(tuple(tags), "end"))

    def _remove_rows(self, rows: list[int]) -> None:
        if not self.keys or not rows:
            return
        names = [self.model.rows[r].name for r in rows]
        if self.model.multi:
            names = [n for n in names if n]
            if names:
                self.controller.edit(self.keys, RemoveTags(tuple(names)))
            return
        tags = self._single_tags()
        keep = [t for i, t in enumerate(tags) if i not in set(rows)]
        label = "“" + names[0] + "”" if len(names) == 1 else f"{len(names)} tags"
        self._set_single_tags(keep, f"Remove {label}")

    def _rename_row(self, row: int, new: str) -> None:
        if not self.keys:
            return
        old = self.model.rows[row].name
        if self.model.multi:
            if old:
                self.controller.edit(self.keys, RenameTag((old,), new))
            return
        tags = self._single_tags()
        if row >= len(tags):
            return
        tags[row] = new
        if tags.count(new) > 1:  # renamed onto a tag the caption had: merge, the first one stays
            first = tags.index(new)
            tags = [t for i, t in enumerate(tags) if t != new or i == first]
        self._set_single_tags(tags, f"Rename “{old}” to “{new}”")

    def _move_rows(self, rows: list[int], destination: int) -> None:
        if len(self.keys) != 1:
            return
        tags = self._single_tags()
        if not rows or max(rows) >= len(tags):
            return
        self._set_single_tags(moved(tags, rows, destination), "Move tag" if len(rows) == 1 else "Move tags")

    def _move_to_front(self, rows: list[int]) -> None:
        names = [self.model.rows[r].name for r in rows]
        if self.model.multi:
            self.controller.edit(self.keys, MoveToFront(tuple(n for n in names if n)))
        else:
            self._move_rows(rows, 0)

    def _commit_text(self, text: str) -> None:
        if len(self.keys) == 1 and not self.controller.locked_reason(self.keys[0]):
            self.controller.edit_texts({self.keys[0]: text}, "Edit caption text", typing=True)

    def _suggest(self, fragment: str, exclude: list[str]) -> list[str]:
        index = self.controller.index
        return index.stats.complete(fragment, 12, exclude) if index is not None else []

    def _chip_menu(self, pos) -> None:
        index = self.chips.indexAt(pos)
        if not index.isValid():
            return
        rows = self.chips.selected_rows()
        if index.row() not in rows:
            rows = [index.row()]
            self.chips.setCurrentIndex(index)
        name = self.model.rows[index.row()].name
        menu = QMenu(self)
        menu.addAction("Rename…\tF2", lambda: self.chips.edit(index))
        menu.addAction("Remove\tDel", lambda: self._remove_rows(rows))
        menu.addAction("Move to front", lambda: self._move_to_front(rows))
        if self.model.multi and self.model.rows[index.row()].count < self.model.total:
            menu.addAction("Add to all selected images", lambda: self._add_tags([name]))
        menu.addSeparator()
        if name:
            menu.addAction("Show images with this tag", lambda: self.session.filter_requested.emit(tag_query(name)))
        menu.addAction("Copy", lambda: QGuiApplication.clipboard().setText(
            ", ".join(self.model.rows[r].name for r in rows)))
        menu.exec(self.chips.viewport().mapToGlobal(pos))

    # --- menu handlers (app/actions.py) ---------------------------------------------------
    def open_batch_dialog(self, operation: str = "") -> None:
        from widgets.captions.batch_dialog import BatchDialog

        dialog = BatchDialog(self.session, self.controller, self, operation=operation)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def add_trigger_word(self) -> None:
        self.open_batch_dialog("add")

    def find_replace(self) -> None:
        self.open_batch_dialog("replace")

    def rename_extension(self) -> None:
        from widgets.captions.extension_dialog import ExtensionDialog

        if self.session.workspace is None:
            self.session.show_status("Open a dataset first", 3000)
            return
        dialog = ExtensionDialog(self.session, self.controller, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def save_all(self) -> None:
        self.text_edit.flush()
        self.controller.save_now()

    def toggle_autosave(self) -> None:
        self.controller.set_autosave(not self.controller.autosave)
        self.session.show_status("Captions are saved automatically" if self.controller.autosave
                                 else "Captions are saved when you choose Caption > Save all captions", 4000)

    def _sync_autosave_action(self) -> None:
        window = self.window()
        action = window.findChild(QAction, "caption.autosave") if window is not None else None
        if action is not None and action.isChecked() != self.controller.autosave:
            action.setChecked(self.controller.autosave)

    # --- closing ------------------------------------------------------------------------
    def _install_close_filter(self) -> None:
        window = self.window()
        if window is not None and window is not self:
            window.installEventFilter(self)
            self._close_filter_installed = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and watched is self.window() and not self.controller.autosave:
            self.text_edit.flush()
            unsaved = self.controller.unsaved_count
            if unsaved:
                answer = QMessageBox.question(
                    self.window(), "Unsaved captions",
                    f"{unsaved} caption(s) have edits that are not saved. Save them before closing?",
                    QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                    | QMessageBox.StandardButton.Cancel)
                if answer == QMessageBox.StandardButton.Cancel:
                    event.ignore()
                    return True
                if answer == QMessageBox.StandardButton.Save:
                    self.controller.flush()
                else:
                    self.controller.dirty.clear()
        return super().eventFilter(watched, event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._sync_autosave_action()
        if not self._close_filter_installed:
            self._install_close_filter()

    def shutdown(self) -> None:
        """The window closes: commit typing, finish saving, stop the workers."""
        self.text_edit.flush()
        self.controller.shutdown()

