/* Bias checks (bias.h): contingency tables of groups × labels, their statistics, and the
 * groups of a project's tasks from a metadata field or a lexicon. */
#include "comply/bias.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "store/store.h"
#include "model/config.h"
#include "qc/gold.h"

/* ---- the chi-square distribution --------------------------------------------------------- */

/* Regularised lower incomplete gamma P(a, x) by its series; converges fast for x < a + 1. */
static double gamma_p_series(double a, double x)
{
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 1000; n++) {
        term *= x / (a + n);
        sum += term;
        if (fabs(term) < fabs(sum) * 1e-16) break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Regularised upper incomplete gamma Q(a, x) by its continued fraction (modified Lentz);
 * converges fast for x >= a + 1. */
static double gamma_q_fraction(double a, double x)
{
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 1000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double delta = d * c;
        h *= delta;
        if (fabs(delta - 1.0) < 1e-16) break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double an_chi2_sf(double x, double dof)
{
    if (!(x > 0)) return 1.0;
    double a = dof / 2.0, hx = x / 2.0;
    return hx < a + 1.0 ? 1.0 - gamma_p_series(a, hx) : gamma_q_fraction(a, hx);
}

int an_chi2_test(const int64_t *table, size_t rows, size_t cols, an_chi2 *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    double *row = an_xcalloc(rows ? rows : 1, sizeof *row);
    double *col = an_xcalloc(cols ? cols : 1, sizeof *col);
    double n = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double v = (double)table[r * cols + c];
            row[r] += v;
            col[c] += v;
            n += v;
        }
    size_t R = 0, C = 0;
    for (size_t r = 0; r < rows; r++)
        R += row[r] > 0;
    for (size_t c = 0; c < cols; c++)
        C += col[c] > 0;
    int rc = 0;
    if (R < 2 || C < 2) {
        rc = an_err_set(err, AN_EINVAL, R < 2 ? "groups" : "labels",
                        "the test needs at least two groups and two labels with observations; "
                        "there are %zu and %zu",
                        R, C);
        goto done;
    }
    double stat = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            if (row[r] == 0 || col[c] == 0) continue;
            double expected = row[r] * col[c] / n;
            double d = (double)table[r * cols + c] - expected;
            stat += d * d / expected;
        }
    out->statistic = stat;
    out->dof = (int)((R - 1) * (C - 1));
    out->p = an_chi2_sf(stat, out->dof);
    out->n = (int64_t)n;
    size_t k = R < C ? R : C;
    out->cramers_v = sqrt(stat / (n * (double)(k - 1)));
    if (out->cramers_v > 1) out->cramers_v = 1; /* rounding */
done:
    free(row);
    free(col);
    return rc;
}

/* ---- lexicons ---------------------------------------------------------------------------- */

typedef struct term {
    char *text;
    size_t len;
    size_t group;
    bool ascii;
} term;

struct an_lexicon {
    char **groups;
    size_t n_groups;
    term *terms;
    size_t n_terms, cap_terms;
};

static size_t group_index(an_lexicon *l, const char *name)
{
    for (size_t i = 0; i < l->n_groups; i++)
        if (strcmp(l->groups[i], name) == 0) return i;
    l->groups = an_xrealloc(l->groups, (l->n_groups + 1) * sizeof *l->groups);
    l->groups[l->n_groups] = an_xstrdup(name);
    return l->n_groups++;
}

static void add_term(an_lexicon *l, const char *group, const char *text)
{
    if (l->n_terms == l->cap_terms) {
        l->cap_terms = l->cap_terms ? 2 * l->cap_terms : 32;
        l->terms = an_xrealloc(l->terms, l->cap_terms * sizeof *l->terms);
    }
    term *t = &l->terms[l->n_terms++];
    t->text = an_xstrdup(text);
    t->len = strlen(text);
    t->group = group_index(l, group);
    t->ascii = true;
    for (size_t i = 0; i < t->len; i++) {
        if ((unsigned char)text[i] >= 0x80) t->ascii = false;
        t->text[i] = (char)tolower((unsigned char)t->text[i]);
    }
}

