/* A project's PII policy, for the export engine: with the project setting
 * "pii_policy": "refuse", an export of data that still holds PII is refused.
 *
 * The check scans what `annot pii scan --project` scans (task data and text answers, with the
 * project's own patterns and deny list) and stops at the first finding scoring at least
 * AN_PII_POLICY_MIN_SCORE; a project without the setting (or with "allow") is not read. */
#ifndef AN_PII_POLICY_H
#define AN_PII_POLICY_H

#include "base/err.h"
#include "store/store.h"

#define AN_PII_POLICY_MIN_SCORE 0.5

/* Returns 0 when project p may be exported; AN_EINVAL naming the first finding's task, field
 * and type (never its value) when its policy is "refuse" and it holds PII; AN_EINVAL for an
 * unknown policy value. Reads through s in one snapshot; call it before writing anything. */
int an_pii_export_check(an_store *s, const an_project *p, an_err *err);

#endif
