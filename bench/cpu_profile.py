#!/usr/bin/env python3
"""bench/cpu_profile.py: where the CPU of a load goes, by kind of work.

Reads `perf report --no-children --sort comm,dso,sym --stdio -g none` text
(from a system-wide `perf record -a` taken while wrk ran) on stdin and
prints, for the processes named on the command line (default raftkv-server),
the share of their samples in each category below. With --cpu-us U (the CPU
µs per request that bench/profile.sh measured) it also prints the µs per
request of each category.
"""
import argparse
import re
import sys

# First match wins; a pattern is matched against "dso symbol".
CATEGORIES = [
    ("disk: write + fdatasync (kernel)", r"kernel.*(fdatasync|ext4|jbd2|blk_|bio_|virtio_blk|virtqueue|iowrite|iomap|filemap|file_write|generic_perform_write|vfs_write|submit_|writeback|folio)"),
    ("TCP and sockets (kernel)", r"kernel.*(tcp|inet|sock|skb|ip_|__dev_queue|net_rx|loopback|napi|netif|__netif|sk_|recv|send|copy_from_iter|copy_to_iter|_copy_|softirq|process_backlog|bbr_|kmem_cache|kfree|__alloc_skb|__local_bh)"),
    ("system call entry and exit (kernel)", r"kernel.*(do_syscall|entry_SYSCALL|syscall_exit|irqentry|fdget|__check_object_size|copy_msghdr|__virt_addr_valid|read_tsc|ktime_get|native_write_msr|_rcu_read)"),
    ("scheduling, wakeups, futex, epoll (kernel)", r"kernel.*(schedule|futex|epoll|wake|try_to_wake|finish_task_switch|enqueue|dequeue|pick_next|update_curr|select_task|ep_|timerfd|hrtimer|switch_|_raw_spin|rcu)"),
    ("other kernel", r"kernel"),
    ("malloc / free", r"(malloc|_int_free|cfree|free@|unlink_chunk|malloc_consolidate|tcache|operator new|operator delete)"),
    ("memcpy / memmove / strings", r"(memmove|memcpy|memset|memcmp|strlen|basic_string|__strlen)"),
    ("HTTP parsing and answers (Beast, json text)", r"(beast|http_api|http_detail|json_text|append_json|append_member|url_decode|parse_target)"),
    ("JSON (nlohmann)", r"nlohmann"),
    ("Asio runtime (scheduler, reactor, timers, coroutines)", r"(asio|awaitable|co_spawn|coroutine)"),
    ("peer transport and frames", r"raftkv::net"),
    ("WAL and snapshots (encode, CRC)", r"(raftkv::storage|crc|crc32)"),
    ("state machine (apply, snapshot)", r"raftkv::kv"),
    ("Raft core", r"raftkv::core"),
    ("server glue (host, replica)", r"raftkv::server"),
    ("other", r"."),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("comm", nargs="*", default=["raftkv-server"])
    ap.add_argument("--cpu-us", type=float, default=0.0, help="CPU µs per request of these processes")
    a = ap.parse_args()
    totals = {name: 0.0 for name, _ in CATEGORIES}
    line_re = re.compile(r"^\s+([0-9.]+)%\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(.*)$")
    seen = 0.0
    for line in sys.stdin:
        m = line_re.match(line)
        if not m:
            continue
        pct, comm, dso, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        if not any(comm.startswith(c[:15]) for c in a.comm):
            continue
        seen += pct
        text = f"{dso} {sym}"
        for name, pat in CATEGORIES:
            if re.search(pat, text):
                totals[name] += pct
                break
    if seen == 0:
        print("no samples of", ", ".join(a.comm))
        return 1
    print(f"| where the CPU goes | share | µs per request |" if a.cpu_us else "| where the CPU goes | share |")
    print("|---|---:|---:|" if a.cpu_us else "|---|---:|")
    for name, _ in CATEGORIES:
        share = totals[name] / seen
        if share < 0.005:
            continue
        if a.cpu_us:
            print(f"| {name} | {share * 100:.0f} % | {share * a.cpu_us:.1f} |")
        else:
            print(f"| {name} | {share * 100:.0f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
