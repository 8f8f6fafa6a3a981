"""Prints the tables of bench/run.sh from its hyperfine JSON and CPU files (bench/cpu.py).

Usage: report.py WORKDIR SIZE...
"""
import json
import sys

work, sizes = sys.argv[1], sys.argv[2:]
TOOLS = ["mesh-render", "helm", "kustomize"]


def apps(size):
    return 2 if size == "playground" else int(size)


def label(size):
    return "playground" if size == "playground" else f"{int(size):,} app namespaces"


def ms(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mib(kib):
    return f"{kib / 1024:.1f}"


rows = []
for size in sizes:
    with open(f"{work}/{size}/time.json", encoding="utf-8") as f:
        results = {r["command"]: r for r in json.load(f)["results"]}
    cpu, rss = {}, {}
    with open(f"{work}/{size}/cpu.txt", encoding="utf-8") as f:
        for line in f:
            tool, seconds, kib = line.split()
            cpu[tool], rss[tool] = float(seconds), int(kib)
    wall = {t: results[t]["median"] for t in TOOLS if t in results}
    rows.append((size, wall, cpu, rss))

print("\nCold CLI render vs helm template (wall: median of fresh processes, hyperfine; CPU: median user + system")
print("time of the child, wait4; peak RSS: largest maximum resident set size)\n")
print("| size | wall mesh-render | wall helm | wall ratio | CPU ratio | peak RSS mesh / helm |")
print("|---|---|---|---|---|---|")
for size, wall, cpu, rss in rows:
    print(f"| {label(size)} | {ms(wall['mesh-render'])} | {ms(wall['helm'])} | {wall['helm'] / wall['mesh-render']:.1f}× "
          f"| {cpu['helm'] / cpu['mesh-render']:.1f}× | {mib(rss['mesh-render'])} / {mib(rss['helm'])} MiB |")

print("\nCPU time and kustomize (kubectl kustomize of the same objects as static files)\n")
print("| size | CPU mesh-render | CPU helm | CPU kustomize | wall kustomize | kustomize / mesh (CPU) | peak RSS kustomize |")
print("|---|---|---|---|---|---|---|")
for size, wall, cpu, rss in rows:
    if "kustomize" in cpu:
        kust = f"{ms(cpu['kustomize'])} | {ms(wall['kustomize'])} | {cpu['kustomize'] / cpu['mesh-render']:.1f}× | {mib(rss['kustomize'])} MiB"
    else:
        kust = "skipped | - | - | -"
    print(f"| {label(size)} | {ms(cpu['mesh-render'])} | {ms(cpu['helm'])} | {kust} |")

print("\nScaling (each row against the one before: how much time and memory grow for how many more app namespaces)")
print(f"{'from':>10} -> {'to':>6} | {'apps x':>7} | {'mesh CPU x':>10} | {'helm CPU x':>10} | {'mesh RSS x':>10} | {'helm RSS x':>10} "
      f"| {'mesh CPU us/app':>15} | {'helm CPU us/app':>15}")
for (s0, _, c0, m0), (s1, _, c1, m1) in zip(rows, rows[1:]):
    da = apps(s1) - apps(s0)
    if da <= 0:
        continue
    print(f"{s0:>10} -> {s1:>6} | {apps(s1) / apps(s0):>6.1f}x | {c1['mesh-render'] / c0['mesh-render']:>9.2f}x "
          f"| {c1['helm'] / c0['helm']:>9.2f}x | {m1['mesh-render'] / m0['mesh-render']:>9.2f}x | {m1['helm'] / m0['helm']:>9.2f}x "
          f"| {(c1['mesh-render'] - c0['mesh-render']) / da * 1e6:>15.1f} | {(c1['helm'] - c0['helm']) / da * 1e6:>15.1f}")

# Issue 24: at least 30x less CPU than helm template, and at most half its peak memory, at every size.
print("\nTargets")
for size, _, cpu, rss in rows:
    ratio = cpu["helm"] / cpu["mesh-render"]
    print(f"  [{'met' if ratio >= 30 else 'MISSED'}] {label(size)}: >= 30x less CPU than helm template ({ratio:.1f}x)")
    half = rss["mesh-render"] * 2 <= rss["helm"]
    print(f"  [{'met' if half else 'MISSED'}] {label(size)}: peak memory at most half of helm's "
          f"({mib(rss['mesh-render'])} / {mib(rss['helm'])} MiB)")
