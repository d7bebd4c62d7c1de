#!/usr/bin/env python3
"""Real-time drift benchmark (issue 16; not a timed test). Prints:

  1. change -> sink latency, p50/p95 over --changes changes (debounce included): the daemon
     runs on a copy of a fixture host (tests/hosts/debian-hardened + sudo-good's sudoers),
     a drop-in in /etc/ssh/sshd_config.d flips PermitRootLogin yes/no by an atomic rename,
     and a webhook receiver on 127.0.0.1 timestamps the alert ("failed" / "fixed");
  2. the cost of one re-evaluation for that sshd drop-in change, from the daemon's own log
     ("N checks re-evaluated in X ms"), on the fixture copy and on a copy of this host's
     /etc (private keys and shadow files left out: the daemon must never write to the
     real /etc, and a benchmark has no business copying secrets);
  3. idle CPU and RSS with realtime on, on the live host (--root / --no-walks, state in a
     temporary directory: nothing is written to the host), with the number of watches;
  4. daemon CPU during a rename flood (--flood-secs, default 60) in /etc/sudoers.d of the
     fixture copy, as a share of one core, with the re-evaluations it caused.

Targets: p95 < 2 s, < 5 ms per sshd re-evaluation, idle ~0 % CPU and < 12 MB RSS, flood
< 5 % of a core. Uses target/release/jikimi (built unless --no-build; --bin to choose).
"""
import argparse, functools, http.server, json, os, re, shutil, signal, statistics, subprocess, sys
import tempfile, threading, time

print = functools.partial(print, flush=True)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLK = os.sysconf("SC_CLK_TCK")


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Hooks:
    """A webhook receiver: (arrival time, body) of every POST."""

    def __init__(self):
        self.got = []
        self.cv = threading.Condition()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("content-length", 0))
                body = self.rfile.read(n)
                t = time.monotonic()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                with outer.cv:
                    outer.got.append((t, json.loads(body or b"{}")))
                    outer.cv.notify_all()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait(self, kind, check, after, timeout=10):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for t, b in self.got:
                    if t >= after and any(e.get("event") == kind and e.get("check_id") == check
                                          for e in b.get("events", [])):
                        return t
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)


