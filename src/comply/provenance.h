/* Task provenance and a project's licence policy (docs/compliance.md, "Licences").
 *
 * A record names its provenance with the fields "source", "licence" (or "license") and
 * "authorisation" (or "authorization"), string values, in its task data or in its meta (meta
 * wins). A project's settings may carry
 *   "licence_policy": {"allow": ["CC0-1.0", "CC-BY-4.0", "contract:*"], "action": "flag"}
 * where an allow pattern ending in '*' matches every licence starting with what precedes it
 * and the others match exactly (case-insensitively, as SPDX ids are). A task whose licence is
 * missing or matches no pattern is refused by the import ("refuse": a reject naming the
 * licence) or imported and counted ("flag", the default action).
 *
 * Thread safety: a policy is read-only once parsed; share it freely. */
#ifndef AN_COMPLY_PROVENANCE_H
#define AN_COMPLY_PROVENANCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "store/provenance.h"

typedef struct an_licence_policy an_licence_policy;

typedef enum an_licence_action {
    AN_LICENCE_FLAG = 0,
    AN_LICENCE_REFUSE = 1,
} an_licence_action;

/* Reads the policy from a project's settings text (a JSON object; NULL or "" for none).
 * *out is NULL when the settings carry no "licence_policy". AN_EINVAL naming the place
 * ("settings.licence_policy.allow[2]") when it is malformed. Free with an_licence_policy_free. */
int an_licence_policy_parse(const char *settings_json, an_licence_policy **out, an_err *err);
void an_licence_policy_free(an_licence_policy *p);
an_licence_action an_licence_policy_action(const an_licence_policy *p);

/* True when licence (NULL: none given) is allowed; a missing licence never is. */
bool an_licence_allowed(const an_licence_policy *p, const char *licence);

/* The allow list as text for messages ("CC0-1.0, CC-BY-4.0, contract:*"), into out. */
void an_licence_policy_describe(const an_licence_policy *p, char *out, size_t cap);

/* Finds a record's provenance fields in meta, then data (either may be NULL). Strings are
 * borrowed from the JSON. Returns true when any field was found. */
bool an_provenance_of_record(const json_t *data, const json_t *meta, an_provenance *out);

#endif
