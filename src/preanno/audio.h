/* Audio for the speech model: decoding a file to mono samples (libsndfile) and changing the
 * sample rate (a windowed-sinc resampler), so any WAV, FLAC or Ogg file reaches the
 * recogniser as the 16 kHz mono 16-bit PCM its acoustic model was trained on.
 *
 * Thread safety: reentrant (no shared state). */
#ifndef AN_PREANNO_AUDIO_H
#define AN_PREANNO_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Decoded audio: n mono samples in [-1, 1] at rate samples per second. */
typedef struct an_audio {
    float *samples; /* malloc'd; an_audio_free */
    size_t n;
    int rate;
    int channels; /* of the file, before mixing */
} an_audio;

void an_audio_free(an_audio *a);

/* Decodes the audio file at path (every format libsndfile reads: WAV, FLAC, Ogg Vorbis/Opus,
 * AIFF, …) into out, mixing the channels to mono by averaging. A file longer than
 * max_seconds is refused (AN_EINVAL saying its length) before it is decoded, which bounds the
 * memory taken. AN_EINVAL naming where (the caller's place for the file, e.g. "data.audio")
 * when the file cannot be opened or decoded, has no samples, or has an implausible sample
 * rate (outside 1 kHz..768 kHz) or channel count (above 256). */
int an_audio_load(const char *path, double max_seconds, const char *where, an_audio *out,
                  an_err *err);

/* Resamples in[0..n) from in_rate to out_rate (both 1000..768000) with a Blackman-windowed
 * sinc low-pass at the lower of the two Nyquist frequencies, so downsampling does not alias.
 * Returns the new samples (malloc'd, the caller frees) and their number in *out_n,
 * round(n * out_rate / in_rate). Equal rates copy. */
float *an_audio_resample(const float *in, size_t n, int in_rate, int out_rate, size_t *out_n);

/* Converts samples to 16-bit PCM, clipping to the range (malloc'd, n values). */
int16_t *an_audio_pcm16(const float *in, size_t n);

#endif
