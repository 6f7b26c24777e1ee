/* Media sniffing: what a file is, found from its first bytes rather than its name, and an
 * image's pixel size read from its header (without decoding pixels).
 *
 * Recognised: images PNG, JPEG, GIF, BMP, WebP, TIFF; audio WAV, MP3 (ID3 or frame sync),
 * FLAC, Ogg, M4A; video MP4/MOV (ftyp), WebM/Matroska, AVI; text = valid UTF-8 without NUL
 * bytes. Input is untrusted: every length is checked against what was read. */
#ifndef AN_MEDIA_H
#define AN_MEDIA_H

#include <stddef.h>

#include "base/err.h"

typedef enum an_media_kind {
    AN_MEDIA_UNKNOWN = 0,
    AN_MEDIA_IMAGE,
    AN_MEDIA_AUDIO,
    AN_MEDIA_VIDEO,
    AN_MEDIA_TEXT,
} an_media_kind;

/* Kind of the content head[0..n) (the first bytes of a file; 4096 are plenty). For text, a
 * partial multi-byte character cut off at the end of head is allowed. */
an_media_kind an_media_kind_of(const unsigned char *head, size_t n);

/* Reads the first bytes of path and returns its kind; AN_MEDIA_UNKNOWN with err filled (EIO)
 * when the file cannot be read. */
an_media_kind an_media_sniff_file(const char *path, an_err *err);

/* Pixel width and height of the image file at path (PNG, JPEG, GIF, BMP, WebP, TIFF).
 * AN_EINVAL naming the path when it is not an image or its header is damaged. */
int an_media_image_size(const char *path, int *width, int *height, an_err *err);

/* "image", "audio", "video", "text" or "unknown". */
const char *an_media_kind_name(an_media_kind k);

#endif
