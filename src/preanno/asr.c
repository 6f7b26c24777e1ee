/* The "asr" model: PocketSphinx (5prealpha API) with Debian's US English acoustic model,
 * dictionary and language model transcribes an Audio task. It answers the config's TextArea
 * on that audio with the transcript and its Labels control with one region per word (start
 * and end in seconds, the word in the region's meta text) — Label Studio's audio
 * transcription and segmentation shapes:
 *
 *   <Audio name="audio" value="$audio"/>
 *   <Labels name="words" toName="audio"><Label value="Speech"/></Labels>
 *   <TextArea name="transcript" toName="audio"/>
 *
 * Either control may be the one chosen; the model fills whichever of the two the audio has.
 * Audio is decoded and resampled to 16 kHz mono by audio.c.
 *
 * Options (opts, all optional): "label" (the word regions' label; default the Labels
 * control's first), "media_root" (see media_models.h), "max_seconds" (longest file decoded;
 * default 600), "hmm", "lm", "dict" (the acoustic model folder, language model and
 * dictionary; default those of pocketsphinx-en-us). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pocketsphinx.h>

#include "base/json.h"
#include "base/utf8.h"
#include "preanno/audio.h"
#include "preanno/media_models.h"

#define MODEL_DIR "/usr/share/pocketsphinx/model/en-us/"
enum { RATE = 16000 };
#define PAD_SECONDS 0.5

typedef struct asr_state {
    ps_decoder_t *ps;
    const an_object *audio;
    const an_control *text;   /* TextArea on the audio, or NULL */
    const an_control *labels; /* Labels on the audio, or NULL */
    char *label;              /* copied: opts need not outlive the state */
    char *media_root;
    double max_seconds;
    int frate; /* feature frames per second */
} asr_state;

static const an_control *control_on(const an_config *cfg, an_tag tag, const char *object)
{
    for (size_t i = 0; i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        if (c->tag != tag) continue;
        for (size_t k = 0; k < c->n_to; k++)
            if (strcmp(c->to_names[k], object) == 0) return c;
    }
    return NULL;
}

/* The Audio object control is on and the TextArea and Labels controls on that audio. With no
 * control (a run over the whole config), the first TextArea or Labels control that fits. */
static int find_parts(const an_config *cfg, const an_control *control, const an_object **audio,
                      const an_control **text, const an_control **labels, an_err *err)
{
    *audio = NULL;
    if (!control) {
        for (size_t i = 0; i < cfg->n_controls; i++) {
            const an_control *c = &cfg->controls[i];
            if ((c->tag == AN_TAG_TEXTAREA || c->tag == AN_TAG_LABELS) &&
                find_parts(cfg, c, audio, text, labels, NULL) == 0)
                return 0;
        }
        return an_err_set(err, AN_EINVAL, "config",
                          "the config has no TextArea or Labels control on an Audio object, "
                          "which the asr model fills");
    }
    if (control->tag != AN_TAG_TEXTAREA && control->tag != AN_TAG_LABELS)
        return an_err_set(err, AN_EINVAL, control->name,
                          "the asr model answers a TextArea (the transcript) or Labels (word "
                          "segments) control on an Audio object; choose one");
    for (size_t i = 0; i < control->n_to && !*audio; i++) {
        const an_object *o = an_config_object(cfg, control->to_names[i]);
        if (o && o->tag == AN_TAG_AUDIO && o->data_key) *audio = o;
    }
    if (!*audio)
        return an_err_set(err, AN_EINVAL, control->name,
                          "control \"%s\" is not on an Audio object reading a task field "
                          "($field); the asr model transcribes audio",
                          control->name);
    *text = control->tag == AN_TAG_TEXTAREA ? control
                                            : control_on(cfg, AN_TAG_TEXTAREA, (*audio)->name);
    *labels =
        control->tag == AN_TAG_LABELS ? control : control_on(cfg, AN_TAG_LABELS, (*audio)->name);
    return 0;
}

static int asr_check_control(const an_config *cfg, const an_control *control, an_err *err)
{
    const an_object *audio;
    const an_control *text, *labels;
    return find_parts(cfg, control, &audio, &text, &labels, err);
}

static void asr_close(void *state)
{
    asr_state *s = state;
    if (!s) return;
    if (s->ps) ps_free(s->ps);
    free(s->label);
    free(s->media_root);
    free(s);
}

static int need_path(const char *opt, const char *path, bool dir, an_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
        char where[64];
        snprintf(where, sizeof where, "opts.%s", opt);
        return an_err_set(err, AN_EINVAL, where,
                          "%s %.200s does not exist; install pocketsphinx-en-us or give the "
                          "option %s",
                          dir ? "the folder" : "the file", path, opt);
    }
    return 0;
}

