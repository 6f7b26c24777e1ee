/* The backend-neutral part of the store interface: role names and the _clear functions of
 * the structs the store returns. Every backend (sqlite.c, later pg.c) shares these, so a
 * role is spelled the same way whatever holds the workspace. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {
    [AN_ROLE_ANNOTATOR] = "annotator",
    [AN_ROLE_REVIEWER] = "reviewer",
    [AN_ROLE_MANAGER] = "manager",
    [AN_ROLE_ADMIN] = "admin",
};

const char *an_role_name(an_role r)
{
    if ((unsigned)r >= sizeof role_names / sizeof role_names[0]) return "unknown";
    return role_names[r];
}

int an_role_parse(const char *s)
{
    if (!s) return -1;
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(s, role_names[i]) == 0) return (int)i;
    return -1;
}

void an_user_clear(an_user *u)
{
    if (!u) return;
    free(u->name);
    free(u->created_at);
    memset(u, 0, sizeof *u);
}

void an_project_clear(an_project *p)
{
    if (!p) return;
    free(p->name);
    free(p->config);
    free(p->settings);
    free(p->created_at);
    memset(p, 0, sizeof *p);
}

void an_task_clear(an_task *t)
{
    if (!t) return;
    free(t->data);
    free(t->meta);
    free(t->created_at);
    free(t->updated_at);
    memset(t, 0, sizeof *t);
}

void an_annotation_clear(an_annotation *a)
{
    if (!a) return;
    free(a->result);
    free(a->created_at);
    free(a->updated_at);
    memset(a, 0, sizeof *a);
}

const char *an_job_status_name(an_job_status st)
{
    switch (st) {
    case AN_JOB_QUEUED: return "queued";
    case AN_JOB_RUNNING: return "running";
    case AN_JOB_DONE: return "done";
    case AN_JOB_FAILED: return "failed";
    }
    return "failed";
}

void an_export_job_clear(an_export_job *j)
{
    if (!j) return;
    free(j->format);
    free(j->created_at);
    free(j->finished_at);
    free(j->error);
    free(j->path);
    memset(j, 0, sizeof *j);
}

int an_store_end(an_store *s, int rc, an_err *err)
{
    if (rc == 0) return an_store_commit(s, err);
    an_store_rollback(s);
    return rc;
}
