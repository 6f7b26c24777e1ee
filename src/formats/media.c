/* Media sniffing from magic bytes and image sizes from headers (see media.h).
 *
 * Every byte looked at has been read and counted first: headers come from files users hand
 * us, so a field that points past the end means "damaged", never a read past the buffer. */
#include "formats/media.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

/* ---- kind from the head ------------------------------------------------------------- */

static bool has(const unsigned char *h, size_t n, size_t off, const char *magic, size_t len)
{
    return n >= off + len && memcmp(h + off, magic, len) == 0;
}

static bool find(const unsigned char *h, size_t n, const char *needle, size_t len)
{
    if (n < len) return false;
    for (size_t i = 0; i + len <= n; i++)
        if (h[i] == (unsigned char)needle[0] && memcmp(h + i, needle, len) == 0) return true;
    return false;
}

/* An MPEG audio frame header (MP1/2/3) or an AAC ADTS header at h[0..4). Checking the
 * reserved values keeps arbitrary 0xFF-started binaries from passing as audio. */
static bool mpeg_audio_sync(const unsigned char *h, size_t n)
{
    if (n < 4 || h[0] != 0xFF || (h[1] & 0xE0) != 0xE0) return false;
    if ((h[1] & 0xF6) == 0xF0) return true; /* ADTS: MPEG-4/2 AAC, layer bits 00 */
    unsigned version = (h[1] >> 3) & 3, layer = (h[1] >> 1) & 3;
    unsigned bitrate = h[2] >> 4, rate = (h[2] >> 2) & 3;
    return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

/* True when t[0..k) is the start of a valid multi-byte UTF-8 sequence cut short. */
static bool truncated_utf8(const unsigned char *t, size_t k)
{
    unsigned char lead = t[0];
    size_t need = lead >= 0xC2 && lead <= 0xDF   ? 2
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                 : 0;
    if (need == 0 || k >= need) return false;
    for (size_t i = 1; i < k; i++) {
        unsigned char lo = 0x80, hi = 0xBF;
        if (i == 1) {
            if (lead == 0xE0) lo = 0xA0;
            if (lead == 0xED) hi = 0x9F;
            if (lead == 0xF0) lo = 0x90;
            if (lead == 0xF4) hi = 0x8F;
        }
        if (t[i] < lo || t[i] > hi) return false;
    }
    return true;
}

static bool is_text(const unsigned char *h, size_t n)
{
    if (memchr(h, 0, n)) return false;
    size_t end = n;
    /* The head may stop inside a character: find the start of the last one. */
    size_t p = n;
    while (p > 0 && n - p < 3 && (h[p - 1] & 0xC0) == 0x80) p--;
    if (p > 0 && (h[p - 1] & 0xC0) == 0xC0 && truncated_utf8(h + p - 1, n - p + 1)) end = p - 1;
    return an_utf8_valid((const char *)h, end);
}

an_media_kind an_media_kind_of(const unsigned char *h, size_t n)
{
    /* An empty head tells nothing: an empty file is not taken for an (empty) text. */
    if (!h || n == 0) return AN_MEDIA_UNKNOWN;
    /* images */
    if (has(h, n, 0, "\x89PNG\r\n\x1a\n", 8)) return AN_MEDIA_IMAGE;
    if (has(h, n, 0, "\xFF\xD8\xFF", 3)) return AN_MEDIA_IMAGE;
    if (has(h, n, 0, "GIF87a", 6) || has(h, n, 0, "GIF89a", 6)) return AN_MEDIA_IMAGE;
    if (has(h, n, 0, "II*\0", 4) || has(h, n, 0, "MM\0*", 4)) return AN_MEDIA_IMAGE;
    if (has(h, n, 0, "BM", 2) && n >= 18) {
        /* "BM" alone starts plenty of text files; the DIB header size must be a known one. */
        uint32_t dib = (uint32_t)h[14] | (uint32_t)h[15] << 8 | (uint32_t)h[16] << 16 |
                       (uint32_t)h[17] << 24;
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 ||
            dib == 124)
            return AN_MEDIA_IMAGE;
    }
    if (has(h, n, 0, "RIFF", 4)) {
        if (has(h, n, 8, "WEBP", 4)) return AN_MEDIA_IMAGE;
        if (has(h, n, 8, "WAVE", 4)) return AN_MEDIA_AUDIO;
        if (has(h, n, 8, "AVI ", 4)) return AN_MEDIA_VIDEO;
    }
    /* audio */
    if (has(h, n, 0, "fLaC", 4)) return AN_MEDIA_AUDIO;
    if (has(h, n, 0, "ID3", 3) && n >= 10 && h[3] < 0xFF && h[4] < 0xFF) return AN_MEDIA_AUDIO;
    if (has(h, n, 0, "OggS", 4))
        return find(h, n, "\x80theora", 7) ? AN_MEDIA_VIDEO : AN_MEDIA_AUDIO;
    if (mpeg_audio_sync(h, n)) return AN_MEDIA_AUDIO;
    /* ISO base media (MP4, MOV, M4A): a box of type ftyp first; the major brand tells audio. */
    if (has(h, n, 4, "ftyp", 4)) {
        if (has(h, n, 8, "M4A ", 4) || has(h, n, 8, "M4B ", 4) || has(h, n, 8, "M4P ", 4))
            return AN_MEDIA_AUDIO;
        return AN_MEDIA_VIDEO;
    }
    if (has(h, n, 4, "moov", 4) || has(h, n, 4, "mdat", 4)) return AN_MEDIA_VIDEO; /* old MOV */
    if (has(h, n, 0, "\x1A\x45\xDF\xA3", 4)) return AN_MEDIA_VIDEO; /* EBML: WebM, Matroska */
    if (is_text(h, n)) return AN_MEDIA_TEXT;
    return AN_MEDIA_UNKNOWN;
}

