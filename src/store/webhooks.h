/* Webhooks (schema 4): Label Studio's fields. A webhook with a project sends that project's
 * events; one without (project_id 0) sends every project's and the workspace's own events.
 * The store keeps the fields as they are given: what an action name or a header may be is
 * decided by service/webhooks.h, and whether a URL may be reached by net/guard.h.
 *
 * Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_WEBHOOKS_H
#define AN_STORE_WEBHOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct an_webhook {
    int64_t id;
    int64_t project_id; /* 0: workspace-wide */
    char *url;
    bool send_payload;         /* false: the request carries only {"action": …} */
    bool send_for_all_actions; /* false: only the actions listed */
    char *actions;             /* JSON array of action names, as text */
    char *headers;             /* JSON object of extra request headers, as text */
    bool is_active;
    int64_t created_by; /* 0: unknown */
    char *created_at, *updated_at;
} an_webhook;

/* Frees w's strings and zeroes it. */
void an_webhook_clear(an_webhook *w);

/* Adds w (its id, created_at and updated_at are ignored); *id_out (may be NULL) is the new
 * id. NULL actions/headers store "[]"/"{}". AN_ENOTFOUND when the project does not exist. */
int an_store_webhook_add(an_store *s, const an_webhook *w, int64_t *id_out, an_err *err);

/* Loads webhook id into out (caller clears). AN_ENOTFOUND when there is none. */
int an_store_webhook_get(an_store *s, int64_t id, an_webhook *out, an_err *err);

/* Replaces url, send_payload, send_for_all_actions, actions, headers and is_active of w->id
 * (the project and creator stay) and sets updated_at. AN_ENOTFOUND when there is none. */
int an_store_webhook_update(an_store *s, const an_webhook *w, an_err *err);

/* Deletes webhook id. AN_ENOTFOUND when there is none. */
int an_store_webhook_delete(an_store *s, int64_t id, an_err *err);

/* Which webhooks an_store_webhook_list gives. */
typedef enum an_webhook_scope {
    AN_WEBHOOKS_ALL,        /* every webhook */
    AN_WEBHOOKS_PROJECT,    /* the project's own (project_id given) */
    AN_WEBHOOKS_DELIVERY,   /* active ones that send project_id's events: its own and the
                               workspace-wide ones (project_id 0: workspace-wide only) */
} an_webhook_scope;

/* Calls cb for each webhook of the scope in id order; the strings are borrowed for the
 * call. A non-zero return from cb stops and is returned. */
typedef int (*an_webhook_cb)(void *ud, const an_webhook *w);
int an_store_webhook_list(an_store *s, an_webhook_scope scope, int64_t project_id,
                          an_webhook_cb cb, void *ud, an_err *err);

/* How many active webhooks there are (a cheap check before building an event). */
int an_store_webhook_active_count(an_store *s, int64_t *out, an_err *err);

#endif
