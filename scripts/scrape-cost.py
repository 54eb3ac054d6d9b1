#!/usr/bin/env python3
"""What scraping a live node's /metrics costs its producer.

Runs `ringbus run` (unpaced, positions and stores: CPU-bound, no disk) several times in each
mode, the modes alternating run by run so a drift of the machine hits them alike:

  no server        no --serve
  served           --serve, nothing scraped (the server samples the bus each second)
  scraped 1/s      --serve, /metrics scraped every second (Prometheus's usual is 15 s)
  scraped 10/s     --serve, /metrics scraped ten times a second (a bound, not a use)

and prints, per mode, the median events/s (publish to every consumer done) with its spread,
and the median of its ratio to the run without a server of the same round (paired: a
machine shared with other work drifts more between rounds than within one) with the
quartiles of that ratio.

    cargo build --release -p ringbus
    python3 scripts/scrape-cost.py --rounds 15 --blocks 100000
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request

MODES = [
    ("no server", None),
    ("served", 0.0),
    ("scraped 1/s", 1.0),
    ("scraped 10/s", 10.0),
]


def one_run(binary, blocks, rate, out):
    args = [binary, "run", "-q", "--blocks", str(blocks), "--consumers", "positions,stores",
            "--out", out, "--summary-json", "-"]
    if rate is not None:
        args += ["--serve", "127.0.0.1:0"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    scrapes = 0
    scraper = None
    if rate is not None:
        line = proc.stderr.readline()
        if not line.startswith("serving on http://"):
            raise SystemExit(f"unexpected: {line!r}")
        url = line.split()[2].rstrip("/") + "/metrics"
        stop = threading.Event()

        def scrape():
            nonlocal scrapes
            while rate > 0 and not stop.wait(1.0 / rate):
                try:
                    urllib.request.urlopen(url, timeout=5).read()
                    scrapes += 1
                except OSError:
                    return  # the run ended

        scraper = threading.Thread(target=scrape)
        scraper.start()
    stdout, stderr = proc.communicate()
    if scraper:
        stop.set()
        scraper.join()
    if proc.returncode != 0:
        raise SystemExit(f"ringbus failed: {stderr}")
    summary = json.loads(stdout)
    return summary["events_per_sec"], summary["elapsed_secs"], scrapes


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default="target/release/ringbus")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--blocks", type=int, default=100000)
    a = p.parse_args()
    results = {name: [] for name, _ in MODES}
    scrapes = {name: 0 for name, _ in MODES}
    with tempfile.TemporaryDirectory() as out:
        for r in range(a.rounds):
            # Rotate the order each round: no mode always runs first or last.
            order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
            for name, rate in order:
                eps, secs, n = one_run(a.binary, a.blocks, rate, os.path.join(out, "o"))
                results[name].append(eps)
                scrapes[name] += n
                print(f"round {r + 1}: {name:13} {eps / 1e6:6.3f} M events/s in {secs:5.2f} s"
                      f" ({n} scrapes)", flush=True)
    print(f"\n{os.cpu_count()} cores; {a.rounds} runs per mode of {a.blocks} blocks")
    print(f"{'mode':13} {'median M ev/s':>14} {'min':>7} {'max':>7}"
          f" {'ratio to none: median':>22} {'quartiles':>13} {'scrapes':>8}")
    for name, _ in MODES:
        v = results[name]
        ratios = [x / n for x, n in zip(v, results["no server"])]
        q1, med_ratio, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        print(f"{name:13} {statistics.median(v) / 1e6:14.3f} {min(v) / 1e6:7.3f} {max(v) / 1e6:7.3f}"
              f" {statistics.median(ratios):22.3f} {q1:6.3f}-{q3:6.3f} {scrapes[name]:8}")


if __name__ == "__main__":
    main()