const char *an_media_kind_name(an_media_kind k)
{
    switch (k) {
    case AN_MEDIA_IMAGE: return "image";
    case AN_MEDIA_AUDIO: return "audio";
    case AN_MEDIA_VIDEO: return "video";
    case AN_MEDIA_TEXT: return "text";
    default: return "unknown";
    }
}

/* Reads up to cap bytes from the start of f; returns the count, or -1 on a read error. */
static long read_head(FILE *f, unsigned char *buf, size_t cap)
{
    size_t n = fread(buf, 1, cap, f);
    if (n < cap && ferror(f)) return -1;
    return (long)n;
}

an_media_kind an_media_sniff_file(const char *path, an_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
        return AN_MEDIA_UNKNOWN;
    }
    unsigned char head[4096];
    long n = read_head(f, head, sizeof head);
    int e = errno;
    fclose(f);
    if (n < 0) {
        an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(e));
        return AN_MEDIA_UNKNOWN;
    }
    return an_media_kind_of(head, (size_t)n);
}

/* ---- image sizes -------------------------------------------------------------------- */

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const unsigned char *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint32_t le24(const unsigned char *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Reads exactly n bytes at offset off; false when the file is shorter (or unreadable). */
static bool read_at(FILE *f, uint64_t off, unsigned char *buf, size_t n)
{
    if (off > (uint64_t)INT64_MAX) return false;
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) return false;
    return fread(buf, 1, n, f) == n;
}

typedef struct img {
    FILE *f;
    const char *path;
    const unsigned char *h; /* head, n bytes read from offset 0 */
    size_t n;
    uint32_t w, ht;
    an_err *err;
} img;

static int damaged(img *m, const char *kind, const char *what)
{
    return an_err_set(m->err, AN_EINVAL, m->path,
                      "damaged %s header in %s: %s; re-save the image with an image editor",
                      kind, m->path, what);
}

