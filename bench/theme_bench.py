#!/usr/bin/env python3
"""Benchmark of the default theme: the example site's schema at N projects.

Usage:
    python3 bench/theme_bench.py [options] [PROJECTS ...]      (default: 10000 100000)

For each size N it:
  1. generates the site with bench/theme_corpus.py --projects N (the example site's
     vitrine.yaml, data/ and themes/default/, search page included; kept in the work
     dir and reused while its manifest matches);
  2. builds it once untimed (below 50,000 projects; --warmup / --no-warmup); every
     build, timed or not, must exit 0 with no error line (validation of every
     generated file) or the script stops; warnings are counted and printed;
  3. times RUNS full builds from scratch: `rm -rf OUT SITE/.vitrine && vitrine build
     --site SITE --out OUT` under /usr/bin/time -v (the image cache, in .vitrine/,
     goes too), OUT on tmpfs (/dev/shm) when memory has room for both the output and
     the build (else on disk, WORK/out);
  4. measures the last full build's output: total size and files, HTML pages, the
     search bundle (OUT/pagefind/), the picture files published, and the distinct
     pictures the image stage processed (manifests in .vitrine/cache/images/);
  5. times RUNS no-op rebuilds over that output (same command, state kept) and
     counts the output files the first one created, modified (new mtime or size)
     or removed;
  6. prints Markdown tables: absolute figures and rates per 1,000 entries. There is
     no reference tool for the default theme (Hugo cannot build this site), so no
     ratio is given.
Builds run with VITRINE_NOW set to the corpus's day (--today of the generator), so
the split of past and upcoming training sessions is the same on every run.

Runs default to 3 below 50,000 projects and 1 from 50,000 (--runs to force).
Before each timed build it checks free memory (MemAvailable) against
--min-free-gib (default: 2 GiB + what the build was measured to need, 0.22 GiB per
1,000 projects with search, 0.11 without) and stops if there is less; --vmem-gib
puts a `ulimit -v` on each build, and --kill-below-gib kills a build (by its pid)
when the machine's available memory falls below that while it runs. Standard
library only (reuses bench.py's helpers). Never run by the test suite.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import bench  # noqa: E402  (timed, load_average, machine_description, git_rev, sh_quote, build_vitrine)
import theme_corpus  # noqa: E402

log = bench.log
die = bench.die


def mem_available_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except (OSError, ValueError):
        pass
    return float("nan")


def tmpfs_free_gib(path):
    try:
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize / 2**30
    except OSError:
        return 0.0


def make_site(work, n, seed, extra):
    site = os.path.join(work, "theme-site-%d" % n)
    want = {"projects": n, "seed": seed, "generator_version": theme_corpus.GENERATOR_VERSION,
            "images_every": extra["images_every"], "image_pool": extra["image_pool"]}
    try:
        with open(os.path.join(site, "manifest.json"), encoding="utf-8") as f:
            m = json.load(f)
        if all(m.get(k) == v for k, v in want.items()) and m["pictures"]["unique_images"] == extra["unique_images"]:
            log("theme-bench: reusing %s" % site)
            return site, m
    except (OSError, ValueError, KeyError):
        pass
    log("theme-bench: generating %d projects in %s" % (n, site))
    if os.path.exists(site):
        shutil.rmtree(site)
    cmd = [sys.executable, os.path.join(BENCH_DIR, "theme_corpus.py"), "--projects", str(n), "--out", site,
           "--seed", str(seed), "--images-every", str(extra["images_every"]), "--image-pool", str(extra["image_pool"])]
    if extra["unique_images"]:
        cmd.append("--unique-images")
    bench.run(cmd)
    with open(os.path.join(site, "manifest.json"), encoding="utf-8") as f:
        return site, json.load(f)


def diagnostics(output):
    """(error lines, warning lines) of a build's output."""
    errors = [l for l in output.splitlines() if l.startswith("erreur") or " ERROR " in l]
    warnings = [l for l in output.splitlines() if l.startswith("avertissement") or " WARN " in l]
    return errors, warnings


