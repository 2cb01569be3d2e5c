"""Compiled translations are never stale: an edited .ts wins over an older .qm."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QTranslator

from crmdesk import i18n
from crmdesk.paths import resource_path


@pytest.fixture
def translations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "resources" / "translations"
    folder.mkdir(parents=True)
    shutil.copy(resource_path("translations", "crmdesk_zh_CN.ts"), folder)
    monkeypatch.setattr(i18n, "resource_path", lambda *parts: tmp_path.joinpath("resources", *parts))
    return folder


def test_source_language_needs_no_file() -> None:
    assert i18n.qm_path("en") is None


def test_an_up_to_date_qm_beside_the_ts_is_used(translations: Path) -> None:
    built = translations / "crmdesk_zh_CN.qm"
    i18n.compile_ts(translations / "crmdesk_zh_CN.ts", built)
    assert i18n.qm_path("zh_CN") == built


def test_a_ts_newer_than_its_qm_is_compiled_afresh(translations: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    ts = translations / "crmdesk_zh_CN.ts"
    stale = translations / "crmdesk_zh_CN.qm"
    stale.write_bytes(b"stale")
    os.utime(stale, (1, 1))
    path = i18n.qm_path("zh_CN")
    assert path is not None and path != stale
    translator = QTranslator()
    assert translator.load(str(path))
    assert translator.translate("MainWindow", "Settings") == "设置"
    assert i18n.qm_path("zh_CN") == path  # compiled once, then reused
    ts.write_text(ts.read_text(encoding="utf-8").replace("<translation>设置</translation>", "<translation>设定</translation>", 1), encoding="utf-8")
    assert i18n.qm_path("zh_CN") != path


def test_language_choice() -> None:
    assert i18n.resolve_language("en") == "en"
    assert i18n.resolve_language("zh_CN") == "zh_CN"
    assert i18n.resolve_language("system") in i18n.LANGUAGES
    assert i18n.resolve_language("fr") in i18n.LANGUAGES
