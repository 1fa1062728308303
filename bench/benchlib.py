"""What bench/scan and bench/api share: a generated host tree, the wall time
of commands, and two sides run alternately so both see the same machine."""
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))


def synthetic_host(functions, root):
    """A host tree of `functions` PCI functions at root (tests/fixtures/mkhost);
    how many it holds."""
    subprocess.run([os.path.join(here, "..", "tests", "fixtures", "mkhost"), "--synthetic",
                    str(functions), root], check=True, stdout=subprocess.DEVNULL)
    return len(os.listdir(os.path.join(root, "sys", "bus", "pci", "devices")))


def timed(argvs, together=False):
    """Wall time of running the commands argvs, one after another or all at
    once; any of them failing ends the benchmark."""
    t = time.perf_counter()
    if together:
        procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for a in argvs]
        if any(p.wait() != 0 for p in procs):
            sys.exit("bench: a command failed: %s" % argvs)
    else:
        for a in argvs:
            subprocess.run(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def alternate(a, b, runs):
    """Medians of a() and b(), each warmed up once (page cache, pci.ids),
    then run alternately."""
    a(), b()
    ta, tb = [], []
    for _ in range(runs):
        ta.append(a())
        tb.append(b())
    return statistics.median(ta), statistics.median(tb)
