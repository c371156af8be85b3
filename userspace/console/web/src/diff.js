// A line diff (longest common subsequence) for tool definitions: what a
// rug pull changed in a description or an input schema.

// [{op: "same"|"del"|"add", text}] turning a into b. Inputs past maxLines
// lines each are cut (a definition is bounded by the daemon anyway).
export function lineDiff(a, b, maxLines = 2000) {
  const x = String(a || "").split("\n").slice(0, maxLines);
  const y = String(b || "").split("\n").slice(0, maxLines);
  if (x.length === 1 && x[0] === "" && !a) x.length = 0;
  if (y.length === 1 && y[0] === "" && !b) y.length = 0;
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: LCS length of x[i..], y[j..]
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: "same", text: x[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ op: "del", text: x[i++] });
    } else {
      out.push({ op: "add", text: y[j++] });
    }
  }
  while (i < n) out.push({ op: "del", text: x[i++] });
  while (j < m) out.push({ op: "add", text: y[j++] });
  return out;
}

// Canonical JSON (one key per line) so a schema diffs line by line; text
// that is not JSON is returned as is.
export function prettyJSON(s) {
  if (!s) return "";
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return String(s);
  }
}
