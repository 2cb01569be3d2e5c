"""The counter's slips: what each says (read from its ledger entry), as a PDF on a 58/80 mm roll, as ESC/POS bytes
with the Chinese text in GB18030, and sent to a printer by address (a local TCP socket and a pseudo-terminal stand in
for a network and a serial printer)."""

from __future__ import annotations

import io
import json
import os
import re
import select
import socket
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa

from crmdesk.cli import main
from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import CreditEntry, StoreSettings
from crmdesk.printing import printers, receipt
from crmdesk.printing.printers import PrinterAddress, PrinterUnavailable, parse_address
from crmdesk.reports.base import ReportContext
from crmdesk.reports.documents import SlipRequest, make_document
from crmdesk.reports.slips import Pair, Signature, Text, Title, slip_lines
from crmdesk.services import credit, members, purchases, slips, wallet
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.reports.pdf_tools import all_text, fonts, page_count
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # noon on the shop's clock
CTX = ReportContext("好邻居超市", "收银员小李", NOW)
ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"


@pytest.fixture
def counter(db, owner, cashier, supervisor):  # type: ignore[no-untyped-def]
    """张三丰 tops up ¥300 by WeChat (充200送20 applies), buys on credit with items, then cashes out (a supervisor)."""
    with unit_of_work(db) as session:
        row = session.get(StoreSettings, 1)
        row.address, row.phone = "北京市朝阳区建国路 88 号", "010-8888 6666"
        member_id = members.register(session, cashier, members.MemberInput(name="张三丰", phone="13812345678")).id
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        wallet.add_bonus_rule(session, owner, min_topup_fen=50_000, bonus_fen=6_000)
        credit.set_limit(session, owner, member_id, 10_000, term_days=30)
    with unit_of_work(db) as session:
        topup = wallet.top_up(session, cashier, member_id, 30_000, payment_method="wechat", now=NOW).entry_id
    with unit_of_work(db) as session:
        purchases.record_purchase(
            session, cashier, member_id, receipt_no="R88", till="02", amount_fen=15_850, credit_fen=12_000, payment_method="cash",
            occurred_at=NOW, now=NOW, approved_by=supervisor,
            lines=(LineInput(name="金龙鱼花生油 5L", category="粮油", amount_fen=9_850),
                   LineInput(name="苹果", category="水果", amount_fen=6_000, quantity_milli=2_355)))
    with unit_of_work(db) as session:
        later = wallet.top_up(session, cashier, member_id, 10_000, payment_method="cash", now=NOW).entry_id
    with unit_of_work(db) as session:
        cashout = wallet.cash_out(session, supervisor, member_id, payment_method="cash", reason="搬家", now=NOW).entry_id
    with read_session(db) as session:
        iou = session.scalar(sa.select(CreditEntry.id).where(CreditEntry.member_id == member_id))
    return {"member": member_id, "topup": topup, "later": later, "cashout": cashout, "iou": iou}


def read(db, kind: str, entry_id: int):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return slips.slip(session, kind, entry_id)


# --------------------------------------------------------------------------- what each slip says


def test_a_top_up_receipt_names_the_rule_and_the_balance_right_after_it(db, counter) -> None:  # type: ignore[no-untyped-def]
    slip = read(db, "topup", counter["topup"])
    assert (slip.paid_fen, slip.bonus_fen, slip.payment_method, slip.rule_label) == (30_000, 2_000, "wechat", "充200送20")
    assert slip.why[0].format(**slip.why[1]) == "充200送20: a top-up of ¥300.00 reaches ¥200.00, so ¥20.00 is added."
    # printed again after a later top-up and the cash-out, it still says what the balance was then
    assert (slip.principal_after_fen, slip.bonus_after_fen) == (30_000, 2_000)
    assert (slip.member.name, slip.member.phone, slip.staff_name) == ("张三丰", "138****5678", "收银员小李")
    assert (slip.shop.name, slip.shop.address, slip.number) == ("好邻居超市", "北京市朝阳区建国路 88 号", f"W{counter['topup']:06d}")
    later = read(db, "topup", counter["later"])
    assert (later.bonus_fen, later.rule_label, later.why) == (0, "", None)
    assert (later.principal_after_fen, later.bonus_after_fen) == (40_000, 2_000)


