"""What runs by itself once a day, when crmdesk starts: jobs that are idempotent, so several tills starting
together, or one starting twice, change nothing more than one would.

Today: credit stops for accounts overdue past the owner's limit (Settings → Stored value and credit). The
point of sale refuses such a charge anyway; freezing makes it visible on the member and in the money area.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import SQLAlchemyError

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import CrmdeskError
from crmdesk.services import credit
from crmdesk.services.uow import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyResult:
    credit_frozen: int  # accounts whose credit stopped by itself


def start_of_day(db: Database, today: date | None = None) -> DailyResult:
    """Run the daily jobs; a job that fails is logged and the program starts anyway."""
    today = today or shop_time.today()
    frozen = 0
    try:
        with unit_of_work(db) as session:
            frozen = credit.freeze_overdue(session, today=today)
    except (CrmdeskError, SQLAlchemyError):  # a busy or unreachable database must not keep the till from starting
        log.exception("stopping overdue credit failed; it is tried again at the next start")
    return DailyResult(frozen)
