// A process tree from exec and exit events (each names its process's pid
// and ppid): the root pid and every descendant the events show.

export function buildProcessTree(events, rootPid) {
  const nodes = new Map();
  const node = (pid) => {
    if (!nodes.has(pid)) nodes.set(pid, { pid, ppid: 0, execs: [], exit: null, children: [] });
    return nodes.get(pid);
  };
  for (const ev of events || []) {
    const p = ev.process || {};
    const pid = Number(p.pid || 0);
    if (!pid) continue;
    const n = node(pid);
    if (p.ppid) n.ppid = Number(p.ppid);
    if (ev.exec) {
      n.execs.push({ time: ev.time_unix_ns, filename: ev.exec.filename || p.exe || "",
                     argv: ev.exec.argv || [], cwd: ev.exec.cwd || "" });
    } else if (ev.exit) {
      n.exit = { time: ev.time_unix_ns, code: Number(ev.exit.exit_code || 0),
                 signal: Number(ev.exit.signal || 0), swept: !!ev.exit.swept };
    }
    if (!n.execs.length && p.exe) n.exe = p.exe;
  }
  const root = node(Number(rootPid));
  for (const n of nodes.values()) {
    if (n === root || !n.ppid || n.ppid === n.pid) continue;
    if (nodes.has(n.ppid)) nodes.get(n.ppid).children.push(n);
  }
  // Only what descends from the root (the backlog also holds ancestors'
  // matches); children by pid.
  const seen = new Set();
  const walk = (n) => {
    if (seen.has(n.pid)) return;
    seen.add(n.pid);
    n.children.sort((a, b) => a.pid - b.pid);
    n.children.forEach(walk);
  };
  walk(root);
  return root;
}