/* English and Chinese gendered terms. "他" also begins "他们" (they), which is often used for
 * mixed groups: a known imprecision of substring matching in Chinese without segmentation. */
static const char *const gender_female[] = {
    "she",      "her",  "hers",   "herself", "woman", "women",  "girl",   "girls", "mother", "mom",
    "daughter", "wife", "sister", "queen",   "lady",  "ladies", "female", "她",    "女士",   "女性",
    "女人",     "女孩", "母亲",   "妈妈",    "妻子",  "女儿",   "姐姐",   "妹妹"};
static const char *const gender_male[] = {
    "he",   "him",  "his",     "himself", "man",  "men",       "boy",  "boys", "father",
    "dad",  "son",  "husband", "brother", "king", "gentleman", "male", "他",   "先生",
    "男性", "男人", "男孩",    "父亲",    "爸爸", "丈夫",      "儿子", "哥哥", "弟弟"};

an_lexicon *an_lexicon_builtin(const char *name)
{
    if (strcmp(name, "gender") != 0) return NULL;
    an_lexicon *l = an_xcalloc(1, sizeof *l);
    for (size_t i = 0; i < sizeof gender_female / sizeof *gender_female; i++)
        add_term(l, "female", gender_female[i]);
    for (size_t i = 0; i < sizeof gender_male / sizeof *gender_male; i++)
        add_term(l, "male", gender_male[i]);
    return l;
}

int an_lexicon_read(const char *path, an_lexicon **out, an_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp) return an_err_set(err, AN_EIO, path, "cannot open: %s", strerror(errno));
    an_lexicon *l = an_xcalloc(1, sizeof *l);
    char line[1024];
    int rc = 0;
    for (size_t no = 1; fgets(line, sizeof line, fp); no++) {
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = an_err_set(err, AN_EINVAL, "", "%s:%zu: a line is longer than %zu bytes", path, no,
                            sizeof line - 2);
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || !tab[1]) {
            char where[300];
            snprintf(where, sizeof where, "%s:%zu", path, no);
            rc = an_err_set(err, AN_EINVAL, where,
                            "a lexicon line is GROUP<TAB>TERM (e.g. \"female\\tshe\")");
            break;
        }
        *tab = '\0';
        add_term(l, line, tab + 1);
    }
    fclose(fp);
    if (rc == 0 && l->n_terms == 0)
        rc = an_err_set(err, AN_EINVAL, path, "the lexicon has no terms");
    if (rc < 0) {
        an_lexicon_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void an_lexicon_free(an_lexicon *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n_groups; i++)
        free(l->groups[i]);
    for (size_t i = 0; i < l->n_terms; i++)
        free(l->terms[i].text);
    free(l->groups);
    free(l->terms);
    free(l);
}

static bool is_word_byte(unsigned char c)
{
    return isalnum(c) || c == '_';
}

/* Does t occur in text: ASCII terms as whole words, case-insensitively; others anywhere. */
static bool term_in(const term *t, const char *text, size_t len)
{
    if (t->len == 0 || t->len > len) return false;
    for (size_t i = 0; i + t->len <= len; i++) {
        if (t->ascii) {
            if (i > 0 && is_word_byte((unsigned char)text[i - 1])) continue;
            if (i + t->len < len && is_word_byte((unsigned char)text[i + t->len])) continue;
            size_t k = 0;
            while (k < t->len && tolower((unsigned char)text[i + k]) == t->text[k])
                k++;
            if (k == t->len) return true;
        } else if (memcmp(text + i, t->text, t->len) == 0) {
            return true;
        }
    }
    return false;
}

