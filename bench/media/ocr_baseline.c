/* The OCR benchmark's baseline: Tesseract alone on the same pages, as annot's ocr model
 * drives it (grey 8-bit image, automatic page segmentation as annot's default psm 3, one line
 * box and text per RIL_TEXTLINE), without annot's store, JSON or validation. The mode is set
 * explicitly: the library's own default is a single block (6), which skips layout analysis
 * and would make Tesseract alone do less work than annot asks of it. Prints seconds per page after
 * the first (which pays Tesseract's start-up, as annot's one-page run does).
 *   ocr_baseline PAGE.png...          (decoded with Leptonica's pixRead, converted to 8 bpp) */
#include <leptonica/allheaders.h>
#include <stdio.h>
#include <tesseract/capi.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ocr_baseline PAGE.png PAGE.png...\n");
        return 2;
    }
    TessBaseAPI *api = TessBaseAPICreate();
    TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    if (TessBaseAPIInit3(api, NULL, "eng") != 0) return 1;
    TessBaseAPISetPageSegMode(api, PSM_AUTO);
    double first = 0, t0 = now();
    long lines = 0;
    for (int i = 1; i < argc; i++) {
        PIX *p = pixRead(argv[i]);
        if (!p) return 1;
        PIX *g = pixConvertTo8(p, 0);
        TessBaseAPISetImage2(api, g);
        if (TessBaseAPIRecognize(api, NULL) != 0) return 1;
        TessResultIterator *ri = TessBaseAPIGetIterator(api);
        if (ri) {
            const TessPageIterator *pi = TessResultIteratorGetPageIterator(ri);
            do {
                int x1, y1, x2, y2;
                if (!TessPageIteratorBoundingBox(pi, RIL_TEXTLINE, &x1, &y1, &x2, &y2)) continue;
                char *text = TessResultIteratorGetUTF8Text(ri, RIL_TEXTLINE);
                float conf = TessResultIteratorConfidence(ri, RIL_TEXTLINE);
                lines += text && conf >= 0;
                TessDeleteText(text);
            } while (TessPageIteratorNext((TessPageIterator *)pi, RIL_TEXTLINE));
            TessResultIteratorDelete(ri);
        }
        TessBaseAPIClear(api);
        pixDestroy(&g);
        pixDestroy(&p);
        if (i == 1) first = now() - t0;
    }
    double all = now() - t0;
    printf("%.4f %.4f %ld\n", first, (all - first) / (argc - 2), lines);
    TessBaseAPIEnd(api);
    TessBaseAPIDelete(api);
    return 0;
}
