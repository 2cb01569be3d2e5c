"""Rows of a long list read from the database a page at a time, the pages most recently used kept.

The member list and the complaints board show tables of any length through a Qt model;
they ask this cache for a row, and only the page that holds it is ever queried.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

Row = TypeVar("Row")


class PagedRows(Generic[Row]):
    """``fetch(offset, limit)`` reads one page. ``pages_fetched`` and ``fetched_offsets`` say
    what was read since the last ``clear``, so tests and the benchmark can see that showing
    a list did not read the whole table."""

    def __init__(self, fetch: Callable[[int, int], list[Row]], *, page_size: int, max_pages: int) -> None:
        self._fetch = fetch
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.pages_fetched = 0
        self.fetched_offsets: list[int] = []

    def clear(self) -> None:
        """Forget every page (the filter or the order changed, or the data did)."""
        self._pages.clear()
        self.pages_fetched = 0
        self.fetched_offsets = []

    def get(self, row: int, count: int) -> Row | None:
        """Row ``row`` of ``count``, reading its page if it is not kept."""
        if not 0 <= row < count:
            return None
        entries = self._page(row // self.page_size)
        within = row % self.page_size
        return entries[within] if within < len(entries) else None

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
        offset = number * self.page_size
        entries = self._fetch(offset, self.page_size)
        self.pages_fetched += 1
        self.fetched_offsets.append(offset)
        self._pages[number] = entries
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        return entries
