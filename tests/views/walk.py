"""Collect the interface text a person can see in a widget tree."""

from __future__ import annotations

import re
from collections.abc import Iterator

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton, QComboBox, QGroupBox, QLabel, QLineEdit, QListWidget, QMainWindow, QTableView, QTabWidget, QWidget,
    QWizard,
)

from crmdesk.views.common import DATA_COLUMNS_PROPERTY, DATA_PROPERTY

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Text that is the same in every language.
LANGUAGE_NEUTRAL = {"crmdesk", "English", "PIN"}
ROWS_READ = 40  # the first rows of each table are enough to meet every value it shows


def visible_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every piece of interface text under root, data widgets excluded."""
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if widget.property(DATA_PROPERTY):
            continue
        where = f"{type(widget).__name__}({widget.objectName()})"
        if widget.isWindow() and widget.windowTitle():
            yield where + ".windowTitle", widget.windowTitle()
        if isinstance(widget, QLabel) and not widget.pixmap():
            yield where, widget.text()
        elif isinstance(widget, QAbstractButton):
            yield where, widget.text()
        elif isinstance(widget, QGroupBox):
            yield where, widget.title()
        elif isinstance(widget, QLineEdit):
            yield where + ".placeholder", widget.placeholderText()
        elif isinstance(widget, QTabWidget):
            for index in range(widget.count()):
                yield where + f".tab{index}", widget.tabText(index)
        elif isinstance(widget, QComboBox):
            for index in range(widget.count()):
                yield where + f".item{index}", widget.itemText(index)
        elif isinstance(widget, QTableView) and widget.model() is not None:
            yield from _table_texts(widget, where)
        elif isinstance(widget, QListWidget):
            for row in range(widget.count()):
                yield where + f".item{row}", widget.item(row).text()
        if isinstance(widget, QMainWindow):
            for menu_action in widget.menuBar().actions():
                yield where + ".menu", menu_action.text()
                if menu_action.menu() is not None:
                    for action in menu_action.menu().actions():
                        if not action.isSeparator():
                            yield where + ".menuItem", action.text()
        if isinstance(widget, QWizard):
            for page_id in widget.pageIds():
                page = widget.page(page_id)
                yield where + ".pageTitle", page.title()
                yield where + ".pageSubTitle", page.subTitle()


def _table_texts(table: QTableView, where: str) -> Iterator[tuple[str, str]]:
    """Headers, and the cells of the columns that are not data (statuses, kinds, methods)."""
    model = table.model()
    data_columns = set(table.property(DATA_COLUMNS_PROPERTY) or ())
    for column in range(model.columnCount()):
        if table.isColumnHidden(column):
            continue
        header = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        if isinstance(header, str):
            yield where + f".header{column}", header
        if column in data_columns:
            continue
        for row in range(min(model.rowCount(), ROWS_READ)):
            text = model.index(row, column).data(Qt.ItemDataRole.DisplayRole)
            if isinstance(text, str):
                yield where + f".cell({row},{column})", text


def untranslated(root: QWidget) -> list[tuple[str, str]]:
    """Interface text with Latin words and no Chinese: an English string that escaped translation."""
    found = []
    for where, text in visible_texts(root):
        cleaned = text.replace("&", "").strip()
        if not cleaned or cleaned in LANGUAGE_NEUTRAL:
            continue
        if LATIN_WORD.search(cleaned) and not CJK.search(cleaned):
            found.append((where, text))
    return found
