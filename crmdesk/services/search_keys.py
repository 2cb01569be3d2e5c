"""Search keys derived from a member's name and phone.

Kept apart from the members service because a migration computes them too; a
change here needs a migration that recomputes existing rows.
"""

from __future__ import annotations

import functools

from pypinyin import lazy_pinyin

# Surnames read differently from the same character in ordinary words
# (曾 is zēng as a surname, céng in 曾经). pypinyin reads words, not names.
SURNAME_READINGS = {
    "尉迟": ["yu", "chi"], "万俟": ["mo", "qi"], "长孙": ["zhang", "sun"], "澹台": ["tan", "tai"],
    "曾": ["zeng"], "单": ["shan"], "仇": ["qiu"], "区": ["ou"], "朴": ["piao"], "查": ["zha"],
    "翟": ["zhai"], "解": ["xie"], "盖": ["ge"], "乐": ["yue"], "覃": ["qin"], "缪": ["miao"],
    "柏": ["bai"], "召": ["shao"], "种": ["chong"], "秘": ["bi"], "员": ["yun"], "繁": ["po"],
    "黑": ["he"], "牟": ["mou"], "宓": ["mi"], "冼": ["xian"], "逄": ["pang"], "谌": ["chen"],
    "乜": ["nie"], "折": ["she"], "句": ["gou"], "隗": ["wei"], "郇": ["huan"], "那": ["na"],
}


_SURNAMES_LONGEST_FIRST = sorted(SURNAME_READINGS, key=len, reverse=True)  # two-character surnames (尉迟) first


def _syllables(name: str) -> list[str]:
    for surname in _SURNAMES_LONGEST_FIRST:
        if name.startswith(surname):
            return SURNAME_READINGS[surname] + _plain_syllables(name[len(surname):])
    return _plain_syllables(name)


def _plain_syllables(text: str) -> list[str]:
    # Non-Chinese runs come back whole; split them into words.
    return [s for s in lazy_pinyin(text, errors=lambda chars: chars.split()) if s.strip()]


@functools.lru_cache(maxsize=2**17)  # names repeat (王伟, 李娜 ...), and an import reads each one twice
def name_search_keys(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a name, lower case without spaces.

    张三 -> ("zhangsan", "zs"); 曾小贤 -> ("zengxiaoxian", "zxx"); Latin names keep
    their letters ("Anna Li" -> ("annali", "al")), so one search works for both."""
    name = (name or "").strip()
    if not name:
        return "", ""
    syllables = [s.lower() for s in _syllables(name)]
    full = "".join(ch for s in syllables for ch in s if ch.isalnum())
    initials = "".join(s[0] for s in syllables if s and s[0].isalnum())
    return full, initials


def phone_last4(phone: str | None) -> str | None:
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None
