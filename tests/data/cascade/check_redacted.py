"""Reads images back with Pillow for tests/unit/test_redact_image.c.

usage: check_redacted.py gps SRC OUT        writes SRC as a JPEG with EXIF (camera, GPS) and a
                                            comment; prints the GPS IFD it wrote
       check_redacted.py meta IMG           prints "exif N gps G make M comment C xmp X icc I"
       check_redacted.py pixels ORIG OUT X,Y,W,H ...
            prints "inside VAR_ORIG VAR_OUT outside MAXDIFF NPIX": the grey variance inside
            the first box before and after, and the largest difference over the pixels lying
            outside every box widened by a quarter of its size
"""
import sys

import numpy as np
from PIL import Image


def gps(src, out):
    im = Image.open(src).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    im.save(out, exif=exif.tobytes(), quality=95, comment=b"shot at home")
    print(dict(Image.open(out).getexif().get_ifd(0x8825)))


def meta(path):
    im = Image.open(path)
    ex = im.getexif()
    print("exif", len(ex), "gps", len(ex.get_ifd(0x8825)), "make", int(0x010F in ex), "comment",
          int("comment" in im.info), "xmp", int("xmp" in im.info or "XML:com.adobe.xmp" in im.info),
          "icc", int("icc_profile" in im.info))


def pixels(orig, out, boxes):
    a = np.asarray(Image.open(orig).convert("RGB")).astype(int)
    b = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert a.shape == b.shape, (a.shape, b.shape)
    far = np.ones(a.shape[:2], bool)
    for i, s in enumerate(boxes):
        x, y, w, h = map(int, s.split(","))
        if i == 0:
            ga, gb = a[y:y + h, x:x + w].mean(axis=2), b[y:y + h, x:x + w].mean(axis=2)
            va, vb = ga.var(), gb.var()
        px, py = w // 4, h // 4
        far[max(0, y - py):y + h + py, max(0, x - px):x + w + px] = False
    diff = np.abs(a - b).max(axis=2)[far]
    print("inside %.3f %.3f outside %d %d" % (va, vb, diff.max() if diff.size else 0, diff.size))


cmd = sys.argv[1]
if cmd == "gps":
    gps(sys.argv[2], sys.argv[3])
elif cmd == "meta":
    meta(sys.argv[2])
else:
    pixels(sys.argv[2], sys.argv[3], sys.argv[4:])
