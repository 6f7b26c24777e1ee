"""Shared by bench/pii/*.py: the candidate patterns of src/comply/pii.c in Python syntax and
the same validators (check digits, dates, ranges), as Presidio's pattern recognizers pair a
regex with a validate_result(). Digit-run boundaries are lookarounds (Presidio writes \\b)."""
import ipaddress
import re

PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PL = "[A-HJ-NP-Z]"
PC = "[A-HJ-NP-Z0-9]"
ND = r"(?<![0-9+])"   # not inside a digit run (the scanner's boundary rule)
NA = r"(?![0-9])"
NW = r"(?<![A-Za-z0-9<])"
NWA = r"(?![A-Za-z0-9<])"

# (type, kind, regex without boundaries, boundary before, boundary after)
PATTERNS = [
    ("ID_CARD", "id", r"[0-9]{17}[0-9Xx]", ND, NA),
    ("USCC", "uscc", r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}", NW, NWA),
    ("PHONE", "phone", r"(?:\+86[ \-]?|0086[ \-]?)?1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}", ND, NA),
    ("PHONE", "phone", r"(?:\(0[0-9]{2,3}\)[ \-]?|0[0-9]{2,3}[ \-])[0-9]{3,4}[ \-]?[0-9]{4}", ND, NA),
    ("PHONE", "phone", r"\+[1-9](?:[ \-]?[0-9]){7,14}", ND, NA),
    ("BANK_CARD", "card", r"(?:62|4|5[1-5]|2[2-7]|3[47]|35)[0-9]{11,17}", ND, NA),
    ("BANK_CARD", "card", r"[0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}(?:[ \-]?[0-9]{1,3})?", ND, NA),
    ("BANK_CARD", "card", r"3[47][0-9]{2}[ \-][0-9]{6}[ \-][0-9]{5}", ND, NA),
    ("EMAIL", "email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
     r"(?<![A-Za-z0-9._%+\-])", r"(?![A-Za-z0-9_\-])"),
    ("IPV4", "ipv4", r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", r"(?<![0-9.])", r"(?![0-9]|\.[0-9])"),
    ("IPV6", "ipv6", r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}", r"(?<![0-9A-Fa-f:])", r"(?![0-9A-Fa-f:])"),
    ("PASSPORT", "passport", r"[EG][0-9]{8}|E" + PL + r"[0-9]{7}|[DSP]E?[0-9]{7}", NW, NWA),
    ("PASSPORT", "mrz", r"[A-Z0-9<]{9}[0-9][A-Z<]{3}[0-9]{7}[MFX<][0-9]{7}[A-Z0-9<]{14}[0-9<][0-9]", NW, NWA),
    ("PLATE", "plate", "[" + PROV + "]" + PL + "(?:\u00b7)?(?:" + PC + "{4}(?:" + PC +
     "|挂|学|警|港|澳)|[DF]" + PC + "[0-9]{4}|[0-9]{5}[DF])", "", r"(?![A-Za-z0-9])"),
]


def ere(p):
    """The bare candidate shape (no lookaround): what grep and ripgrep are given."""
    return p[2]


def compiled():
    return [(t, k, re.compile(b + "(?:" + r + ")" + a)) for t, k, r, b, a in PATTERNS]


W_ID = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_check(body17):
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, W_ID)) % 11]


def real_date(y, m, d):
    if not 1 <= m <= 12 or d < 1:
        return False
    md = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    if m == 2 and (y % 4 == 0 and y % 100 != 0 or y % 400 == 0):
        md = 29
    return d <= md


def valid_id(s):
    if len(s) != 18 or not s[:17].isdigit() or s[0] == "0":
        return False
    y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    if not 1900 <= y <= 2099 or not real_date(y, m, d):
        return False
    return s[17].upper() == id_check(s[:17])


USCC_A = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W_USCC = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check(body17):
    c = 31 - sum(USCC_A.index(ch) * w for ch, w in zip(body17, W_USCC)) % 31
    return USCC_A[0 if c == 31 else c]


def valid_uscc(s):
    if len(s) != 18 or not s[2:8].isdigit() or any(c not in USCC_A for c in s):
        return False
    return s[17] == uscc_check(s[:17])


def luhn(d):
    total = 0
    for i, ch in enumerate(reversed(d)):
        v = int(ch)
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def luhn_digit(body):
    for c in "0123456789":
        if luhn(body + c):
            return c


def valid_card(s):
    d = s.replace(" ", "").replace("-", "")
    if not d.isdigit() or not 13 <= len(d) <= 19 or not luhn(d):
        return False
    k, p2, p4 = len(d), int(d[:2]), int(d[:4])
    if p2 == 62:
        return k >= 16
    if d[0] == "4":
        return k in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return k == 16
    if p2 in (34, 37):
        return k == 15
    if 3528 <= p4 <= 3589:
        return k >= 16
    return False


