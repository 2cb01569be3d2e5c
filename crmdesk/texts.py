"""Translation markers usable below the views, without importing Qt.

Qt's lupdate recognises calls named QT_TRANSLATE_NOOP and collects their text
into the .ts files; at run time the marker just returns the English source,
which the GUI later translates in the given context.
"""


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - name lupdate looks for
    return text