class Daemon:
    def __init__(self, binary, root, state, port, extra_args=(), cfg_extra=""):
        cfg = os.path.join(state, "jikimi.toml")
        with open(cfg, "w") as f:
            f.write(f"[daemon]\nper_check_metrics = true\n{cfg_extra}\n[alerts]\nmin_severity = \"low\"\n"
                    f"[alerts.webhook]\nurl = \"http://127.0.0.1:{port}/hook\"\n")
        env = dict(os.environ, NO_COLOR="1", HTTPS_PROXY="http://127.0.0.1:9",
                   AWS_EC2_METADATA_DISABLED="true")
        self.p = subprocess.Popen(
            [binary, "check", "--listen", "127.0.0.1:0", "--no-extra-checks", "--root", root,
             "--state-dir", state, "--config", cfg, *extra_args],
            stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_line("scan done", 300)

    def _read(self):
        for line in self.p.stderr:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_line(self, what, timeout, start=0):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for i, l in enumerate(self.lines[start:], start):
                    if what in l:
                        return i, l
                left = end - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    sys.exit(f"no `{what}` from the daemon:\n" + "\n".join(self.lines[-20:]))
                self.cv.wait(left)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def fixture_copy(tmp):
    root = os.path.join(tmp, "root")
    shutil.copytree(os.path.join(ROOT, "tests/hosts/debian-hardened/root"), root, symlinks=True)
    sudo = os.path.join(ROOT, "tests/hosts/sudo-good/root/etc")
    os.makedirs(os.path.join(root, "etc/sudoers.d"), exist_ok=True)
    for f in ["sudoers", "sudoers.d/deploy"]:
        shutil.copy(os.path.join(sudo, f), os.path.join(root, "etc", f))
        os.chmod(os.path.join(root, "etc", f), 0o440)
    return root


def host_etc_copy(tmp):
    """This host's /etc without private keys and password hashes."""
    root = os.path.join(tmp, "host")
    skip = re.compile(r"(_key|shadow-?|gshadow-?|\.key|\.pem|private)$")

    def ignore(d, names):
        return [n for n in names if skip.search(n)]

    def copy(src, dst, **kw):
        try:
            shutil.copy2(src, dst, **kw)
        except OSError:
            pass

    shutil.copytree("/etc", os.path.join(root, "etc"), symlinks=True, ignore=ignore,
                    copy_function=copy, ignore_dangling_symlinks=True, dirs_exist_ok=True)
    for f in ["/usr/lib/os-release"]:
        if os.path.exists(f):
            os.makedirs(os.path.join(root, "usr/lib"), exist_ok=True)
            shutil.copy(f, os.path.join(root, "usr/lib/os-release"))
    return root


def sshd_flips(binary, root, state, changes, gap):
    """Latency (s) of each change to the alert, and the evaluation ms of each re-evaluation."""
    hooks = Hooks()
    d = Daemon(binary, root, state, hooks.port)
    dropdir = os.path.join(root, "etc/ssh/sshd_config.d")
    os.makedirs(dropdir, exist_ok=True)
    cfg = os.path.join(root, "etc/ssh/sshd_config")
    with open(cfg) as f:
        text = f.read()
    if "sshd_config.d/" not in text:
        # a host without the Include: put it first, as Debian does
        tmpf = cfg + ".bench"
        with open(tmpf, "w") as f:
            f.write("Include /etc/ssh/sshd_config.d/*.conf\n" + text)
        os.rename(tmpf, cfg)
        time.sleep(1)
    lat, evals = [], []
    mark = len(d.lines)
    evil = os.path.join(dropdir, "00-bench.conf")
    with urlopen_metrics(d) as m:
        passing = any('check="SSH-001"' in k and 'status="PASS"' in k for k in m)
    for i in range(changes):
        # every change flips SSH-001: PASS -> FAIL ("failed") or back ("fixed")
        yes = (i % 2 == 0) == passing
        tmpf = os.path.join(dropdir, ".00-bench.tmp")
        with open(tmpf, "w") as f:
            f.write(f"PermitRootLogin {'yes' if yes else 'no'}\n")
        os.chmod(tmpf, 0o600)
        t0 = time.monotonic()
        os.rename(tmpf, evil)
        t = hooks.wait("failed" if yes else "fixed", "SSH-001", t0)
        if t is None:
            d.stop()
            sys.exit(f"change {i}: no alert within 10 s\n" + "\n".join(d.lines[-10:]))
        lat.append(t - t0)
        time.sleep(gap)
    with d.cv:
        for l in d.lines[mark:]:
            m = re.search(r"(\d+) checks re-evaluated in ([\d.]+) ms", l)
            if m:
                evals.append((int(m.group(1)), float(m.group(2))))
    d.stop()
    return lat, evals


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/jikimi"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.3, help="seconds between changes")
    ap.add_argument("--idle-secs", type=float, default=10)
    ap.add_argument("--flood-secs", type=float, default=60)
    a = ap.parse_args()
    if not a.no_build and a.bin == os.path.join(ROOT, "target/release/jikimi"):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "jikimi"], cwd=ROOT, check=True)
    out = {}
    with tempfile.TemporaryDirectory(prefix="jikimi-rt-bench-") as tmp:
        # 1 + 2: latency and cost on the fixture copy
        root = fixture_copy(tmp)
        st = os.path.join(tmp, "state-fixture")
        os.makedirs(st)
        lat, evals = sshd_flips(a.bin, root, st, a.changes, a.gap)
        ms = [e[1] for e in evals]
        print(f"fixture copy: change -> webhook latency over {len(lat)} changes: "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
        print(f"fixture copy: sshd drop-in re-evaluation: {evals[0][0] if evals else 0} checks, "
              f"median {statistics.median(ms):.2f} ms, p95 {pct(ms, 95):.2f} ms")
        out["latency_p50_ms"] = pct(lat, 50) * 1000
        out["latency_p95_ms"] = pct(lat, 95) * 1000
        out["fixture_reeval_median_ms"] = statistics.median(ms)
        host = host_etc_copy(tmp)
        if os.path.exists(os.path.join(host, "etc/ssh/sshd_config")):
            st = os.path.join(tmp, "state-host")
            os.makedirs(st)
            lat2, evals2 = sshd_flips(a.bin, host, st, min(a.changes, 20), a.gap)
            ms2 = [e[1] for e in evals2]
            print(f"copy of this host's /etc: sshd drop-in re-evaluation: {evals2[0][0] if evals2 else 0} checks, "
                  f"median {statistics.median(ms2):.2f} ms, p95 {pct(ms2, 95):.2f} ms; "
                  f"latency p95 {pct(lat2, 95) * 1000:.0f} ms")
            out["host_reeval_median_ms"] = statistics.median(ms2)
        else:
            print("this host has no /etc/ssh/sshd_config: the host-copy measurement is left out")
        # 3: idle on the live host, read-only
        st = os.path.join(tmp, "state-live")
        os.makedirs(st)
        hooks = Hooks()
        d = Daemon(a.bin, "/", st, hooks.port, extra_args=["--no-walks"])
        time.sleep(2)
        with urlopen_metrics(d) as m:
            watches = m.get("jikimi_realtime_watches", 0)
        c0, t0 = cpu_secs(d.p.pid), time.monotonic()
        time.sleep(a.idle_secs)
        c1, t1 = cpu_secs(d.p.pid), time.monotonic()
        rss = rss_kib(d.p.pid)
        d.stop()
        idle = (c1 - c0) / (t1 - t0) * 100
        print(f"live host idle (--no-walks, realtime on, {watches:.0f} directories watched): "
              f"{idle:.2f} % of a core over {a.idle_secs:.0f} s, RSS {rss / 1024:.1f} MiB")
        out.update(idle_cpu_pct=idle, idle_rss_mib=rss / 1024, watches=watches)
        # 4: rename flood in a watched directory the sudo checks list
        st = os.path.join(tmp, "state-flood")
        os.makedirs(st)
        hooks = Hooks()
        d = Daemon(a.bin, root, st, hooks.port)
        fa, fb = os.path.join(root, "etc/sudoers.d/flood-a"), os.path.join(root, "etc/sudoers.d/flood-b")
        open(fa, "w").close()
        c0, t0 = cpu_secs(d.p.pid), time.monotonic()
        n = 0
        while time.monotonic() - t0 < a.flood_secs:
            os.rename(fa, fb)
            os.rename(fb, fa)
            n += 2
        t1 = time.monotonic()
        c1 = cpu_secs(d.p.pid)
        with urlopen_metrics(d) as m:
            re_n = m.get("jikimi_realtime_reevaluations_total", 0)
            ovf = m.get("jikimi_realtime_queue_overflows_total", 0)
            lim = m.get("jikimi_realtime_rate_limited_total", 0)
        d.stop()
        flood = (c1 - c0) / (t1 - t0) * 100
        print(f"rename flood: {n} renames in {t1 - t0:.0f} s ({n / (t1 - t0):.0f}/s): daemon {flood:.2f} % of a core, "
              f"{re_n:.0f} re-evaluations, {ovf:.0f} queue overflows, reader paused {lim:.0f} times")
        out.update(flood_cpu_pct=flood, flood_reevaluations=re_n)
    print(json.dumps(out))


class urlopen_metrics:
    """The daemon's /metrics as {name(with labels): value}."""

    def __init__(self, d):
        _, line = d.wait_line("metrics on http://", 5)
        self.url = line.split("metrics on ")[1]

    def __enter__(self):
        import urllib.request
        text = urllib.request.urlopen(self.url, timeout=5).read().decode()
        out = {}
        for l in text.splitlines():
            if l and not l.startswith("#"):
                k, _, v = l.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out

    def __exit__(self, *a):
        return False


if __name__ == "__main__":
    main()
