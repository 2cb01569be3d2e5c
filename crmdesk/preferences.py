"""Preferences of this computer (not of the store): kept in the data directory."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from crmdesk.paths import data_dir

FILENAME = "preferences.json"


@dataclass
class Preferences:
    # "system" follows the computer's locale; otherwise a code from i18n.LANGUAGES.
    language: str = "system"
    # Who signed in last on this computer: the sign-in dialog starts there.
    last_staff: str = ""
    # This computer's till: it goes on every receipt recorded here (Settings → This computer).
    till: str = ""
    # The receipt printer at this till (printing/printers.py: usb:VID:PID, serial:…, tcp:HOST[:PORT], file:…);
    # empty: the counter's slips open in a preview for the system printer. The roll's width in mm: 58 or 80.
    receipt_printer: str = ""
    slip_width_mm: int = 80
    # The main window as it was last closed here (Qt's saveGeometry, base64); empty: maximised.
    window_geometry: str = ""
    # The POS hand-off folder (services/handoff.py): the till's receipt exports saved there are imported while the
    # app is open; empty: none. The imports act as the supervisor or owner who chose it (their staff name).
    handoff_folder: str = ""
    handoff_staff: str = ""
    # The shop's PostgreSQL server this computer works on ('crmdesk connect', Settings → This computer), with the
    # tills' password; empty: the database file on this computer. The file is readable by this account only.
    server_url: str = ""


def load() -> Preferences:
    path = data_dir() / FILENAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Preferences()
    known = {key: value for key, value in raw.items() if key in Preferences.__dataclass_fields__}
    return Preferences(**known)


def save(prefs: Preferences) -> None:
    path = data_dir() / FILENAME
    tmp = path.with_suffix(".tmp")
    # Private from the start (it may hold the server's password); Windows keeps the profile's folders private.
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(prefs), ensure_ascii=False, indent=2))
    if os.name != "nt":
        os.chmod(tmp, 0o600)  # a file left by an older version keeps its mode through O_TRUNC
    tmp.replace(path)  # atomic: a crash never leaves half a file
