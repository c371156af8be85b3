// What a chain's entries are, for the timeline: effect kinds, the dynamic
// loader's and locale files (collapsed into one mark per call), egress and
// sensitive files. Pure functions of the API's JSON (tested by test/).

const TYPES = {
  1: "EXEC", 2: "FORK", 3: "EXIT", 10: "FILE_OPEN", 11: "FILE_UNLINK", 12: "FILE_RENAME",
  20: "NET_CONNECT", 21: "NET_ACCEPT", 22: "NET_BIND", 23: "NET_LISTEN", 24: "NET_CLOSE",
  25: "DNS_QUERY", 26: "PAYLOAD", 27: "CAPTURE_EVADED", 28: "POSTURE", 30: "PROCESS_SNAPSHOT",
  40: "LOSS", 50: "MCP_MESSAGE", 51: "MCP_CALL", 52: "MCP_TOOLS_CHANGED", 53: "CHAIN_UPDATE",
  54: "ALERT",
};

// EventType as JSON gives it ("EVENT_TYPE_FILE_OPEN", or a number) ->
// "FILE_OPEN".
export function eventType(t) {
  if (t === undefined || t === null || t === "") return "UNSPECIFIED";
  if (typeof t === "number" || /^\d+$/.test(String(t))) return TYPES[Number(t)] || "UNSPECIFIED";
  return String(t).replace(/^EVENT_TYPE_/, "");
}

// The mark's kind: file, exec, connect, dns, net, evasion, other.
export function effectKind(effect) {
  const t = eventType(effect && effect.type);
  if (t.startsWith("FILE_")) return "file";
  if (t === "EXEC" || t === "FORK" || t === "EXIT") return "exec";
  if (t === "NET_CONNECT") return "connect";
  if (t === "DNS_QUERY") return "dns";
  if (t.startsWith("NET_")) return "net";
  if (t === "CAPTURE_EVADED") return "evasion";
  if (t === "PAYLOAD") return "net";
  return "other";
}

// The path of a file effect, from its summary ("open PATH FLAGS = RESULT",
// "unlink PATH = R", "rename A -> B = R").
export function effectPath(effect) {
  const s = (effect && effect.summary) || "";
  let m = /^(?:open|unlink) (.*) = [^=]*$/.exec(s);
  if (m) {
    let rest = m[1];
    const sp = rest.lastIndexOf(" ");
    if (s.startsWith("open ") && sp > 0 && /^(O_[A-Z0-9_|]+|0x[0-9a-f]+|0)$/i.test(rest.slice(sp + 1))) {
      rest = rest.slice(0, sp);
    }
    return rest;
  }
  m = /^rename (.*) -> (.*) = [^=]*$/.exec(s);
  if (m) return m[1];
  return "";
}

// Where a network effect went: "connect tcp L -> R = 0" gives R; a DNS
// query gives its names.
export function effectDestination(effect) {
  const s = (effect && effect.summary) || "";
  let m = /-> (\S+) =/.exec(s);
  if (m && effectKind(effect) !== "file") return m[1];
  m = /^close \S+ \S+ -> (\S+)/.exec(s);
  if (m) return m[1];
  m = /^dns (\S+)/.exec(s);
  if (m) return m[1];
  return "";
}

// The dynamic loader, shared libraries, locales, time zones and iconv
// modules every program opens at start. Never a credential file, and
// never a file in a scratch directory anyone can write (/tmp, /var/tmp,
// /dev/shm, /run/user): a library dropped there and loaded, or a file
// named like one, is shown, not folded away.
const SCRATCH = /^\/(tmp|var\/tmp|dev\/shm|run\/user)\//;
export function isLoaderPath(p) {
  if (!p || SCRATCH.test(p) || isSensitivePath(p)) return false;
  if (/^\/(usr\/)?(local\/)?lib(32|64)?\//.test(p)) return true;
  if (p.startsWith("/etc/ld.so")) return true;
  if (p.startsWith("/usr/share/locale/") || p.startsWith("/usr/share/zoneinfo/")) return true;
  const base = p.slice(p.lastIndexOf("/") + 1);
  return /\.so(\.\d+)*$/.test(base);
}

export function isLoaderEffect(effect) {
  return eventType(effect && effect.type) === "FILE_OPEN" && isLoaderPath(effectPath(effect));
}

// Loopback and unspecified addresses ("127.0.0.5:80", "[::1]:80", "::1").
export function isLoopback(addr) {
  if (!addr) return true;
  let host = addr;
  const v6 = /^\[([^\]]*)\](?::\d+)?$/.exec(addr);
  if (v6) host = v6[1];
  else if (/^[\d.]+:\d+$/.test(addr)) host = addr.slice(0, addr.lastIndexOf(":"));
  if (host.startsWith("unix") || host.startsWith("/") || host.startsWith("@")) return true;
  return host.startsWith("127.") || host === "::1" || host === "0.0.0.0" || host === "::" ||
    host === "localhost" || host.startsWith("::ffff:127.");
}

