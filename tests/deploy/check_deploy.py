#!/usr/bin/env python3
"""The deploy tier: what an operator installs is checked as it will be used.

manifests: every Kustomize overlay renders with `kubectl kustomize`, each
object validates against the Kubernetes API schemas (validate.mjs:
kubernetes-models' validators and the exact TypeScript types), and the
security-relevant fields are asserted: capabilities, hostPID, read-only
mounts, RBAC, probes matching the daemon's own config, which itself passes
`agentwatchd --check-config`.

install: `cmake --install` into a scratch prefix puts the binaries, the
default config and rules and the systemd unit in place; the unit passes
`systemd-analyze verify`; the installed daemon accepts the installed config;
every shared library the binaries load comes from a package that
`scripts/install-deps.sh --runtime` (the container image's last stage)
installs.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from awtest import FAILURES, check, skip_or_fail  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVERLAYS = os.path.join(ROOT, "deploy", "kubernetes", "overlays")
LEAST_CAPS = {"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"}
# Mounts that must be writable; every other one must be read-only.
WRITABLE = {"state", "socket", "tmp"}


def render(overlay):
    r = subprocess.run(["kubectl", "kustomize", os.path.join(OVERLAYS, overlay)],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"{overlay}: kubectl kustomize failed: {r.stderr}")
    return [d for d in yaml.safe_load_all(r.stdout) if d] if r.returncode == 0 else []


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def check_overlay(overlay, objs, bindir):
    # Schemas: validators and exact types.
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "deploy", "validate.mjs")],
                       input=json.dumps(objs), capture_output=True, text=True, timeout=300)
    print(r.stdout.strip())
    check(r.returncode == 0, f"{overlay}: schema validation failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    kinds = {o["kind"] for o in objs}
    for k in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
              "DaemonSet", "Service", "ServiceMonitor", "PriorityClass"):
        check(k in kinds, f"{overlay}: no {k}")
    if not by_kind(objs, "DaemonSet"):
        return
    ds = by_kind(objs, "DaemonSet")[0]
    pod = ds["spec"]["template"]["spec"]
    check(ds["metadata"].get("namespace") == "agentwatch", f"{overlay}: DaemonSet namespace")
    check(pod.get("hostPID") is True, f"{overlay}: hostPID must be true")
    check(pod.get("hostNetwork") is True, f"{overlay}: hostNetwork (probes on the node's loopback)")
    check(any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations", [])),
          f"{overlay}: must tolerate every taint")
    pcs = {p["metadata"]["name"] for p in by_kind(objs, "PriorityClass")}
    check(pod.get("priorityClassName") in pcs, f"{overlay}: priority class {pod.get('priorityClassName')} not rendered")
    sas = {s["metadata"]["name"] for s in by_kind(objs, "ServiceAccount")}
    check(pod.get("serviceAccountName") in sas, f"{overlay}: service account not rendered")
    (c,) = pod["containers"]
    res = c.get("resources", {})
    for part in ("requests", "limits"):
        check({"cpu", "memory"} <= set(res.get(part, {})), f"{overlay}: resources.{part} cpu and memory")
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, f"{overlay}: read-only root file system")
    caps = sc.get("capabilities", {})
    if overlay == "least-privileged":
        check(sc.get("privileged") is False, f"{overlay}: must not be privileged")
        check(sc.get("allowPrivilegeEscalation") is False, f"{overlay}: no privilege escalation")
        check(set(caps.get("add", [])) == LEAST_CAPS,
              f"{overlay}: capabilities must be exactly {sorted(LEAST_CAPS)}, got {caps.get('add')}")
        check(caps.get("drop") == ["ALL"], f"{overlay}: must drop ALL first")
    else:
        check(sc.get("privileged") is True, f"{overlay}: privileged")
    # Mounts: the host paths the probes need, read-only unless they are state.
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    host = {v["hostPath"]["path"]: n for n, v in vols.items() if "hostPath" in v}
    for path in ("/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/bpf", "/sys/fs/cgroup",
                 "/var/lib/agentwatch", "/run/agentwatch"):
        check(path in host, f"{overlay}: no hostPath {path}")
    for name, m in mounts.items():
        check(name in vols, f"{overlay}: mount {name} has no volume")
        if name in WRITABLE:
            check(not m.get("readOnly"), f"{overlay}: {name} must be writable")
        else:
            check(m.get("readOnly") is True, f"{overlay}: {name} ({m['mountPath']}) must be read-only")
    check(vols.get("tls", {}).get("secret", {}).get("defaultMode") == 0o400,
          f"{overlay}: TLS secret files must be 0400")
    # The daemon's own config, as rendered: valid, and in step with the
    # probes and ports.
    cms = {cm["metadata"]["name"]: cm for cm in by_kind(objs, "ConfigMap")}
    cm = cms.get(vols["config"]["configMap"]["name"])
    check(cm is not None, f"{overlay}: the config volume's ConfigMap is not rendered")
    if cm is None:
        return
    cfg = yaml.safe_load(cm["data"]["agentwatch.yaml"])
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "agentwatch.yaml"), "w") as f:
            f.write(cm["data"]["agentwatch.yaml"])
        os.makedirs(os.path.join(tmp, "rules.d"))
        with open(os.path.join(tmp, "rules.d", "00-local.yaml"), "w") as f:
            f.write(cm["data"]["00-local.yaml"])
        r = subprocess.run([os.path.join(bindir, "agentwatchd"), "--check-config", "-c",
                            os.path.join(tmp, "agentwatch.yaml"), "--rules-dir",
                            os.path.join(tmp, "rules.d")], capture_output=True, text=True)
        check(r.returncode == 0, f"{overlay}: agentwatchd rejects the rendered config: {r.stderr}")
    args = c.get("args", [])
    check("/etc/agentwatch/config/agentwatch.yaml" in args and
          mounts["config"]["mountPath"] == "/etc/agentwatch/config",
          f"{overlay}: --config must point into the config mount")
    check(mounts["rules"]["mountPath"] == cfg.get("rules_dir"), f"{overlay}: rules mount vs rules_dir")
    check(mounts["cgroup"]["mountPath"] == cfg.get("cgroup_root"), f"{overlay}: cgroup mount vs cgroup_root")
    for key in ("cert", "key", "client_ca"):
        check(cfg["tls"][key].startswith(mounts["tls"]["mountPath"] + "/"),
              f"{overlay}: tls.{key} outside the TLS mount")
    host_, port = cfg["metrics"]["listen"].rsplit(":", 1)
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        g = c.get(probe, {}).get("httpGet", {})
        check(g.get("host") == host_ and str(g.get("port")) == port and g.get("path") == path,
              f"{overlay}: {probe} must GET {cfg['metrics']['listen']}{path}, got {g}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("metrics") == int(cfg["metrics"]["tls_listen"].rsplit(":", 1)[1]),
          f"{overlay}: metrics port vs metrics.tls_listen")
    check(ports.get("grpc") == int(cfg["api"]["tcp_listen"].rsplit(":", 1)[1]),
          f"{overlay}: grpc port vs api.tcp_listen")
    check(any(e["name"] == "NODE_NAME" and e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
              for e in c.get("env", [])), f"{overlay}: NODE_NAME from spec.nodeName")
    # RBAC: reading pods, nothing else.
    (role,) = by_kind(objs, "ClusterRole")
    check(role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
          f"{overlay}: RBAC must be get/list/watch on pods only, got {role['rules']}")
    (binding,) = by_kind(objs, "ClusterRoleBinding")
    check(binding["subjects"] == [{"kind": "ServiceAccount", "name": pod["serviceAccountName"],
                                   "namespace": "agentwatch"}], f"{overlay}: binding subject")
    # Service and ServiceMonitor find the pods and the port.
    (svc,) = by_kind(objs, "Service")
    labels = ds["spec"]["template"]["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
          f"{overlay}: the Service selects no DaemonSet pod")
    (sm,) = by_kind(objs, "ServiceMonitor")
    check(all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
          f"{overlay}: the ServiceMonitor selects no Service")
    ep = sm["spec"]["endpoints"][0]
    check(ep["port"] in {p["name"] for p in svc["spec"]["ports"]} and ep["scheme"] == "https"
          and "cert" in ep["tlsConfig"] and "keySecret" in ep["tlsConfig"],
          f"{overlay}: the scrape must use https with a client certificate")


def manifests(bindir):
    for tool in ("kubectl", "node"):
        if not shutil.which(tool):
            return skip_or_fail(f"needs {tool} (scripts/install-deps.sh)")
    # Kustomize reads only files under the base: its copy of the default
    # local rules must not drift from the installed one.
    base_rules = open(os.path.join(ROOT, "deploy", "kubernetes", "base", "local-rules.yaml")).read()
    check(base_rules == open(os.path.join(ROOT, "deploy", "config", "local-rules.yaml")).read(),
          "deploy/kubernetes/base/local-rules.yaml differs from deploy/config/local-rules.yaml")
    overlays = sorted(os.listdir(OVERLAYS))
    check(set(overlays) >= {"privileged", "least-privileged"}, f"overlays: {overlays}")
    for overlay in overlays:
        print(f"== {overlay}")
        check_overlay(overlay, render(overlay), bindir)
    return 0


def runtime_packages():
    text = open(os.path.join(ROOT, "scripts", "install-deps.sh")).read()
    m = re.search(r"RUNTIME_PKGS=\((.*?)\)", text, re.S)
    return set(re.sub(r"#.*", "", m.group(1)).split())


def package_of(path):
    """The Debian package that installed a library, by any of its names (a
    merged /usr lists files under /lib or /usr/lib)."""
    real = os.path.realpath(path)
    for p in (path, real, real.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    return ""


def install(bindir, builddir):
    if not shutil.which("systemd-analyze"):
        return skip_or_fail("needs systemd-analyze (scripts/install-deps.sh)")
    with tempfile.TemporaryDirectory() as prefix:
        env = dict(os.environ, AGENTWATCH_CONFIG_DIR=os.path.join(prefix, "etc", "agentwatch"))
        r = subprocess.run(["cmake", "--install", builddir, "--prefix", prefix],
                           capture_output=True, text=True, env=env)
        print(r.stdout.strip())
        check(r.returncode == 0, f"cmake --install: {r.stderr}")
        files = ["sbin/agentwatchd", "bin/agentwatch", "etc/agentwatch/agentwatch.yaml",
                 "etc/agentwatch/rules.d/00-local.yaml", "lib/systemd/system/agentwatchd.service"]
        for f in files:
            check(os.path.exists(os.path.join(prefix, f)), f"install: no {f}")
        unit = os.path.join(prefix, "lib/systemd/system/agentwatchd.service")
        text = open(unit).read() if os.path.exists(unit) else ""
        check(f"ExecStart={prefix}/sbin/agentwatchd --config {prefix}/etc/agentwatch/agentwatch.yaml" in text,
              "the installed unit must start the installed daemon with the installed config")
        for hardening in ("CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_SYS_PTRACE "
                          "CAP_DAC_READ_SEARCH", "ProtectSystem=strict", "StateDirectory=agentwatch",
                          "RuntimeDirectory=agentwatch", "NoNewPrivileges=yes"):
            check(hardening in text, f"unit: no {hardening}")
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        check(r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(),
              f"systemd-analyze verify: rc={r.returncode} {r.stdout} {r.stderr}")
        r = subprocess.run([os.path.join(prefix, "sbin/agentwatchd"), "--check-config", "-c",
                            os.path.join(prefix, "etc/agentwatch/agentwatch.yaml"), "--rules-dir",
                            os.path.join(prefix, "etc/agentwatch/rules.d")],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"installed daemon rejects the installed config: {r.stderr}")
        # Installing again keeps an edited config.
        with open(os.path.join(prefix, "etc/agentwatch/agentwatch.yaml"), "a") as f:
            f.write("# edited\n")
        subprocess.run(["cmake", "--install", builddir, "--prefix", prefix],
                       capture_output=True, env=env)
        check(open(os.path.join(prefix, "etc/agentwatch/agentwatch.yaml")).read().endswith("# edited\n"),
              "a second install overwrote the edited config")
    # The image's runtime packages carry every library the binaries load
    # directly (what those need in turn, apt installs with them).
    pkgs = runtime_packages()
    for b in ("agentwatchd", "agentwatch"):
        path = os.path.join(bindir, b)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]",
                            subprocess.run(["readelf", "-d", path], capture_output=True,
                                           text=True).stdout)
        where = dict(re.findall(r"^\s*(\S+) => (\S+) \(", subprocess.run(
            ["ldd", path], capture_output=True, text=True).stdout, re.M))
        check(len(needed) > 5, f"{b}: readelf found only {needed}")
        for lib in needed:
            owner = package_of(where.get(lib, lib))
            if owner in ("libc6", "libgcc-s1", "libstdc++6"):
                continue  # in every Debian image
            check(owner in pkgs, f"{b} needs {lib} ({owner or 'no package'}), not in "
                  "install-deps.sh RUNTIME_PKGS")
    dockerfile = open(os.path.join(ROOT, "deploy", "docker", "Dockerfile")).read()
    for needle in ("FROM debian:12 AS build", "scripts/install-deps.sh --build",
                   "install-deps.sh --runtime", "cmake --install", 'ENTRYPOINT ["/usr/sbin/agentwatchd"]'):
        check(needle in dockerfile, f"Dockerfile: no {needle!r}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["manifests", "install"])
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--builddir")
    a = ap.parse_args()
    rc = manifests(a.bindir) if a.part == "manifests" else install(a.bindir, a.builddir)
    if rc:
        return rc
    print(f"{len(FAILURES)} failures" if FAILURES else f"deploy.{a.part}: all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
