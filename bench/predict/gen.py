# Generates N short sentiment-like text tasks as ls-jsonl, the first N_ANN annotated with
# their class, for bench/predict.sh; also writes the texts and labels for the baseline.
import json, random, sys
n, n_ann, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(1)
pos = ["great", "wonderful", "excellent", "loved", "amazing", "delightful", "superb", "好看"]
neg = ["terrible", "awful", "boring", "hated", "dreadful", "poor", "horrible", "难看"]
things = ["movie", "film", "plot", "acting", "soundtrack", "ending", "story", "hotel", "service"]
fill = ["to be fair", "after all", "in my view", "last night", "with friends", ""]
tmpl = ["The {t} was {w} {f}", "I thought the {t} was {w}, {f}", "What a {w} {t}! {f}",
        "{f} the {t} felt {w}"]
with open(out + ".jsonl", "w") as f, open(out + ".train.tsv", "w") as tr, \
        open(out + ".all.txt", "w") as al:
    for i in range(n):
        lab = r.choice(["positive", "negative"])
        text = r.choice(tmpl).format(t=r.choice(things), w=r.choice(pos if lab == "positive" else neg),
                                     f=r.choice(fill)) + " #%d" % i
        rec = {"data": {"text": text}}
        if i < n_ann:
            rec["annotations"] = [{"completed_by": 1, "result": [{"from_name": "sentiment",
                "to_name": "text", "type": "choices", "value": {"choices": [lab]}}]}]
            tr.write("%s\t%s\n" % (lab, text))
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        al.write(text + "\n")
