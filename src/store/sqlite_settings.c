/* The workspace's settings (schema 4): see settings.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/settings.h"
#include "store/sqlite_int.h"

static int check_key(const char *key, an_err *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > AN_SETTING_KEY_MAX)
        return an_err_set(err, AN_EINVAL, "key", "give a setting name of 1 to %d characters",
                          AN_SETTING_KEY_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)key[i]) && key[i] != '.' && key[i] != '_' && key[i] != '-')
            return an_err_set(err, AN_EINVAL, "key",
                              "a setting name has letters, digits, '.', '_' and '-' only");
    return 0;
}

static int copy_value(sqlite3_stmt *st, void *ctx)
{
    *(char **)ctx = sq_column_dup(st, 0);
    return 1;
}

int an_store_setting_get(an_store *s, const char *key, char **value_out, an_err *err)
{
    *value_out = NULL;
    int rc = check_key(key, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s, "SELECT value FROM workspace_settings WHERE key = ?1", &st, err,
                        "reading a setting");
    if (rc) return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sq_step_one(s, st, err, "reading a setting");
    if (rc == 1) {
        copy_value(st, value_out);
        rc = 0;
    }
    sq_sql_release(s, st);
    return rc < 0 ? rc : 0;
}

int an_store_setting_set(an_store *s, const char *key, const char *value, an_err *err)
{
    int rc = check_key(key, err);
    if (rc) return rc;
    if (!value || strlen(value) > AN_SETTING_VALUE_MAX)
        return an_err_set(err, AN_EINVAL, key, "a setting's value has at most %d bytes",
                          AN_SETTING_VALUE_MAX);
    const char *texts[2] = {key, value};
    return sq_write_texts(s,
                          "INSERT INTO workspace_settings (key, value) VALUES (?2, ?3) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          0, texts, 2, NULL, NULL, err, "changing a setting");
}

int an_store_setting_unset(an_store *s, const char *key, bool *existed, an_err *err)
{
    if (existed) *existed = false;
    int rc = check_key(key, err);
    if (rc) return rc;
    const char *texts[1] = {key};
    int changed = 0;
    rc = sq_write_texts(s, "DELETE FROM workspace_settings WHERE key = ?2", 0, texts, 1,
                        &changed, NULL, err, "removing a setting");
    if (rc == 0 && existed) *existed = changed > 0;
    return rc;
}

typedef struct list_ctx {
    an_setting_cb cb;
    void *ud;
} list_ctx;

static int setting_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *c = ctx;
    return c->cb(c->ud, (const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1));
}

int an_store_setting_list(an_store *s, an_setting_cb cb, void *ud, an_err *err)
{
    list_ctx c = {cb, ud};
    int rc = sq_each_row(s, "SELECT key, value FROM workspace_settings ORDER BY key", NULL, 0,
                         setting_row, &c, err, "listing settings");
    return rc;
}
