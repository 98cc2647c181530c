"""Process CPU and memory from /proc."""
import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime + stime of the whole process (dead threads included), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_ns(pid):
    """Nanoseconds on CPU summed over the live threads (/proc/PID/task/*/schedstat): exact,
    where ticks are 10 ms apart. Both exporters keep their threads for their lifetime."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class CpuMeter:
    def __init__(self, pid):
        self.pid = pid
        self.ticks0, self.ns0 = cpu_ticks(pid), cpu_ns(pid)

    def read(self):
        """(cpu seconds from schedstat, cpu seconds from ticks) since construction."""
        return ((cpu_ns(self.pid) - self.ns0) / 1e9,
                (cpu_ticks(self.pid) - self.ticks0) / CLK_TCK)


def memory_kib(pid):
    """VmRSS, VmHWM and their split: RssAnon (heap, stacks: private to the process), RssFile
    (mapped executable and shared libraries, shared with other processes using them), and Pss
    (proportional set size: shared pages divided among their users)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Pss", "Pss_Anon", "Pss_File"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out
