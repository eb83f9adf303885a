#!/usr/bin/env python3
"""Edit-to-live time of the correspondents' editor (issue 12), loopback only.

Builds the benchmark site of bench.py (bench/site/ + the corpus of
gen_corpus.py, N projects), starts the release `vitrine daemon` on it (its
incremental rebuild), creates a moderator with `vitrine user add`, logs in,
then edits one project K times from its « Contenus » form: each time the form
is read back (every field as the browser would send it, with the content
hash), its text changed to carry a new marker, and POSTed. The time from
sending the POST to the moment the public page on disk holds the marker is
measured by polling the file from the moment the POST is sent (the POST's
own round trip is reported too: it answers after validation, the site check
in memory, the write with its history copy, and the rebuild).

Usage: bench/content_edit.py [--pages N=10000] [--edits K=20] [--work DIR]
       SKIP_BUILD=1 bench/content_edit.py      # use target/release/vitrine as it is
"""

import argparse
import html.parser
import http.cookiejar
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
import bench  # noqa: E402  (make_corpus, make_vitrine_site)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class FormReader(html.parser.HTMLParser):
    """The name/value pairs a browser would send for the form posting to `action`."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.pairs = action, False, []
        self.textarea = self.select = None
        self.text = ""
        self.option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("file", "submit"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.pairs.append((self.select, a.get("value", "")))

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea:
            self.pairs.append((self.textarea, self.text.lstrip("\n")))
            self.textarea = None
        elif tag == "select":
            self.select = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--work", default="/tmp/vitrine-bench-edit")
    ap.add_argument("--port", type=int, default=18083)
    ap.add_argument("--shared", default=os.environ.get("SHARED", os.path.join(os.path.dirname(ROOT), "shared")))
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.shared, "bench", "gen_corpus.py")):
        args.shared = "/work/shared"
    if not os.environ.get("SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "vitrine"], cwd=ROOT, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          capture_output=True, check=True, text=True).stdout
    binary = os.path.join(json.loads(meta)["target_directory"], "release", "vitrine")
    os.makedirs(args.work, exist_ok=True)
    corpus = bench.make_corpus(args.shared, args.work, args.pages, 1)
    site = os.path.join(args.work, "site-%d" % args.pages)
    bench.make_vitrine_site(args.shared, corpus, site)
    env = dict(os.environ, VITRINE_PASSWORD="mot de passe du banc d'essai")
    subprocess.run([binary, "user", "add", "banc", "--role", "moderator", "--site", site], env=env,
                   check=True, capture_output=True)
    base = "http://127.0.0.1:%d" % args.port
    proc = subprocess.Popen([binary, "daemon", "--site", site, "--listen", "127.0.0.1:%d" % args.port,
                             "--rate-limit", "0"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(args.work, "daemon.log"), "w"))
    try:
        run(base, site, args)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(site, ignore_errors=True)


def run(base, site, args):
    start = time.perf_counter()
    for _ in range(6000):  # the daemon builds the site first
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    print("daemon up (first full build) in %.1f s" % (time.perf_counter() - start))
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(base + "/moderation/login").read().decode()
    token = page.split('name="csrf" value="')[1].split('"')[0]
    form = urllib.parse.urlencode({"csrf": token, "username": "banc", "password": "mot de passe du banc d'essai"}).encode()
    try:
        opener.open(base + "/moderation/login", data=form)
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.code
    projects = sorted(f[:-3] for f in os.listdir(os.path.join(site, "content", "projects")) if f.endswith(".md") and not f.startswith("_"))
    slug = projects[len(projects) // 2]
    entry = "/moderation/contenus/projects/" + slug
    public = os.path.join(site, "public", "projects", slug, "index.html")
    print("site: %d projects; editing %s" % (len(projects), slug))
    to_disk, posts = [], []
    for i in range(args.edits):
        reader = FormReader(entry)
        reader.feed(opener.open(base + entry).read().decode())
        pairs = [(k, v) for k, v in reader.pairs if k != "vt_body"]
        marker = "mesure-%03d-%d" % (i, os.getpid())
        pairs.append(("vt_body", "Texte modifié par le banc d'essai : %s." % marker))
        data = urllib.parse.urlencode(pairs).encode()
        seen = {}

        def poll():
            deadline = time.perf_counter() + 60
            while "t" not in seen and time.perf_counter() < deadline:
                try:
                    with open(public, encoding="utf-8") as f:
                        if marker in f.read():
                            seen["t"] = time.perf_counter()
                            return
                except OSError:
                    pass
                time.sleep(0.0005)

        watcher = threading.Thread(target=poll)
        t0 = time.perf_counter()
        watcher.start()
        try:
            opener.open(urllib.request.Request(base + entry, data=data))
            raise SystemExit("the save was not accepted (no redirect)")
        except urllib.error.HTTPError as e:
            if e.code != 303:
                raise SystemExit("save refused: HTTP %d\n%s" % (e.code, e.read().decode()[:3000]))
        posts.append((time.perf_counter() - t0) * 1000)
        watcher.join(timeout=65)
        assert "t" in seen, "the public page never showed the edit: " + public
        to_disk.append((seen["t"] - t0) * 1000)
    lists = []
    for name, q in (("first (reads every file)", ""), ("again", ""), ("searched", "?q=jardins"),
                    ("trainings, page 2", "?collection=trainings&page=2")):
        t0 = time.perf_counter()
        opener.open(base + "/moderation/contenus" + q).read()
        lists.append((name, (time.perf_counter() - t0) * 1000))
    print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    steps = [l for l in open(os.path.join(args.work, "daemon.log"), encoding="utf-8", errors="replace") if "vérifiée en" in l]
    if steps:
        nums = [[int(x) for x in __import__("re").findall(r"(\d+) ms", l)] for l in steps[1:]]
        if nums:
            print("daemon's own split (median of the edits after the first): check in memory %d ms, write + rebuild %d ms, git + journal %d ms"
                  % tuple(statistics.median(n[i] for n in nums) for i in range(3)))
    print("content list pages: " + ", ".join("%s %.0f ms" % l for l in lists))
    print("edits: %d of one project on a site of %d projects (pages checked on disk)" % (args.edits, len(projects)))
    print("first edit (includes loading the site into the incremental builder): %.0f ms" % to_disk[0])
    rest, rest_posts = to_disk[1:], posts[1:]
    if rest:
        print("next %d edits, save POST sent -> page on disk: median %.0f ms, worst %.0f ms"
              % (len(rest), statistics.median(rest), max(rest)))
        print("save POST round trip (validation, site check, write, rebuild): median %.0f ms, worst %.0f ms"
              % (statistics.median(rest_posts), max(rest_posts)))


if __name__ == "__main__":
    main()