def test_a_cash_out_slip_pays_the_principal_and_forfeits_the_bonus(db, counter) -> None:  # type: ignore[no-untyped-def]
    slip = read(db, "cashout", counter["cashout"])
    assert (slip.principal_fen, slip.bonus_forfeited_fen, slip.payment_method, slip.reason, slip.staff_name) == (
        40_000, 2_000, "cash", "搬家", "值班经理")


def test_an_iou_slip_lists_the_items_the_due_day_and_the_approval(db, counter) -> None:  # type: ignore[no-untyped-def]
    slip = read(db, "iou", counter["iou"])
    assert (slip.amount_fen, slip.purchase_fen, slip.receipt_no, slip.till) == (12_000, 15_850, "R88", "02")
    assert [(i.name, i.quantity_milli, i.amount_fen) for i in slip.items] == [("金龙鱼花生油 5L", 1_000, 9_850), ("苹果", 2_355, 6_000)]
    assert slip.due_on == date(2027, 1, 3)  # 30 days after 2026-12-04
    assert (slip.owed_after_fen, slip.limit_fen, slip.approved_by, slip.staff_name) == (12_000, 10_000, "值班经理", "收银员小李")
    assert slip.number == f"C{counter['iou']:06d}"


def test_the_wrong_entry_is_refused_with_a_reason(db, owner, counter) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="is not a top-up"):
        read(db, "topup", counter["cashout"])
    with pytest.raises(InvalidInput, match="is not a cash-out"):
        read(db, "cashout", counter["topup"])
    with pytest.raises(NotFound, match="No stored-value entry 9999"):
        read(db, "topup", 9_999)
    with pytest.raises(NotFound, match="No credit entry 9999"):
        read(db, "iou", 9_999)
    with unit_of_work(db) as session:  # a repayment is a credit entry, but no purchase on credit
        entry = credit.repay(session, owner, counter["member"], 2_000, now=NOW).entry_id
    with pytest.raises(InvalidInput, match="not a purchase on credit"):
        read(db, "iou", entry)


# --------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("width", [58, 80])
def test_each_slip_is_one_page_as_wide_as_the_roll(db, owner, counter, width) -> None:  # type: ignore[no-untyped-def]
    for kind, expected in (("topup", ("Top-up receipt", "张三丰", "138****5678", "¥300.00", "¥20.00", "充200送20", "¥320.00",
                                      "WeChat Pay")),
                           ("cashout", ("Cash-out slip", "¥400.00", "¥20.00", "搬家", "Member's signature", "值班经理")),
                           ("iou", ("IOU — bought on credit", "金龙鱼花生油 5L ×1", "苹果 ×2.355", "¥158.50", "¥120.00",
                                    "2027-01-03", "R88 (till 02)", "Member's signature", "值班经理"))):
        pdf = make_document(db, owner, SlipRequest(kind, counter[kind], width), now=NOW)
        text = " ".join(all_text(pdf).split())
        for part in expected:
            assert part in text, (kind, part)
        assert "13812345678" not in text.replace(" ", "")
        assert page_count(pdf) == 1 and fonts(pdf) and all(fonts(pdf).values())
        box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
        assert abs(float(box.width) - width * 72 / 25.4) < 0.5
        assert 60 * 72 / 25.4 < float(box.height) < 200 * 72 / 25.4  # as tall as the slip, not a page


def test_a_roll_is_58_or_80_mm(db, owner, counter) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="58 or 80 mm"):
        make_document(db, owner, SlipRequest("topup", counter["topup"], 76), now=NOW)


# --------------------------------------------------------------------------- ESC/POS


def text_lines(data: bytes) -> list[str]:
    """The printed lines, commands taken out (the ones receipt.py sends)."""
    commands = re.compile(rb"\x1b@|\x1c&|\x1d!.|\x1bE.|\x1ba.|\x1bd.|\x1dV.", re.DOTALL)
    return commands.sub(b"", data).decode("gb18030").split("\n")