// Egress: a connection or a send to an address outside the host.
export function isEgress(effect) {
  const t = eventType(effect && effect.type);
  const s = (effect && effect.summary) || "";
  if (t === "NET_CONNECT" || (t === "PAYLOAD" && /send/.test(s)) || /^sendto|^sendmsg/.test(s)) {
    const d = effectDestination(effect);
    return d !== "" && !isLoopback(d);
  }
  return false;
}

// Files that hold credentials (the detect module's sensitive paths, the
// common ones).
const SENSITIVE = [
  /\/\.aws\//, /\/\.ssh\//, /\/\.gnupg\//, /\/\.kube\/config/, /\/\.docker\/config\.json$/,
  /\/\.netrc$/, /\/\.git-credentials$/, /\/\.npmrc$/, /\/\.pypirc$/, /\/\.env(\.[^/]*)?$/,
  /^\/etc\/shadow/, /^\/etc\/gshadow/, /^\/etc\/sudoers/, /id_(rsa|dsa|ecdsa|ed25519)/,
  /\/credentials(\.json)?$/, /\/\.config\/gcloud\//, /\/\.azure\//, /\.pem$/, /\.key$/,
  /\/var\/run\/secrets\//, /\/run\/secrets\//,
];
export function isSensitivePath(p) {
  return !!p && SENSITIVE.some((r) => r.test(p));
}

// Signals alerts name (evidence) that mean a secret, and ones that mean egress.
const SECRET_SIGNALS = /sensitive|secret|credential|posture/;
const EGRESS_SIGNALS = /egress|sent_out|exfil|dns_tunnel|outbound/;

// The highlight classes of an effect: "egress", "secret", "net", given the
// signals alert evidence tied to it (a Set of signal names, may be empty).
export function effectHighlights(effect, signals) {
  const out = new Set();
  const sig = signals ? [...signals] : [];
  if (isEgress(effect) || sig.some((s) => EGRESS_SIGNALS.test(s))) out.add("egress");
  const k = effectKind(effect);
  if (k === "connect" || k === "net" || k === "dns") out.add("net");
  if (isSensitivePath(effectPath(effect)) || sig.some((s) => SECRET_SIGNALS.test(s))) out.add("secret");
  return out;
}

// A call's own flags: a secret in its arguments or result (content flags,
// encoded runs, masked credentials) and evidence signals tied to it.
export function callHighlights(call, signals) {
  const out = new Set();
  const sig = signals ? [...signals] : [];
  if (call.content_flag || call.arguments_encoded_excerpt || /\[REDACTED|\u2039|secret:/i.test(call.arguments || "") ||
      sig.some((s) => SECRET_SIGNALS.test(s))) out.add("secret");
  if (sig.some((s) => EGRESS_SIGNALS.test(s))) out.add("egress");
  if ((call.flows && call.flows.length) || (call.written_by && call.written_by.length)) out.add("flow");
  return out;
}

// The marks under a call: its effects in order, the loader's opens folded
// into one {loader: true, count, effects} mark unless showAll.
export function marksOf(effects, showAll) {
  const marks = [];
  let loader = null;
  for (const e of effects || []) {
    if (!showAll && isLoaderEffect(e)) {
      if (!loader) {
        loader = { loader: true, count: 0, effects: [] };
        marks.push(loader);
      }
      loader.count++;
      loader.effects.push(e);
    } else {
      marks.push({ effect: e });
    }
  }
  return marks;
}

// The short label of a mark.
export function markLabel(e) {
  const k = effectKind(e);
  if (k === "file") {
    const t = eventType(e.type);
    const verb = t === "FILE_OPEN" ? "open" : t === "FILE_UNLINK" ? "unlink" : "rename";
    return `${verb} ${effectPath(e)}`;
  }
  if (k === "connect") return `connect ${effectDestination(e)}`;
  if (k === "dns") return `dns ${effectDestination(e)}`;
  return e.summary || eventType(e.type).toLowerCase();
}
