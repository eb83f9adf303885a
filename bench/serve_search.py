#!/usr/bin/env python3
"""Edit-to-search-index latency of `vitrine serve` (issue 13), run by hand.

Usage:
    python3 bench/serve_search.py --vitrine EXE --site SITE [--port 8391] [--runs 5]

SITE must have search on (bench.py's `vitrine-site-N-search`). Starts
`EXE serve --site SITE`, waits for the first build and its index
(SITE/public/pagefind/pagefind-entry.json), then RUNS times: appends a
paragraph with a new word to the first project's Markdown file and polls
(every 5 ms) until the project's page holds the word ("page") and until the
index's entry file changed ("index": pagefind-entry.json names the hash of the
new index, written last). Prints each latency and the medians; restores the
file and stops the server. The latencies include the file watcher's debounce.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def wait(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.005)
    raise SystemExit("timed out waiting for " + what)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vitrine", required=True)
    ap.add_argument("--site", required=True)
    ap.add_argument("--port", type=int, default=8391)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    site = os.path.abspath(args.site)
    public = os.path.join(site, "public")
    entry = os.path.join(public, "pagefind", "pagefind-entry.json")
    projects = os.path.join(site, "content", "projects")
    name = sorted(f for f in os.listdir(projects) if f.endswith(".md"))[0]
    md = os.path.join(projects, name)
    page = os.path.join(public, "projects", name[:-3], "index.html")
    original = read(md)
    log = open(os.path.join(site, "serve-probe.log"), "wb")
    proc = subprocess.Popen([args.vitrine, "serve", "--site", site, "--listen", "127.0.0.1:%d" % args.port],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    index_ms, page_ms = [], []
    try:
        def listening():
            if proc.poll() is not None:
                raise SystemExit("serve exited with %s" % proc.returncode)
            try:
                socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait(listening, 600, "the server")
        wait(lambda: os.path.exists(entry), 600, "the first index")
        time.sleep(2)
        for i in range(args.runs):
            word = "sondeindex%d%d" % (os.getpid(), i)
            before = read(entry)
            with open(md, "ab") as f:
                f.write(("\n\nMot de sonde : %s.\n" % word).encode())
            t0 = time.monotonic()
            wait(lambda: word.encode() in read(page), 120, "the page")
            page_ms.append((time.monotonic() - t0) * 1000)
            wait(lambda: read(entry) not in (before, b""), 120, "the index")
            index_ms.append((time.monotonic() - t0) * 1000)
            print("run %d: page %.0f ms, index %.0f ms" % (i + 1, page_ms[-1], index_ms[-1]), flush=True)
            time.sleep(1)
    finally:
        with open(md, "wb") as f:
            f.write(original)
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    print("median: page %.0f ms, index %.0f ms (%d runs, load average %.2f)"
          % (statistics.median(page_ms), statistics.median(index_ms), args.runs, os.getloadavg()[0]))


if __name__ == "__main__":
    sys.exit(main())
