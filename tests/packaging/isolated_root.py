"""An isolated root for the tests that really install Jikimi: the host's `/` as the read-only
lower layer of an overlayfs whose upper layer is a private temporary directory, mounted in a
private mount namespace. Inside it dpkg, the maintainer scripts and the SSM documents' scripts
run as on a real machine (the host's dpkg database, tools, Python and AWS CLI are all there),
but every write lands in the upper directory: the host's /etc, /usr, /var/lib and dpkg
database are never changed, and nothing is left behind when the root is closed.

systemd is not PID 1 inside (an empty tmpfs on /run), so the package hooks take their
"systemd is not running" path: `systemctl enable` only creates the enablement links, which
the tests then read.

One holder process (unshare → chroot → `cat`) keeps the namespace alive; commands enter it
with nsenter, and the tests read its files through /proc/PID/root. Closing the holder's stdin
ends it and with it every mount. Absolute symlinks inside the root must not be followed from
outside (they would resolve on the host): use `readlink` and `inside()`.
"""

import os
import pathlib
import shutil
import subprocess
import tempfile

# Mounted inside the root: the pseudo filesystems, and an empty /run so that nothing there
# says systemd is running (the host's /run may say it is). The overlay is `volatile`: it is
# thrown away, so its unmount must not sync the host's whole root filesystem (which, on a busy
# machine, took minutes).
_SETUP = r"""
set -eu
M=$1; shift
mount -t overlay jikimi-isolated-root -o "lowerdir=/,upperdir=$UPPER,workdir=$WORK,volatile" "$M"
mount -t proc proc "$M/proc"
mount --rbind /dev "$M/dev"
mount --rbind /sys "$M/sys"
mount -o remount,bind,ro "$M/sys"
mount -t tmpfs -o mode=0755 jikimi-run "$M/run"
mount -t tmpfs -o mode=1777 jikimi-tmp "$M/tmp"
for dir in "$@"; do
    mkdir -p "$M$dir"
    mount --bind "$dir" "$M$dir"
done
exec chroot "$M" /bin/sh -c 'echo ready; exec cat >/dev/null'
"""


class IsolatedRoot:
    """A writable copy-on-write view of the host's root. `shared` directories of the host
    (absolute paths) are bind-mounted at the same path inside, so both sides see the same
    files there (test scratch space, built artifacts); /tmp inside is a private tmpfs."""

    def __init__(self, shared=(), prefix="jikimi-root-"):
        shared = [str(pathlib.Path(p).resolve()) for p in shared]
        for p in shared:
            if not os.path.isdir(p):
                raise ValueError(f"shared directory {p} does not exist")
        # The layers live beside the test scratch space, on a real filesystem (an overlay's
        # upper layer cannot be another overlay): under the first shared directory if any.
        base = shared[0] if shared else None
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        upper, work, merged = self.dir / "upper", self.dir / "work", self.dir / "merged"
        for d in (upper, work, merged):
            d.mkdir()
        env = dict(os.environ, UPPER=str(upper), WORK=str(work))
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SETUP, "setup", str(merged), *shared],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.stdin.close()
            err = self.proc.stderr.read()
            self.proc.wait(timeout=30)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"could not set up the isolated root (overlay over /): {err.strip() or line!r}")
        self.pid = self.proc.pid
        self.path = pathlib.Path(f"/proc/{self.pid}/root")

    def inside(self, path) -> pathlib.Path:
        """The host-side path of an absolute path inside the root (no symlink resolution
        beyond what the kernel does for the path's own directories)."""
        return self.path / str(path).lstrip("/")

    def run(self, argv, cwd="/", env=None, timeout=600, check=False, **kw):
        """Run argv inside the root (as root, in the root's mount namespace and chroot)."""
        cmd = ["nsenter", f"--target={self.pid}", "--mount", "--root", f"--wdns={cwd}", "--", *map(str, argv)]
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(cmd, env=env, timeout=timeout, check=check, **kw)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=120)
        # The mounts died with the namespace: from here the directory is plain files.
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