const char *an_lexicon_group(const an_lexicon *l, const char *text, size_t len)
{
    const char *found = NULL;
    size_t group = 0;
    for (size_t i = 0; i < l->n_terms; i++) {
        const term *t = &l->terms[i];
        if (found && t->group == group) continue;
        if (!term_in(t, text, len)) continue;
        if (found) return AN_BIAS_MIXED;
        found = l->groups[t->group];
        group = t->group;
    }
    return found;
}

/* ---- a project ---------------------------------------------------------------------------- */

/* The value at a dotted path ("gender" or "author.gender") of object o, as group text: a
 * string as is, a number or boolean in JSON; NULL when absent, null or a container. */
static char *value_at(json_t *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, k) : NULL;
    if (!v || json_is_null(v) || json_is_object(v) || json_is_array(v)) return NULL;
    if (json_is_string(v)) return json_string_length(v) ? an_xstrdup(json_string_value(v)) : NULL;
    return an_json_text(v);
}

typedef struct groups {
    char **names;
    size_t n;
} groups;

static size_t group_of(groups *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0) return i;
    g->names = an_xrealloc(g->names, (g->n + 1) * sizeof *g->names);
    g->names[g->n] = an_xstrdup(name);
    return g->n++;
}

#define NO_GROUP ((size_t)-1)

/* The group of each task of the project, in id order (NO_GROUP when it has none). */
static int task_groups(an_store *s, const an_project *p, const an_config *cfg,
                       const an_bias_opts *o, groups *g, size_t **out, size_t *n_out,
                       an_bias_result *r, an_err *err)
{
    const char *field = NULL;
    bool from_meta = false;
    if (o->attribute) {
        if (strncmp(o->attribute, "data.", 5) == 0) {
            field = o->attribute + 5;
        } else if (strncmp(o->attribute, "meta.", 5) == 0) {
            field = o->attribute + 5;
            from_meta = true;
        }
        if (!field || !*field)
            return an_err_set(err, AN_EINVAL, "--attribute",
                              "name the attribute as data.FIELD or meta.FIELD");
    } else {
        field = o->text_field;
        if (!field) {
            const an_object *t = an_config_first_object(cfg, AN_TAG_TEXT);
            if (!t || !t->data_key)
                return an_err_set(err, AN_EINVAL, "--text-field",
                                  "the config has no Text object; name the field to read "
                                  "with --text-field");
            field = t->data_key;
        }
    }
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(s, p->id, 0, &it, err);
    if (rc < 0) return rc;
    size_t cap = 1024, n = 0;
    size_t *grp = an_xmalloc(cap * sizeof *grp);
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        if (n == cap) grp = an_xrealloc(grp, (cap *= 2) * sizeof *grp);
        size_t gi = NO_GROUP;
        const char *text = from_meta ? row->meta : row->data;
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        if (o->attribute) {
            char *v = j ? value_at(j, field) : NULL;
            if (v) gi = group_of(g, v);
            free(v);
        } else {
            json_t *v = j ? json_object_get(j, field) : NULL;
            const char *name =
                json_is_string(v)
                    ? an_lexicon_group(o->lexicon, json_string_value(v), json_string_length(v))
                    : NULL;
            if (name && strcmp(name, AN_BIAS_MIXED) == 0)
                r->tasks_mixed++;
            else if (name)
                gi = group_of(g, name);
        }
        json_decref(j);
        if (gi != NO_GROUP) r->tasks_grouped++;
        grp[n++] = gi;
    }
    an_task_iter_close(it);
    if (rc < 0) {
        free(grp);
        return rc;
    }
    r->tasks = (int64_t)n;
    *out = grp;
    *n_out = n;
    return 0;
}

static const an_control *pick_choices(const an_config *cfg, const char *name, an_err *err)
{
    for (size_t i = 0; i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        if (name && strcmp(c->name, name) != 0) continue;
        if (c->tag == AN_TAG_CHOICES && !c->multiple) return c;
        if (name) break;
    }
    if (name)
        an_err_set(err, AN_EINVAL, "--control",
                   "\"%s\" is not a single-choice Choices control of the project", name);
    else
        an_err_set(err, AN_EINVAL, "config",
                   "the labeling config has no single-choice Choices control to check");
    return NULL;
}