def _mobile(d):
    return len(d) == 11 and d[0] == "1" and d[1] in "3456789"


def valid_phone(s):
    if s[0] == "+" or (len(s) > 4 and s.startswith("0086")):
        d = (s[1:] if s[0] == "+" else s[2:]).replace(" ", "").replace("-", "")
        if not d.isdigit() or not 8 <= len(d) <= 15 or d[0] == "0":
            return False
        if d.startswith("86"):
            r = d[2:]
            return _mobile(r) or (9 <= len(r) <= 11 and r[0] != "1") or \
                (9 <= len(r) <= 10 and r[0] == "1" and r[1] == "0")
        return s[0] == "+"
    if s[0] in "(0":
        m = re.match(r"\(?([0-9]*)\)?(.*)$", s)
        a, rest = m.group(1), m.group(2)
        if not ((len(a) == 3 and a[0] == "0" and (a[2] == "0" if a[1] == "1" else a[1] == "2")) or
                (len(a) == 4 and a[0] == "0" and a[1] in "3456789")):
            return False
        d = rest.replace(" ", "").replace("-", "")
        return d.isdigit() and len(d) in (7, 8) and d[0] not in "01"
    return _mobile(s.replace(" ", "").replace("-", ""))


def valid_email(s):
    if len(s) > 254 or "@" not in s:
        return False
    local, dom = s.split("@", 1)
    if not 0 < len(local) <= 64 or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    labels = dom.split(".")
    return len(labels) >= 2 and all(0 < len(x) <= 63 and x[0] != "-" and x[-1] != "-" for x in labels)


def valid_ipv4(s):
    parts = s.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") and
                                   int(p) <= 255 for p in parts)


def valid_ipv6(s):
    if len(s) < 6:
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    groups = sum(1 for i, c in enumerate(s) if c in "0123456789abcdefABCDEF" and (i == 0 or s[i - 1] == ":"))
    return groups >= 2


def mrz_digit(s):
    w = (7, 3, 1)
    total = 0
    for i, c in enumerate(s):
        if c.isdigit():
            v = int(c)
        elif "A" <= c <= "Z":
            v = ord(c) - 55
        elif c == "<":
            v = 0
        else:
            return -1
        total += v * w[i % 3]
    return total % 10


def _mrz_field(s, check):
    c = mrz_digit(s)
    return c >= 0 and check == str(c)


def valid_mrz(s):
    if len(s) != 44:
        return False
    if not (_mrz_field(s[0:9], s[9]) and _mrz_field(s[13:19], s[19]) and _mrz_field(s[21:27], s[27])):
        return False
    if not (s[42] == "<" and mrz_digit(s[28:42]) == 0) and not _mrz_field(s[28:42], s[42]):
        return False
    return _mrz_field(s[0:10] + s[13:20] + s[21:43], s[43])


def valid_passport(s):
    n = len(s)
    if n == 9 and s[0] in "EG" and s[1:].isdigit():
        return True
    if n == 9 and s[0] == "E" and "A" <= s[1] <= "Z" and s[1] not in "IO" and s[2:].isdigit():
        return True
    if s[0] in "DSP" and n >= 8:
        i = 2 if n == 9 and s[1] == "E" else 1
        return n - i == 7 and s[i:].isdigit()
    return False


def valid_plate(s):
    if len(s) < 2 or s[0] not in PROV or not ("A" <= s[1] <= "Z") or s[1] in "IO":
        return False
    r = s[2:]
    if r.startswith("\u00b7"):
        r = r[1:]
    ok = lambda c: ("A" <= c <= "Z" and c not in "IO") or c.isdigit()
    if len(r) == 6:
        if r[0] in "DF" and ok(r[1]) and r[2:].isdigit():
            return True
        return r[:5].isdigit() and r[5] in "DF"
    serial = r
    if len(r) == 5 and r[4] in "挂学警港澳":
        serial = r[:4]
    elif len(r) != 5:
        return False
    return all(ok(c) for c in serial) and sum(c.isalpha() for c in serial) <= 2


VALID = {"id": valid_id, "uscc": valid_uscc, "phone": valid_phone, "card": valid_card,
         "email": valid_email, "ipv4": valid_ipv4, "ipv6": valid_ipv6, "passport": valid_passport,
         "mrz": valid_mrz, "plate": valid_plate}


def any_valid(s):
    """True when some candidate of any type inside s validates (for near-miss generation)."""
    for t, k, rx in compiled():
        for m in rx.finditer(s):
            if VALID[k](m.group(0)):
                return True
    return False
