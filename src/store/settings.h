/* The workspace's settings: a small key/value table (workspace_settings, schema 4) for what
 * an administrator decides for the whole workspace, such as outbound.allow (the addresses
 * outbound requests may reach, see net/guard.h). The store does not know the keys: the
 * front end that changes a setting checks its value (annot settings does).
 *
 * Only the CLI changes settings: it holds the database, so it is trusted; the HTTP API only
 * reads them. Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_SETTINGS_H
#define AN_STORE_SETTINGS_H

#include <stdbool.h>

#include "base/err.h"
#include "store/store.h"

enum { AN_SETTING_KEY_MAX = 128, AN_SETTING_VALUE_MAX = 65536 };

/* The value of key as a malloc'd string the caller frees, or *value_out NULL when the key is
 * not set. Returns 0, or negative on a store error. */
int an_store_setting_get(an_store *s, const char *key, char **value_out, an_err *err);

/* Sets key to value (replacing an earlier value), in the open write transaction or its own.
 * Refuses (AN_EINVAL) empty keys, keys with characters other than letters, digits, '.', '_'
 * and '-', keys over AN_SETTING_KEY_MAX and values over AN_SETTING_VALUE_MAX bytes. */
int an_store_setting_set(an_store *s, const char *key, const char *value, an_err *err);

/* Removes key; *existed (may be NULL) says whether it was set. */
int an_store_setting_unset(an_store *s, const char *key, bool *existed, an_err *err);

/* Calls cb for each setting in key order; a non-zero return from cb stops and is returned. */
typedef int (*an_setting_cb)(void *ud, const char *key, const char *value);
int an_store_setting_list(an_store *s, an_setting_cb cb, void *ud, an_err *err);

#endif