static int asr_open(const json_t *opts, const an_model_data *model, const an_config *cfg,
                    const an_control *control, void **state, an_err *err)
{
    *state = NULL;
    const an_object *audio;
    const an_control *text, *labels;
    int rc = find_parts(cfg, control, &audio, &text, &labels, err);
    if (rc) return rc;
    const char *hmm, *lm, *dict, *root, *label = NULL;
    double max_seconds;
    if ((rc = an_media_opt_str(opts, "hmm", MODEL_DIR "en-us", &hmm, err)) ||
        (rc = an_media_opt_str(opts, "lm", MODEL_DIR "en-us.lm.bin", &lm, err)) ||
        (rc = an_media_opt_str(opts, "dict", MODEL_DIR "cmudict-en-us.dict", &dict, err)) ||
        (rc = an_media_opt_str(opts, "media_root", NULL, &root, err)) ||
        (rc = an_media_opt_num(opts, "max_seconds", 600, 1, 7200, &max_seconds, err)) ||
        (labels && (rc = an_media_opt_label(opts, labels, &label, err))))
        return rc;
    if ((rc = need_path("hmm", hmm, true, err)) || (rc = need_path("lm", lm, false, err)) ||
        (rc = need_path("dict", dict, false, err)))
        return rc;
    /* -logfn sends PocketSphinx's chatter (several hundred lines per decoder) away from the
     * user's terminal. */
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm, "-dict", dict,
                                   "-logfn", "/dev/null", NULL);
    if (!config)
        return an_err_set(err, AN_EINVAL, "opts",
                          "PocketSphinx refused its configuration (hmm %.100s, lm %.100s, dict "
                          "%.100s)",
                          hmm, lm, dict);
    ps_decoder_t *ps = ps_init(config);
    cmd_ln_free_r(config); /* the decoder keeps its own reference */
    if (!ps)
        return an_err_set(err, AN_EINVAL, "opts",
                          "PocketSphinx could not load its models (hmm %.100s, lm %.100s, dict "
                          "%.100s); check that they are PocketSphinx models",
                          hmm, lm, dict);
    asr_state *s = an_xcalloc(1, sizeof *s);
    s->ps = ps;
    s->audio = audio;
    s->text = text;
    s->labels = labels;
    s->label = label ? an_xstrdup(label) : NULL;
    s->media_root = root ? an_xstrdup(root) : NULL;
    s->max_seconds = max_seconds;
    s->frate = cmd_ln_int32_r(ps_get_config(ps), "-frate");
    if (s->frate <= 0) s->frate = 100;
    *state = s;
    return 0;
}

/* Silence, sentence marks and fillers ("<sil>", "<s>", "</s>", "[NOISE]", "++UH++") are not
 * words of the transcript. */
static bool is_filler(const char *w)
{
    return !w[0] || w[0] == '<' || w[0] == '[' || w[0] == '+';
}

/* Length of w without a pronunciation variant's "(2)" suffix. */
static size_t base_len(const char *w)
{
    size_t n = strlen(w);
    if (n > 2 && w[n - 1] == ')') {
        size_t i = n - 2;
        while (i > 0 && w[i] >= '0' && w[i] <= '9')
            i--;
        if (i > 0 && i < n - 2 && w[i] == '(') return i;
    }
    return n;
}

/* Adds noise of at most one least significant bit, so that digital silence (the padding,
 * synthetic or edited audio) does not reach the feature code as log(0), which derails the
 * recogniser. PocketSphinx's own -dither draws from a generator shared by every decoder of
 * the process (not thread-safe, and the noise would depend on what was decoded before); this
 * one is seeded per file, so a file always gets the same transcript. */
static void dither(int16_t *pcm, size_t n)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int d = (int)(x % 3) - 1;
        int v = pcm[i] + d;
        if (v >= -32768 && v <= 32767) pcm[i] = (int16_t)v;
    }
}

