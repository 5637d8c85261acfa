#!/usr/bin/env python3
"""Runs a command and records its peak resident memory, for memory ceilings in tests.

    peak-rss.py OUTFILE COMMAND [ARGUMENTS...]

The command inherits stdin, stdout, stderr and the environment; this script exits with its exit code (128 + the
signal number when a signal ended it) and writes the command's own peak resident set, in KiB (wait4's ru_maxrss
for that one child, not every child of the test process), to OUTFILE.
"""

import os
import sys


def main():
    out, command = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    with open(out, "w") as handle:
        handle.write("%d\n" % usage.ru_maxrss)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
