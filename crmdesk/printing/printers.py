"""Receipt printers by address, reached through python-escpos.

An address names how the printer is attached:

* ``usb:VID:PID`` — vendor and product id in hex as ``lsusb`` or the Windows device manager show them
  (``usb:0416:5011``); ``usb:VID:PID:IN:OUT`` names the endpoints when the printer does not use the
  usual 0x82 and 0x01. Needs libusb (on Windows, a libusb driver for the printer).
* ``serial:DEVICE[:BAUD]`` — ``serial:/dev/ttyUSB0``, ``serial:COM3:115200`` (9600 baud unless given).
* ``tcp:HOST[:PORT]`` — a network printer, port 9100 unless given (``tcp:192.168.1.50:9100``).
* ``file:PATH`` — a printer device file such as Linux's ``/dev/usb/lp0``.

python-escpos is imported only when a printer is used: it loads its printer profiles at import and
would otherwise leave a temporary folder behind on every start; its cache goes into crmdesk's own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.texts import QT_TRANSLATE_NOOP

DEFAULT_BAUD = 9600
DEFAULT_PORT = 9100
NETWORK_TIMEOUT_S = 10
USB_ENDPOINTS = (0x82, 0x01)  # python-escpos's usual in and out endpoints

MSG_BAD_ADDRESS = QT_TRANSLATE_NOOP(
    "errors", "'{address}' is not a printer address: use usb:VID:PID, serial:/dev/ttyUSB0, tcp:192.168.1.50:9100 or file:/dev/usb/lp0.")


class PrinterUnavailable(CrmdeskError):
    """The receipt printer could not be reached or refused the slip."""


@dataclass(frozen=True)
class PrinterAddress:
    kind: str  # usb, serial, tcp, file
    target: str  # device path, host, or VID:PID
    number: int = 0  # baud rate or port
    vendor: int = 0
    product: int = 0
    endpoints: tuple[int, int] = USB_ENDPOINTS

    def __str__(self) -> str:
        if self.kind == "usb":
            text = f"usb:{self.vendor:04x}:{self.product:04x}"
            return text if self.endpoints == USB_ENDPOINTS else f"{text}:{self.endpoints[0]:02x}:{self.endpoints[1]:02x}"
        if self.kind == "serial":
            return f"serial:{self.target}:{self.number}"
        if self.kind == "tcp":
            host = f"[{self.target}]" if ":" in self.target else self.target
            return f"tcp:{host}:{self.number}"
        return f"file:{self.target}"


def _hex(text: str, address: str, largest: int) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address) from None
    if not 0 < value <= largest:
        raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)
    return value


def parse_address(text: str) -> PrinterAddress:
    """A printer address as typed (see the module's notes), or InvalidInput."""
    address = (text or "").strip()
    kind, _, rest = address.partition(":")
    kind = kind.lower()
    if kind == "usb":
        parts = rest.split(":")
        if len(parts) not in (2, 4):
            raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)
        numbers = [_hex(part.removeprefix("0x"), address, 0xFFFF) for part in parts]
        endpoints = (numbers[2], numbers[3]) if len(numbers) == 4 else USB_ENDPOINTS
        if max(endpoints) > 0xFF:
            raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)
        return PrinterAddress("usb", f"{numbers[0]:04x}:{numbers[1]:04x}", vendor=numbers[0], product=numbers[1],
                              endpoints=endpoints)
    if kind == "serial":
        device, baud = rest, DEFAULT_BAUD
        match = re.fullmatch(r"(.+):(\d{3,7})", rest)
        if match:
            device, baud = match.group(1), int(match.group(2))
        if not device:
            raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)
        return PrinterAddress("serial", device, baud)
    if kind == "tcp":
        match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^:\[\]]+)(?::(\d{1,5}))?", rest)
        if match is None:
            raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)
        host = match.group(1) or match.group(3)
        port = int(match.group(2) or match.group(4) or DEFAULT_PORT)
        if not 0 < port < 65536:
            raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)
        return PrinterAddress("tcp", host, port)
    if kind == "file" and rest:
        return PrinterAddress("file", rest)
    raise InvalidInput(MSG_BAD_ADDRESS, field="printer", address=address)


# ----------------------------------------------------------------------------- python-escpos


def escpos_printers() -> ModuleType:
    """python-escpos's printer classes (``escpos.printer``), imported on first use."""
    from crmdesk import paths

    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(paths.cache_dir()))
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        import escpos.printer
    except Exception as exc:  # not installed, or installed without its printer profiles (capabilities.json)
        raise PrinterUnavailable(QT_TRANSLATE_NOOP("errors", "Receipt printing needs the python-escpos package ({detail})."),
                                 detail=" ".join(str(exc).split()) or type(exc).__name__) from exc
    finally:
        for handler in root.handlers[:]:  # python-escpos calls logging.basicConfig() at import: the program's logging stays its own
            if handler not in handlers:
                root.removeHandler(handler)
    return escpos.printer


def open_printer(address: PrinterAddress) -> Any:
    """A python-escpos printer object for the address, not yet connected."""
    printers = escpos_printers()
    if address.kind == "usb":
        return printers.Usb(address.vendor, address.product, in_ep=address.endpoints[0], out_ep=address.endpoints[1], timeout=5000)
    if address.kind == "serial":
        return printers.Serial(devfile=address.target, baudrate=address.number, timeout=5, dsrdtr=False)
    if address.kind == "tcp":
        return printers.Network(address.target, port=address.number, timeout=NETWORK_TIMEOUT_S)
    return printers.File(address.target)


def send(address: PrinterAddress | str, data: bytes) -> None:
    """Send the bytes of a slip to the printer; PrinterUnavailable with the reason when it cannot be done."""
    if isinstance(address, str):
        address = parse_address(address)
    printer = open_printer(address)
    try:
        printer.open()
        printer._raw(data)  # python-escpos's one way to send bytes already laid out (receipt.py)
    except Exception as exc:  # USB, serial and socket errors of every kind: the person needs the reason, not a trace
        raise PrinterUnavailable(QT_TRANSLATE_NOOP("errors", "The receipt printer {address} cannot print: {detail}"),
                                 address=str(address), detail=" ".join(str(exc).split()) or type(exc).__name__) from exc
    finally:
        with contextlib.suppress(Exception):  # closing a printer that never opened
            printer.close()
