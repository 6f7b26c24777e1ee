/* Audio decoding (libsndfile) and resampling: see audio.h. */
#include "preanno/audio.h"

#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

enum { RATE_MIN = 1000, RATE_MAX = 768000, CHANNELS_MAX = 256, CHUNK_FRAMES = 4096 };

void an_audio_free(an_audio *a)
{
    free(a->samples);
    memset(a, 0, sizeof *a);
}

int an_audio_load(const char *path, double max_seconds, const char *where, an_audio *out,
                  an_err *err)
{
    memset(out, 0, sizeof *out);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        return an_err_set(err, AN_EINVAL, where, "cannot decode %.200s as audio: %s", path,
                          sf_strerror(NULL));
    int rc = 0;
    if (info.samplerate < RATE_MIN || info.samplerate > RATE_MAX)
        rc = an_err_set(err, AN_EINVAL, where,
                        "%.200s has a sample rate of %d Hz; expected %d to %d", path,
                        info.samplerate, RATE_MIN, RATE_MAX);
    else if (info.channels < 1 || info.channels > CHANNELS_MAX)
        rc = an_err_set(err, AN_EINVAL, where, "%.200s has %d channels; expected 1 to %d", path,
                        info.channels, CHANNELS_MAX);
    else if (info.frames <= 0)
        rc = an_err_set(err, AN_EINVAL, where, "%.200s holds no audio samples", path);
    else if ((double)info.frames / info.samplerate > max_seconds)
        rc = an_err_set(err, AN_EINVAL, where,
                        "%.200s lasts %.1f s, longer than the %.0f s the model decodes at once "
                        "(option max_seconds); split it into shorter files",
                        path, (double)info.frames / info.samplerate, max_seconds);
    if (rc) {
        sf_close(f);
        return rc;
    }
    /* The header's frame count is a hint (some containers only estimate it): read to the end,
     * but never past the length the limit allows. */
    size_t limit = (size_t)(max_seconds * info.samplerate) + 1;
    size_t cap = (size_t)info.frames < limit ? (size_t)info.frames : limit;
    size_t ch = (size_t)info.channels;
    float *mono = an_xmalloc(cap * sizeof *mono);
    float *chunk = an_xmalloc(CHUNK_FRAMES * ch * sizeof *chunk);
    size_t n = 0;
    for (;;) {
        sf_count_t got = sf_readf_float(f, chunk, CHUNK_FRAMES);
        if (got <= 0) break;
        if (n + (size_t)got > limit) {
            rc = an_err_set(err, AN_EINVAL, where,
                            "%.200s is longer than the %.0f s the model decodes at once (option "
                            "max_seconds); split it into shorter files",
                            path, max_seconds);
            break;
        }
        if (n + (size_t)got > cap) {
            cap = cap * 2 > n + (size_t)got ? cap * 2 : n + (size_t)got;
            if (cap > limit) cap = limit;
            mono = an_xrealloc(mono, cap * sizeof *mono);
        }
        for (sf_count_t i = 0; i < got; i++) {
            double s = 0;
            for (size_t c = 0; c < ch; c++)
                s += chunk[(size_t)i * ch + c];
            mono[n++] = (float)(s / (double)ch);
        }
    }
    if (!rc && sf_error(f) != SF_ERR_NO_ERROR)
        rc = an_err_set(err, AN_EINVAL, where, "%.200s is damaged: %s", path, sf_strerror(f));
    if (!rc && n == 0)
        rc = an_err_set(err, AN_EINVAL, where, "%.200s holds no audio samples", path);
    free(chunk);
    sf_close(f);
    if (rc) {
        free(mono);
        return rc;
    }
    out->samples = mono;
    out->n = n;
    out->rate = info.samplerate;
    out->channels = info.channels;
    return 0;
}

/* The resampler is a windowed-sinc interpolator (J. O. Smith's "bandlimited interpolation"):
 * output sample j sits at input time t = j * in_rate / out_rate and is the sum of the input
 * samples around t weighted by a low-pass kernel centred on t. The kernel is a sinc with its
 * cutoff at CUTOFF times the lower Nyquist frequency (the margin is the transition band, so
 * that what lies above the new Nyquist frequency is stopped rather than folded back), tapered
 * by a Blackman window over ZC zero crossings on each side (stopband about -74 dB). It is
 * tabulated at TABLE_RES points per zero crossing and read with linear interpolation, which
 * keeps the work per tap to a multiply-add. */
enum { ZC = 16, TABLE_RES = 512 };
#define CUTOFF 0.9

/* The kernel table is small (32 KiB) and cheap next to the filtering, so each call fills its
 * own: no shared state between threads. */
static void kernel_fill(float *tab)
{
    const double pi = 3.14159265358979323846;
    for (int i = 0; i <= ZC * TABLE_RES + 1; i++) {
        double x = (double)i / TABLE_RES; /* zero crossings of the unscaled sinc */
        double u = x / ZC;                /* window position 0..1 */
        double w = u >= 1 ? 0 : 0.42 + 0.5 * cos(pi * u) + 0.08 * cos(2 * pi * u);
        double a = pi * CUTOFF * x;
        double s = x == 0 ? 1 : sin(a) / a;
        tab[i] = (float)(CUTOFF * s * w);
    }
}

float *an_audio_resample(const float *in, size_t n, int in_rate, int out_rate, size_t *out_n)
{
    size_t m = (size_t)llround((double)n * out_rate / in_rate);
    *out_n = m;
    float *out = an_xmalloc((m ? m : 1) * sizeof *out);
    if (in_rate == out_rate) {
        if (n) memcpy(out, in, n * sizeof *out);
        return out;
    }
    float *tab = an_xmalloc((ZC * TABLE_RES + 2) * sizeof *tab);
    kernel_fill(tab);
    /* Downsampling stretches the kernel by 1/c in input samples (its cutoff falls with the
     * new Nyquist frequency) and scales it by c to keep unity gain. */
    double c = out_rate < in_rate ? (double)out_rate / in_rate : 1.0;
    double reach = ZC / c; /* input samples on each side */
    double step = (double)in_rate / out_rate;
    for (size_t j = 0; j < m; j++) {
        double t = (double)j * step;
        long lo = (long)ceil(t - reach), hi = (long)floor(t + reach);
        if (lo < 0) lo = 0;
        if (hi > (long)n - 1) hi = (long)n - 1;
        double acc = 0;
        for (long k = lo; k <= hi; k++) {
            double x = fabs(t - (double)k) * c * TABLE_RES;
            size_t i = (size_t)x;
            if (i >= (size_t)ZC * TABLE_RES) continue;
            double f = x - (double)i;
            double h = tab[i] + f * (tab[i + 1] - tab[i]);
            acc += in[k] * h;
        }
        out[j] = (float)(acc * c);
    }
    free(tab);
    return out;
}

int16_t *an_audio_pcm16(const float *in, size_t n)
{
    int16_t *out = an_xmalloc((n ? n : 1) * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        double v = in[i] * 32767.0;
        if (v > 32767) v = 32767;
        if (v < -32768) v = -32768;
        out[i] = (int16_t)lrint(v);
    }
    return out;
}
