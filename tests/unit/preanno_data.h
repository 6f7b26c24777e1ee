/* Generated sentiment-like data for the pre-annotation tests: templates filled with a
 * subject, a class word and neutral filler, in English (words) and Chinese (no spaces), so
 * the class is in the words but every text is different. Not a test_*.c file: CMake does not
 * build it alone. Everything is static inline. */
#ifndef ANNOT_PREANNO_DATA_H
#define ANNOT_PREANNO_DATA_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct pd_rng {
    uint64_t s;
} pd_rng;

static inline uint32_t pd_next(pd_rng *r, uint32_t n)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((r->s >> 33) % n);
}

#define PD_N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const pd_en_pos[] = {"great", "wonderful", "excellent", "loved", "amazing",
                                        "delightful", "superb", "brilliant"};
static const char *const pd_en_neg[] = {"terrible", "awful", "boring", "hated", "dreadful",
                                        "poor", "horrible", "disappointing"};
static const char *const pd_en_subj[] = {"movie", "film", "plot", "acting", "soundtrack",
                                         "ending", "story", "hotel", "service", "phone"};
static const char *const pd_en_fill[] = {"to be fair", "after all", "in my view", "last night",
                                         "with friends", "at the weekend", "on the whole", ""};
static const char *const pd_en_tmpl[] = {"The %s was %s %s.", "I thought the %s was %s, %s",
                                         "What a %2$s %1$s! %3$s", "%3$s the %1$s felt %2$s"};

static const char *const pd_zh_pos[] = {"好看", "精彩", "感人", "出色", "满意", "喜欢", "优秀",
                                        "推荐"};
static const char *const pd_zh_neg[] = {"难看", "无聊", "失望", "糟糕", "乏味", "讨厌", "差劲",
                                        "后悔"};
static const char *const pd_zh_subj[] = {"这部电影", "这本小说", "这家餐厅", "他们的服务",
                                         "这部手机", "那个结局", "演员的表演", "这次旅行"};
static const char *const pd_zh_fill[] = {"说实话", "总的来说", "昨天晚上", "和朋友一起",
                                         "周末的时候", "我觉得", ""};
static const char *const pd_zh_tmpl[] = {"%s真的很%s，%s", "%3$s%1$s让人%2$s", "%s非常%s。%s",
                                         "%3$s，%1$s太%2$s了"};

/* Writes text number i of class label (0 positive, 1 negative) into out. zh picks Chinese.
 * words limits the class words to the first few of each list (0: all). */
static inline void pd_text(pd_rng *r, int zh, int label, size_t words, char *out, size_t cap)
{
    const char *const *cls = zh ? (label ? pd_zh_neg : pd_zh_pos) : (label ? pd_en_neg : pd_en_pos);
    size_t ncls = words ? words : (zh ? PD_N(pd_zh_pos) : PD_N(pd_en_pos));
    const char *w = cls[pd_next(r, (uint32_t)ncls)];
    const char *subj = zh ? pd_zh_subj[pd_next(r, PD_N(pd_zh_subj))]
                          : pd_en_subj[pd_next(r, PD_N(pd_en_subj))];
    const char *fill = zh ? pd_zh_fill[pd_next(r, PD_N(pd_zh_fill))]
                          : pd_en_fill[pd_next(r, PD_N(pd_en_fill))];
    const char *tmpl = zh ? pd_zh_tmpl[pd_next(r, PD_N(pd_zh_tmpl))]
                          : pd_en_tmpl[pd_next(r, PD_N(pd_en_tmpl))];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, tmpl, subj, w, fill);
#pragma GCC diagnostic pop
}

/* The data object {"text": …} of such a text (new reference). */
static inline json_t *pd_data(pd_rng *r, int zh, int label, size_t words)
{
    char text[512];
    pd_text(r, zh, label, words, text, sizeof text);
    return json_pack("{s:s}", "text", text);
}

/* A plain text for the few-shot tests: "The SUBJECT was WORD." with class word number word
 * (mod 8), so five examples can cover a few class words while the subjects vary. */
static inline json_t *pd_plain(pd_rng *r, int label, size_t word)
{
    const char *w = (label ? pd_en_neg : pd_en_pos)[word % PD_N(pd_en_pos)];
    const char *subj = pd_en_subj[pd_next(r, PD_N(pd_en_subj))];
    char text[512];
    snprintf(text, sizeof text, "The %s was %s.", subj, w);
    return json_pack("{s:s}", "text", text);
}

/* An ambiguous text: one word of each class, in random order (its label is a coin flip). */
static inline json_t *pd_mixed(pd_rng *r)
{
    const char *a = pd_en_pos[pd_next(r, PD_N(pd_en_pos))];
    const char *b = pd_en_neg[pd_next(r, PD_N(pd_en_neg))];
    const char *subj = pd_en_subj[pd_next(r, PD_N(pd_en_subj))];
    if (pd_next(r, 2)) {
        const char *t = a;
        a = b;
        b = t;
    }
    char text[512];
    snprintf(text, sizeof text, "The %s was %s and yet %s", subj, a, b);
    return json_pack("{s:s}", "text", text);
}

#endif
