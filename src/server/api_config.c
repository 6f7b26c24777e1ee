/* Parsed labeling configs shared between requests. Parsing a project's XML (libxml2) cost
 * a POST of an annotation more than its validation; a parsed an_config is immutable, so one
 * copy per project serves every thread.
 *
 * An entry is keyed by project id and holds the hash of the config text it was parsed from:
 * a request whose loaded project has other text (changed by PATCH, by the CLI in another
 * process, or a new project given a deleted one's id) parses again and replaces the entry,
 * so a stale config is never used. api_config_forget drops an entry early (PATCH, DELETE) to
 * free it. Entries are reference-counted: a replaced or forgotten config stays alive until
 * the last request using it releases it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "server/api.h"

enum {
    BUCKETS = 256,
    MAX_ENTRIES = 1024, /* more projects than this: the table starts over */
};

struct api_config_cache {
    pthread_mutex_t mu;
    api_cfg *bucket[BUCKETS];
    size_t n;
};

api_config_cache *api_config_cache_new(void)
{
    api_config_cache *c = an_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

/* Drops one reference; the last frees the config. Called with the mutex held. */
static void unref(api_cfg *h)
{
    if (--h->refs > 0) return;
    an_config_free((an_config *)h->cfg);
    free(h);
}

/* Removes every entry from the table (their users keep theirs). Mutex held. */
static void drop_all(api_config_cache *c)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        api_cfg *h = c->bucket[b];
        while (h) {
            api_cfg *next = h->next;
            unref(h);
            h = next;
        }
        c->bucket[b] = NULL;
    }
    c->n = 0;
}

void api_config_cache_free(api_config_cache *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    drop_all(c);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static size_t bucket_of(int64_t project_id)
{
    return (size_t)((uint64_t)project_id * 0x9e3779b97f4a7c15u >> 56) % BUCKETS;
}

/* Unlinks project_id's entry, if any, dropping the table's reference. Mutex held. */
static void unlink_entry(api_config_cache *c, int64_t project_id)
{
    api_cfg **at = &c->bucket[bucket_of(project_id)];
    for (; *at; at = &(*at)->next) {
        if ((*at)->project_id != project_id) continue;
        api_cfg *h = *at;
        *at = h->next;
        c->n--;
        unref(h);
        return;
    }
}

api_cfg *api_config(an_app *app, const an_project *p, an_http_resp *resp)
{
    api_config_cache *c = app->configs;
    size_t len = p->config ? strlen(p->config) : 0;
    uint8_t hash[AN_HASH_BYTES];
    an_hash(p->config ? p->config : "", len, hash);

    pthread_mutex_lock(&c->mu);
    for (api_cfg *h = c->bucket[bucket_of(p->id)]; h; h = h->next)
        if (h->project_id == p->id && memcmp(h->hash, hash, sizeof hash) == 0) {
            h->refs++;
            pthread_mutex_unlock(&c->mu);
            return h;
        }
    pthread_mutex_unlock(&c->mu);

    /* Parsed outside the lock: two threads may parse the same config at once, and the
     * second's copy then replaces the first's in the table; both are correct. */
    an_config *cfg = NULL;
    an_err e;
    an_err_clear(&e);
    if (an_config_parse(p->config ? p->config : "", len, &cfg, &e) < 0) {
        api_fail(resp, &e, 500);
        return NULL;
    }
    api_cfg *h = an_xcalloc(1, sizeof *h);
    h->cfg = cfg;
    h->project_id = p->id;
    memcpy(h->hash, hash, sizeof hash);
    h->refs = 2; /* the table's and the caller's */

    pthread_mutex_lock(&c->mu);
    unlink_entry(c, p->id);
    if (c->n >= MAX_ENTRIES) drop_all(c);
    size_t b = bucket_of(p->id);
    h->next = c->bucket[b];
    c->bucket[b] = h;
    c->n++;
    pthread_mutex_unlock(&c->mu);
    return h;
}

void api_config_release(an_app *app, api_cfg *h)
{
    if (!h) return;
    pthread_mutex_lock(&app->configs->mu);
    unref(h);
    pthread_mutex_unlock(&app->configs->mu);
}

void api_config_forget(an_app *app, int64_t project_id)
{
    pthread_mutex_lock(&app->configs->mu);
    unlink_entry(app->configs, project_id);
    pthread_mutex_unlock(&app->configs->mu);
}
