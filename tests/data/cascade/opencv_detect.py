"""OpenCV's own detections, for tests/unit/test_cascade.c to compare with annot's.

usage: opencv_detect.py CASCADE SCALE_FACTOR MIN_NEIGHBORS IMAGE...
       opencv_detect.py --synthetic SRC OUTDIR   (writes scaled and cropped PNGs of SRC)

For each image prints one line: PATH N then N lines "x y w h neighbours". Images are read as
OpenCV users read them (imread in colour, then BGR2GRAY), which is what annot mirrors.
"""
import sys

import cv2


def synthetic(src, outdir):
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    out = []
    # Scaled up and down (INTER_AREA / INTER_CUBIC), a crop, and a crop of a scaled copy.
    for name, im in (
        ("up130", cv2.resize(img, (int(w * 1.3), int(h * 1.3)), interpolation=cv2.INTER_CUBIC)),
        ("down75", cv2.resize(img, (int(w * 0.75), int(h * 0.75)), interpolation=cv2.INTER_AREA)),
        ("crop", img[h // 8: h - h // 10, w // 7: w - w // 9]),
    ):
        path = "%s/%s.png" % (outdir, name)
        cv2.imwrite(path, im)
        out.append(path)
    print("\n".join(out))


def main():
    if sys.argv[1] == "--synthetic":
        synthetic(sys.argv[2], sys.argv[3])
        return
    cc = cv2.CascadeClassifier(sys.argv[1])
    if cc.empty():
        sys.exit("cannot load " + sys.argv[1])
    sf, mn = float(sys.argv[2]), int(sys.argv[3])
    for path in sys.argv[4:]:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        rects, counts = cc.detectMultiScale2(gray, scaleFactor=sf, minNeighbors=mn)
        print(path, len(rects))
        for (x, y, w, h), n in zip(rects, counts):
            print(x, y, w, h, n)


main()
