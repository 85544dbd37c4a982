"""Processor time of processes, read from the kernel (Linux), for bench.pages and bench.load.

A process's CPU-time clock (clock_gettime on the clock id the kernel derives from its pid: user
and system time of all its threads, in nanoseconds) is read directly; /proc/<pid>/stat's ticks
(1/100 s) serve where that clock is refused.
"""

import os
import time
from pathlib import Path


def _clock_of(pid: int) -> int:
    # CPUCLOCK_SCHED of the whole process, as glibc's clock_getcpuclockid builds it.
    return ((~pid) << 3) | 2


def process_seconds(pid: int) -> float:
    """Processor time (user and system) this process has used so far; 0 once it has ended."""
    try:
        return time.clock_gettime(_clock_of(pid))
    except OSError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_by_pid(pids: set[int]) -> dict[int, float]:
    return {pid: process_seconds(pid) for pid in pids}


def used_since(before: dict[int, float]) -> float:
    """Processor time used since `before` by those of its processes still running (a process
    that ended meanwhile would count negatively: it is left out)."""
    now = cpu_by_pid(set(before))
    return sum(now[pid] - seconds for pid, seconds in before.items() if now[pid] >= seconds)


def processes() -> dict[int, tuple[int, str]]:
    """pid: (parent pid, command name) of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), name)
    return found


def postgres_backends(connection) -> set[int]:
    """The PostgreSQL processes serving the other connections to this database: on a shared
    server, the other databases' backends (and the server's writers, busy for all of them) are
    someone else's load. A read-only benchmark writes little WAL of its own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}