def check(r, what):
    """Stops unless the build exited 0 with no error line; returns its warning count."""
    errors, warnings = diagnostics(r["output"])
    if r["exit"] != 0 or errors:
        trace = r.get("trace", [])
        die("%s of the generated site failed (exit %d after %.1f s, %d error lines, peak RSS %.0f MiB; "
            "RSS trace, last samples: %s):\n%s"
            % (what, r["exit"], r["wall"], len(errors), r["rss_mib"],
               ", ".join("%.0f s %.0f MiB" % x for x in trace[-1::-max(1, len(trace) // 12)][::-1]),
               r["output"][-6000:]))
    m = re.search(r"(\d+) avertissement", summary_line(r["output"]))
    count = int(m.group(1)) if m else len(warnings)
    log("theme-bench: %s: exit 0, 0 errors, %d warnings" % (what, count))
    for w in warnings[:10]:
        log("  " + w)
    return count


def summary_line(output):
    """The last line of vitrine's build summary (stage times), if any."""
    lines = [l for l in output.splitlines() if "chargement" in l]
    return lines[-1].strip() if lines else ""


def changes(before, after):
    created = sum(1 for k in after if k not in before)
    modified = sum(1 for k, v in after.items() if k in before and before[k] != v)
    removed = sum(1 for k in before if k not in after)
    return created, modified, removed


IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")


def census(out, site):
    files = size = html = bundle_files = bundle_bytes = img_files = img_bytes = 0
    bundle = os.path.join(out, "pagefind")
    for dirpath, _, names in os.walk(out):
        in_bundle = dirpath == bundle or dirpath.startswith(bundle + os.sep)
        for fn in names:
            n = os.path.getsize(os.path.join(dirpath, fn))
            files += 1
            size += n
            if in_bundle:
                bundle_files += 1
                bundle_bytes += n
            elif fn.endswith(".html"):
                html += 1
            elif fn.lower().endswith(IMAGE_EXT) and "/projets/" in os.path.join(dirpath, fn):
                img_files += 1
                img_bytes += n
    cache = os.path.join(site, ".vitrine", "cache", "images")
    processed = len([f for f in os.listdir(cache) if f.endswith(".txt")]) if os.path.isdir(cache) else 0
    return {"files": files, "bytes": size, "html": html, "bundle_files": bundle_files, "bundle_bytes": bundle_bytes,
            "picture_files": img_files, "picture_bytes": img_bytes, "distinct_processed": processed}


def rss_of_tree(pid):
    """(resident KiB, pids) of pid's descendants (GNU time -> sh -> exec vitrine)."""
    total, todo, pids = 0, [pid], []
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo += [int(c) for c in f.read().split()]
            if p != pid:
                pids.append(p)
                with open("/proc/%d/status" % p) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total, pids


def timed_traced(cmd_line, scratch, every=0.5, kill_below_gib=None):
    """bench.timed, plus a trace [(seconds, RSS MiB)] of the build sampled every `every` s.
    With kill_below_gib, the build is killed (SIGKILL, by pid) as soon as the machine's
    available memory falls below it: the build is the one to go, not a neighbour's."""
    tfile = os.path.join(scratch, "time.txt")
    ofile = os.path.join(scratch, "out.txt")
    trace = []
    with open(ofile, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([bench.GNU_TIME, "-v", "-o", tfile, "sh", "-c", cmd_line],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        killed = None
        while proc.poll() is None:
            rss, pids = rss_of_tree(proc.pid)
            trace.append((time.perf_counter() - t0, rss / 1024))
            free = mem_available_gib()
            if kill_below_gib is not None and free < kill_below_gib and killed is None and pids:
                killed = free
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
            try:
                proc.wait(every)
            except subprocess.TimeoutExpired:
                pass
        wall = time.perf_counter() - t0
    with open(ofile, encoding="utf-8", errors="replace") as f:
        output = f.read()
    t = bench.parse_gnu_time(tfile)
    if killed is not None:
        output += "\ntheme-bench: build killed: %.2f GiB of memory available, under --kill-below-gib\n" % killed
    return {"wall": wall, "cpu": t["user"] + t["sys"], "rss_mib": t["max_rss_kib"] / 1024,
            "exit": proc.returncode, "output": output, "trace": trace}


def stage_rss(r):
    """RSS at the end of each stage of the summary line (stages are consecutive, from
    the process start; load and model overlap the trace's first samples)."""
    m = re.search(r"\((chargement [^)]*)\)", summary_line(r["output"]))
    if not m or not r.get("trace"):
        return ""
    start = r["wall"] - int(re.search(r"en (\d+) ms", summary_line(r["output"])).group(1)) / 1000
    out, t = [], start
    for part in m.group(1).split(", "):
        name, ms = part.rsplit(" ", 2)[0], int(part.rsplit(" ", 2)[1])
        t += ms / 1000
        seen = [rss for (ts, rss) in r["trace"] if ts <= t]
        if seen:
            out.append("%s %.0f" % (name, max(seen)))
    return "peak RSS (MiB) by the end of: " + ", ".join(out)


KILL_BELOW = [None]  # --kill-below-gib


def timed_build(cmd_line, scratch, min_free, what):
    free = mem_available_gib()
    if free < min_free:
        die("%s: only %.1f GiB of memory available, %.1f GiB asked (--min-free-gib); not starting" % (what, free, min_free))
    r = timed_traced(cmd_line, scratch, kill_below_gib=KILL_BELOW[0])
    r["mem_free_before_gib"] = free
    r["load"] = bench.load_average()
    return r


def mib(b):
    return b / 2**20


def fmt_table(head, body):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = [bench.fmt_row(head, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(lines + [bench.fmt_row(b, widths) for b in body])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("projects", nargs="*", type=int, default=[10000, 100000], help="sizes in projects (default: 10000 100000)")
    ap.add_argument("--runs", type=int, default=None, help="timed builds of each kind (default 3 below 50,000 projects, else 1)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    ap.add_argument("--images-every", type=int, default=4, help="one project in K has a cover picture (default 4)")
    ap.add_argument("--image-pool", type=int, default=16, help="distinct pictures (default 16)")
    ap.add_argument("--unique-images", action="store_true", help="every picture copy distinct bytes (see theme_corpus.py)")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "vitrine-theme-bench"),
                    help="where the generated sites go (default %(default)s)")
    ap.add_argument("--out-root", default=None,
                    help="where outputs go (default /dev/shm/vitrine-theme-bench-out when tmpfs has room, else WORK/out)")
    ap.add_argument("--vitrine", default=None, help="use this vitrine binary instead of cargo build --release")
    ap.add_argument("--drop-outputs", action="store_true", help="delete each size's output and .vitrine/ once measured")
    ap.add_argument("--remove-sites", action="store_true", help="delete each generated site once measured")
    ap.add_argument("--min-free-gib", type=float, default=None,
                    help="stop before a build when less memory is available (default 2 + 0.22 GiB per 1,000 projects, 0.11 with --no-search)")
    ap.add_argument("--vmem-gib", type=float, default=None, help="ulimit -v for each build, in GiB (default none)")
    ap.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=None,
                    help="one untimed build first (default: below 50,000 projects); every build is checked anyway")
    ap.add_argument("--kill-below-gib", type=float, default=None,
                    help="kill a build when the machine's available memory falls below this (default: never)")
    ap.add_argument("--no-search", action="store_true",
                    help="build without the search index (the theme's search.html removed from the generated site)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be >= 1")
    KILL_BELOW[0] = args.kill_below_gib
    if not os.access(bench.GNU_TIME, os.X_OK):
        bench.ensure_tools(False)

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    built = os.path.abspath(args.vitrine) if args.vitrine else bench.build_vitrine()
    exe = os.path.join(work, "vitrine-under-test")  # a private copy: target/ may be rebuilt meanwhile
    shutil.copy2(built, exe)
    scratch = tempfile.mkdtemp(prefix="run-", dir=work)
    extra = {"images_every": args.images_every, "image_pool": args.image_pool, "unique_images": args.unique_images}
    machine = bench.machine_description()
    rev = bench.git_rev()
    log("theme-bench: machine: %(cpu)s, %(cores)s cores, %(memory_gib)s GiB, %(os)s, Linux %(kernel)s" % machine)
    log("theme-bench: vitrine %s (%s)" % (rev, built))

    results = []
    try:
        for n in args.projects:
            runs = args.runs or (3 if n < 50000 else 1)
            # Measured peaks: ~0.22 GiB per 1,000 projects with search, ~0.11 without.
            per_k = 0.11 if args.no_search else 0.22
            min_free = args.min_free_gib if args.min_free_gib is not None else 2 + per_k * n / 1000
            site, manifest = make_site(work, n, args.seed, extra)
            search_page = os.path.join(site, "themes", "default", "templates", "search.html")
            if args.no_search and os.path.exists(search_page):
                os.remove(search_page)  # a theme without search.html: no search index
            elif not args.no_search:
                shutil.copy(os.path.join(bench.REPO, "themes", "default", "templates", "search.html"), search_page)
            os.environ["VITRINE_NOW"] = manifest["today"] + "T08:00:00+01:00"
            if args.out_root:
                out_root = os.path.abspath(args.out_root)
            elif os.path.isdir("/dev/shm") and min(tmpfs_free_gib("/dev/shm"), mem_available_gib()) > \
                    4 + (0.1 + 0.25) * n / 1000:
                # tmpfs lives in memory: only when the output (~0.1 GiB per 1,000 projects)
                # and the build's own peak (~0.25 GiB per 1,000) fit beside each other.
                out_root = "/dev/shm/vitrine-theme-bench-out"
            else:
                out_root = os.path.join(work, "out")
            os.makedirs(out_root, exist_ok=True)
            out = os.path.join(out_root, "theme-%d" % n)
            state = os.path.join(site, ".vitrine")
            ulimit = "ulimit -v %d && " % int(args.vmem_gib * 2**20) if args.vmem_gib else ""
            full = "%srm -rf %s %s && exec %s build --site %s --out %s" % (
                ulimit, bench.sh_quote(out), bench.sh_quote(state), bench.sh_quote(exe), bench.sh_quote(site), bench.sh_quote(out))
            noop = "%sexec %s build --site %s --out %s" % (ulimit, bench.sh_quote(exe), bench.sh_quote(site), bench.sh_quote(out))
            warmup = args.warmup if args.warmup is not None else n < 50000
            if warmup:
                log("theme-bench: %d projects, %d entries: warm-up build (untimed), output in %s"
                    % (n, manifest["entries"], out_root))
                check(timed_build(full, scratch, min_free, "warm-up build"), "warm-up build")
            log("theme-bench: load average before timing %.2f, %.1f GiB available" % (bench.load_average(), mem_available_gib()))
            fulls = []
            for i in range(runs):
                r = timed_build(full, scratch, min_free, "full build %d" % (i + 1))
                warnings = check(r, "full build %d" % (i + 1))
                r["summary"] = summary_line(r["output"])
                r["stage_rss"] = stage_rss(r)
                log("theme-bench: full %d/%d: %.2f s wall, %.2f s CPU, %.0f MiB; load %.2f; %s"
                    % (i + 1, runs, r["wall"], r["cpu"], r["rss_mib"], r["load"], r["summary"]))
                log("theme-bench:   " + r["stage_rss"])
                fulls.append(r)
            c = census(out, site)
            log("theme-bench: output %.1f MiB in %d files (%d HTML); search bundle %.1f MiB in %d files; "
                "%d picture files (%.1f MiB); %d distinct pictures processed"
                % (mib(c["bytes"]), c["files"], c["html"], mib(c["bundle_bytes"]), c["bundle_files"],
                   c["picture_files"], mib(c["picture_bytes"]), c["distinct_processed"]))
            before = bench.snapshot(out)
            noops = []
            for i in range(runs):
                r = timed_build(noop, scratch, min_free, "no-op build %d" % (i + 1))
                if r["exit"] != 0:
                    die("no-op build %d failed:\n%s" % (i + 1, r["output"][-4000:]))
                if i == 0:
                    r["changes"] = changes(before, bench.snapshot(out))
                r["summary"] = summary_line(r["output"])
                log("theme-bench: no-op %d/%d: %.3f s wall, %.3f s CPU, %.0f MiB; %s"
                    % (i + 1, runs, r["wall"], r["cpu"], r["rss_mib"], r["summary"]))
                noops.append(r)
            res = {"projects": n, "entries": manifest["entries"], "manifest": manifest, "runs": runs,
                   "out_root": out_root, "census": c, "warnings": warnings}
            for kind, rs in (("full", fulls), ("noop", noops)):
                med = sorted(rs, key=lambda x: x["wall"])[len(rs) // 2]
                res[kind] = {"wall": statistics.median(x["wall"] for x in rs),
                             "cpu": statistics.median(x["cpu"] for x in rs),
                             "rss_mib": statistics.median(x["rss_mib"] for x in rs),
                             "walls": [round(x["wall"], 3) for x in rs],
                             "cpus": [round(x["cpu"], 2) for x in rs],
                             "rsss": [round(x["rss_mib"]) for x in rs],
                             "loads": [round(x["load"], 2) for x in rs],
                             "summary_of_median": med["summary"], "stage_rss_of_median": med.get("stage_rss", "")}
            res["noop"]["changes"] = noops[0]["changes"]
            results.append(res)
            if args.drop_outputs:
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(state, ignore_errors=True)
            if args.remove_sites:
                shutil.rmtree(site, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print("Machine: %(cpu)s, %(cores)s cores, %(memory_gib)s GiB RAM, %(os)s, Linux %(kernel)s" % machine)
    print("vitrine %s, default theme, search %s; load average %.2f at the end; no reference tool "
          "(absolute figures; rates per 1,000 entries)" % (rev, "off" if args.no_search else "on", bench.load_average()))
    print()
    body = []
    for r in results:
        k = r["entries"] / 1000
        for kind, name in (("full", "full build"), ("noop", "no-op rebuild")):
            m = r[kind]
            ch = "%d / %d / %d" % m["changes"] if kind == "noop" else ""
            body.append(["{:,}".format(r["projects"]), "{:,}".format(r["entries"]), name, str(r["runs"]),
                         "%.2f" % m["wall"], "%.2f" % m["cpu"], "%.0f" % m["rss_mib"],
                         "%.3f" % (m["wall"] / k), "%.3f" % (m["cpu"] / k), "%.1f" % (m["rss_mib"] / k), ch])
    print(fmt_table(["projects", "entries", "build", "runs", "wall median (s)", "CPU median (s)", "peak RSS (MiB)",
                     "wall s / 1k entries", "CPU s / 1k entries", "MiB / 1k entries", "files created / modified / removed"],
                    body))
    print()
    body = []
    for r in results:
        c, p = r["census"], r["manifest"]["pictures"]
        body.append(["{:,}".format(r["projects"]), "{:,}".format(r["entries"]), "{:,}".format(c["html"]),
                     "%.0f MiB, %s files" % (mib(c["bytes"]), "{:,}".format(c["files"])),
                     "%.1f MiB, %s files" % (mib(c["bundle_bytes"]), "{:,}".format(c["bundle_files"])),
                     "%.0f MiB, %s files" % (mib(c["picture_bytes"]), "{:,}".format(c["picture_files"])),
                     "%s (%d distinct; %d processed)" % ("{:,}".format(p["total"]), p["distinct_files"], c["distinct_processed"]),
                     "%.2f MiB" % (mib(c["bytes"]) / (r["entries"] / 1000))])
    print(fmt_table(["projects", "entries", "HTML pages", "output", "search bundle", "published pictures",
                     "cover pictures in content", "output / 1k entries"], body))
    print()
    for r in results:
        print("- %s projects, stages of the median full build: `%s` (%s); of the median no-op: `%s`"
              % ("{:,}".format(r["projects"]), r["full"]["summary_of_median"], r["full"]["stage_rss_of_median"],
                 r["noop"]["summary_of_median"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, "vitrine": rev, "results": results}, f, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
