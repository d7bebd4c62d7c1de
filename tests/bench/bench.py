#!/usr/bin/env python3
"""Jikimi benchmark (not a timed test): wall time and peak RSS of whole-catalog scans.

Runs the release binary (building it unless --no-build) N times on:
  1. a fixture host (tests/hosts/debian-weak/root) with --root, without filesystem walks;
  2. the live host, without filesystem walks;
  3. the live host's filesystem walk alone (`jikimi walk`), reporting entries per second;
  4. the daemon idle on the live host: started with --interval 3600 (default catalog, walks
     included), measured after its first scan for ~10 s: resident set (VmRSS) and CPU time
     (utime + stime from /proc/PID/stat) as a share of one CPU.
Prints min / median wall time and the peak RSS (max over runs) of each.

With --walk-big N (e.g. 2000000), only: a synthetic tree generated in a temporary directory
(one directory of N empty files, plus a few thousand ordinary directories and files) walked
with `jikimi walk --root`: peak RSS and entries/s (issue 12, defect 16: memory must not grow
with the largest directory). The tree is removed afterwards. --compare BIN walks it with a
second binary too (e.g. one built from an older commit).
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def measure(cmd):
    """Wall seconds (process start to exit, seen from here) and peak RSS in KiB.

    The peak RSS is the process's own VmHWM, which it prints with JIKIMI_STATS=1: rusage's
    ru_maxrss would also count the forking parent's image before exec."""
    env = dict(os.environ, JIKIMI_STATS="1")
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t
    err = p.stderr.decode(errors="replace")
    stats = dict(kv.split("=") for line in err.splitlines() if line.startswith("jikimi-stats:") for kv in line.split()[1:])
    return {"wall": wall, "rss": int(stats.get("vm_hwm_kib", 0)), "code": p.returncode,
            "out": p.stdout.decode(errors="replace"), "err": err[-2000:]}


def bench(name, cmd, runs):
    res = [measure(cmd) for _ in range(runs)]
    for r in res:
        if r["code"] not in (0, 2):
            sys.exit(f"{name}: exit {r['code']}: {r['err']}")
    walls = sorted(r["wall"] * 1000 for r in res)
    rss = max(r["rss"] for r in res) / 1024
    print(f"{name:<44} wall min {walls[0]:7.1f} ms  median {statistics.median(walls):7.1f} ms  peak RSS {rss:5.1f} MiB  ({runs} runs)")
    return res


