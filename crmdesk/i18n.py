"""Qt translations: choosing the language and loading compiled .qm files.

The .ts sources in resources/translations are the truth. The install step
compiles them to .qm beside them; if a .ts is newer than its .qm (someone edited
a translation) the app compiles a fresh one into the cache at start-up, so a
stale translation is never shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
import shutil
import subprocess
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from crmdesk.paths import cache_dir, resource_path

LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
SOURCE_LANGUAGE = "en"


def resolve_language(preference: str | None) -> str:
    """A supported language code from a preference ("system", a code, or None)."""
    if preference in LANGUAGES:
        return preference
    return "zh_CN" if QLocale.system().name().startswith("zh") else SOURCE_LANGUAGE


def lrelease_executable() -> str | None:
    try:
        import PySide6
    except ImportError:
        return None
    bundled = Path(PySide6.__file__).parent / "lrelease"
    for candidate in (bundled, bundled.with_suffix(".exe")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("pyside6-lrelease") or shutil.which("lrelease")


def compile_ts(ts: Path, qm: Path) -> None:
    tool = lrelease_executable()
    if tool is None:
        raise RuntimeError("lrelease not found; install PySide6")
    subprocess.run([tool, "-silent", str(ts), "-qm", str(qm)], check=True, capture_output=True)


def qm_path(language: str) -> Path | None:
    """The up-to-date compiled translation for a language, or None for the source language."""
    if language == SOURCE_LANGUAGE:
        return None
    ts = resource_path("translations", f"crmdesk_{language}.ts")
    built = ts.with_suffix(".qm")
    if not ts.exists():  # frozen build: only the compiled file ships
        return built if built.exists() else None
    if built.exists() and built.stat().st_mtime >= ts.stat().st_mtime:
        return built
    digest = hashlib.sha256(ts.read_bytes()).hexdigest()[:16]
    cached = cache_dir() / f"crmdesk_{language}-{digest}.qm"
    if not cached.exists():
        partial = cached.with_suffix(".part")
        compile_ts(ts, partial)
        partial.replace(cached)
    return cached


class Translators:
    """The translators installed in the application for the current language."""

    def __init__(self) -> None:
        self._installed: list[QTranslator] = []
        self.language = SOURCE_LANGUAGE

    def install(self, language: str) -> None:
        app = QCoreApplication.instance()
        assert app is not None
        for translator in self._installed:
            app.removeTranslator(translator)
        self._installed.clear()
        self.language = language
        QLocale.setDefault(QLocale(language))
        if language == SOURCE_LANGUAGE:
            return
        qt_own = QTranslator(app)
        # Qt's own strings (OK, Cancel, wizard buttons) come from Qt's translations.
        if qt_own.load(QLocale(language), "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_own)
            self._installed.append(qt_own)
        path = qm_path(language)
        ours = QTranslator(app)
        if path is not None and ours.load(str(path)):
            app.installTranslator(ours)
            self._installed.append(ours)


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


@contextmanager
def printing_language(language: str) -> Iterator[None]:
    """Translations for a command that prints in a language but opens no window; removed afterwards."""
    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841 - must live while translating
    translators = Translators()
    translators.install(language)
    try:
        yield
    finally:
        translators.install(SOURCE_LANGUAGE)  # takes its translators out again
