"""Check that Qt can start here, and name the OS packages to install when it cannot (`make run`, `make test`).

The checks live in the package (crmdesk/qt_check.py), where `crmdesk` itself runs the quick ones
before it opens its window; this adds a real start of Qt in a child process.
"""

from __future__ import annotations

from crmdesk.qt_check import main

if __name__ == "__main__":
    raise SystemExit(main())
