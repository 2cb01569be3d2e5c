"""Translation markers usable below the views, without importing Qt.

Qt's lupdate recognises calls named QT_TRANSLATE_NOOP and collects their text
into the .ts files; at run time the marker just returns the English source,
which the GUI later translates in the given context.
"""

from __future__ import annotations

from collections.abc import Callable


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - name lupdate looks for
    return text


class Term(str):
    """A stored value's word inside a message (a status, a kind). The command line prints it as it is;
    once the GUI has installed its translator (``translate_terms_with``), filling it into a message
    gives it in the interface's language, translated in ``context``."""

    context: str

    def __new__(cls, text: str, context: str = "terms") -> Term:
        term = super().__new__(cls, text)
        term.context = context
        return term

    def __format__(self, spec: str) -> str:
        text = _term_translator(self.context, str(self)) if _term_translator is not None else str(self)
        return format(text, spec)


_term_translator: Callable[[str, str], str] | None = None


def translate_terms_with(translator: Callable[[str, str], str] | None) -> None:
    """How Terms read when filled into messages: (context, English) -> the interface's language."""
    global _term_translator
    _term_translator = translator
