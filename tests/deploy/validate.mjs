// Validates rendered Kubernetes objects (a JSON array on stdin) against the
// Kubernetes API schemas, two ways:
//  - kubernetes-models' validators (types, required fields, formats, enums);
//  - the TypeScript types of the same models, with every object written as
//    an object literal, so that a field the API does not have (a typo, a
//    field at the wrong level) is an excess-property error.
// Prints one line per object and exits non-zero if any is invalid.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "..", "node_modules");
const objects = JSON.parse(readFileSync(0, "utf8"));

// apiVersion/kind -> [module path, class/interface name]
function modelOf(o) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  if (group === "monitoring.coreos.com")
    return [`@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`, o.kind];
  const g = group === "" ? "" : `${group}/`;
  return [`kubernetes-models/${g}${version}/${o.kind}`, o.kind];
}

let failed = 0;
const ts = [];
for (const [i, o] of objects.entries()) {
  const [path, kind] = modelOf(o);
  const name = `${o.kind}/${o.metadata?.name ?? "?"}`;
  let mod;
  try {
    mod = await import(path);
  } catch (e) {
    console.log(`INVALID ${name}: no schema for ${o.apiVersion} ${o.kind}`);
    failed++;
    continue;
  }
  try {
    new mod[kind](o).validate();
    console.log(`valid ${name}`);
  } catch (e) {
    console.log(`INVALID ${name}: ${e.message}`);
    failed++;
  }
  ts.push(`import type { I${kind} as T${i} } from "${path}";\nexport const o${i}: T${i} = ${JSON.stringify(o, null, 1)};\n`);
}

// The type check, in a scratch directory that resolves the same modules.
const dir = mkdtempSync(join(tmpdir(), "aw-k8s-"));
try {
  writeFileSync(join(dir, "objects.ts"), ts.join("\n"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext",
      target: "es2022", skipLibCheck: true, typeRoots: [], baseUrl: ".",
      paths: { "*": [join(modules, "*")] },
    },
    files: ["objects.ts"],
  }));
  execFileSync(process.execPath, [join(modules, "typescript", "bin", "tsc"), "-p", dir],
               { stdio: "pipe" });
  console.log(`types: ${objects.length} objects match the API's types exactly`);
} catch (e) {
  console.log(`INVALID types:\n${(e.stdout ?? "").toString()}${(e.stderr ?? "").toString()}`);
  failed++;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
