"""Checks that the benchmarked tools emit the same objects; prints the object count.

Usage: compare.py MESH_RENDER_STREAM OTHER_STREAM...  Exits 1 if any stream holds other objects.
"""
import sys

import yaml


def objects(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.load_all(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in docs}, len(docs)


reference, count = objects(sys.argv[1])
for other in sys.argv[2:]:
    objs, n = objects(other)
    if objs != reference or n != count:
        differing = sorted(k for k in set(objs) | set(reference) if objs.get(k) != reference.get(k))
        sys.exit(f"{other}: {n} objects, {len(differing)} differ from mesh-render's {count}, e.g. {differing[:3]}")
print(count)
