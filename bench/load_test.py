"""Load test: N clients × M questions with follow-ups mixed in, against ``python app.py`` on 127.0.0.1.

    python bench/load_test.py [--clients 20] [--questions 10] [--json]

Each client asks its own sequence through ``POST /api/ask``, sending its own previous question
with every follow-up, and checks that the follow-up was resolved against *its* previous question.
Prints errors, wrong resolutions and latency p50/p95. Bounded: loopback only, one app process.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.evaluate import percentile  # noqa: E402

FIRST = ["7月18日的会议谁参加了?", "郑东新区防汛会商会议由谁主持?", "二七区区长是谁?",
         "海立·海尔压缩机项目一期什么时候投产?", "7月20日的会议谁参加了?", "管城回族区区长是谁?",
         "6月1日的会议谁参加了?"]
FOLLOW = [("那7月21日呢?", "7月"), ("那7月20日呢?", "7月"), ("那二七区呢?", "区")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, q: str, previous: str | None) -> tuple[float, dict]:
    body = json.dumps({"q": q, "previous": previous or ""}).encode()
    req = urllib.request.Request(url + "/api/ask", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        out = json.loads(r.read().decode())
    return (time.perf_counter() - t) * 1000, out


def client(url: str, n: int, seed: int, results: dict) -> None:
    rng = random.Random(seed)
    previous = None
    for _ in range(n):
        followup = previous is not None and rng.random() < 0.4
        if followup:
            q, _ = rng.choice(FOLLOW)
        else:
            q = rng.choice(FIRST)
        try:
            ms, out = _post(url, q, previous if followup else None)
            results["latency"].append(ms)
            if "error" in out:
                results["errors"] += 1
                continue
            if followup:
                from qa.followup import resolve

                if out["question"] != resolve(q, previous):
                    results["wrong_followups"] += 1
                results["followups"] += 1
            previous = out["question"]
        except Exception as e:  # counted, not raised
            results["errors"] += 1
            results.setdefault("messages", []).append(repr(e))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = open(f"{tmp}/app.log", "w")
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--index", f"{tmp}/index"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.time() + 300
            while time.time() < deadline and proc.poll() is None:
                try:
                    urllib.request.urlopen(url + "/config", timeout=5)
                    break
                except OSError:
                    time.sleep(1)
            if proc.poll() is not None:
                print(open(f"{tmp}/app.log").read(), file=sys.stderr)
                return 2
            results = {"latency": [], "errors": 0, "followups": 0, "wrong_followups": 0}
            threads = [threading.Thread(target=client, args=(url, args.questions, i, results))
                       for i in range(args.clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            if results.get("messages"):
                print("first error:", results["messages"][0], file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lat = results["latency"]
    out = {"clients": args.clients, "questions_each": args.questions, "answered": len(lat),
           "errors": results["errors"], "followups": results["followups"],
           "wrong_followups": results["wrong_followups"], "wall_seconds": round(wall, 1),
           "latency_ms_p50": round(percentile(lat, 50), 1), "latency_ms_p95": round(percentile(lat, 95), 1)}
    print(json.dumps(out, indent=1) if args.json else "  ".join(f"{k} {v}" for k, v in out.items()))
    return 0 if not results["errors"] and not results["wrong_followups"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
