#!/usr/bin/env python3
"""Time `vitrine build` against Hugo on the same generated corpus.

Usage:
    python3 bench/bench.py [options] [PAGES ...]        (default: 1000 10000)

For each corpus size N it:
  1. generates the corpus with SHARED/bench/gen_corpus.py --pages N (cached in
     the work dir while the generator's manifest matches);
  2. makes the Hugo site with SHARED/bench/mk_hugo_site.py;
  3. makes the vitrine site: bench/site/vitrine.yaml + bench/site/templates/
     + the corpus's content/ copied as it is + the same style.css as Hugo's;
  4. builds each site once untimed (warm-up, and a check that both produced
     the same kinds of pages), then RUNS timed builds of each, interleaved;
     every timed command is `rm -rf OUT && TOOL ...` under /usr/bin/time -v,
     with OUT on tmpfs (/dev/shm) when there is one;
  5. prints a table: tool, pages, wall median, CPU median (user+sys), peak
     RSS median, and the vitrine/hugo ratio of the wall medians.
With --noop it also times no-op rebuilds (the same build again over the
previous output, nothing changed) and counts the output files they rewrote.
With --search it also times vitrine with its static search index on (the
same site plus bench/site/search/search.html), as the tool "vitrine+search",
and Hugo followed by the Pagefind CLI over Hugo's output ("hugo+pagefind"; the
Hugo layouts then mark the same elements `data-pagefind-body`).

SHARED is $SHARED, or --shared, or ../shared beside the repository.
Standard library only. Needs root (or an existing install) for
`apt-get install -y hugo time` when Hugo or GNU time is missing.
Never run by the test suite.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
GNU_TIME = "/usr/bin/time"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log("bench: error: " + msg)
    sys.exit(1)


def run(cmd, **kw):
    """Run a setup command, failing loudly with its output."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        die("command failed (exit %d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stdout[-4000:]))
    return proc.stdout


# --- prerequisites ---------------------------------------------------------------

def ensure_tools(need_hugo):
    missing = []
    if need_hugo and shutil.which("hugo") is None:
        missing.append("hugo")
    if not os.access(GNU_TIME, os.X_OK):
        missing.append("time")
    if not missing:
        return
    if os.geteuid() != 0:
        die("missing %s: run `sudo apt-get install -y %s` first" % (", ".join(missing), " ".join(missing)))
    log("bench: installing %s from Debian" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env, stdin=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-qq"] + missing, env=env, stdin=subprocess.DEVNULL)


def build_vitrine():
    log("bench: cargo build --release (vitrine)")
    run(["cargo", "build", "--release", "--bin", "vitrine"], cwd=REPO)
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=REPO))
    exe = os.path.join(meta["target_directory"], "release", "vitrine")
    if not os.access(exe, os.X_OK):
        die("no vitrine binary at %s after cargo build" % exe)
    return exe


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"
    except OSError:
        return "not installed"


def machine_description():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem_gib = "%.1f" % (kb / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    os_name = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": os_name,
        "kernel": platform.release(),
    }


def git_rev():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return "?"


# --- sites -----------------------------------------------------------------------

def make_corpus(shared, work, pages, seed):
    corpus = os.path.join(work, "corpus-%d" % pages)
    manifest = os.path.join(corpus, "manifest.json")
    try:
        with open(manifest) as f:
            m = json.load(f)
        if m.get("projects") == pages and m.get("seed") == seed and \
                m.get("generator_version") == corpus_generator_version(shared):
            return corpus
    except (OSError, ValueError):
        pass
    log("bench: generating corpus of %d projects" % pages)
    run([sys.executable, os.path.join(shared, "bench", "gen_corpus.py"),
         "--pages", str(pages), "--out", corpus, "--seed", str(seed)])
    return corpus


