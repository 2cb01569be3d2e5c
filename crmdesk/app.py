"""Starting the GUI: application, fonts, language, database, first-run set-up, sign-in, main window."""

from __future__ import annotations

import argparse
import os
import sys

from PySide6.QtCore import QCoreApplication, QSize, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from crmdesk import memory, preferences, shop_time
from crmdesk.cli import database_for
from crmdesk.db import Database
from crmdesk.errors import MSG_NOT_INITIALISED, CrmdeskError, NotInitialised
from crmdesk.i18n import Translators, resolve_language
from crmdesk.paths import resource_path
from crmdesk.services import daily, data_check
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.views.background import TaskThread
from crmdesk.views.backup_guard import BackupGuard
from crmdesk.views.common import error_text, show_error
from crmdesk.views.failure_hook import install_failure_hook
from crmdesk.views.live_changes import LiveChanges
from crmdesk.views.operations import Operations
from crmdesk.views.server_link import ServerLink
from crmdesk.views.login_dialog import LoginDialog
from crmdesk.views.screen import install_screen_fitter, largest_content, pretend_screen
from crmdesk.views.main_window import MainWindow
from crmdesk.views.setup_wizard import SetupWizard
from crmdesk.views.state import AppState

# Preferred Chinese UI fonts where the system has them; the bundled one otherwise.
CJK_FAMILIES = ["Microsoft YaHei UI", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC"]


def create_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("crmdesk")
    app.setOrganizationName("crmdesk")
    icon = resource_path("icons", "crmdesk.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    _install_fonts(app)
    install_screen_fitter(app)
    style = resource_path("styles", "app.qss")
    if style.exists():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app


def _install_fonts(app: QApplication) -> None:
    """Make Chinese text render on any PC: system CJK fonts first, the bundled font as fallback."""
    bundled: list[str] = []
    for font_file in sorted(resource_path("fonts").glob("*.tt[fc]")):
        font_id = QFontDatabase.addApplicationFont(str(font_file))
        bundled.extend(QFontDatabase.applicationFontFamilies(font_id))
    base = app.font()
    installed = set(QFontDatabase.families())
    families = [base.family()] + [f for f in CJK_FAMILIES if f in installed] + bundled
    font = QFont(base)
    font.setFamilies(list(dict.fromkeys(families)))
    app.setFont(font)


class Application:
    """Owns the translators and the main window; rebuilds the window when the language changes."""

    def __init__(self, app: QApplication, state: AppState, translators: Translators) -> None:
        self.app = app
        self.state = state
        self.translators = translators
        self.window: MainWindow | None = None

    def open_window(self, view: str | None = None) -> MainWindow:
        """The main window on ``view``, or where the signed-in person starts (the counter for cashiers)."""
        old = self.window
        self.window = MainWindow(self.state)
        self.window.languageChosen.connect(self.change_language)
        if old is not None:
            self.window.restoreGeometry(old.saveGeometry())
        self.window.show_view(view or self.window.start_area())
        if old is not None:
            old.close()
            old.deleteLater()
        return self.window

    def change_language(self, preference: str) -> None:
        language = resolve_language(preference)
        self.translators.install(language)
        self.state.language = language
        # Qt widgets do not retranslate themselves; a fresh window shows the new language at once.
        QTimer.singleShot(0, lambda: self._reopen_on_settings())

    def _reopen_on_settings(self) -> None:
        self._reopen("settings")

    def _reopen(self, view: str | None) -> None:
        maximised = self.window is not None and self.window.isMaximized()
        window = self.open_window(view)
        window.showMaximized() if maximised else window.show()

    def watch_backups(self, guard: BackupGuard) -> None:
        """A restore here reopens the screens on the restored data; one made elsewhere is told, then the same."""
        self.state.backup_guard = guard
        self.state.signals.restored.connect(self._restored_here)
        guard.restoredElsewhere.connect(self._restored_elsewhere)

    def _restored_here(self) -> None:
        if self.state.backup_guard is not None:
            self.state.backup_guard.acknowledge_restore()
        QTimer.singleShot(0, lambda: self._reopen("settings"))

    def _restored_elsewhere(self, when: object) -> None:
        QMessageBox.information(
            self.window, QCoreApplication.translate("app", "The data was restored"),
            QCoreApplication.translate(
                "app", "At {time} the data was replaced by a backup on another till or window. crmdesk reopens to show it."
            ).format(time=shop_time.format_time(when)),  # type: ignore[arg-type]
        )
        self._reopen(None)


def _owner_actor(db: Database) -> Actor:
    with read_session(db) as session:
        return staff_service.actor_for(session)


def _ensure_demo_store(db: Database, parent_visible: bool) -> None:
    """The demo database is filled on first use; later runs reuse it."""
    with read_session(db) as session:
        if store_service.is_initialised(session):
            return
    progress = None
    if parent_visible:
        progress = QProgressDialog(
            QCoreApplication.translate("app", "Creating the demo store…"), "", 0, 0
        )
        progress.setCancelButton(None)
        progress.setMinimumDuration(0)
        progress.show()
        QCoreApplication.processEvents()
    from crmdesk.services import demo  # only the demo needs the generator

    with unit_of_work(db) as session:
        demo.fill_demo_store(session, today=shop_time.today())
    demo.refresh_insight(db)
    if progress is not None:
        progress.close()


def run_gui(args: argparse.Namespace) -> int:
    if args.screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = create_application()
    translators = Translators()
    language = resolve_language(args.lang or preferences.load().language)
    translators.install(language)
    interactive = not args.screenshot
    if interactive:
        install_failure_hook()
    try:
        db = database_for(args)
        if args.demo:
            _ensure_demo_store(db, interactive)
    except CrmdeskError as exc:
        if not interactive:
            raise
        QMessageBox.critical(None, QCoreApplication.translate("app", "crmdesk cannot open the database"), error_text(exc))
        return exc.exit_code

    try:
        if args.screenshot:
            pretend_screen(QSize(*args.size))
            return _screenshot(app, db, translators, language, args.view, args.screenshot, args.search)
        operations = Operations(threaded=True)  # the counter never waits on the database (nor does signing in)
        actor = _sign_in(db, operations)
        if actor is None:
            operations.stop()
            return 0
        daily.start_of_day(db)
        controller = Application(app, AppState(db, actor, language), translators)
        controller.state.live = True  # the running program: its windows start their background work
        live_changes = controller.state.live_changes = LiveChanges(db)  # other tills' work shows here as it happens
        live_changes.start()
        controller.state.operations = operations
        link = None
        if not db.is_sqlite:  # a till on the shop's server: it keeps selling when the network fails
            link = controller.state.link = ServerLink(db)
            link.start()
        guard = BackupGuard(controller.state)
        controller.watch_backups(guard)
        window = controller.open_window(args.view)
        window.restore_placement()
        if db.upgraded_from is not None:
            _check_after_upgrade(db, window)
        counter = window.page("counter")
        if args.search and counter is not None:
            counter.search_edit.setText(args.search)
            counter.run_search()
        guard.start()
        memory.settle_after_startup()
        code = app.exec()
        if link is not None:
            link.stop()
        operations.stop()
        live_changes.stop()
        guard.at_close()
        return code
    finally:
        db.dispose()


def _check_after_upgrade(db: Database, window: MainWindow) -> None:
    """The data check, quietly and off the UI thread (a large store takes seconds), after the schema was upgraded:
    a person hears of it only when something is wrong."""

    def tell(report: object) -> None:
        assert isinstance(report, data_check.Report)
        if not report.sound:
            QMessageBox.warning(window, QCoreApplication.translate("app", "Check the data"), QCoreApplication.translate(
                "app", "After the upgrade the data check found {count} problems. Settings → Backup and restore → Check now "
                       "lists them; the backup taken before the upgrade is {backup}.").format(
                count=len(report.findings), backup=db.backup_path or "-"))

    check = TaskThread(lambda: data_check.run(db))
    check.succeeded.connect(tell)
    check.failed.connect(lambda error: show_error(window, error))
    check.start_kept()


def _sign_in(db: Database, operations: Operations) -> Actor | None:
    with read_session(db) as session:
        initialised = store_service.is_initialised(session)
    if not initialised:
        wizard = SetupWizard(db)
        if not wizard.exec():
            return None
        return wizard.actor
    dialog = LoginDialog(db, operations=operations)
    return dialog.actor if dialog.exec() else None


def _screenshot(
    app: QApplication, db: Database, translators: Translators, language: str, view: str | None, target: str, search: str | None
) -> int:
    """The main window as it shows maximised on the pretended screen (the taskbar and title bar taken off)."""
    with read_session(db) as session:
        if not store_service.is_initialised(session):
            raise NotInitialised(MSG_NOT_INITIALISED)
    controller = Application(app, AppState(db, _owner_actor(db), language), translators)
    window = controller.open_window(view)
    window.resize(largest_content(window))
    window.show()
    app.processEvents()
    counter = window.page("counter")
    if search and counter is not None and window.current_area() == "counter":
        counter.search_edit.setText(search)
        counter.run_search()
    for _ in range(3):
        app.processEvents()
    image = window.grab()
    if image.isNull() or not image.save(target):
        print(f"crmdesk: could not write the screenshot to {target}", file=sys.stderr)
        return 1
    window.close()
    QGuiApplication.processEvents()
    return 0
