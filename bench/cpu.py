"""Runs a command RUNS times (stdout and stderr to /dev/null) and prints the median CPU time, in
seconds, that the child itself used: user + system time from `wait4`'s rusage, as the kernel
accounts it to the child.

Wall time hides the CPU a program spends on other cores (Helm's Go runtime collects garbage in
parallel). The child is started with posix_spawn (vfork semantics), so no copy of this Python
process runs before the command starts. Peak memory is not taken from here: the kernel carries the
parent's high-water mark into a spawned child's maximum resident set size, so bench/run.sh reads it
from `/usr/bin/time`, a small parent.

Usage: cpu.py RUNS COMMAND [ARG...]
"""
import os
import statistics
import sys


def run_once(argv):
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"cpu.py: {' '.join(argv)} failed ({os.waitstatus_to_exitcode(status)})")
    return usage.ru_utime + usage.ru_stime


def main():
    runs, argv = int(sys.argv[1]), sys.argv[2:]
    print(f"{statistics.median(run_once(argv) for _ in range(runs)):.6f}")


main()