def corpus_generator_version(shared):
    with open(os.path.join(shared, "bench", "gen_corpus.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("GENERATOR_VERSION"):
                return int(line.split("=")[1])
    return None


def make_hugo_site(shared, corpus, out):
    run([sys.executable, os.path.join(shared, "bench", "mk_hugo_site.py"), corpus, out])
    # The Pagefind CLI indexes what vitrine's search index covers: the <article>
    # of project, training and plain pages (as bench/site/templates mark it), not
    # the listings. The attribute changes nothing else in Hugo's work.
    for dirpath, _, files in os.walk(os.path.join(out, "layouts")):
        for fn in files:
            path = os.path.join(dirpath, fn)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            marked = text.replace("<article>", "<article data-pagefind-body>") \
                .replace('<article class="project">', '<article class="project" data-pagefind-body>') \
                .replace('<article class="training">', '<article class="training" data-pagefind-body>')
            if marked != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(marked)


def make_vitrine_site(shared, corpus, out, search=False):
    """bench/site/ + the corpus's content as it is + Hugo's style.css
    (+ the search page, which turns vitrine's search index on)."""
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    src = os.path.join(BENCH_DIR, "site")
    shutil.copy(os.path.join(src, "vitrine.yaml"), out)
    shutil.copytree(os.path.join(src, "templates"), os.path.join(out, "templates"))
    if search:
        shutil.copy(os.path.join(src, "search", "search.html"), os.path.join(out, "templates"))
    shutil.copytree(os.path.join(corpus, "content"), os.path.join(out, "content"))
    # vitrine.yaml names the theme "bench", kept empty: the site's own
    # templates/ are the whole layout, as the Hugo site's layouts/ are.
    os.makedirs(os.path.join(out, "themes", "bench"))
    sys.path.insert(0, os.path.join(shared, "bench"))
    try:
        import site_common  # the same stylesheet the Hugo site gets
    finally:
        sys.path.pop(0)
    os.makedirs(os.path.join(out, "static"))
    with open(os.path.join(out, "static", "style.css"), "w", encoding="utf-8") as f:
        f.write(site_common.STYLE_CSS)


# --- timing ----------------------------------------------------------------------

def parse_gnu_time(path):
    vals = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, val = line.strip().rpartition(": ")
            if sep:
                vals[key] = val
    return {
        "user": float(vals.get("User time (seconds)", "nan")),
        "sys": float(vals.get("System time (seconds)", "nan")),
        "max_rss_kib": int(vals.get("Maximum resident set size (kbytes)", "0")),
        "exit": int(vals.get("Exit status", "-1")),
    }


def timed(cmd_line, scratch):
    """Run `sh -c cmd_line` under GNU time; return wall, cpu, rss, exit, output."""
    tfile = os.path.join(scratch, "time.txt")
    ofile = os.path.join(scratch, "out.txt")
    with open(ofile, "w") as out:
        t0 = time.perf_counter()
        rc = subprocess.run([GNU_TIME, "-v", "-o", tfile, "sh", "-c", cmd_line],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT).returncode
        wall = time.perf_counter() - t0
    with open(ofile, encoding="utf-8", errors="replace") as f:
        output = f.read()
    t = parse_gnu_time(tfile)
    return {"wall": wall, "cpu": t["user"] + t["sys"], "rss_mib": t["max_rss_kib"] / 1024,
            "exit": rc, "output": output}


def snapshot(out):
    """{relative path: (mtime_ns, size)} of every file under out."""
    snap = {}
    for dirpath, _, files in os.walk(out):
        for fn in files:
            p = os.path.join(dirpath, fn)
            st = os.stat(p)
            snap[os.path.relpath(p, out)] = (st.st_mtime_ns, st.st_size)
    return snap


def rewritten(before, after):
    """Files created, modified (new mtime) or removed between two snapshots."""
    changed = sum(1 for k, v in after.items() if before.get(k) != v)
    removed = sum(1 for k in before if k not in after)
    return changed + removed


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def commands(vitrine_exe, hugo_site, vitrine_site, out_root, pages, pagefind="pagefind"):
    cmds = _commands(vitrine_exe, hugo_site, vitrine_site, out_root, pages, "vitrine")
    cmds.update(_commands(vitrine_exe, hugo_site, vitrine_site + "-search", out_root, pages, "vitrine+search"))
    # Hugo, then the Pagefind CLI over its output (bundle in OUT/pagefind, as vitrine's).
    hp_out = os.path.join(out_root, "hugo+pagefind-%d" % pages)
    cmds["hugo+pagefind"] = ("rm -rf %s && hugo --quiet -s %s -d %s && exec %s --site %s --silent"
                             % (sh_quote(hp_out), sh_quote(hugo_site), sh_quote(hp_out),
                                sh_quote(pagefind), sh_quote(hp_out)), hp_out)
    return cmds


def _commands(vitrine_exe, hugo_site, vitrine_site, out_root, pages, vname):
    """The timed command lines: removing the previous output is part of each.
    The "no-op" ones build again over the previous output."""
    h_out = os.path.join(out_root, "hugo-%d" % pages)
    v_out = os.path.join(out_root, "%s-%d" % (vname, pages))
    v_cache = os.path.join(vitrine_site, ".vitrine")
    return {
        "hugo no-op": ("exec hugo --quiet -s %s -d %s" % (sh_quote(hugo_site), sh_quote(h_out)), h_out),
        vname + " no-op": ("exec %s build --site %s --out %s"
                          % (sh_quote(vitrine_exe), sh_quote(vitrine_site), sh_quote(v_out)), v_out),
        "hugo": ("rm -rf %s && exec hugo --quiet -s %s -d %s"
                 % (sh_quote(h_out), sh_quote(hugo_site), sh_quote(h_out)), h_out),
        # .vitrine/ (build cache, if any) goes too: this measures full builds.
        vname: ("rm -rf %s %s && exec %s build --site %s --out %s"
                    % (sh_quote(v_out), sh_quote(v_cache), sh_quote(vitrine_exe),
                       sh_quote(vitrine_site), sh_quote(v_out)), v_out),
    }


def output_census(out):
    """Counts of what a build produced, to see that both tools did the same work."""
    html = xml = size = bundle_bytes = bundle_files = 0
    bundle = os.path.join(out, "pagefind")
    for dirpath, _, files in os.walk(out):
        for fn in files:
            n = os.path.getsize(os.path.join(dirpath, fn))
            size += n
            if dirpath == bundle or dirpath.startswith(bundle + os.sep):
                bundle_bytes += n
                bundle_files += 1
            if fn.endswith(".html"):
                html += 1
            elif fn.endswith(".xml"):
                xml += 1
    checks = {}
    for name, rel in [("home", "index.html"), ("projects list", "projects/index.html"),
                      ("projects page 2", "projects/page/2/index.html"),
                      ("trainings list", "trainings/index.html"),
                      ("countries terms", "countries/index.html"),
                      ("disciplines terms", "disciplines/index.html"),
                      ("levels terms", "levels/index.html"),
                      ("about page", "a-propos/index.html"),
                      ("sitemap", "sitemap.xml"), ("robots", "robots.txt"), ("404", "404.html")]:
        checks[name] = os.path.exists(os.path.join(out, rel))
    return {"html": html, "xml": xml, "bytes": size, "bundle_bytes": bundle_bytes, "bundle_files": bundle_files,
            "missing": [k for k, v in checks.items() if not v]}


def summarise(tool, pages, samples):
    return {
        "tool": tool, "pages": pages,
        "wall": statistics.median(x["wall"] for x in samples),
        "cpu": statistics.median(x["cpu"] for x in samples),
        "rss_mib": statistics.median(x["rss_mib"] for x in samples),
        "walls": [round(x["wall"], 3) for x in samples],
    }


def add_ratio(medians, hugo_key, vitrine_key):
    if hugo_key in medians and vitrine_key in medians:
        medians[hugo_key]["ratio"] = "1.00"
        medians[vitrine_key]["ratio"] = "%.2f" % (medians[vitrine_key]["wall"] / medians[hugo_key]["wall"])


def measure(active, cmds, pages, runs, scratch, drop=False):
    """Full builds, `runs` per tool, interleaved so that drift hits both alike.
    With `drop`, each output is deleted after its run (untimed), to bound tmpfs use."""
    samples = {t: [] for t in active}
    for i in range(runs):
        for tool in active:
            r = timed(cmds[tool][0], scratch)
            if r["exit"] != 0:
                die("%s failed on run %d:\n%s" % (tool, i + 1, r["output"][-4000:]))
            samples[tool].append(r)
            if drop:
                shutil.rmtree(cmds[tool][1], ignore_errors=True)
    medians = {t: summarise(t, pages, samples[t]) for t in active}
    add_ratio(medians, "hugo", "vitrine")
    add_ratio(medians, "hugo", "vitrine+search")
    add_ratio(medians, "hugo", "hugo+pagefind")
    if "hugo+pagefind" in medians and "vitrine+search" in medians:
        medians["vitrine+search"]["speedup"] = "%.1f×" % (
            medians["hugo+pagefind"]["wall"] / medians["vitrine+search"]["wall"])
    for tool in active:
        log("bench: %s, %d projects: walls %s" % (tool, pages, medians[tool]["walls"]))
    return [medians[t] for t in active]


def measure_noop(active, cmds, pages, runs, scratch):
    """Rebuilds over the output of the last full build, nothing changed."""
    medians = {}
    for tool in active:
        key = tool + " no-op"
        line, out = cmds[key]
        before = snapshot(out)
        s = []
        for i in range(runs):
            r = timed(line, scratch)
            if r["exit"] != 0:
                die("%s failed on run %d:\n%s" % (key, i + 1, r["output"][-4000:]))
            if i == 0:
                n = rewritten(before, snapshot(out))
            s.append(r)
        medians[key] = summarise(key, pages, s)
        medians[key]["rewritten"] = n
        log("bench: %s, %d projects: walls %s; first run rewrote %d of %d files"
            % (key, pages, medians[key]["walls"], n, len(before)))
    add_ratio(medians, "hugo no-op", "vitrine no-op")
    add_ratio(medians, "hugo no-op", "vitrine+search no-op")
    return [medians[t + " no-op"] for t in active]


def fmt_row(cells, widths):
    return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"


def print_table(rows):
    head = ["tool", "pages", "wall median (s)", "CPU median (s)", "peak RSS (MiB)", "wall / hugo's"]
    if any("speedup" in r for r in rows):
        head.append("hugo+pagefind / vitrine+search")
    if any("rewritten" in r for r in rows):
        head.append("files rewritten")
    body = []
    for r in rows:
        row = [r["tool"], "{:,}".format(r["pages"]), "%.2f" % r["wall"], "%.2f" % r["cpu"],
               "%.0f" % r["rss_mib"], r.get("ratio", "")]
        if "hugo+pagefind / vitrine+search" in head:
            row.append(r.get("speedup", ""))
        if "files rewritten" in head:
            row.append("{:,}".format(r["rewritten"]) if "rewritten" in r else "")
        body.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = [fmt_row(head, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt_row(b, widths) for b in body]
    print("\n".join(lines), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="*", type=int, default=[1000, 10000],
                    help="corpus sizes in projects (default: 1000 10000)")
    ap.add_argument("--runs", type=int, default=5, help="timed builds per tool and size (default 5)")
    ap.add_argument("--tools", default="hugo,vitrine", help="comma-separated subset of hugo,vitrine")
    ap.add_argument("--shared", default=os.environ.get("SHARED") or os.path.join(REPO, "..", "shared"),
                    help="the shared/ folder holding bench/gen_corpus.py (default $SHARED or ../shared)")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "vitrine-bench"),
                    help="where corpora and sites go (default %(default)s)")
    ap.add_argument("--out-root", default=None,
                    help="where build outputs go (default /dev/shm/vitrine-bench-out if tmpfs, else WORK/out)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    ap.add_argument("--vitrine", default=None, help="use this vitrine binary instead of building one")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument("--search", action="store_true",
                    help="also time vitrine with its search index on (tool vitrine+search)")
    ap.add_argument("--pagefind", default="pagefind",
                    help="the Pagefind CLI for the hugo+pagefind row (default: pagefind on PATH)")
    ap.add_argument("--drop-outputs", action="store_true",
                    help="delete each output after it is measured (for 100,000 projects on a small tmpfs; not with --noop)")
    ap.add_argument("--noop", action="store_true",
                    help="also time no-op rebuilds over the previous output and count rewritten files")
    args = ap.parse_args(argv)

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for t in tools:
        if t not in ("hugo", "vitrine", "vitrine+search", "hugo+pagefind"):
            ap.error("unknown tool %r" % t)
    if args.search and "vitrine+search" not in tools:
        tools.append("vitrine+search")
    if args.search and "hugo" in tools and "hugo+pagefind" not in tools:
        tools.append("hugo+pagefind")
    if "hugo+pagefind" in tools and shutil.which(args.pagefind) is None:
        die("no Pagefind binary %r: `pip install 'pagefind[extended]'` (or npm i pagefind) and pass --pagefind"
            % args.pagefind)
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    shared = os.path.abspath(args.shared)
    if not os.path.isfile(os.path.join(shared, "bench", "gen_corpus.py")):
        die("%s/bench/gen_corpus.py not found: set SHARED=/path/to/shared or --shared" % shared)

    ensure_tools("hugo" in tools or "hugo+pagefind" in tools)
    vitrine_exe = None
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    if "vitrine" in tools or "vitrine+search" in tools:
        built = os.path.abspath(args.vitrine) if args.vitrine else build_vitrine()
        # Time a private copy: the shared target/ may be rebuilt while we run.
        vitrine_exe = os.path.join(work, "vitrine-under-test")
        shutil.copy2(built, vitrine_exe)
    if args.out_root:
        out_root = os.path.abspath(args.out_root)
    elif os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        out_root = "/dev/shm/vitrine-bench-out"
    else:
        out_root = os.path.join(work, "out")
    os.makedirs(out_root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="bench-", dir=work)

    machine = machine_description()
    versions = {"hugo": " ".join(tool_version(["hugo", "version"]).split()[:2]) if "hugo" in tools else None,
                "vitrine": git_rev() if vitrine_exe else None,
                "pagefind": tool_version([args.pagefind, "--version"]).strip() if "hugo+pagefind" in tools else None}
    log("bench: machine: %(cpu)s, %(cores)s cores, %(memory_gib)s GiB, %(os)s, Linux %(kernel)s" % machine)
    log("bench: hugo: %s; vitrine: %s; pagefind: %s" % (versions["hugo"], versions["vitrine"], versions["pagefind"]))
    log("bench: outputs in %s, %d timed runs per tool" % (out_root, args.runs))

    rows, failures = [], []
    for pages in args.pages:
        corpus = make_corpus(shared, work, pages, args.seed)
        hugo_site = os.path.join(work, "hugo-site-%d" % pages)
        vitrine_site = os.path.join(work, "vitrine-site-%d" % pages)
        if "hugo" in tools or "hugo+pagefind" in tools:
            make_hugo_site(shared, corpus, hugo_site)
        if "vitrine" in tools:
            make_vitrine_site(shared, corpus, vitrine_site)
        if "vitrine+search" in tools:
            make_vitrine_site(shared, corpus, vitrine_site + "-search", search=True)
        cmds = commands(vitrine_exe or "vitrine", hugo_site, vitrine_site, out_root, pages, args.pagefind)
        active = []
        for tool in tools:
            line, out = cmds[tool]
            log("bench: %s, %d projects: warm-up build" % (tool, pages))
            r = timed(line, scratch)
            if r["exit"] != 0:
                failures.append((tool, pages, line, r["output"]))
                log("bench: %s FAILED on %d projects (exit %d):\n%s"
                    % (tool, pages, r["exit"], r["output"][-4000:]))
                continue
            census = output_census(out)
            log("bench: %s output: %d HTML files, %d XML files, %.0f MiB, search bundle %.1f MiB in %d files%s"
                % (tool, census["html"], census["xml"], census["bytes"] / 2**20,
                   census["bundle_bytes"] / 2**20, census["bundle_files"],
                   "; missing: " + ", ".join(census["missing"]) if census["missing"] else ""))
            if args.drop_outputs:
                shutil.rmtree(out, ignore_errors=True)
            active.append(tool)
        log("bench: load average before timing: %.2f" % load_average())
        rows += measure(active, cmds, pages, args.runs, scratch, args.drop_outputs and not args.noop)
        if args.noop:
            rows += measure_noop(active, cmds, pages, args.runs, scratch)

    shutil.rmtree(scratch, ignore_errors=True)
    print()
    print("Machine: %(cpu)s, %(cores)s cores, %(memory_gib)s GiB RAM, %(os)s, Linux %(kernel)s" % machine)
    print("Hugo: %s · Pagefind CLI: %s · vitrine: %s · median of %d runs, output on %s · load average %.2f at the end"
          % (versions["hugo"], versions["pagefind"], versions["vitrine"], args.runs, out_root, load_average()))
    print()
    if rows:
        print_table(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, "versions": versions, "runs": args.runs, "rows": rows,
                       "failures": [{"tool": t, "pages": p, "command": c, "output": o[-4000:]}
                                    for t, p, c, o in failures]}, f, indent=2)
    if failures:
        for tool, pages, line, _ in failures:
            log("bench: %s failed on %d projects: %s" % (tool, pages, line))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        # Scratch dirs of runs that stopped early (die() exits through here).
        import glob
        for d in glob.glob(os.path.join(tempfile.gettempdir(), "vitrine-bench", "bench-*")):
            shutil.rmtree(d, ignore_errors=True)
