"""Receipt printers (ESC/POS): the counter's slips as printer bytes, and sending them to a printer.

receipt.py turns a slip's lines (crmdesk/reports/slips.py) into ESC/POS bytes with Chinese text in
GB18030; printers.py reads a printer address (usb:VID:PID, serial:/dev/ttyUSB0, tcp:192.168.1.50:9100,
file:/dev/usb/lp0) and sends the bytes through python-escpos.
"""