@pytest.mark.parametrize("width", [58, 80])
def test_the_escpos_bytes_hold_the_gb18030_text_in_chinese_mode(db, counter, width) -> None:  # type: ignore[no-untyped-def]
    data = receipt.slip_bytes(slip_lines(read(db, "iou", counter["iou"]), CTX), width)
    assert data.startswith(ESC + b"@" + FS + b"&")  # reset, then Chinese characters on
    assert "张三丰".encode("gb18030") in data and "金龙鱼花生油".encode("gb18030") in data
    assert "￥120.00".encode("gb18030") in data and b"\xa3\xa4120.00" in data  # the full-width yuan sign, two bytes
    assert "¥".encode("gb18030") not in data  # never the four-byte form
    assert b"2027-01-03" in data
    assert GS + b"!\x11" in data and GS + b"!\x00" in data  # the shop's name at double size, Chinese included
    assert data.endswith(GS + b"V\x01")  # fed out and cut
    columns = receipt.COLUMNS[width]
    lines = text_lines(data)
    assert all(receipt.columns_of(line) <= columns for line in lines)
    assert "-" * columns in lines
    assert any(line.startswith("Member's signature: ___") and receipt.columns_of(line) == columns for line in lines)
    assert any(line.startswith("On credit") and line.endswith("￥120.00") for line in lines)


def test_every_slip_prints_as_escpos(db, counter) -> None:  # type: ignore[no-untyped-def]
    for kind in ("topup", "cashout"):
        data = receipt.slip_bytes(slip_lines(read(db, kind, counter[kind]), CTX), 58)
        lines = text_lines(data)
        assert "张三丰" in "".join(lines)
        assert all(receipt.columns_of(line) <= 32 for line in lines)
    topup = "\n".join(text_lines(receipt.slip_bytes(slip_lines(read(db, "topup", counter["topup"]), CTX), 80)))
    assert "充200送20" in topup and "￥320.00" in topup


def test_lines_are_laid_out_by_printer_columns() -> None:
    assert receipt.columns_of("张三 ¥1.00") == 2 + 2 + 1 + 2 + 4
    assert receipt.wrap("Stored value does not expire", 12) == ["Stored value", "does not", "expire"]
    assert receipt.wrap("好邻居超市建国路店", 8) == ["好邻居超", "市建国路", "店"]
    assert receipt.wrap("Averyveryverylongword", 8) == ["Averyver", "yverylon", "gword"]
    assert receipt.wrap("a top-up of ¥300.00 reaches ¥200.00", 20) == ["a top-up of ¥300.00", "reaches ¥200.00"]
    assert receipt.pair_lines("Paid in", "¥300.00", 20) == ["Paid in" + " " * 5 + "¥300.00"]
    assert receipt.pair_lines("Beyond the limit, approved by", "值班经理", 20) == ["Beyond the limit,", "approved by",
                                                                                     " " * 12 + "值班经理"]
    lines = [Title("好邻居超市"), Pair("A", "B", strong=True), Text("注意"), Signature("签名")]
    data = receipt.slip_bytes(lines, 58)
    assert ESC + b"E\x01" in data and "签名: ".encode("gb18030") + b"_" * 26 in data


# --------------------------------------------------------------------------- printers


def test_printer_addresses() -> None:
    assert parse_address("usb:0416:5011") == PrinterAddress("usb", "0416:5011", vendor=0x0416, product=0x5011)
    assert parse_address("USB:0x04b8:0x0202:81:02").endpoints == (0x81, 0x02)
    assert parse_address("serial:/dev/ttyUSB0") == PrinterAddress("serial", "/dev/ttyUSB0", 9600)
    assert parse_address("serial:COM3:115200") == PrinterAddress("serial", "COM3", 115200)
    assert parse_address("tcp:192.168.1.50:9100") == PrinterAddress("tcp", "192.168.1.50", 9100)
    assert parse_address("tcp:printer.local") == PrinterAddress("tcp", "printer.local", 9100)
    assert parse_address("tcp:[::1]:9101") == PrinterAddress("tcp", "::1", 9101)
    assert parse_address("file:/dev/usb/lp0") == PrinterAddress("file", "/dev/usb/lp0")
    assert str(parse_address("usb:0416:5011")) == "usb:0416:5011" and str(parse_address("tcp:[::1]")) == "tcp:[::1]:9100"
    for bad in ("", "lpt1", "usb:0416", "usb:zz:5011", "usb:0416:5011:1ff:01", "tcp:", "tcp:host:99999", "serial:", "file:"):
        with pytest.raises(InvalidInput, match="is not a printer address"):
            parse_address(bad)