def proc_sample(pid):
    """(VmRSS KiB, utime + stime in clock ticks) of a process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        # fields after the command name (which may hold spaces) start at field 3
        rest = f.read().rsplit(")", 1)[1].split()
    return rss, int(rest[11]) + int(rest[12])


def daemon_idle(b, secs):
    """Starts the daemon, waits for its first scan, samples RSS and CPU while it idles."""
    state = tempfile.mkdtemp(prefix="jikimi-bench-")
    cmd = [b, "check", "--interval", "3600", "--listen", "127.0.0.1:0", "--no-extra-checks", "--state-dir", state]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        t = time.perf_counter()
        for line in p.stderr:
            if "scan done" in line:
                break
        else:
            sys.exit(f"daemon exited before its first scan: {p.wait()}")
        first = time.perf_counter() - t
        time.sleep(1)  # let the scan's buffers go
        hz = os.sysconf("SC_CLK_TCK")
        rss0, cpu0 = proc_sample(p.pid)
        t0, rss = time.perf_counter(), [rss0]
        while time.perf_counter() - t0 < secs:
            time.sleep(1)
            rss.append(proc_sample(p.pid)[0])
        _, cpu1 = proc_sample(p.pid)
        pct = 100 * (cpu1 - cpu0) / hz / (time.perf_counter() - t0)
        print(f"{'daemon idle, live host (--interval 3600)':<44} first scan {first * 1000:7.0f} ms  "
              f"idle RSS {statistics.median(rss) / 1024:5.1f} MiB (max {max(rss) / 1024:.1f})  "
              f"idle CPU {pct:.2f} % over {secs} s")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
        subprocess.run(["rm", "-rf", state])


def make_big_tree(n):
    """A scan root with one directory of n empty files (mknod: one system call per file, no
    descriptor) and 2,000 small directories of 20 files each."""
    root = tempfile.mkdtemp(prefix="jikimi-walk-bench-")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\n")
    t = time.perf_counter()
    big = os.path.join(root, "var/spool/big")
    os.makedirs(big)
    fd = os.open(big, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(n):
            os.mknod(f"session-{i:08d}", 0o600 | 0o100000, dir_fd=fd)
    finally:
        os.close(fd)
    for d in range(2000):
        p = os.path.join(root, "usr/share", f"d{d // 100}", f"d{d}")
        os.makedirs(p)
        for i in range(20):
            os.mknod(os.path.join(p, f"f{i}"), 0o644 | 0o100000)
    print(f"generated {n + 40000} files in {time.perf_counter() - t:.1f} s under {root}")
    return root


def walk_big(bins, n, runs):
    root = make_big_tree(n)
    try:
        for b in bins:
            res = bench(f"walk, synthetic tree, {n}-entry directory", [b, "walk", "--json", "--root", root], runs)
            w = [json.loads(r["out"]) for r in res]
            best = max(w, key=lambda x: x["entries_per_sec"])
            print(f"{'':<44} {best['entries']} entries, best {best['entries_per_sec']:.0f} entries/s, "
                  f"peak RSS {max(r['rss'] for r in res) / 1024:.1f} MiB ({b})")
    finally:
        t = time.perf_counter()
        shutil.rmtree(root)
        print(f"removed the tree in {time.perf_counter() - t:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/jikimi"))
    ap.add_argument("--idle-secs", type=int, default=10, help="daemon idle sampling time")
    ap.add_argument("--daemon-only", action="store_true", help="only the daemon idle measurement")
    ap.add_argument("--walk-big", type=int, metavar="N", help="only the synthetic walk with an N-entry directory")
    ap.add_argument("--compare", metavar="BIN", help="with --walk-big: also walk with this binary")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    b = a.bin
    if a.walk_big:
        return walk_big([b] + ([a.compare] if a.compare else []), a.walk_big, max(1, min(a.runs, 3)))
    if a.daemon_only:
        return daemon_idle(b, a.idle_secs)
    size = os.path.getsize(b) / (1 << 20)
    checks = subprocess.run([b, "catalog", "list", "--json", "--no-extra-checks"], stdout=subprocess.PIPE, check=True)
    cat = json.loads(checks.stdout)
    print(f"binary {b}: {size:.1f} MiB; catalog: {len(cat)} checks ({sum(1 for c in cat if c['walk'])} filesystem walks)")
    fixture = os.path.join(ROOT, "tests/hosts/debian-weak/root")
    state = tempfile.mkdtemp(prefix="jikimi-bench-")  # scan history goes here, never to /var/lib/jikimi
    bench("catalog, fixture host (--root, no walks)", [b, "check", "--once", "--state-dir", state, "--no-extra-checks", "--no-walks", "--format", "json", "--root", fixture], a.runs)
    bench("catalog, live host (no walks)", [b, "check", "--once", "--state-dir", state, "--no-extra-checks", "--no-walks", "--format", "json"], a.runs)
    res = bench("filesystem walk, live host (nice 19, idle I/O)", [b, "walk", "--json"], max(3, a.runs // 5))
    w = [json.loads(r["out"]) for r in res]
    best = max(w, key=lambda x: x["entries_per_sec"])
    print(f"{'':<44} {best['entries']} entries, best {best['entries_per_sec']:.0f} entries/s")
    daemon_idle(b, a.idle_secs)


if __name__ == "__main__":
    main()
