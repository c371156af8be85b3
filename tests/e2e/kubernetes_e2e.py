#!/usr/bin/env python3
"""e2e: Kubernetes identity on live processes.

An agent and its MCP tool server run in a real cgroup v2 directory laid out
as the kubelet lays out a pod's container under the systemd driver with
containerd (kubepods.slice/.../kubepods-besteffort-pod<uid>.slice/
cri-containerd-<id>.scope), so the kernel reports that cgroup's id on their
events. agentwatchd's pod metadata comes from a stand-in for the API
server on loopback (the one thing not real here: no kube-apiserver is
packaged for this machine), which answers the request the daemon makes
(GET /api/v1/pods?fieldSelector=spec.nodeName=<node>, bearer token) with a
PodList in the API's shape.

  1. The API server does not know the pod yet: the alert raised by the
     agent's tool server carries the pod uid and container id from the
     cgroup, without names; the unresolved pod is counted.
  2. The pod appears in the list: the daemon lists again soon after (it
     keeps asking while pods are unknown) and the same alert, the agent,
     the chain and the calls come back with pod name, namespace, workload,
     labels and container name (late metadata filled in).

Exit 77 = skipped (not root, no writable cgroup v2 hierarchy, or node/npm
packages missing), unless AGENTWATCH_REQUIRE_BPF=1.
"""
import http.server
import json
import os
import secrets
import subprocess
import threading
import uuid

