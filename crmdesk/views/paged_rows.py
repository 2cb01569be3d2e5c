"""Rows of a long list read from the database a page at a time, the pages most recently used kept.

The member list and the complaints board show tables of any length through a Qt model;
they ask this cache for a row, and only the page that holds it is ever queried.

Given ``run`` (views/operations.py: the work off the UI thread, the answer back on it), a page not
kept yet is asked for and its rows read as empty until it arrives; ``arrived(first, last)`` then
tells the model which rows to show again. The list scrolls while the database answers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Signal

Row = TypeVar("Row")


class PagedRows(Generic[Row]):
    """``fetch(offset, limit)`` reads one page. ``pages_fetched`` and ``fetched_offsets`` say
    what was read since the last ``clear``, so tests and the benchmark can see that showing
    a list did not read the whole table."""

    def __init__(self, fetch: Callable[[int, int], list[Row]], *, page_size: int, max_pages: int,
                 run: Callable[[Callable[[], list[Row]], Callable[[list[Row]], None]], None] | None = None,
                 arrived: Callable[[int, int], None] | None = None) -> None:
        self._fetch = fetch
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.pages_fetched = 0
        self.fetched_offsets: list[int] = []
        self._run = run
        self._arrived = arrived
        self._asked: set[int] = set()  # pages on their way
        self._generation = 0  # a page asked for before the last clear() is not kept when it comes

    def clear(self) -> None:
        """Forget every page (the filter or the order changed, or the data did)."""
        self._pages.clear()
        self.pages_fetched = 0
        self.fetched_offsets = []
        self._asked.clear()
        self._generation += 1

    def get(self, row: int, count: int) -> Row | None:
        """Row ``row`` of ``count``, reading its page if it is not kept (None while it is on its way)."""
        if not 0 <= row < count:
            return None
        number = row // self.page_size
        if self._run is not None and number not in self._pages:
            self._ask(number)
            if number not in self._pages:
                return None
        entries = self._page(number)
        within = row % self.page_size
        return entries[within] if within < len(entries) else None

    def _ask(self, number: int) -> None:
        if number in self._asked:
            return
        self._asked.add(number)
        offset, generation = number * self.page_size, self._generation

        def kept(entries: list[Row]) -> None:
            if generation != self._generation:
                return  # read for a list that changed since
            self._asked.discard(number)
            self._keep(number, entries)
            if self._arrived is not None and entries:
                self._arrived(offset, offset + len(entries) - 1)

        assert self._run is not None
        self._run(lambda: self._fetch(offset, self.page_size), kept)

    def cached_pages(self) -> list[int]:
        return list(self._pages)

    def cached(self) -> Iterator[tuple[int, Row]]:
        """(row number, row) of the rows in the pages kept, without reading anything."""
        for number, entries in self._pages.items():
            for within, entry in enumerate(entries):
                yield number * self.page_size + within, entry

    def _page(self, number: int) -> list[Row]:
        cached = self._pages.get(number)
        if cached is not None:
            self._pages.move_to_end(number)
            return cached
        entries = self._fetch(number * self.page_size, self.page_size)
        self._keep(number, entries)
        return entries

    def _keep(self, number: int, entries: list[Row]) -> None:
        self.pages_fetched += 1
        self.fetched_offsets.append(number * self.page_size)
        self._pages[number] = entries
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)


class PagedTableModel(QAbstractTableModel):
    """A Qt table over a filtered listing read a page at a time (PagedRows): the count, the pages kept and the
    rows arriving from the operations thread. A listing says how many rows it has (``_count_rows``) and reads a
    page (``_fetch``); ``refresh`` reads it again from the top."""

    countChanged = Signal(int)  # noqa: N815

    def __init__(self, parent: QObject | None, *, page_size: int, max_pages: int, operations: Any = None) -> None:
        super().__init__(parent)
        self._count = 0
        # With the running program's operations (views/operations.py) the pages are read off the UI thread.
        threaded = operations is not None and operations.threaded
        self._operations = operations if threaded else None
        self._rows: PagedRows[Any] = PagedRows(
            self._fetch, page_size=page_size, max_pages=max_pages,
            run=(lambda work, done: operations.run(work, done)) if threaded else None, arrived=self._rows_arrived)

    def _count_rows(self) -> int:
        raise NotImplementedError

    def _fetch(self, offset: int, limit: int) -> list[Any]:
        raise NotImplementedError

    @property
    def total(self) -> int:
        return self._count

    @property
    def pages_fetched(self) -> int:
        return self._rows.pages_fetched

    @property
    def fetched_offsets(self) -> list[int]:
        return self._rows.fetched_offsets

    def cached_pages(self) -> list[int]:
        return self._rows.cached_pages()

    def refresh(self) -> None:
        """Read again from the top (after a change elsewhere), keeping the filter and the order."""
        self.beginResetModel()
        self._recount()
        self.endResetModel()

    def _recount(self) -> None:
        """Count again: at once without a thread; with the program's operations off the UI thread, the table
        showing the rows of the new question meanwhile and resetting to the new count when it comes."""
        self._rows.clear()
        if self._operations is None:
            self._count = self._count_rows()
            self.countChanged.emit(self._count)
            return
        self._operations.run(self._count_rows, self._counted, key=f"count-{id(self)}", owner=self)

    def _counted(self, count: int) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._count = count
        self.endResetModel()
        self.countChanged.emit(count)

    def count_then(self, then: Callable[[int], None]) -> None:
        """``then(count)`` with the listing's count as it is now, read off the UI thread when there is one."""
        if self._operations is None:
            then(self._count_rows())
        else:
            self._operations.run(self._count_rows, then, key=f"count-{id(self)}", owner=self)

    def _entry(self, row: int) -> Any:
        return self._rows.get(row, self._count)

    def _rows_arrived(self, first: int, last: int) -> None:
        last = min(last, self._count - 1)
        if first <= last:
            self.dataChanged.emit(self.index(first, 0), self.index(last, self.columnCount() - 1))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._count