/* Fills a groups × classes table with the labels of annotator `who` (only == true), of
 * everyone but `who` (only == false), or of everyone (who == SIZE_MAX). */
static void fill_table(const an_cons_data *d, const size_t *grp, size_t G, size_t who, bool only,
                       int64_t *table)
{
    memset(table, 0, G * d->classes * sizeof *table);
    for (size_t item = 0; item < d->items; item++) {
        if (grp[item] == NO_GROUP) continue;
        for (size_t k = d->item_start[item]; k < d->item_start[item + 1]; k++) {
            if (who != (size_t)-1 && (d->annotator[k] == who) != only) continue;
            table[grp[item] * d->classes + d->cls[k]]++;
        }
    }
}

int an_bias_project(an_store *s, const an_project *p, const an_config *cfg, const an_bias_opts *o,
                    an_bias_result *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (!o->attribute && !o->lexicon)
        return an_err_set(err, AN_EINVAL, "--attribute",
                          "give the sensitive attribute (data.FIELD or meta.FIELD) or a lexicon");
    const an_control *ctl = pick_choices(cfg, o->control, err);
    if (!ctl) return -AN_EINVAL;
    an_choice_table ct;
    int rc = an_choice_table_read(s, p->id, ctl, &ct, err);
    if (rc < 0) return rc;
    groups g = {0};
    size_t *grp = NULL, n_grp = 0;
    rc = task_groups(s, p, cfg, o, &g, &grp, &n_grp, out, err);
    if (rc == 0 && n_grp != ct.tasks)
        rc = an_err_set(err, AN_EBUSY, "project",
                        "the project's tasks changed while it was read; run the check again");
    if (rc < 0) goto done;
    an_cons_data d = an_cons_labels_data(&ct.labels);
    size_t G = g.n, K = d.classes;
    out->groups = G;
    out->classes = K;
    out->group_names = g.names; /* now the result's */
    g.names = NULL;
    g.n = 0;
    out->class_names = (const char *const *)ctl->labels;
    size_t cells = G * K > 0 ? G * K : 1;
    out->counts = an_xcalloc(cells, sizeof *out->counts);
    fill_table(&d, grp, G, (size_t)-1, false, out->counts);
    /* Demographic parity: per label, the spread of its share across groups with labels. */
    out->parity = an_xcalloc(K ? K : 1, sizeof *out->parity);
    for (size_t k = 0; k < K; k++) {
        double lo = 1, hi = 0;
        bool any = false;
        for (size_t gi = 0; gi < G; gi++) {
            int64_t total = 0;
            for (size_t c = 0; c < K; c++)
                total += out->counts[gi * K + c];
            if (!total) continue;
            double share = (double)out->counts[gi * K + k] / (double)total;
            lo = share < lo ? share : lo;
            hi = share > hi ? share : hi;
            any = true;
        }
        out->parity[k] = any ? hi - lo : 0;
        if (out->parity[k] > out->max_parity) out->max_parity = out->parity[k];
    }
    an_err ignored;
    out->tested = an_chi2_test(out->counts, G, K, &out->overall, &ignored) == 0;
    /* Per annotator: their labels against the groups, and everyone else's. */
    size_t min_labels = o->min_labels ? o->min_labels : 20;
    double alpha = o->alpha > 0 ? o->alpha : 0.01, margin = o->margin > 0 ? o->margin : 0.1;
    out->n_annotators = ct.annotators;
    out->annotators = an_xcalloc(ct.annotators ? ct.annotators : 1, sizeof *out->annotators);
    int64_t *own = an_xcalloc(cells, sizeof *own);
    int64_t *peers = an_xcalloc(cells, sizeof *peers);
    for (size_t a = 0; a < ct.annotators; a++) {
        an_bias_annotator *ba = &out->annotators[a];
        ba->user_id = ct.annotator_ids[a];
        fill_table(&d, grp, G, a, true, own);
        for (size_t i = 0; i < G * K; i++)
            ba->labels += own[i];
        if ((size_t)ba->labels < min_labels) continue;
        fill_table(&d, grp, G, a, false, peers);
        if (an_chi2_test(own, G, K, &ba->own, &ignored) < 0) continue;
        ba->tested = 1;
        bool peers_ok = an_chi2_test(peers, G, K, &ba->peers, &ignored) == 0;
        double peer_v = peers_ok ? ba->peers.cramers_v : 0;
        ba->flagged = ba->own.p < alpha && ba->own.cramers_v > peer_v + margin;
    }
    free(own);
    free(peers);
done:
    for (size_t i = 0; i < g.n; i++)
        free(g.names[i]);
    free(g.names);
    free(grp);
    an_choice_table_free(&ct);
    if (rc < 0) an_bias_result_free(out);
    return rc;
}

