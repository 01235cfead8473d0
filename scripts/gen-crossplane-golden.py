#!/usr/bin/env python3
"""Regenerate crates/conf/tests/data/crossplane-golden.json.gz: crossplane's
parse (single file, no comments, no context/argument checks) of every file in
the shared nginx config corpus, reduced to [directive, args, block?] trees.

    pip install crossplane==0.5.8
    scripts/gen-crossplane-golden.py ../shared/corpus/nginx-configs \
        crates/conf/tests/data/crossplane-golden.json.gz
"""
import json, sys, os, gzip
import crossplane
root = sys.argv[1]
out = {}
for line in open(os.path.join(root, "MANIFEST.tsv")).read().splitlines()[1:]:
    path = line.split("\t")[0]
    full = os.path.join(root, path)
    try:
        p = crossplane.parse(full, single=True, catch_errors=False, check_ctx=False, check_args=False, comments=False)
    except Exception as e:
        out[path] = {"error": str(e)}
        continue
    cfg = p["config"][0]
    if cfg["status"] != "ok":
        out[path] = {"error": str(cfg["errors"])}
        continue
    def strip(block):
        res = []
        for d in block:
            item = [d["directive"], d["args"]]
            if "block" in d:
                item.append(strip(d["block"]))
            res.append(item)
        return res
    out[path] = {"tree": strip(cfg["parsed"])}
data = json.dumps(out, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
print(len(data), file=sys.stderr)
with gzip.GzipFile(sys.argv[2], "wb", mtime=0) as f:
    f.write(data)
