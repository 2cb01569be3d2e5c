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


def main(folder: str) -> int:
    app = create_application()
    translators = Translators()
    translators.install("zh_CN")
    connect_server(Path(folder))
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs"))
