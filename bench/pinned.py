"""``python -m bench.pinned CORE COMMAND [ARGS...]``: run COMMAND on CPU core CORE only.

The affinity is set on this process and survives ``exec``, so COMMAND and every child it
starts (torchrun's workers) run on that one core. Linux only (``os.sched_setaffinity``).
"""

from __future__ import annotations

import os
import shutil
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or not args[0].isdigit():
        print("usage: python -m bench.pinned CORE COMMAND [ARGS...]", file=sys.stderr)
        return 2
    program = shutil.which(args[1]) or args[1]
    os.sched_setaffinity(0, {int(args[0])})
    os.execv(program, args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
