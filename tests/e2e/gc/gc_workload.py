# SPDX-License-Identifier: GPL-2.0
"""Known garbage collections for e2e_gc.sh and bench_gc.sh.

usage: gc_workload.py COMM N0 N1 N2 READY GO [CYCLES]

Automatic collection is disabled and the process renames itself to COMM
(the interpreter's own start-up collections happen under its original
name), tells READY, waits for the file GO, then runs exactly N0, N1 and N2
collections of generations 0, 1 and 2, each after making CYCLES garbage
reference cycles.  It prints "collected C0 C1 C2" (what gc.collect()
returned per generation, which is gc__done's argument) and the time each
generation's collections took, and leaves with os._exit() so that the
interpreter's finalization collects nothing more.
"""
import gc
import os
import sys
import time

gc.disable()
comm, n = sys.argv[1], [int(x) for x in sys.argv[2:5]]
ready, go = sys.argv[5], sys.argv[6]
cycles = int(sys.argv[7]) if len(sys.argv) > 7 else 10
with open("/proc/self/comm", "w") as f:
    f.write(comm)
with open(ready, "w"):
    pass
while not os.path.exists(go):
    time.sleep(0.02)
collected = [0, 0, 0]
spent = [0.0, 0.0, 0.0]
for gen in range(3):
    for _ in range(n[gen]):
        for _ in range(cycles):
            a = []
            a.append(a)
        a = None
        t0 = time.perf_counter()
        collected[gen] += gc.collect(gen)
        spent[gen] += time.perf_counter() - t0
print("collected %d %d %d" % tuple(collected))
print("seconds %.9f %.9f %.9f" % tuple(spent))
sys.stdout.flush()
os._exit(0)
