"""The till's link to the shop's server: online, or offline on the member cache with sales queued.

Only for a till on a server (an SQLite file on this computer cannot go away). The counter tells the link when
a call failed because the server is away (``went_away``); the link then opens the member cache, says so
(``offlineChanged``), and asks the server every few seconds whether it is back -- on a thread, never on the
UI thread. Once it is, the queued sales are sent (``replayed`` tells how that went), the cache is read again,
and the till is online. While online the cache is refreshed every CACHE_EVERY_S.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from crmdesk.db import Database
from crmdesk.services import offline
from crmdesk.views.background import TaskThread

PROBE_EVERY_MS = 5_000


def server_is_away(error: object) -> bool:
    """Whether a failure explained for a person (failures.explain) means the server cannot be reached."""
    from crmdesk.connection_problems import MSG_HOST_NOT_FOUND, MSG_NO_ANSWER, MSG_NOTHING_LISTENING
    from crmdesk.failures import MSG_SERVER

    return getattr(error, "template", None) in (MSG_SERVER, MSG_HOST_NOT_FOUND, MSG_NO_ANSWER, MSG_NOTHING_LISTENING)


class ServerLink(QObject):
    offlineChanged = Signal(bool)  # noqa: N815
    replayed = Signal(object)  # offline.ReplayResult, once the server is back
    queueChanged = Signal(int)  # noqa: N815 - sales waiting to be sent

    def __init__(self, db: Database, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._folder = folder
        self.offline = False
        self.cache: Database | None = None
        self._busy: TaskThread | None = None
        self._probe = QTimer(self)
        self._probe.setInterval(PROBE_EVERY_MS)
        self._probe.timeout.connect(self._ask_server)
        self._refresh = QTimer(self)
        self._refresh.setInterval(offline.CACHE_EVERY_S * 1000)
        self._refresh.timeout.connect(self.refresh_cache)

    # ------------------------------------------------------------------ while online

    def start(self) -> None:
        """Read the cache now and every CACHE_EVERY_S; send what an earlier day left in the queue."""
        self._refresh.start()
        if offline.waiting(self._folder):
            self._run(self._send_queue, self._sent)
        else:
            self.refresh_cache()

    def refresh_cache(self) -> None:
        if not self.offline:
            self._run(lambda: offline.refresh_cache(self._db, self._folder), lambda _info: None)

    def reading_db(self) -> Database:
        """Where the counter reads members: the server, or the cache while offline."""
        return self.cache if self.offline and self.cache is not None else self._db

    @property
    def cache_time(self) -> datetime | None:
        return offline.cache_age(self._folder)

    @property
    def waiting(self) -> int:
        return offline.waiting(self._folder)

    # ------------------------------------------------------------------ going offline and back

    def went_away(self) -> None:
        """A call failed because the server cannot be reached: work on the cache until it is back."""
        if self.offline:
            return
        self.offline = True
        if self.cache is None:
            self.cache = offline.open_cache(self._folder)
        self._probe.start()
        self.offlineChanged.emit(True)

    def _ask_server(self) -> None:
        if self._busy is None:
            self._run(self._server_answers, self._answered)

    def _server_answers(self) -> bool:
        return offline.server_answers(self._db)

    def _answered(self, back: object) -> None:
        if back:
            self._probe.stop()
            self._run(self._send_queue, self._sent)

    def _send_queue(self) -> offline.ReplayResult:
        return offline.replay(self._db, self._folder)

    def _sent(self, result: object) -> None:
        assert isinstance(result, offline.ReplayResult)
        if result.left:  # the server went away again meanwhile
            self.went_away()
            self._probe.start()
        else:
            self._back_online()
        self.queueChanged.emit(self.waiting)
        if result.recorded or result.already or result.refused:
            self.replayed.emit(result)

    def _back_online(self) -> None:
        was_offline = self.offline
        self.offline = False
        if self.cache is not None:
            self.cache.dispose()  # the cache file is replaced by the next refresh
            self.cache = None
        if was_offline:
            self.offlineChanged.emit(False)
        self.refresh_cache()

    def queue_sale(self, **sale: object) -> offline.QueuedSale:
        """Take a sale while offline (services/offline.queue_sale), on this computer's queue."""
        queued = offline.queue_sale(folder=self._folder, **sale)  # type: ignore[arg-type]
        self.queueChanged.emit(self.waiting)
        return queued

    # ------------------------------------------------------------------ one thing at a time, off the UI thread

    def _run(self, work: Callable[[], object], done: Callable[[object], None]) -> None:
        if self._busy is not None:
            return
        thread = TaskThread(work, self)

        def finished(result: object) -> None:
            self._busy = None
            done(result)

        def failed(_error: object) -> None:
            self._busy = None  # a refresh that failed (the server away): the old cache stays; tried again later

        thread.succeeded.connect(finished)
        thread.failed.connect(failed)
        self._busy = thread
        thread.start_kept()

    def stop(self) -> None:
        self._probe.stop()
        self._refresh.stop()
        if self._busy is not None:
            self._busy.wait(15_000)
        if self.cache is not None:
            self.cache.dispose()
            self.cache = None
