"""The README's pictures of dialogs the main window's --screenshot cannot reach: rendered offscreen in Chinese.

    python tools/dialog_screenshots.py docs/
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from crmdesk.app import create_application  # noqa: E402
from crmdesk.i18n import Translators  # noqa: E402
from crmdesk.models import Role  # noqa: E402
from crmdesk.services.uow import Actor  # noqa: E402

EXAMPLE_LINE = "crmdesk connect postgresql+psycopg://crmdesk:Xq7vLr2mPz9TfK3wB8sN@shop-pc:5432/crmdesk"


def connect_server(folder: Path) -> None:
    from crmdesk.views.server_dialog import ConnectServerDialog

    dialog = ConnectServerDialog(Actor(1, "王店长", Role.OWNER), r"C:\Users\shop\AppData\Local\crmdesk\crmdesk.sqlite")
    dialog.line_edit.setText(EXAMPLE_LINE)
    dialog.till_edit.setText("02")
    dialog.show()
    for _ in range(5):
        create_application().processEvents()
    dialog.grab().save(str(folder / "connect-server-zh_CN.png"))


def counter_offline(folder: Path) -> None:
    """The counter of a till whose server is away, a sale just kept: on the demo store (``make run`` makes it)."""
    import tempfile

    from crmdesk.db import DEMO_DB_FILENAME, open_database, sqlite_url
    from crmdesk.paths import data_dir
    from crmdesk.services import offline
    from crmdesk.services.staff import actor_for
    from crmdesk.services.uow import read_session
    from crmdesk.views.counter_page import CounterPage
    from crmdesk.views.server_link import ServerLink
    from crmdesk.views.state import AppState

    demo = data_dir() / DEMO_DB_FILENAME
    if not demo.exists():
        print(f"no demo store at {demo}: run `crmdesk --demo` once first", file=sys.stderr)
        return
    db = open_database(sqlite_url(demo))
    with tempfile.TemporaryDirectory() as scratch:
        with read_session(db) as session:
            actor = actor_for(session)
        state = AppState(db, actor, "zh_CN")
        offline.refresh_cache(db, Path(scratch))
        state.link = ServerLink(db, Path(scratch))
        ServerLink._server_answers = lambda self: False  # type: ignore[method-assign]  # the server stays away here
        state.link.went_away()
        page = CounterPage(state)
        page.resize(1024, 700)
        page.show()
        page.search_edit.setText("2900000001039")
        page.submit()
        page.record_purchase()
        assert page.purchase_dialog is not None
        page.purchase_dialog.amount_edit.setText("25")
        page.purchase_dialog.accept()
        for _ in range(5):
            create_application().processEvents()
        page.grab().save(str(folder / "counter-offline-zh_CN.png"))
        state.link.stop()
    db.dispose()


def main(folder: str) -> int:
    app = create_application()
    translators = Translators()
    translators.install("zh_CN")
    connect_server(Path(folder))
    counter_offline(Path(folder))
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs"))
