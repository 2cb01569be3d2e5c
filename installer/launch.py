"""The packaged program's entry point: the same `crmdesk` command as the installed one."""

import multiprocessing

from crmdesk.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the benchmark's helper processes start this same executable
    raise SystemExit(main())
