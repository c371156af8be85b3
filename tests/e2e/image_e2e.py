#!/usr/bin/env python3
"""e2e: the container image's last stage, without a Docker engine.

deploy/docker/Dockerfile ends with a Debian 12 image that gets only
`scripts/install-deps.sh --runtime` and the output of `cmake --install
--prefix /usr`. This test builds exactly that as a root directory: a
minimal Debian 12 (debootstrap --variant=minbase, from the host's Debian
mirror), the runtime packages installed inside it by the project's script,
and the install target with DESTDIR. It then runs agentwatchd from it (its
own libraries, config and rules; the host's /proc and /sys, as the
DaemonSet gives them) and checks that the probes load, /readyz answers and
the image's CLI reports SERVING and the events of a process on the host.

Exit 77 = skipped (not root, or no debootstrap), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request

from awtest import FAILURES, check, free_port, skip_or_fail, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mirror():
    """The host's Debian mirror (apt sources), else deb.debian.org."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            text = open(path).read()
        except OSError:
            continue
        m = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or \
            re.search(r"^deb\s+(\S+/debian)\s+bookworm", text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def mounted_under(root):
    with open("/proc/mounts") as f:
        return [l.split()[1] for l in f if l.split()[1].startswith(root + "/")]


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        return skip_or_fail("needs root and debootstrap (scripts/install-deps.sh)")
    root = os.path.realpath(tempfile.mkdtemp(prefix="aw-image-"))
    daemon = None
    log = os.path.join(root + ".log")
    try:
        r = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, mirror()],
                           capture_output=True, text=True, timeout=900)
        if not check(r.returncode == 0, f"debootstrap: {r.stdout[-1500:]} {r.stderr[-1500:]}"):
            return 1
        shutil.copy(os.path.join(ROOT, "scripts", "install-deps.sh"), os.path.join(root, "tmp"))
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
        r = subprocess.run(["chroot", root, "bash", "/tmp/install-deps.sh", "--runtime"],
                           capture_output=True, text=True, timeout=900)
        check(r.returncode == 0, f"install-deps.sh --runtime in the image: {r.stdout[-1500:]} {r.stderr[-1500:]}")
        r = subprocess.run(["cmake", "--install", a.builddir, "--prefix", "/usr"],
                           env=dict(os.environ, DESTDIR=root), capture_output=True, text=True)
        check(r.returncode == 0, f"cmake --install into the image: {r.stderr}")
        r = subprocess.run(["chroot", root, "ldd", "/usr/sbin/agentwatchd", "/usr/bin/agentwatch"],
                           capture_output=True, text=True)
        check("not found" not in r.stdout, f"every library is in the image: {r.stdout}")
        r = subprocess.run(["chroot", root, "/usr/sbin/agentwatchd", "--check-config"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"the image's daemon accepts the image's config: {r.stderr}")
        # Run it as the DaemonSet would: the host's /proc and /sys.
        subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)
        subprocess.run(["mount", "--rbind", "/sys", os.path.join(root, "sys")], check=True)
        port = free_port()
        daemon = subprocess.Popen(["chroot", root, "/usr/sbin/agentwatchd", "--metrics-listen",
                                   f"127.0.0.1:{port}", "--no-builtin-rules"],
                                  stderr=open(log, "w"))
        try:
            wait_for(lambda: ready(port) or daemon.poll() is not None, 40, "the image's daemon")
        except SystemExit:
            pass
        check(ready(port), "the image's daemon is ready")
        r = subprocess.run(["chroot", root, "/usr/bin/agentwatch", "health"], capture_output=True,
                           text=True)
        check(r.stdout.strip() == "SERVING", f"agentwatch health in the image: {r.stdout} {r.stderr}")
        r = subprocess.run(["chroot", root, "/usr/bin/agentwatch", "status", "--json"],
                           capture_output=True, text=True)
        st = json.loads(r.stdout) if r.returncode == 0 and r.stdout else {}
        attached = [p for p in st.get("probes", []) if p.get("attached")]
        check(len(attached) >= 10, f"the probes load from the image: {len(attached)} attached")
        marker = subprocess.Popen(["sleep", "7.25"])

        def seen():
            r = subprocess.run(["chroot", root, "/usr/bin/agentwatch", "events", "--json",
                                "-t", "exec", "--limit", "1000"], capture_output=True, text=True)
            return any(e.get("process", {}).get("pid") == marker.pid
                       for e in map(json.loads, filter(None, r.stdout.splitlines())))
        try:
            wait_for(seen, 10, "the host process's exec")
        except SystemExit:
            check(False, "the image's daemon reports a process started on the host")
        marker.kill()
        marker.wait()
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
        subprocess.run(["umount", "-R", os.path.join(root, "sys")], capture_output=True)
        subprocess.run(["umount", os.path.join(root, "proc")], capture_output=True)
        if FAILURES and os.path.exists(log):
            print(open(log).read()[-3000:])
        # Never delete through a mount that is still there.
        if mounted_under(root):
            print(f"left {root} in place: still mounted: {mounted_under(root)}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        if os.path.exists(log):
            os.unlink(log)
    print(f"{len(FAILURES)} failures" if FAILURES else "image e2e: all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    raise SystemExit(main())
