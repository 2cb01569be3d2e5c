"""The page cache under the member list and the complaints board."""

from __future__ import annotations

from crmdesk.views.paged_rows import PagedRows


def test_reads_only_the_page_asked_for_and_keeps_the_most_recent_ones() -> None:
    reads: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> list[int]:
        reads.append((offset, limit))
        return list(range(offset, min(offset + limit, 25)))

    rows = PagedRows(fetch, page_size=10, max_pages=2)
    assert rows.get(3, 25) == 3 and rows.get(7, 25) == 7
    assert reads == [(0, 10)]
    assert rows.get(24, 25) == 24 and rows.get(15, 25) == 15
    assert rows.cached_pages() == [2, 1]  # page 0 was the least recently used, and is gone
    assert rows.get(-1, 25) is None and rows.get(25, 25) is None  # outside the list: nothing read
    assert rows.fetched_offsets == [0, 20, 10] and rows.pages_fetched == 3
    assert dict(rows.cached())[21] == 21
    rows.clear()
    assert (rows.cached_pages(), rows.pages_fetched, rows.fetched_offsets) == ([], 0, [])