void an_bias_result_free(an_bias_result *r)
{
    for (size_t i = 0; i < r->groups && r->group_names; i++)
        free(r->group_names[i]);
    free(r->group_names);
    free(r->counts);
    free(r->parity);
    free(r->annotators);
    memset(r, 0, sizeof *r);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static json_t *chi2_json(const an_chi2 *t)
{
    return json_pack("{s:f,s:i,s:f,s:f,s:I}", "statistic", t->statistic, "dof", t->dof, "p", t->p,
                     "cramers_v", t->cramers_v, "n", (json_int_t)t->n);
}

json_t *an_bias_result_json(an_store *s, const an_bias_result *r, const char *groups_from)
{
    json_t *group_list = json_array();
    for (size_t g = 0; g < r->groups; g++) {
        json_t *counts = json_object();
        int64_t total = 0;
        for (size_t k = 0; k < r->classes; k++)
            total += r->counts[g * r->classes + k];
        for (size_t k = 0; k < r->classes; k++)
            json_object_set_new(counts, r->class_names[k],
                                json_integer(r->counts[g * r->classes + k]));
        json_array_append_new(group_list, json_pack("{s:s,s:I,s:o}", "group", r->group_names[g],
                                                    "labels", (json_int_t)total, "counts", counts));
    }
    json_t *parity = json_object();
    for (size_t k = 0; k < r->classes; k++)
        json_object_set_new(parity, r->class_names[k], json_real(r->parity[k]));
    json_t *anns = json_array();
    for (size_t a = 0; a < r->n_annotators; a++) {
        const an_bias_annotator *ba = &r->annotators[a];
        char *name = an_store_user_label(s, ba->user_id);
        json_t *j = json_pack("{s:s,s:I,s:I,s:b,s:b}", "name", name, "id", (json_int_t)ba->user_id,
                              "labels", (json_int_t)ba->labels, "tested", ba->tested, "flagged",
                              ba->flagged);
        free(name);
        if (ba->tested) {
            json_object_set_new(j, "own", chi2_json(&ba->own));
            json_object_set_new(j, "peers", ba->peers.n ? chi2_json(&ba->peers) : json_null());
        }
        json_array_append_new(anns, j);
    }
    /* groups_from: the attribute's path, or "lexicon" */
    json_t *j =
        json_pack("{s:s,s:I,s:I,s:I,s:o,s:o,s:f,s:o,s:o}", "groups_from", groups_from, "tasks",
                  (json_int_t)r->tasks, "tasks_grouped", (json_int_t)r->tasks_grouped,
                  "tasks_mixed", (json_int_t)r->tasks_mixed, "groups", group_list, "parity", parity,
                  "max_parity", r->max_parity, "test",
                  r->tested ? chi2_json(&r->overall) : json_null(), "annotators", anns);
    return j;
}
