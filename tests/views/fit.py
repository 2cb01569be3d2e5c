"""Does a window fit the shop's screen? Every button, field and the status bar in view.

A control inside a scroll area is reachable by scrolling and counts as in view; any
other control must lie wholly inside its window and inside every widget around it
(a layout squeezed below its minimum clips what it holds, or pushes it past the edge).
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QMainWindow, QPlainTextEdit,
    QTabBar, QTabWidget, QTextEdit, QWidget,
)

from crmdesk.views.screen import largest_content

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit, QTextEdit)


def _scrolled(widget: QWidget, window: QWidget) -> bool:
    """Inside a scroll area (a scroll view's page, a table's cell): reachable by scrolling."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def _controls(window: QWidget) -> Iterator[QWidget]:
    for widget in window.findChildren(QWidget):
        if isinstance(widget, CONTROLS) and widget.isVisibleTo(window) and not _scrolled(widget, window):
            if isinstance(widget.parentWidget(), (QTabBar, QAbstractSpinBox, QComboBox)):
                continue  # parts of a bigger control: a tab bar's arrows, a spin box's or combo box's text
            yield widget
    if isinstance(window, QMainWindow) and window.statusBar().isVisibleTo(window):
        yield window.statusBar()


def out_of_view(window: QWidget) -> list[str]:
    """The controls of ``window`` a person could not see or reach, each with where it is."""
    problems = []
    largest = largest_content(window)
    if window.width() > largest.width() or window.height() > largest.height():
        problems.append(f"{type(window).__name__} is {window.width()}×{window.height()}, the screen leaves "
                        f"{largest.width()}×{largest.height()}")
    area = window.rect()
    for control in _controls(window):
        rect = _rect_in(control, window)
        name = f"{type(control).__name__} '{getattr(control, 'text', lambda: '')() or control.objectName()}'"
        if not area.contains(rect):
            problems.append(f"{name} at {rect.getRect()} lies outside the {area.width()}×{area.height()} window")
            continue
        parent = control.parentWidget()
        while parent is not None and parent is not window:
            if not QRect(QPoint(0, 0), parent.size()).contains(_rect_in(control, parent)):
                problems.append(f"{name} is cut off by {type(parent).__name__}({parent.objectName()})")
                break
            parent = parent.parentWidget()
        if rect.height() < control.minimumSizeHint().height():
            problems.append(f"{name} is squashed to {rect.height()} pixels high")
    return problems


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def each_tab(root: QWidget) -> Iterator[str]:
    """Show every tab of every tab widget under ``root`` in turn (one level deep), yielding its name."""
    tabs = [t for t in [root, *root.findChildren(QTabWidget)] if isinstance(t, QTabWidget) and (t is root or t.isVisibleTo(root))]
    if not tabs:
        yield ""
        return
    for widget in tabs:
        for index in range(widget.count()):
            widget.setCurrentIndex(index)
            settle()
            yield widget.tabText(index)
