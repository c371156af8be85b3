# Appends the items written on 2026-12-03 to the four .jsonl files, split by the
# same rule as the rest (test when int(sha256(id)[:8], 16) % 2 == 1). Run once
# with --write (it refuses ids already there); without it, it checks and counts.
import json, hashlib, sys, collections
exec(open(__import__("os").path.join(__import__("os").path.dirname(__file__), "benign_results.py")).read())
exec(open(__import__("os").path.join(__import__("os").path.dirname(__file__), "benign_defs.py")).read())
exec(open(__import__("os").path.join(__import__("os").path.dirname(__file__), "attacks.py")).read())
def split(i): return "test" if int(hashlib.sha256(i.encode()).hexdigest()[:8], 16) % 2 == 1 else "tune"
d = __import__("os").path.dirname(__file__) + "/../"
out = collections.defaultdict(list); cnt = collections.Counter()
for form, name, text in R:
    i = f"written:{form}:{name}"
    out["benign_results"].append({"id": i, "label": "benign", "class": None, "kind": "result", "source": "written-2026-12-03", "form": form, "split": split(i), "text": text})
for form, server, df in D:
    i = f"written:{server}/tool/{df['name']}"
    out["benign_definitions"].append({"id": i, "label": "benign", "class": None, "kind": "tool", "source": "written-2026-12-03", "form": form, "split": split(i), "def": df})
n = 275
for cls, field, df in AD:
    i = f"attack-def-{n}"; n += 1
    out["attack_definitions"].append({"id": i, "label": "attack", "class": cls, "field": field, "kind": "tool", "source": "written-2026-12-03", "split": split(i), "def": df})
n = 154
for cls, form, text in AR:
    i = f"attack-res-{n}"; n += 1
    out["attack_results"].append({"id": i, "label": "attack", "class": cls, "form": form, "kind": "result", "source": "written-2026-12-03", "split": split(i), "text": text})
ids = set()
for f, items in out.items():
    existing = {json.loads(l)["id"] for l in open(d + f + ".jsonl")}
    for it in items:
        assert it["id"] not in existing and it["id"] not in ids, it["id"]; ids.add(it["id"])
    if "--write" in sys.argv:
        with open(d + f + ".jsonl", "a") as fh:
            for it in items: fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    c = collections.Counter((it.get("form") or it.get("class"), it["split"]) for it in items)
    print(f, len(items), sorted(c.items()))
