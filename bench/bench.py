#!/usr/bin/python3
"""annot benchmarks: import/export throughput and peak memory, against baselines run in the
same script on the same machine. Prints a table; bench/README.md keeps the figures.

Usage: bench/bench.py [--tasks N] [--images N] [--boxes-per-image K] [--keep]
Needs build/release/annot (make) and the sqlite3 shell (scripts/deps.sh installs it)."""
import argparse, json, os, random, shutil, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANNOT = os.path.join(TOP, "build", "release", "annot")


def run(cmd, stdin=None, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (seconds, peak RSS in MiB) of that one child (wait4's rusage)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"benchmark command failed ({code}): {' '.join(cmd)}\n{err}")
    return secs, ru.ru_maxrss / 1024.0


def gen_text(path_jsonl, path_csv, n):
    rnd = random.Random(1)
    words = "the model labels data quickly and the reviewers check every span carefully".split()
    with open(path_jsonl, "w") as j, open(path_csv, "w") as c:
        c.write("text\n")
        for i in range(n):
            t = f"task {i}: " + " ".join(rnd.choice(words) for _ in range(8))
            j.write(json.dumps({"data": {"text": t}}) + "\n")
            c.write(t + "\n")


def gen_boxes(path, n_images, k):
    rnd = random.Random(2)
    labels = ["Car", "Person", "Sun", "Tree"]
    with open(path, "w") as f:
        for i in range(n_images):
            res = []
            for b in range(k):
                x, y = rnd.uniform(0, 80), rnd.uniform(0, 80)
                w, h = rnd.uniform(1, 100 - x), rnd.uniform(1, 100 - y)
                res.append({"id": f"b{b}", "from_name": "objects", "to_name": "image",
                            "type": "rectanglelabels", "original_width": 1920,
                            "original_height": 1080, "image_rotation": 0,
                            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                                      "rectanglelabels": [rnd.choice(labels)]}})
            f.write(json.dumps({"data": {"image": f"/data/img/{i:07d}.jpg"},
                                "annotations": [{"completed_by": 1, "result": res}]}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--boxes-per-image", type=int, default=10)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.access(ANNOT, os.X_OK):
        sys.exit("build the release binary first: make")
    tmp = tempfile.mkdtemp(prefix="annot-bench-")
    rows = []
    try:
        jl, csv = os.path.join(tmp, "tasks.jsonl"), os.path.join(tmp, "tasks.csv")
        gen_text(jl, csv, a.tasks)
        db = os.path.join(tmp, "ws.db")
        env_db = ["--db", db]
        subprocess.run([ANNOT, *env_db, "project", "create", "t", "--config",
                        os.path.join(TOP, "demo", "configs", "reviews.xml")], check=True,
                       stdout=subprocess.DEVNULL)
        s_imp, m_imp = run([ANNOT, *env_db, "import", "t", jl, "--format", "ls-jsonl"])
        base = os.path.join(tmp, "base.db")
        sql = f".mode csv\n.import {csv} t\n"
        with open(os.path.join(tmp, "import.sql"), "w") as f:
            f.write("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n" + sql)
        with open(os.path.join(tmp, "import.sql")) as f:
            s_sq, m_sq = run(["sqlite3", base], stdin=f)
        rows.append(("import JSONL (ls-jsonl)", a.tasks, s_imp, m_imp,
                     f"sqlite3 .import CSV {s_sq:.2f} s: ratio {s_imp / s_sq:.2f}x"))
        out = os.path.join(tmp, "out.jsonl")
        s_exp, m_exp = run([ANNOT, *env_db, "export", "t", "--format", "ls-jsonl", "-o", out])
        s_cat, _ = run(["cp", jl, os.path.join(tmp, "copy.jsonl")])
        rows.append(("export JSONL (ls-jsonl)", a.tasks, s_exp, m_exp,
                     f"cp of the input {s_cat:.2f} s: ratio {s_exp / max(s_cat, 1e-9):.2f}x"))

        bx = os.path.join(tmp, "boxes.jsonl")
        gen_boxes(bx, a.images, a.boxes_per_image)
        db2 = ["--db", os.path.join(tmp, "boxes.db")]
        subprocess.run([ANNOT, *db2, "project", "create", "b", "--config",
                        os.path.join(TOP, "demo", "configs", "street.xml")], check=True,
                       stdout=subprocess.DEVNULL)
        s_bi, m_bi = run([ANNOT, *db2, "import", "b", bx, "--format", "ls-jsonl"])
        rows.append((f"import {a.images} images, {a.images * a.boxes_per_image} boxes",
                     a.images, s_bi, m_bi, ""))
        s_co, m_co = run([ANNOT, *db2, "export", "b", "--format", "coco", "-o",
                          os.path.join(tmp, "coco.json")])
        s_py, m_py = run([sys.executable, "-c",
                          "import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2],'w'))",
                          os.path.join(tmp, "coco.json"), os.path.join(tmp, "coco2.json")])
        rows.append((f"export COCO ({a.images * a.boxes_per_image} boxes)", a.images, s_co, m_co,
                     f"python json load+dump of the result {s_py:.2f} s: ratio {s_co / s_py:.2f}x"))
    finally:
        if a.keep:
            print("files kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'benchmark':40} {'items':>9} {'seconds':>8} {'items/s':>10} {'peak RSS':>9}  baseline")
    for name, n, s, m, note in rows:
        print(f"{name:40} {n:>9} {s:>8.2f} {n / s:>10.0f} {m:>7.1f}MB  {note}")


if __name__ == "__main__":
    main()
