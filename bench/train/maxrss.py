#!/usr/bin/python3
"""maxrss.py OUTFILE CMD...: run CMD, then write the peak resident set size
of it and every descendant it waited for (getrusage RUSAGE_CHILDREN), in
KiB, to OUTFILE.  Exits with CMD's status."""
import resource
import subprocess
import sys

rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + "\n")
sys.exit(rc)