static int asr_one(asr_state *s, const an_pred_task *t, an_pred_out *o)
{
    char where[200];
    snprintf(where, sizeof where, "data.%s", s->audio->data_key);
    an_buf path;
    an_buf_init(&path);
    an_audio a;
    int rc = an_media_task_path(s->audio, t->data, s->media_root, "asr", &path, &o->err);
    if (!rc) rc = an_audio_load(path.p, s->max_seconds, where, &a, &o->err);
    an_buf_free(&path);
    if (rc) return rc;
    double duration = (double)a.n / a.rate;
    size_t n16;
    float *f16 = an_audio_resample(a.samples, a.n, a.rate, RATE, &n16);
    an_audio_free(&a);
    /* PocketSphinx estimates the noise floor from the first frames and expects silence
     * around speech; a clip that starts or ends mid-word gets PAD of silence on each side
     * (the word times are shifted back below). */
    size_t pad = (size_t)(PAD_SECONDS * RATE);
    int16_t *pcm = an_xcalloc(n16 + 2 * pad, sizeof *pcm);
    int16_t *body = an_audio_pcm16(f16, n16);
    memcpy(pcm + pad, body, n16 * sizeof *pcm);
    free(body);
    free(f16);
    n16 += 2 * pad;
    dither(pcm, n16);
    /* The whole file in one call with full_utt: cepstral mean normalisation then uses the
     * mean of the whole utterance rather than a running estimate that starts from the
     * model's prior, which matters for short clips. */
    /* Each file is its own stream: PocketSphinx keeps the noise level (and the frame count
     * that word times start from) across the utterances of a stream, which would make a
     * file's transcript depend on the files decoded before it. */
    rc = ps_start_stream(s->ps);
    if (!rc) rc = ps_start_utt(s->ps);
    if (!rc && ps_process_raw(s->ps, pcm, n16, FALSE, TRUE) < 0) rc = -1;
    if (ps_end_utt(s->ps) < 0) rc = -1;
    free(pcm);
    if (rc) return an_err_set(&o->err, AN_EINVAL, where, "PocketSphinx could not decode the audio");

    json_t *result = json_array();
    logmath_t *lmath = ps_get_logmath(s->ps);
    double sum = 0;
    size_t words = 0;
    an_buf transcript;
    an_buf_init(&transcript);
    for (ps_seg_t *seg = ps_seg_iter(s->ps); seg; seg = ps_seg_next(seg)) {
        const char *w = ps_seg_word(seg);
        if (!w || is_filler(w)) continue;
        size_t wl = base_len(w);
        if (!an_utf8_valid(w, wl)) continue;
        int sf = 0, ef = 0;
        ps_seg_frames(seg, &sf, &ef);
        int32 ascr, lscr, lback;
        double p = logmath_exp(lmath, ps_seg_prob(seg, &ascr, &lscr, &lback));
        if (!(p >= 0)) p = 0;
        if (p > 1) p = 1;
        /* Times in the file, without the padding; a word hypothesised inside the padding
         * (noise taken for a short word) is no word of the file. */
        double start = (double)sf / s->frate - PAD_SECONDS;
        double end = (double)(ef + 1) / s->frate - PAD_SECONDS;
        if (start < 0) start = 0;
        if (end > duration) end = duration;
        if (!(end > start)) continue;
        if (transcript.len) an_buf_addc(&transcript, ' ');
        an_buf_add(&transcript, w, wl);
        sum += p;
        words++;
        if (!s->labels) continue;
        char id[32];
        snprintf(id, sizeof id, "w%zu", words);
        json_t *item = json_pack("{s:s,s:s,s:s,s:s,s:f,s:{s:f,s:f,s:i,s:[s]},s:{s:[s%]},s:f}", "id",
                                 id, "from_name", s->labels->name, "to_name", s->audio->name,
                                 "type", s->labels->result_type, "original_length", duration,
                                 "value", "start", start, "end", end, "channel", 0, "labels",
                                 s->label, "meta", "text", w, wl, "score", p);
        json_array_append_new(result, item);
    }
    o->score = words ? sum / (double)words : NAN;
    if (s->text && transcript.len) {
        json_t *item =
            json_pack("{s:s,s:s,s:s,s:f,s:{s:[s%]}}", "from_name", s->text->name, "to_name",
                      s->audio->name, "type", s->text->result_type, "original_length", duration,
                      "value", "text", transcript.p, transcript.len);
        if (isfinite(o->score)) json_object_set_new(item, "score", json_real(o->score));
        json_array_insert_new(result, 0, item);
    }
    an_buf_free(&transcript);
    o->result = result;
    return 0;
}

static int asr_predict(void *state, const an_pred_task *tasks, size_t n, an_pred_out *out,
                       an_err *err)
{
    asr_state *s = state;
    for (size_t i = 0; i < n; i++) {
        an_pred_out *o = &out[i];
        memset(o, 0, sizeof *o);
        an_err_clear(&o->err);
        o->score = NAN;
        o->rc = asr_one(s, &tasks[i], o);
        if (o->rc) o->result = NULL;
    }
    return 0;
}

const an_predictor_ops an_asr_ops = {
    .name = "asr",
    .batch = 1,
    .summary = "speech: PocketSphinx (US English) transcript and word segments with times",
    .check_control = asr_check_control,
    .open = asr_open,
    .predict = asr_predict,
    .train = NULL,
    .close = asr_close,
};
