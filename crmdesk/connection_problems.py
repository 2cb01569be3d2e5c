"""A server connection that failed, in a shop owner's words: server not found, nothing listening, no answer,
wrong password, this computer not let in, no such database, no room. libpq reports these as text only (the
server's part in its own language), so they are told apart by its messages, English and Chinese.
"""

from __future__ import annotations

import sqlalchemy as sa

from crmdesk.errors import DatabaseUnavailable
from crmdesk.texts import QT_TRANSLATE_NOOP

DEFAULT_PORT = 5432
CONNECT_TIMEOUT_S = 5

MSG_HOST_NOT_FOUND = QT_TRANSLATE_NOOP(
    "errors", "The server '{host}' cannot be found on the network. Check the name in the line from the server PC, "
              "and that this computer is connected to the shop's network.")
MSG_NOTHING_LISTENING = QT_TRANSLATE_NOOP(
    "errors", "'{host}' answered, but no database server is listening on port {port}. Check that the server PC is on "
              "and PostgreSQL runs there, and that the port in the line is right.")
MSG_NO_ANSWER = QT_TRANSLATE_NOOP(
    "errors", "'{host}' did not answer within {seconds} seconds. The server PC may be off, or its firewall blocks "
              "port {port}: allow PostgreSQL (port {port}) through the firewall of the server PC.")
MSG_WRONG_PASSWORD = QT_TRANSLATE_NOOP(
    "errors", "The server refused the name or password '{user}' signed in with. Copy the line from the server PC again.")
MSG_NOT_LET_IN = QT_TRANSLATE_NOOP(
    "errors", "The server does not let this computer in: its pg_hba.conf has no line for this computer's network. "
              "Add one on the server PC (see the README: several tills).")
MSG_NO_DATABASE = QT_TRANSLATE_NOOP(
    "errors", "The server has no database named '{database}'. Check the line from the server PC, or run "
              "'crmdesk server setup' there.")
MSG_TOO_MANY = QT_TRANSLATE_NOOP(
    "errors", "The server has no room for another connection now. Close crmdesk on a PC that does not need it, or ask "
              "for max_connections to be raised on the server.")
MSG_SERVER_REFUSED = QT_TRANSLATE_NOOP("errors", "The server refused the connection: {detail}")
# libpq's own texts, and the server's (English and Chinese) for the refusals it sends.
_NOT_FOUND = ("could not translate host name", "failed to resolve host", "name or service not known",
              "nodename nor servname", "no such host", "temporary failure in name resolution")
_REFUSED = ("connection refused", "actively refused", "拒绝连接")
_TIMEOUT = ("timeout expired", "timed out", "no route to host", "network is unreachable", "超时")
_PASSWORD = ("password authentication failed", "authentication failed", "no password supplied", "password",
             "认证失败", "口令")
_NOT_LET_IN = ("no pg_hba.conf entry", "pg_hba.conf", "没有用于主机")
_NO_DATABASE = ("does not exist", "不存在")
_TOO_MANY = ("too many clients", "remaining connection slots", "过多")


def connection_problem(url: sa.URL, exc: BaseException, timeout_s: int = CONNECT_TIMEOUT_S) -> DatabaseUnavailable:
    """The failure to connect, in words; the detail of an unknown one is kept (it never holds a password)."""
    detail = str(getattr(exc, "orig", exc)).strip()
    text = detail.lower()
    host, port = url.host or "localhost", url.port or DEFAULT_PORT

    def says(fragments: tuple[str, ...]) -> bool:
        return any(fragment in text for fragment in fragments)

    if says(_NOT_FOUND):
        return DatabaseUnavailable(MSG_HOST_NOT_FOUND, host=host)
    if says(_REFUSED):
        return DatabaseUnavailable(MSG_NOTHING_LISTENING, host=host, port=port)
    if says(_TIMEOUT):
        return DatabaseUnavailable(MSG_NO_ANSWER, host=host, port=port, seconds=timeout_s)
    if says(_NOT_LET_IN):
        return DatabaseUnavailable(MSG_NOT_LET_IN)
    if says(_PASSWORD):
        return DatabaseUnavailable(MSG_WRONG_PASSWORD, user=url.username or "")
    if says(_NO_DATABASE) and ("database" in text or "数据库" in text):
        return DatabaseUnavailable(MSG_NO_DATABASE, database=url.database or "")
    if says(_TOO_MANY):
        return DatabaseUnavailable(MSG_TOO_MANY)
    first_line = detail.splitlines()[0] if detail else type(exc).__name__
    return DatabaseUnavailable(MSG_SERVER_REFUSED, detail=first_line[:200])
