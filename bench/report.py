"""Prints the tables of bench/run.sh from its hyperfine JSON and peak-memory files.

Usage: report.py WORKDIR SIZE...
"""
import json
import sys

work, sizes = sys.argv[1], sys.argv[2:]
TOOLS = ["mesh-render", "helm", "kustomize"]


def apps(size):
    return 2 if size == "playground" else int(size)


rows = []
for size in sizes:
    with open(f"{work}/{size}/time.json", encoding="utf-8") as f:
        results = {r["command"]: r for r in json.load(f)["results"]}
    with open(f"{work}/{size}/mem.txt", encoding="utf-8") as f:
        mem = dict(zip(TOOLS, (int(x) / 1024 for x in f.read().split())))
    rows.append((size, {t: results[t]["median"] for t in TOOLS if t in results}, mem))

print("\nCold CLI render vs the peers (median wall time of fresh processes; peak RSS = maximum resident set size)")
print(f"{'size':>10} | {'apps':>6} | {'mesh-render':>11} | {'helm':>9} | {'kustomize':>9} | {'helm/mesh':>9} | {'kust/mesh':>9} "
      f"| {'RSS mesh':>9} | {'RSS helm':>9} | {'RSS kust':>9} | {'helm/mesh':>9}")
for size, t, m in rows:
    if "kustomize" in t:
        kust = f"{t['kustomize']*1000:>6.1f} ms", f"{t['kustomize']/t['mesh-render']:>8.1f}x", f"{m['kustomize']:>5.1f} MiB"
    else:
        kust = f"{'skipped':>9}", f"{'-':>9}", f"{'-':>9}"
    print(f"{size:>10} | {apps(size):>6} | {t['mesh-render']*1000:>8.1f} ms | {t['helm']*1000:>6.1f} ms | {kust[0]} "
          f"| {t['helm']/t['mesh-render']:>8.1f}x | {kust[1]} "
          f"| {m['mesh-render']:>5.1f} MiB | {m['helm']:>5.1f} MiB | {kust[2]} | {m['helm']/m['mesh-render']:>8.1f}x")

print("\nScaling (each row against the one before: how much time and memory grow for how many more app namespaces)")
print(f"{'from':>10} -> {'to':>6} | {'apps x':>7} | {'mesh time x':>11} | {'helm time x':>11} | {'mesh RSS x':>10} | {'helm RSS x':>10} "
      f"| {'mesh us/app':>11} | {'helm us/app':>11}")
for (s0, t0, m0), (s1, t1, m1) in zip(rows, rows[1:]):
    da = apps(s1) - apps(s0)
    if da <= 0:
        continue
    print(f"{s0:>10} -> {s1:>6} | {apps(s1)/apps(s0):>6.1f}x | {t1['mesh-render']/t0['mesh-render']:>10.2f}x | {t1['helm']/t0['helm']:>10.2f}x "
          f"| {m1['mesh-render']/m0['mesh-render']:>9.2f}x | {m1['helm']/m0['helm']:>9.2f}x "
          f"| {(t1['mesh-render']-t0['mesh-render'])/da*1e6:>11.1f} | {(t1['helm']-t0['helm'])/da*1e6:>11.1f}")

targets = []
by = {s: (t, m) for s, t, m in rows}
if "playground" in by:
    r = by["playground"][0]["helm"] / by["playground"][0]["mesh-render"]
    targets.append((f"playground: mesh-render >= 20x faster than helm template ({r:.1f}x)", r >= 20))
if "10000" in by:
    r = by["10000"][0]["helm"] / by["10000"][0]["mesh-render"]
    targets.append((f"10,000 apps: mesh-render >= 10x faster than helm template ({r:.1f}x)", r >= 10))
lower = all(m["mesh-render"] < m["helm"] for _, _, m in rows)
targets.append(("peak memory below helm's at every size", lower))
print("\nTargets")
for text, ok in targets:
    print(f"  [{'met' if ok else 'MISSED'}] {text}")
