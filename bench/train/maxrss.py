#!/usr/bin/python3
"""maxrss.py OUTFILE CMD...: run CMD, then write to OUTFILE the peak
resident set size of it and every descendant it waited for, in KiB, and
the CPU seconds (user + system) they used, on one line: "KIB SECONDS"
(getrusage RUSAGE_CHILDREN).  Exits with CMD's status."""
import resource
import subprocess
import sys

rc = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_maxrss} {ru.ru_utime + ru.ru_stime:.3f}\n")
sys.exit(rc)
