"""Seeded corpus for bench/pii.sh: mixed Chinese/English plain-text lines, about 1 % of the
characters PII of every type, valid values and near misses (wrong check digit, impossible
date, digits inside a longer digit run), with the ground truth of the valid ones.
    gen.py OUT.txt TRUTH.tsv MB [SEED]
TRUTH.tsv: line (1-based), start, end (code points of the line, [start, end)), type; the
machine-readable passport zone is typed PASSPORT_MRZ, passport numbers PASSPORT."""
import random
import sys

from common import (PROV, USCC_A, any_valid, id_check, luhn_digit, mrz_digit, real_date,
                    uscc_check, valid_id, valid_uscc)

out, truth_path, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
R = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)

ZH = ("今天 天气 很好 我们 一起 去 公园 散步 然后 吃饭 数据 标注 质量 检查 模型 回答 用户 问题 "
      "训练 样本 审核 通过 需要 修改 这个 句子 表达 清楚 结果 正确 文本 翻译 对话 场景 北京 上海 "
      "会议 明天 下午 讨论 方案 客户 反馈 意见 系统 更新 完成").split()
EN = ("the model answer was checked by two annotators before export and then reviewed again "
      "for quality data label prompt response dialogue turn summary good bad clear translation "
      "meeting tomorrow afternoon we will discuss plan feedback update done").split()
PUNCT = ["，", "。", ", ", ". ", " ", "；"]
REGIONS = ["110105", "310104", "440305", "510107", "330106", "420102", "620102", "410105",
           "350203", "370202", "320106", "130102"]
CTX = {"ID_CARD": ["身份证号 ", "身份证：", "ID number "], "USCC": ["统一社会信用代码 ", "credit code "],
       "PHONE": ["手机 ", "电话：", "phone "], "BANK_CARD": ["银行卡号 ", "卡号：", "card "],
       "EMAIL": ["邮箱 ", "email "], "IPV4": ["服务器 ", "ip "], "IPV6": ["服务器地址 ", "host "],
       "PASSPORT": ["护照号 ", "passport "], "PASSPORT_MRZ": ["护照 MRZ ", "passport "],
       "PLATE": ["车牌 ", "plate "]}


def digits(n):
    return "".join(R.choice("0123456789") for _ in range(n))


def date8():
    while True:
        y, m, d = R.randint(1950, 2010), R.randint(1, 12), R.randint(1, 31)
        if real_date(y, m, d):
            return "%04d%02d%02d" % (y, m, d)


def id_card():
    body = R.choice(REGIONS) + date8() + digits(3)
    return body + id_check(body)


def uscc():
    while True:
        v = _uscc()
        if not valid_id(v):
            return v


def _uscc():
    body = R.choice("123456789ABCDGNY") + R.choice("1239") + R.choice(REGIONS) + \
        "".join(R.choice(USCC_A) for _ in range(9))
    return body + uscc_check(body)


def card_digits():
    kind = R.randrange(5)
    if kind == 0:
        body = "62" + digits(R.choice([13, 14, 15, 16]))
    elif kind == 1:
        body = "4" + digits(R.choice([11, 14]))
    elif kind == 2:
        body = str(R.randint(51, 55)) + digits(13)
    elif kind == 3:
        body = R.choice(["34", "37"]) + digits(12)
    else:
        body = str(R.randint(3528, 3589)) + digits(11)
    return body + luhn_digit(body)


def card():
    # An 18-digit card number can also pass the credit-code check (1 in 31): such a value is
    # ambiguous without context, so the generator draws another.
    while True:
        d = card_digits()
        if not (valid_uscc(d) or valid_id(d)):
            break
    if len(d) == 16 and R.random() < 0.3:
        sep = R.choice(" -")
        return sep.join(d[i:i + 4] for i in range(0, 16, 4))
    return d


def phone():
    k = R.randrange(4)
    if k == 0:
        return "1" + R.choice("3456789") + digits(9)
    if k == 1:
        n = "1" + R.choice("3456789") + digits(9)
        return "+86 " + n if R.random() < 0.5 else n[:3] + "-" + n[3:7] + "-" + n[7:]
    if k == 2:
        return R.choice(["010", "021", "0755", "0571"]) + "-" + R.choice("23456789") + digits(7)
    return "+44 20 " + digits(4) + " " + digits(4)


