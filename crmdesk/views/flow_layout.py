"""A layout that puts its items in a row and wraps to the next row when the width runs out.

Filter bars and button rows use it: on a wide screen everything sits on one or two
rows, on a 1024-pixel counter PC the same controls take a row more instead of
pushing the window wider than the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, *, spacing: int = 8, row_spacing: int = 6, uniform: bool = False,
                 max_columns: int = 0) -> None:
        """``uniform``: every item as wide as the widest one, stretched to fill the rows: a grid of as many
        columns as fit, at most ``max_columns`` (0: no limit) -- a panel of buttons; otherwise each item
        keeps its own width (a filter bar)."""
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._row_spacing = row_spacing
        self._uniform = uniform
        self._max_columns = max_columns
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # ---- QLayout's item list

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # ---- sizes: as narrow as the widest item, as tall as the wrapping needs

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # One row of everything: what the layout would like on a wide screen.
        visible = [item for item in self._items if not item.isEmpty()]
        width = sum(item.sizeHint().width() for item in visible) + self._spacing * max(0, len(visible) - 1)
        height = max((item.sizeHint().height() for item in visible), default=0)
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        """Place the items row by row within ``rect``; the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        visible = [item for item in self._items if not item.isEmpty()]
        if self._uniform and visible:
            return self._arrange_grid(rect, area, visible, move=move)
        x, y, row_height = area.x(), area.y(), 0
        row: list[tuple[QLayoutItem, QSize]] = []

        def place_row() -> None:
            left = area.x()
            for item, size in row:
                # Items lower than their row stay centred in it.
                item.setGeometry(QRect(QPoint(left, y + (row_height - size.height()) // 2), size))
                left += size.width() + self._spacing

        for item in visible:
            size = item.sizeHint().boundedTo(QSize(max(area.width(), 1), 10**6)).expandedTo(item.minimumSize())
            if row and x + size.width() > area.right() + 1:
                if move:
                    place_row()
                x, y = area.x(), y + row_height + self._row_spacing
                row, row_height = [], 0
            row.append((item, size))
            x += size.width() + self._spacing
            row_height = max(row_height, size.height())
        if row and move:
            place_row()
        return y + row_height - rect.y() + margins.bottom()

    def _arrange_grid(self, rect: QRect, area: QRect, items: list[QLayoutItem], *, move: bool) -> int:
        widest = max(item.sizeHint().expandedTo(item.minimumSize()).width() for item in items)
        height = max(item.sizeHint().height() for item in items)
        columns = max(1, min(len(items), (area.width() + self._spacing) // (widest + self._spacing)))
        if self._max_columns:
            columns = min(columns, self._max_columns)
        width = max(widest, (area.width() - (columns - 1) * self._spacing) // columns)
        rows = (len(items) + columns - 1) // columns
        if move:
            for index, item in enumerate(items):
                row, column = divmod(index, columns)
                item.setGeometry(QRect(area.x() + column * (width + self._spacing), area.y() + row * (height + self._row_spacing),
                                       width, height))
        margins = self.contentsMargins()
        return margins.top() + rows * height + (rows - 1) * self._row_spacing + margins.bottom()

def side_by_side(*widgets: QWidget, spacing: int = 4) -> QWidget:
    """Widgets that stay together when a flow layout wraps: a label and its field, from and to."""
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(spacing)
    for widget in widgets:
        row.addWidget(widget)
    return holder
