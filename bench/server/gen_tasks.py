#!/usr/bin/python3
"""Writes N short text tasks as JSON lines, the same shape as bench/bench.py's
({"data":{"text":"task i: eight random words"}}). Usage: gen_tasks.py N OUT"""
import json, random, sys

n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1)
words = "the model labels data quickly and the reviewers check every span carefully".split()
with open(out, "w") as f:
    for i in range(n):
        t = f"task {i}: " + " ".join(rnd.choice(words) for _ in range(8))
        f.write(json.dumps({"data": {"text": t}}) + "\n")