static int png_size(img *m)
{
    if (m->n < 24) return damaged(m, "PNG", "the file ends before the IHDR chunk");
    if (memcmp(m->h + 12, "IHDR", 4) != 0 || be32(m->h + 8) < 8)
        return damaged(m, "PNG", "the first chunk is not IHDR");
    m->w = be32(m->h + 16);
    m->ht = be32(m->h + 20);
    return 0;
}

static int gif_size(img *m)
{
    if (m->n < 10) return damaged(m, "GIF", "the file ends inside the screen descriptor");
    m->w = le16(m->h + 6);
    m->ht = le16(m->h + 8);
    return 0;
}

static int bmp_size(img *m)
{
    if (m->n < 18) return damaged(m, "BMP", "the file ends inside the file header");
    uint32_t dib = le32(m->h + 14);
    if (dib == 12) {
        if (m->n < 22) return damaged(m, "BMP", "the file ends inside the core header");
        m->w = le16(m->h + 18);
        m->ht = le16(m->h + 20);
        return 0;
    }
    if (dib < 40) return damaged(m, "BMP", "unknown info header size");
    if (m->n < 26) return damaged(m, "BMP", "the file ends inside the info header");
    int32_t w = (int32_t)le32(m->h + 18), h = (int32_t)le32(m->h + 22);
    /* A negative height marks a top-down bitmap; its size is the magnitude. */
    if (w <= 0 || h == 0 || h == INT32_MIN) return damaged(m, "BMP", "impossible width or height");
    m->w = (uint32_t)w;
    m->ht = (uint32_t)(h < 0 ? -h : h);
    return 0;
}

static int webp_size(img *m)
{
    if (m->n < 30) return damaged(m, "WebP", "the file ends before the first chunk's header");
    const unsigned char *c = m->h + 12, *d = m->h + 20;
    if (memcmp(c, "VP8 ", 4) == 0) {
        /* Lossy: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit sizes. */
        if (memcmp(d + 3, "\x9d\x01\x2a", 3) != 0)
            return damaged(m, "WebP", "VP8 frame start code missing");
        m->w = le16(d + 6) & 0x3FFF;
        m->ht = le16(d + 8) & 0x3FFF;
        return 0;
    }
    if (memcmp(c, "VP8L", 4) == 0) {
        if (d[0] != 0x2F) return damaged(m, "WebP", "VP8L signature missing");
        uint32_t bits = le32(d + 1);
        m->w = (bits & 0x3FFF) + 1;
        m->ht = ((bits >> 14) & 0x3FFF) + 1;
        return 0;
    }
    if (memcmp(c, "VP8X", 4) == 0) {
        m->w = le24(d + 4) + 1;
        m->ht = le24(d + 7) + 1;
        return 0;
    }
    return damaged(m, "WebP", "the first chunk is not VP8, VP8L or VP8X");
}

static int tiff_size(img *m)
{
    if (m->n < 8) return damaged(m, "TIFF", "the file ends inside the header");
    bool le = m->h[0] == 'I';
    uint32_t (*u16)(const unsigned char *) = le ? le16 : be16;
    uint32_t (*u32)(const unsigned char *) = le ? le32 : be32;
    uint32_t ifd = u32(m->h + 4);
    unsigned char cnt[2];
    if (ifd < 8 || !read_at(m->f, ifd, cnt, 2))
        return damaged(m, "TIFF", "the first directory lies outside the file");
    uint32_t entries = u16(cnt);
    bool got_w = false, got_h = false;
    for (uint32_t i = 0; i < entries && !(got_w && got_h); i++) {
        unsigned char e[12];
        if (!read_at(m->f, (uint64_t)ifd + 2 + (uint64_t)i * 12, e, sizeof e))
            return damaged(m, "TIFF", "the file ends inside the first directory");
        uint32_t tag = u16(e), type = u16(e + 2);
        if (tag != 256 && tag != 257) continue;
        uint32_t v;
        if (type == 3)
            v = u16(e + 8); /* SHORT: left-justified in the value field */
        else if (type == 4)
            v = u32(e + 8);
        else
            return damaged(m, "TIFF", "image width or length is neither SHORT nor LONG");
        if (tag == 256) {
            m->w = v;
            got_w = true;
        } else {
            m->ht = v;
            got_h = true;
        }
    }
    if (!got_w || !got_h) return damaged(m, "TIFF", "ImageWidth or ImageLength tag missing");
    return 0;
}

