"""GUI fixtures: an application state signed in as someone, and clean translators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmdesk.i18n import Translators
from crmdesk.views.state import AppState


@pytest.fixture
def translators(qapp) -> Iterator[Translators]:  # type: ignore[no-untyped-def]
    installed = Translators()
    yield installed
    installed.install("en")  # leave the shared QApplication untranslated for the next test


@pytest.fixture
def owner_state(qapp, db, owner) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, owner, "en")


@pytest.fixture
def cashier_state(qapp, db, cashier) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, cashier, "en")