class LocalPrinter:
    """A network receipt printer on the loopback interface: it keeps what it is sent."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(10)
        connection, _ = self.server.accept()
        with connection:
            connection.settimeout(10)
            while chunk := connection.recv(65536):
                self.received += chunk

    def wait(self) -> bytes:
        self.thread.join(10)
        self.server.close()
        return self.received


def test_a_slip_goes_to_a_network_printer(db, owner, counter) -> None:  # type: ignore[no-untyped-def]
    printer = LocalPrinter()
    request = SlipRequest("topup", counter["topup"], 58)
    sent = receipt.print_slip(db, owner, request, f"tcp:127.0.0.1:{printer.port}", now=NOW)
    data = printer.wait()
    assert len(data) == sent and data == receipt.slip_escpos(db, owner, request, now=NOW)
    assert "张三丰".encode("gb18030") in data


def test_a_slip_goes_to_a_serial_printer(db, owner, counter) -> None:  # type: ignore[no-untyped-def]
    controller, device = os.openpty()
    try:
        request = SlipRequest("cashout", counter["cashout"], 80)
        sent = receipt.print_slip(db, owner, request, f"serial:{os.ttyname(device)}:115200", now=NOW)
        data = b""
        while len(data) < sent and select.select([controller], [], [], 5)[0]:
            data += os.read(controller, 65536)
        assert data == receipt.slip_escpos(db, owner, request, now=NOW)
    finally:
        os.close(controller)
        os.close(device)


def test_a_printer_that_cannot_be_reached_says_why(db, owner, counter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    request = SlipRequest("topup", counter["topup"], 80)
    with pytest.raises(PrinterUnavailable, match=f"tcp:127.0.0.1:{port} cannot print"):
        receipt.print_slip(db, owner, request, f"tcp:127.0.0.1:{port}", now=NOW)
    with pytest.raises(PrinterUnavailable, match="usb:0416:5011 cannot print"):
        receipt.print_slip(db, owner, request, "usb:0416:5011", now=NOW)
    with pytest.raises(PrinterUnavailable, match="serial:"):
        receipt.print_slip(db, owner, request, f"serial:{tmp_path / 'no-such-port'}", now=NOW)
    with pytest.raises(InvalidInput):
        receipt.print_slip(db, owner, request, "lpt1", now=NOW)


def test_a_file_printer_gets_the_bytes(db, owner, counter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "lp0"
    request = SlipRequest("iou", counter["iou"], 80)
    receipt.print_slip(db, owner, request, f"file:{target}", now=NOW)
    assert target.read_bytes() == receipt.slip_escpos(db, owner, request, now=NOW)


def test_python_escpos_leaves_no_logging_or_temporary_folders_behind() -> None:
    import logging

    handlers = list(logging.getLogger().handlers)
    printers.escpos_printers()
    assert logging.getLogger().handlers == handlers
    assert os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]


# --------------------------------------------------------------------------- the command line


def slip_command(capsys, db_path: Path, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["report", "slip", *argv, "--db", str(db_path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_slip_command(qapp, capsys, db, db_path, counter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "topup.pdf"
    code, stdout, err = slip_command(capsys, db_path, "topup", f"W{counter['topup']:06d}", "--width", "58", "--out", str(out),
                                     "--json")
    assert code == 0, err
    assert json.loads(stdout)["path"] == str(out.resolve())
    assert "充200送20" in all_text(out.read_bytes())

    printer = LocalPrinter()
    code, stdout, err = slip_command(capsys, db_path, "iou", str(counter["iou"]), "--printer", f"tcp:127.0.0.1:{printer.port}",
                                     "--json", "--as", "收银员小李")
    assert code == 0, err
    assert json.loads(stdout)["bytes"] == len(printer.wait()) > 0

    code, _, err = slip_command(capsys, db_path, "iou", f"W{counter['iou']:06d}", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "does not go with this slip" in err
    code, _, err = slip_command(capsys, db_path, "topup", "X12", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "is not an entry number" in err
    code, _, err = slip_command(capsys, db_path, "cashout", str(counter["topup"]), "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "is not a cash-out" in err and not (tmp_path / "x.pdf").exists()
