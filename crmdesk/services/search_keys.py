"""Search keys derived from a member's name and phone.

Kept apart from the members service because a migration computes them too; a
change here needs a migration that recomputes existing rows.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def name_search_keys(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a name, lower case without spaces.

    张三 -> ("zhangsan", "zs"); Latin names keep their letters ("Anna Li" ->
    ("annali", "al")), so one search works for both."""
    name = (name or "").strip()
    if not name:
        return "", ""
    syllables = [s for s in lazy_pinyin(name, errors=lambda chars: chars.split()) if s.strip()]
    full = "".join(s.lower() for s in syllables if s.isalnum() or s.isascii())
    initials = "".join(s[0].lower() for s in syllables if s and s[0].isalnum())
    return "".join(ch for ch in full if ch.isalnum()), initials


def phone_last4(phone: str | None) -> str | None:
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None
