"""Windows that fit the shop's screen.

Counter PCs and touch all-in-ones have 1024×768 or 1366×768 screens, and the
taskbar takes its share of that. Two rules keep every window usable there:

* the main window opens maximised (or as this computer last left it);
* no other window is ever larger than the screen's free area: an application-wide
  filter shrinks any top-level window that would be, when it is shown, and keeps
  it on the screen. Dialogs with more content than that hold it in a scroll area.

``pretend_screen`` makes the program behave as on a screen of a given size:
``crmdesk --screenshot FILE --size 1024x768`` and the tests that check every
screen at the counter sizes use it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget
from shiboken6 import isValid

# The screens crmdesk is built for, smallest first.
COUNTER_SCREENS = (QSize(1024, 768), QSize(1366, 768))
# What a pretended screen loses to the taskbar (Windows: 40 px at 100 % scaling).
TASKBAR_HEIGHT = 40
# A window's title bar and borders, when the window system has not told us yet.
FRAME_ALLOWANCE = QSize(2, 32)

_pretended: QRect | None = None


def pretend_screen(size: QSize | None) -> None:
    """Act as on a screen of ``size`` with a taskbar along its bottom; None: the real screen."""
    global _pretended
    _pretended = None if size is None else QRect(0, 0, size.width(), size.height() - TASKBAR_HEIGHT)


def available_rect(widget: QWidget | None = None) -> QRect:
    """The part of the screen a window may use (the taskbar excluded)."""
    if _pretended is not None:
        return QRect(_pretended)
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 768 - TASKBAR_HEIGHT)


def _frame_extra(window: QWidget) -> QSize:
    """Title bar and borders around the window's content, as the window system reports them."""
    extra = window.frameGeometry().size() - window.geometry().size()
    if _pretended is not None or extra.height() <= 0:
        return FRAME_ALLOWANCE
    return extra


def largest_content(window: QWidget) -> QSize:
    """The biggest content size a window can have and still show whole, title bar included."""
    area = available_rect(window)
    return area.size() - _frame_extra(window)


def fit_window(window: QWidget) -> None:
    """Shrink a top-level window to the free screen area and move it fully onto it."""
    area = available_rect(window)
    largest = largest_content(window)
    size = window.size().boundedTo(largest)
    if size != window.size():
        window.resize(size)
    extra = _frame_extra(window)
    frame = QRect(window.pos(), window.size() + extra)
    x = min(max(frame.x(), area.left()), area.right() + 1 - frame.width())
    y = min(max(frame.y(), area.top()), area.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        window.move(max(x, area.left()), max(y, area.top()))


def grow_to_content(window: QWidget) -> None:
    """Make a window tall enough for what it holds now (a message that appeared, a section unfolded),
    within the screen: Qt keeps a shown window's size, and word-wrapped text then squashes the fields."""
    layout = window.layout()
    if layout is None or not window.isVisible():
        return
    needed = layout.totalHeightForWidth(window.width()) if layout.hasHeightForWidth() else layout.totalMinimumSize().height()
    needed = max(needed, layout.totalMinimumSize().height())
    if window.height() < needed:
        window.resize(window.width(), min(needed, largest_content(window).height()))
        fit_window(window)


class _ScreenFitter(QObject):
    """Every window but the main one (which is maximised) fits the screen when shown, and grows
    to its content when that changes."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._pending: set[int] = set()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind not in (QEvent.Type.Show, QEvent.Type.LayoutRequest):
            return False
        if not isinstance(watched, QWidget) or not watched.isWindow() or isinstance(watched, QMainWindow):
            return False
        if watched.windowType() not in (Qt.WindowType.Window, Qt.WindowType.Dialog):
            return False  # menus, drop-down lists, calendars and tooltips: Qt places those itself
        if kind == QEvent.Type.Show:
            fit_window(watched)
        elif id(watched) not in self._pending:
            # After Qt has laid the window out anew: only then are the new sizes known.
            self._pending.add(id(watched))
            QTimer.singleShot(0, lambda w=watched: self._grow(w))
        return False

    def _grow(self, window: QWidget) -> None:
        self._pending.discard(id(window))
        if isValid(window):  # not closed and deleted meanwhile
            grow_to_content(window)


_fitter: _ScreenFitter | None = None


def install_screen_fitter(app: QApplication) -> None:
    global _fitter
    if _fitter is None:
        _fitter = _ScreenFitter(app)
        app.installEventFilter(_fitter)