/* Walks JPEG segments from offset 2 to the first frame header (SOF0..SOF15; C4, C8 and CC
 * share that range but are DHT, JPG and DAC). */
static int jpeg_size(img *m)
{
    uint64_t off = 2;
    for (;;) {
        unsigned char b[2];
        if (!read_at(m->f, off, b, 2)) return damaged(m, "JPEG", "no frame header before the end");
        if (b[0] != 0xFF) return damaged(m, "JPEG", "a segment does not start with a marker");
        unsigned char marker = b[1];
        if (marker == 0xFF) { /* fill byte */
            off += 1;
            continue;
        }
        off += 2;
        if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7))
            continue; /* standalone markers: no length */
        if (marker == 0xD9 || marker == 0xDA)
            return damaged(m, "JPEG", "image data starts before any frame header");
        if (!read_at(m->f, off, b, 2)) return damaged(m, "JPEG", "the file ends inside a segment");
        uint32_t len = be16(b);
        if (len < 2) return damaged(m, "JPEG", "a segment length is below 2");
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
            marker != 0xCC) {
            unsigned char sof[5];
            if (len < 7 || !read_at(m->f, off + 2, sof, sizeof sof))
                return damaged(m, "JPEG", "the frame header is cut short");
            m->ht = be16(sof + 1);
            m->w = be16(sof + 3);
            return 0;
        }
        off += len;
    }
}

int an_media_image_size(const char *path, int *width, int *height, an_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
    unsigned char head[64];
    long n = read_head(f, head, sizeof head);
    if (n < 0) {
        int e = errno;
        fclose(f);
        return an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(e));
    }
    img m = {.f = f, .path = path, .h = head, .n = (size_t)n, .err = err};
    const unsigned char *h = head;
    size_t hn = (size_t)n;
    int rc;
    const char *kind;
    if (has(h, hn, 0, "\x89PNG\r\n\x1a\n", 8)) {
        kind = "PNG";
        rc = png_size(&m);
    } else if (has(h, hn, 0, "\xFF\xD8\xFF", 3)) {
        kind = "JPEG";
        rc = jpeg_size(&m);
    } else if (has(h, hn, 0, "GIF87a", 6) || has(h, hn, 0, "GIF89a", 6)) {
        kind = "GIF";
        rc = gif_size(&m);
    } else if (has(h, hn, 0, "BM", 2)) {
        kind = "BMP";
        rc = bmp_size(&m);
    } else if (has(h, hn, 0, "RIFF", 4) && has(h, hn, 8, "WEBP", 4)) {
        kind = "WebP";
        rc = webp_size(&m);
    } else if (has(h, hn, 0, "II*\0", 4) || has(h, hn, 0, "MM\0*", 4)) {
        kind = "TIFF";
        rc = tiff_size(&m);
    } else {
        fclose(f);
        return an_err_set(err, AN_EINVAL, path,
                          "%s is not a PNG, JPEG, GIF, BMP, WebP or TIFF image (its content "
                          "looks like %s); give an image file",
                          path, an_media_kind_name(an_media_kind_of(h, hn)));
    }
    fclose(f);
    if (rc < 0) return rc;
    if (m.w == 0 || m.ht == 0 || m.w > INT32_MAX || m.ht > INT32_MAX) {
        return an_err_set(err, AN_EINVAL, path,
                          "damaged %s header in %s: impossible size %" PRIu32 "x%" PRIu32
                          "; re-save the image with an image editor",
                          kind, path, m.w, m.ht);
    }
    *width = (int)m.w;
    *height = (int)m.ht;
    return 0;
}
