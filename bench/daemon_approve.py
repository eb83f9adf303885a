#!/usr/bin/env python3
"""Approval-to-page latency of the moderation daemon (loopback only).

Starts the release `vitrine daemon` on a copy of the example site (with the
incremental rebuild), creates a moderator with `vitrine user add`,
queues N project submissions through the JSON API, logs in through the login
form, then approves them one by one. The approval POST answers only after the
entry was written and the site rebuilt, so the time from sending the POST to
the moment the page file exists on disk is measured by polling the file from
the moment the POST is sent (the POST's own latency is reported too).

`vitrine daemon` builds the site when it starts; the first approval is
reported separately all the same. Each approval is first checked by building
the site in memory with the new entry (issue 9), then written and rebuilt.

Usage: bench/daemon_approve.py [N=20]
       EXTRA_PROJECTS=10000 bench/daemon_approve.py 20   # on a site of 10,000 more projects
"""

import http.cookiejar
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PORT = int(os.environ.get("PORT", "18081"))
BASE = f"http://127.0.0.1:{PORT}"


def target_dir():
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          capture_output=True, check=True, text=True).stdout
    return json.loads(meta)["target_directory"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def main():
    if not os.environ.get("SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "vitrine"], cwd=ROOT, check=True)
    binary = os.path.join(target_dir(), "release", "vitrine")
    site = tempfile.mkdtemp()
    try:
        shutil.copy(os.path.join(ROOT, "vitrine.yaml"), site)
        for d in ("data", "content", "themes"):
            shutil.copytree(os.path.join(ROOT, d), os.path.join(site, d))
        extra = int(os.environ.get("EXTRA_PROJECTS", "0"))
        if extra:
            # Copies of one real project under other titles: the same schema, a site of that size.
            with open(os.path.join(ROOT, "content", "projects", "bouger-ensemble.md"), encoding="utf-8") as f:
                model = f.read()
            for k in range(extra):
                text = model.replace('title: "Bouger ensemble"', f'title: "Projet synthétique {k:05d}"', 1)
                with open(os.path.join(site, "content", "projects", f"synthetique-{k:05d}.md"), "w", encoding="utf-8") as f:
                    f.write(text)
            print(f"site: example site + {extra} projects")
        env = dict(os.environ, VITRINE_PASSWORD="mot de passe du banc d'essai")
        subprocess.run([binary, "user", "add", "banc", "--role", "moderator", "--site", site], env=env,
                       check=True, capture_output=True)
        proc = subprocess.Popen([binary, "daemon", "--site", site, "--listen", f"127.0.0.1:{PORT}", "--rate-limit", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run(site)
        finally:
            proc.terminate()
            proc.wait()
    finally:
        shutil.rmtree(site, ignore_errors=True)


def run(site):
    for _ in range(1200):  # the daemon builds the site first
        try:
            urllib.request.urlopen(BASE + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    ids = []
    for i in range(N):
        body = json.dumps({
            "collection": "projects",
            "submitter": {"name": "Banc", "email": "banc@example.org"},
            "fields": {
                "title": f"Projet de mesure {i:03d}",
                "summary": "Un projet créé par le banc d'essai pour mesurer la publication.",
                "school": "Collège du banc", "countries": ["Italie"], "disciplines": ["Physique-chimie"],
                "levels": ["collège"], "languages": ["anglais"], "duration": "un trimestre",
                "school_year": "2025-2026",
            },
            "body": "Texte **court**.",
        }).encode()
        req = urllib.request.Request(BASE + "/api/submissions", data=body, headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(req).status == 201
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(BASE + "/moderation/login").read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf": token, "username": "banc", "password": "mot de passe du banc d'essai"}).encode()
    try:
        opener.open(BASE + "/moderation/login", data=form)
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.code
    queue = opener.open(BASE + "/moderation/queue?collection=projects&status=pending").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', queue).group(1)
    ids = [int(x) for x in re.findall(r'href="/moderation/item/(\d+)"', queue)]
    assert len(ids) == N, len(ids)
    to_disk, posts = [], []
    for n, item in enumerate(ids):
        expected = os.path.join(site, "public", "projets", f"projet-de-mesure-{n:03d}", "index.html")
        seen = {}

        def poll():
            while "t" not in seen:
                if os.path.exists(expected):
                    seen["t"] = time.perf_counter()
                    return
                time.sleep(0.0005)

        watcher = threading.Thread(target=poll)
        start = time.perf_counter()
        watcher.start()
        try:
            opener.open(BASE + f"/moderation/item/{item}/approve", data=urllib.parse.urlencode({"csrf": csrf}).encode())
        except urllib.error.HTTPError as e:
            assert e.code == 303, e.code
        post = time.perf_counter() - start
        watcher.join(timeout=30)
        assert "t" in seen, f"page not written: {expected}"
        to_disk.append((seen["t"] - start) * 1000)
        posts.append(post * 1000)
    first, rest = to_disk[0], to_disk[1:]
    print(f"approvals: {N} (pages checked on disk)")
    print(f"first approval (includes loading the site and the first full build): {first:.0f} ms")
    if rest:
        print(f"next {len(rest)} approvals, approval POST sent -> page on disk: "
              f"median {statistics.median(rest):.0f} ms, worst {max(rest):.0f} ms")
        print(f"approval POST round trip (includes the rebuild): median {statistics.median(posts[1:]):.0f} ms, "
              f"worst {max(posts[1:]):.0f} ms")


if __name__ == "__main__":
    main()
