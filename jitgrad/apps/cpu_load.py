"""How much CPU other processes took while a measurement ran (the machine is shared).

Linux only: the machine's busy time comes from ``/proc/stat``; elsewhere nothing is reported.
"""
import os
import time


def _machine_busy_seconds():
    """CPU-seconds all CPUs spent on anything but idling since boot (steal included: time the
    hypervisor gave to other machines), or None without ``/proc/stat``."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds():
    """CPU-seconds this process (all its threads) has used."""
    times = os.times()
    return times.user + times.system


class ForeignLoad:
    """Context manager; afterwards ``cores`` is the average number of cores that other
    processes kept busy meanwhile (0 on an idle machine, 2 when they filled both of 2 cores),
    or None where it cannot be measured."""

    def __enter__(self):
        self._start = (time.perf_counter(), _machine_busy_seconds(), _own_seconds())
        self.cores = None
        return self

    def __exit__(self, *exc_info):
        wall, busy, own = time.perf_counter(), _machine_busy_seconds(), _own_seconds()
        start_wall, start_busy, start_own = self._start
        if busy is not None and start_busy is not None and wall > start_wall:
            foreign = (busy - start_busy) - (own - start_own)
            self.cores = max(0.0, foreign / (wall - start_wall))
        return False