from awtest import (TESTS, begin, check, cli_json, finish_run, free_port, skip_or_fail,
                    start_daemon, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")


def cgroup2_root():
    """Where the cgroup v2 hierarchy is (unified, or hybrid's unified/)."""
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return root
    return None


class ApiServer(http.server.ThreadingHTTPServer):
    pods = []
    token = ""
    requests = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {srv.token}":
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
            code = 401
        else:
            body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                               "metadata": {"resourceVersion": "1"}, "items": srv.pods})
            code = 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def main():
    bindir, cli, tmp, endpoint = begin("aw-k8s-e2e-")
    root = cgroup2_root()
    if root is None:
        return skip_or_fail("needs a cgroup v2 hierarchy")
    uid = str(uuid.uuid4())
    cid = secrets.token_hex(32)
    pod_dir = os.path.join(root, "kubepods.slice", "kubepods-besteffort.slice",
                           f"kubepods-besteffort-pod{uid.replace('-', '_')}.slice")
    cg = os.path.join(pod_dir, f"cri-containerd-{cid}.scope")
    try:
        os.makedirs(cg)
    except OSError as e:
        return skip_or_fail(f"cannot make a cgroup under {root}: {e}")
    token = secrets.token_hex(16)
    with open(os.path.join(tmp, "token"), "w") as f:
        f.write(token + "\n")
    api = ApiServer(("127.0.0.1", free_port()), Handler)
    api.token = token
    threading.Thread(target=api.serve_forever, daemon=True).start()
    pod = {
        "metadata": {"name": "research-agent-7d9f8b6c4-x2k8p", "namespace": "agents", "uid": uid,
                     "labels": {"app": "research-agent", "pod-template-hash": "7d9f8b6c4"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "research-agent-7d9f8b6c4", "uid": "x",
                                          "controller": True}]},
        "spec": {"nodeName": "node-k", "serviceAccountName": "research-agent"},
        "status": {"phase": "Running",
                   "containerStatuses": [{"name": "agent", "containerID": f"containerd://{cid}"}]},
    }
    cfg = os.path.join(tmp, "agentwatch.yaml")
    with open(cfg, "w") as f:
        f.write(f"""kubernetes:
  enabled: true
  api_server: http://127.0.0.1:{api.server_address[1]}
  token_file: {tmp}/token
  ca_file: ""
  node_name: node-k
  resync: 10m
""")
    procs = []
    aw = cli_json(cli, endpoint)
    try:
        daemon = start_daemon(bindir, endpoint, os.path.join(tmp, "daemon.log"), "--config", cfg,
                              "--state-dir", os.path.join(tmp, "state"), "--rules-dir",
                              os.path.join(tmp, "rules.d"), "--metrics-listen", "")
        procs.append(daemon)
        wait_for(lambda: api.requests, 20, "the daemon's first pod list")
        path, auth = api.requests[0]
        check(path == "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-k",
              f"lists this node's pods: {path}")
        check(auth == f"Bearer {token}", "with the service account token")

        # The agent (and the tool server it starts) in the pod's cgroup.
        project = os.path.join(tmp, "project")
        os.makedirs(project)
        script = (f"echo $$ > {cg}/cgroup.procs && exec node {CLIENT} stdio node {TOOL_SERVER} "
                  f"{project}")
        r = subprocess.run(["sh", "-c", script], cwd=TESTS, capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, CALLS=json.dumps([
                               {"tool": "note", "arguments": {"text": "hi"}},
                               {"tool": "run_command", "arguments": {"command": "id"}}])))
        check(r.returncode == 0, f"the agent: {r.stderr[-500:]}")

        def shell_alert():
            a = [x for x in aw("alerts") if x["rule_id"] == "server-spawns-shell"]
            return a[0] if a else None
        alert = wait_for(shell_alert, 20, "the shell alert")
        ak = alert.get("agent_kubernetes", {})
        sk = alert.get("server_kubernetes", {})
        check(ak.get("pod_uid") == uid and ak.get("container_id") == cid,
              f"the alert's agent is in the pod, by its cgroup: {ak}")
        check(sk.get("pod_uid") == uid, f"so is its server: {sk}")
        check(not ak.get("pod_name"), f"no name while the API server does not know the pod: {ak}")
        st = aw("status")[0]
        check(int(st.get("kubernetes", {}).get("unresolved", 0)) >= 1,
              f"the unresolved pod is counted: {st.get('kubernetes')}")

        # The pod shows up in the API: its names are filled in, late.
        n_before = len(api.requests)
        api.pods = [pod]
        # Lists come sooner while pods are unknown: 2 s, then backing off to 30 s.
        wait_for(lambda: len(api.requests) > n_before, 40, "a second list while the pod is unknown")

        def named():
            a = [x for x in aw("alerts") if x["rule_id"] == "server-spawns-shell"]
            return a[0] if a and a[0].get("agent_kubernetes", {}).get("pod_name") else None
        try:
            alert = wait_for(named, 15, "the alert with pod names")
        except SystemExit:
            alert = shell_alert() or {}
        ak = alert.get("agent_kubernetes", {})
        check(ak.get("pod_name") == "research-agent-7d9f8b6c4-x2k8p" and ak.get("namespace") == "agents",
              f"the alert now names the pod: {ak}")
        check(ak.get("workload_kind") == "Deployment" and ak.get("workload_name") == "research-agent",
              f"and its workload: {ak}")
        check(ak.get("container_name") == "agent" and ak.get("labels", {}).get("app") == "research-agent",
              f"and its container and labels: {ak}")
        check(ak.get("node_name") == "node-k" and ak.get("service_account") == "research-agent",
              f"and its node and service account: {ak}")
        agents = [x for x in aw("agents", "--all") if x.get("pod_uid") == uid]
        check(agents and agents[0].get("kubernetes", {}).get("pod_name") == "research-agent-7d9f8b6c4-x2k8p",
              f"agents shows the pod: {agents[:1]}")
        chains = [c for c in aw("chains") if c.get("agent_kubernetes", {}).get("pod_uid") == uid]
        check(chains and chains[0]["agent_kubernetes"].get("namespace") == "agents",
              f"the agent's chain carries the pod: {chains[:1]}")
        calls = [c for c in aw("calls") if c.get("server_kubernetes", {}).get("pod_uid") == uid]
        check(calls and calls[0]["server_kubernetes"].get("pod_name") == "research-agent-7d9f8b6c4-x2k8p",
              f"the calls carry the server's pod: {calls[:1]}")
        # A process started now carries the names on its own events.
        subprocess.run(["sh", "-c", f"echo $$ > {cg}/cgroup.procs && exec /bin/true"], check=True)
        ev = [e for e in aw("events") if e.get("process", {}).get("pod_uid") == uid and
              e.get("process", {}).get("pod_name")]
        check(ev and ev[-1]["process"].get("pod_namespace") == "agents",
              f"events carry pod name and namespace: {ev[-1:]}")
        text = subprocess.run([cli, "--endpoint", endpoint, "alerts"], capture_output=True,
                              text=True).stdout
        check("agents/research-agent-7d9f8b6c" in text, f"the alerts table has a POD column: {text[:800]}")
    finally:
        api.shutdown()
        rc = finish_run(procs, tmp, "kubernetes e2e")
        for d in (cg, pod_dir):
            try:
                os.rmdir(d)
            except OSError:
                pass
        for parent in (os.path.dirname(pod_dir), os.path.dirname(os.path.dirname(pod_dir))):
            try:
                os.rmdir(parent)  # only if empty (no real pods here)
            except OSError:
                pass
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