def email():
    return "%s.%s%d@%s" % (R.choice(["li", "wang", "zhang", "anna", "tom"]), R.choice(EN), R.randint(1, 999),
                           R.choice(["example.com", "mail.example.cn", "test.org"]))


def ipv4():
    return "%d.%d.%d.%d" % (R.randint(1, 223), R.randint(0, 255), R.randint(0, 255), R.randint(1, 254))


def ipv6():
    g = ["%x" % R.randint(1, 0xffff) for _ in range(8)]
    if R.random() < 0.5:
        return "2001:db8::" + ":".join(g[:2])
    return ":".join(g)


def passport():
    return R.choice("EG") + digits(8)


def mrz():
    doc = R.choice("EG") + digits(8)
    birth = date8()[2:]
    exp = "%02d%02d%02d" % (R.randint(25, 35), R.randint(1, 12), R.randint(1, 28))
    pers = "".join(R.choice("ABCDEFGHJKLMNPQRSTUVWXYZ<") for _ in range(13)) + "<"
    s = doc + str(mrz_digit(doc)) + "CHN" + birth + str(mrz_digit(birth)) + R.choice("MF") + \
        exp + str(mrz_digit(exp)) + pers + str(mrz_digit(pers))
    comp = s[0:10] + s[13:20] + s[21:43]
    return s + str(mrz_digit(comp))


def plate():
    p = R.choice(PROV) + R.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
    if R.random() < 0.2:
        return p + R.choice("DF") + digits(5)
    return p + digits(5)


VALUES = [("ID_CARD", id_card, 3), ("USCC", uscc, 2), ("BANK_CARD", card, 3),
          ("PASSPORT_MRZ", mrz, 1), ("PASSPORT", passport, 1), ("PHONE", phone, 2),
          ("EMAIL", email, 1), ("IPV4", ipv4, 1), ("IPV6", ipv6, 1), ("PLATE", plate, 1)]
WEIGHTED = [v for v in VALUES for _ in range(v[2])]


def flip_digit(s, i):
    c = s[i]
    return s[:i] + R.choice([d for d in "0123456789" if d != c]) + s[i + 1:]


def near_miss():
    """A value that looks like PII and is not: one wrong check character, an impossible date,
    or a valid value inside a longer digit run."""
    k = R.randrange(7)
    if k == 0:
        v = id_card()
        return v[:17] + R.choice([c for c in "0123456789X" if c != v[17]])
    if k == 1:
        v = id_card()
        return v[:10] + R.choice(["0230", "1301", "0431", "0011", "0000"]) + v[14:17] + id_check(v[:10] + "0230" + v[14:17])
    if k == 2:
        v = uscc()
        return v[:17] + R.choice([c for c in USCC_A if c != v[17]])
    if k == 3:
        v = card_digits()
        return flip_digit(v, len(v) - 1)
    if k == 4:
        v = R.choice([id_card, card_digits])()
        return digits(R.randint(1, 3)) + v if R.random() < 0.5 else v + digits(R.randint(1, 3))
    if k == 5:
        v = mrz()
        return v[:9] + str((int(v[9]) + 1) % 10) + v[10:]
    return "订单号 " + digits(R.choice([12, 20, 22]))


def filler(nwords):
    parts = []
    for _ in range(nwords):
        parts.append(R.choice(ZH) if R.random() < 0.6 else R.choice(EN))
        parts.append(R.choice(PUNCT) if R.random() < 0.15 else (" " if parts[-1] in EN else ""))
    return "".join(parts).strip()


target = int(mb * 1000 * 1000)
size = lineno = 0
with open(out, "w", encoding="utf-8") as f, open(truth_path, "w") as t:
    while size < target:
        lineno += 1
        s = filler(R.randint(6, 40))
        r = R.random()
        if r < 0.055:
            typ, fn, _ = R.choice(WEIGHTED)
            v = fn()
            ctx = R.choice(CTX[typ]) if R.random() < 0.6 else ""
            cut = R.randint(0, len(s))
            pre = s[:cut] + ("，" if cut else "") + ctx
            start = len(pre)
            s = pre + v + R.choice(["，", "。", " ", "；"]) + s[cut:]
            t.write("%d\t%d\t%d\t%s\n" % (lineno, start, start + len(v), typ))
        elif r < 0.075:
            while True:
                v = near_miss()
                if not any_valid(" " + v + " "):
                    break
            cut = R.randint(0, len(s))
            s = s[:cut] + " " + v + " " + s[cut:]
        f.write(s + "\n")
        size += len(s.encode()) + 1
