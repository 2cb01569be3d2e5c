"""The main window: navigation between areas, the signed-in staff member, the database in use."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QPushButton, QStackedWidget,
    QVBoxLayout, QWidget,
)

from crmdesk import __version__, preferences
from crmdesk.services import complaints, credit
from crmdesk.services.auth import Permission, can
from crmdesk.views.backup_status import BackupStatusButton
from crmdesk.views.common import mark_data, role_label
from crmdesk.views.handoff_status import HandoffRunner, HandoffStatusButton
from crmdesk.views.login_dialog import LoginDialog
from crmdesk.views.dashboard_page import DashboardPage
from crmdesk.views.screen import fit_window
from crmdesk.views.settings_page import SettingsPage
from crmdesk.views.state import AppState


# The navigation's width: enough for the longest area name and its shortcut, within these bounds.
NAV_MIN_WIDTH, NAV_MAX_WIDTH = 150, 220
NAV_PADDING = 40  # the item's padding and the selection bar beside the text


class MainWindow(QMainWindow):
    languageChosen = Signal(str)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.setWindowTitle(self.tr("crmdesk — membership and customer care"))

        self.nav = QListWidget()
        self.nav.setObjectName("navList")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.pages = QStackedWidget()
        self._areas: list[tuple[str, QWidget]] = []
        self._area_actions: list[QAction] = []

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        side = QWidget()
        side.setObjectName("navigation")
        self.side = side
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 12, 0, 12)
        brand = QLabel("crmdesk")
        brand.setObjectName("brand")
        mark_data(brand)
        side_layout.addWidget(brand)
        self.nav.currentRowChanged.connect(self._show_page)
        side_layout.addWidget(self.nav, 1)
        row.addWidget(side)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self._build_areas()
        self._overdue_timer = QTimer(self)
        self._overdue_timer.setInterval(60_000)
        self._overdue_timer.timeout.connect(self.refresh_overdue)
        self._overdue_timer.start()
        self._promises_timer = QTimer(self)
        self._promises_timer.setInterval(3_600_000)
        self._promises_timer.timeout.connect(self.refresh_promises)
        self._promises_timer.start()

        self._build_menu()
        self._build_status_bar()
        state.signals.changed.connect(self._on_actor_changed)
        self.nav.setCurrentRow(0)
        self._update_staff_label()
        self.import_action.setVisible(can(self._state.actor, Permission.IMPORT_MEMBERS))
        self.import_purchases_action.setVisible(can(self._state.actor, Permission.IMPORT_PURCHASES))

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        switch = QAction(self.tr("&Switch staff…"), self)
        switch.setShortcut(QKeySequence(Qt.Key.Key_F12))
        switch.triggered.connect(self.switch_staff)
        file_menu.addAction(switch)
        self.import_action = QAction(self.tr("&Import members…"), self)
        self.import_action.triggered.connect(self.import_members)
        file_menu.addAction(self.import_action)
        self.import_purchases_action = QAction(self.tr("Import &purchases…"), self)
        self.import_purchases_action.triggered.connect(self.import_purchases)
        file_menu.addAction(self.import_purchases_action)
        file_menu.addSeparator()
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        about = QAction(self.tr("&About crmdesk"), self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.database_label = QLabel()
        mark_data(self.database_label)
        self.database_label.setText(self.tr("Database: {where}").format(where=self._state.db.describe()))
        self.staff_label = QLabel()
        mark_data(self.staff_label)
        self.switch_button = QPushButton(self.tr("Switch staff (F12)"))
        self.switch_button.setFlat(True)
        self.switch_button.clicked.connect(self.switch_staff)
        self.backup_button = BackupStatusButton(self._state)
        self.backup_button.clicked.connect(self.show_backups)
        guard = self._state.backup_guard
        if guard is not None:
            guard.statusChanged.connect(self.backup_button.refresh)
        self._state.signals.backedUp.connect(self.backup_button.refresh)
        # The POS hand-off folder of this computer: watched on a thread of its own while the window is open.
        self.handoff_button = HandoffStatusButton()
        self.handoff_button.clicked.connect(self.show_handoff_log)
        self.handoff = HandoffRunner(self._state.db, self)
        self.handoff.handedOff.connect(self.handoff_button.show_entry)
        bar.addWidget(self.database_label, 1)
        bar.addPermanentWidget(self.handoff_button)
        bar.addPermanentWidget(self.backup_button)
        bar.addPermanentWidget(self.staff_label)
        bar.addPermanentWidget(self.switch_button)
        if self._state.live:
            self.start_handoff()
        else:  # a screenshot or a test: the last hand-off as the log has it, nothing watched
            self.handoff_button.watch(preferences.load().handoff_folder)

    def start_handoff(self) -> None:
        """Watch the hand-off folder this computer's settings name (again, after it changed), or stop when none."""
        prefs = preferences.load()
        if prefs.handoff_folder:
            self.handoff.start(prefs.handoff_folder, prefs.handoff_staff)
        else:
            self.handoff.stop()
        self.handoff_button.watch(prefs.handoff_folder)

    def show_handoff_log(self) -> None:
        from crmdesk.views.handoff_log import HandoffLogDialog

        HandoffLogDialog(self.handoff_button.folder, self, updates=self.handoff.handedOff).exec()

    def _area_list(self) -> list[tuple[str, str, int]]:
        """(key, label, Ctrl+number) of the areas the signed-in person may use, in order. An area keeps
        its number whoever signs in (a hidden one leaves a gap), so a shortcut learnt once stays true."""
        actor = self._state.actor
        areas = [
            ("counter", self.tr("Counter"), True),
            ("members", self.tr("Members"), can(actor, Permission.BROWSE_MEMBERS)),
            ("offers", self.tr("Offers"), can(actor, Permission.MANAGE_OFFERS)),
            # Everyone works complaints: a cashier follows the ones they logged.
            ("complaints", self.tr("Complaints"), True),
            ("overview", self.tr("Dashboard"), can(actor, Permission.VIEW_SHOP_FIGURES)),
            ("money", self.tr("Money"), can(actor, Permission.MANAGE_CREDIT)),
            ("settings", self.tr("Settings"), True),
        ]
        return [(key, label, number) for number, (key, label, allowed) in enumerate(areas, start=1) if allowed]

    def start_area(self) -> str:
        """Where a person lands after signing in: the counter for cashiers, the overview for the others."""
        return "overview" if can(self._state.actor, Permission.VIEW_SHOP_FIGURES) else "counter"

    def _make_page(self, key: str) -> QWidget:
        # Pages are imported when first needed, so start-up loads only what it shows.
        if key == "counter":
            from crmdesk.views.counter_page import CounterPage

            counter = CounterPage(self._state)
            counter.complaintLogged.connect(lambda _id: self.refresh_overdue())
            return counter
        if key == "members":
            from crmdesk.views.member_list import MemberListPage

            return MemberListPage(self._state)
        if key == "offers":
            from crmdesk.views.offers_page import OffersPage

            return OffersPage(self._state)
        if key == "complaints":
            from crmdesk.views.complaints_page import ComplaintsPage

            complaints_page = ComplaintsPage(self._state)
            complaints_page.overdueChanged.connect(self._show_overdue)
            return complaints_page
        if key == "overview":
            dashboard = DashboardPage(self._state)
            dashboard.showMembers.connect(self.show_members)
            return dashboard
        if key == "money":
            from crmdesk.views.money_page import MoneyPage

            money_page = MoneyPage(self._state)
            money_page.refreshed.connect(self.refresh_promises)
            return money_page
        page = SettingsPage(self._state)
        page.languageChosen.connect(self.languageChosen)
        page.handoffFolderChanged.connect(self.start_handoff)
        return page

    def _build_areas(self) -> None:
        """(Re)build navigation for the signed-in person: only areas they may use are listed."""
        current = self.current_area()
        self.nav.blockSignals(True)
        self.nav.clear()
        while self.pages.count():
            page = self.pages.widget(0)
            self.pages.removeWidget(page)
            page.deleteLater()
        for action in self._area_actions:
            self.removeAction(action)
        self._area_actions.clear()
        self._areas = []
        self._labels: dict[str, tuple[str, int]] = {}
        for row, (key, label, index) in enumerate(self._area_list()):
            page = self._make_page(key)
            self._labels[key] = (label, index)
            item = QListWidgetItem(f"{label}    Ctrl+{index}")
            item.setToolTip(self.tr("{area} (Ctrl+{number})").format(area=label, number=index))
            self.nav.addItem(item)
            self.pages.addWidget(page)
            self._areas.append((key, page))
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{index}"))
            action.triggered.connect(lambda _checked=False, i=row: self.nav.setCurrentRow(i))
            self.addAction(action)
            self._area_actions.append(action)
        self.nav.blockSignals(False)
        keys = [key for key, _page in self._areas]
        self.nav.setCurrentRow(keys.index(current) if current in keys else 0)
        self._show_page(self.nav.currentRow())
        self.refresh_overdue()
        self.refresh_promises()

    def refresh_overdue(self) -> None:
        """Count the overdue complaints for the navigation (also every minute: deadlines pass while nobody clicks),
        off the UI thread: the till's counter never waits for it."""
        self._state.operations.read(self._state.db, lambda session: complaints.overdue_count(session, datetime.now(UTC)),
                                    self._show_overdue, lambda _error: None, key="overdue-badge", owner=self)

    def _show_overdue(self, count: int) -> None:
        self._show_badge("complaints", count, self.tr("{count} overdue").format(count=count))

    def refresh_promises(self) -> None:
        """Count the promises to pay that passed unkept, for the money area's entry (hourly: they pass by the day)."""
        if self.page("money") is None:
            return
        self._state.operations.read(self._state.db, lambda session: len(credit.broken_promises(session)),
                                    lambda count: self._show_badge("money", count, self.tr("promises passed: {count}").format(
                                        count=count)), lambda _error: None, key="promises-badge", owner=self)

    def _show_badge(self, key: str, count: int, badge: str) -> None:
        """An area's entry in red with what needs doing under its name, or plain when nothing does."""
        keys = [area for area, _page in self._areas]
        if key not in keys:
            return
        label, index = self._labels[key]
        item = self.nav.item(keys.index(key))
        badge = badge if count else ""
        item.setText(f"{label}    Ctrl+{index}" + (f"\n{badge}" if badge else ""))
        if count:
            item.setForeground(QColor("#b3261e"))
        else:
            item.setData(Qt.ItemDataRole.ForegroundRole, None)
        item.setData(Qt.ItemDataRole.UserRole, count)
        self._fit_navigation()

    def _fit_navigation(self) -> None:
        """As wide as its longest entry in this language (English runs longer than Chinese), and no wider."""
        self.nav.ensurePolished()  # the style sheet's font, not the default one
        metrics = self.nav.fontMetrics()
        widest = max((metrics.horizontalAdvance(line) for row in range(self.nav.count())
                      for line in self.nav.item(row).text().split("\n")), default=0)
        self.side.setFixedWidth(max(NAV_MIN_WIDTH, min(NAV_MAX_WIDTH, widest + NAV_PADDING)))

    def page(self, key: str) -> QWidget | None:
        return next((page for area, page in self._areas if area == key), None)

    def current_area(self) -> str | None:
        row = self.nav.currentRow()
        return self._areas[row][0] if 0 <= row < len(self._areas) else None

    @property
    def overview_page(self) -> DashboardPage:
        page = self.page("overview")
        assert isinstance(page, DashboardPage)
        return page

    @property
    def settings_page(self) -> SettingsPage:
        page = self.page("settings")
        assert isinstance(page, SettingsPage)
        return page

    def _show_page(self, row: int) -> None:
        if row < 0 or row >= len(self._areas):
            return
        self.pages.setCurrentIndex(row)
        page = self._areas[row][1]
        refresh = getattr(page, "refresh", None)
        if callable(refresh):
            refresh()

    def show_view(self, name: str) -> None:
        """Switch to an area by name (counter, members, offers, complaints, overview, money, settings), or to a tab of
        Settings (staff, backups, audit)."""
        if name == "staff":
            self.show_view("settings")
            self.settings_page.show_staff()
            return
        if name in ("backups", "audit"):  # the owner's tabs in Settings
            self.show_view("settings")
            self.settings_page.show_backups() if name == "backups" else self.settings_page.show_audit()
            return
        keys = [key for key, _page in self._areas]
        if name in keys:
            self.nav.setCurrentRow(keys.index(name))

    def show_members(self, flt: object) -> None:
        """The member list with a filter (a chart's group or period on the dashboard)."""
        from crmdesk.views.member_list import MemberListPage

        page = self.page("members")
        if isinstance(page, MemberListPage):
            self.show_view("members")
            page.show_filter(flt)  # type: ignore[arg-type]

    def _update_staff_label(self) -> None:
        actor = self._state.actor
        self.staff_label.setText(self.tr("Signed in: {name} ({role})").format(name=actor.name, role=role_label(actor.role)))

    def _on_actor_changed(self) -> None:
        self._update_staff_label()
        self._build_areas()
        if not can(self._state.actor, Permission.VIEW_SHOP_FIGURES):
            self.show_view("counter")  # a cashier taking over the till starts at the counter
        self.import_action.setVisible(can(self._state.actor, Permission.IMPORT_MEMBERS))
        self.import_purchases_action.setVisible(can(self._state.actor, Permission.IMPORT_PURCHASES))

    def import_members(self) -> None:
        from crmdesk.views.import_dialog import ImportMembersDialog

        dialog = ImportMembersDialog(self._state, self)
        dialog.importFinished.connect(lambda _result: self._refresh_current())
        dialog.exec()

    def import_purchases(self) -> None:
        from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog

        dialog = ImportPurchasesDialog(self._state, self)
        dialog.importFinished.connect(lambda _result: self._refresh_current())
        dialog.exec()

    def _refresh_current(self) -> None:
        self._show_page(self.nav.currentRow())

    def show_backups(self) -> None:
        """Settings → Backup and restore for those who manage backups; the others read the button's tooltip."""
        if can(self._state.actor, Permission.MANAGE_BACKUPS):
            self.show_view("backups")

    def switch_staff(self) -> None:
        dialog = LoginDialog(self._state.db, self, current=None, operations=self._state.operations)
        dialog.setWindowTitle(self.tr("Switch staff"))
        if dialog.exec() and dialog.actor is not None:
            self._state.sign_in(dialog.actor)

    def restore_placement(self) -> None:
        """Show the window as it was last closed on this computer; maximised the first time."""
        saved = preferences.load().window_geometry
        if saved and self.restoreGeometry(QByteArray.fromBase64(saved.encode("ascii"))):
            fit_window(self)  # a window saved on a larger screen still fits this one
            self.show()
        else:
            self.showMaximized()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.handoff.stop()  # lets the file in hand finish: the database closes after this window
        prefs = preferences.load()
        prefs.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        preferences.save(prefs)
        super().closeEvent(event)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About crmdesk"),
            self.tr("crmdesk {version}\nMembership, loyalty and customer care for neighbourhood shops.").format(
                version=__version__
            ),
        )
