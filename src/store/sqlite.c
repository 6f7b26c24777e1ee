/* The SQLite backend of the store interface (store.h): the embedded default workspace.
 *
 * Concurrency model. The workspace file is in WAL mode: readers never block the writer and
 * the writer never blocks readers. Writers are serialised by SQLite's write lock: begin is
 * BEGIN IMMEDIATE, which takes the write lock up front (a DEFERRED transaction that later
 * tries to write can fail with SQLITE_BUSY without waiting, to avoid deadlock), and our busy
 * handler makes a waiting writer sleep and retry for up to BUSY_TIMEOUT_S seconds. So
 * concurrent writers queue instead of failing with "database is locked".
 *
 * Speed. Import inserts hundreds of thousands of tasks per second, so the write path does no
 * per-row allocation and no per-row SQL parsing: each statement is prepared once per handle
 * and reused, values are bound SQLITE_STATIC (the caller's memory outlives the step), and
 * the projects' counters are accumulated in the handle and written once per transaction.
 *
 * Memory. The page cache is capped (CACHE_KIB) and memory-mapped I/O is left off: mapped
 * pages of a large workspace would count in the process's resident size, and import must
 * stay small whatever the file size. */
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "store/embeddings.h"
#include "store/sqlite_int.h"

enum {
    BUSY_TIMEOUT_S = 60,
    CACHE_KIB = 32768,            /* page cache ceiling per handle */
    AUTOCHECKPOINT_PAGES = 16384, /* log size at which a commit checkpoints (by default) */
    APPLICATION_ID = 0x616e6e74,  /* "annt": marks the file as an annot workspace */
};

/* ---- schema and migrations --------------------------------------------------------------
 *
 * migrations[i] brings a workspace from version i to i+1. Steps are only ever appended: a
 * released step is never edited, because workspaces in the field have already run it. Each
 * step runs in its own transaction together with the user_version bump, so a crash leaves
 * the workspace at a whole version. */

static const char *const migrations[] = {
    /* 1: the first schema. Large payload columns come last in each table so that reading
     * the small columns (listing, counting, joining) never touches their overflow pages. */
    "PRAGMA application_id = 1634627188;\n" /* APPLICATION_ID */
    "CREATE TABLE users (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  role TEXT NOT NULL CHECK (role IN ('annotator','reviewer','manager','admin')),\n"
    "  created_at TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE projects (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  created_at TEXT NOT NULL,\n"
    "  task_count INTEGER NOT NULL DEFAULT 0,\n"
    "  annotation_count INTEGER NOT NULL DEFAULT 0,\n"
    "  prediction_count INTEGER NOT NULL DEFAULT 0,\n"
    "  settings TEXT NOT NULL DEFAULT '{}',\n"
    "  config TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE import_batches (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  source TEXT NOT NULL,\n"
    "  format TEXT NOT NULL,\n"
    "  created_at TEXT NOT NULL,\n"
    "  added INTEGER NOT NULL DEFAULT 0,\n"
    "  duplicates INTEGER NOT NULL DEFAULT 0,\n"
    "  rejected INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX import_batches_project ON import_batches(project_id);\n"
    /* batch_id is deliberately not a foreign key: enforcing it would need an index on
     * tasks(batch_id) (deleting a batch or project checks every referencing task), an index
     * the hot import path would pay for on every row. */
    /* Deduplication: hash_key, the first 64 bits of the content hash, is what the unique
     * index holds — an integer key keeps that index small and its comparisons cheap, which
     * is most of the cost of an insert. content_hash keeps all 128 bits; on a key conflict
     * the full hashes are compared, and a true 64-bit collision probes the next key
     * (open addressing over the index), so deduplication stays exact. */
    "CREATE TABLE tasks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  batch_id INTEGER,\n"
    "  hash_key INTEGER NOT NULL,\n"
    "  content_hash BLOB NOT NULL,\n"
    "  created_at TEXT NOT NULL,\n"
    "  updated_at TEXT NOT NULL,\n"
    "  meta TEXT,\n"
    "  data TEXT NOT NULL,\n"
    "  UNIQUE (project_id, hash_key)\n"
    ");\n"
    /* Unique (trivially, id is the key) so that annotations and predictions can reference
     * (project_id, id): one foreign key then checks both that the task exists and that it
     * belongs to the project the row claims, which the per-project streams rely on. */
    "CREATE UNIQUE INDEX tasks_project ON tasks(project_id, id);\n"
    "CREATE TABLE annotations (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  task_id INTEGER NOT NULL,\n"
    "  project_id INTEGER NOT NULL,\n"
    "  annotator_id INTEGER REFERENCES users(id) ON DELETE SET NULL,\n"
    "  lead_time REAL,\n"
    "  ground_truth INTEGER NOT NULL DEFAULT 0,\n"
    "  was_cancelled INTEGER NOT NULL DEFAULT 0,\n"
    "  created_at TEXT NOT NULL,\n"
    "  updated_at TEXT NOT NULL,\n"
    "  result TEXT NOT NULL,\n"
    "  FOREIGN KEY (project_id, task_id) REFERENCES tasks(project_id, id) ON DELETE CASCADE\n"
    ");\n"
    "CREATE INDEX annotations_task ON annotations(task_id, id);\n"
    "CREATE INDEX annotations_project_task ON annotations(project_id, task_id);\n"
    "CREATE TABLE predictions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  task_id INTEGER NOT NULL,\n"
    "  project_id INTEGER NOT NULL,\n"
    "  model_version TEXT NOT NULL DEFAULT '',\n"
    "  score REAL,\n"
    "  created_at TEXT NOT NULL,\n"
    "  result TEXT NOT NULL,\n"
    "  FOREIGN KEY (project_id, task_id) REFERENCES tasks(project_id, id) ON DELETE CASCADE\n"
    ");\n"
    "CREATE INDEX predictions_task ON predictions(task_id, id);\n"
    "CREATE INDEX predictions_project_task ON predictions(project_id, task_id);\n"
    /* One row per (annotation, control, label): the primary key dedupes a label used twice
     * in one annotation, so a count means "annotations using it". */
    "CREATE TABLE annotation_labels (\n"
    "  annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,\n"
    "  project_id INTEGER NOT NULL,\n"
    "  from_name TEXT NOT NULL,\n"
    "  label TEXT NOT NULL,\n"
    "  PRIMARY KEY (annotation_id, from_name, label)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX annotation_labels_count ON annotation_labels(project_id, from_name, label);\n",

    /* 2: accounts, access and review for the server. Tokens and sessions are stored as
     * hashes only, so a copy of the workspace does not hand out working credentials. */
    "ALTER TABLE users ADD COLUMN password_hash TEXT;\n" /* NULL: cannot log in */
    "ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;\n"
    "CREATE TABLE api_tokens (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
    "  hash BLOB UNIQUE NOT NULL CHECK (length(hash) = 32),\n"
    "  label TEXT NOT NULL DEFAULT '',\n"
    "  created_at TEXT NOT NULL,\n"
    "  last_used_at TEXT\n"
    ");\n"
    "CREATE INDEX api_tokens_user ON api_tokens(user_id);\n"
    "CREATE TABLE sessions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  hash BLOB UNIQUE NOT NULL CHECK (length(hash) = 32),\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
    "  csrf TEXT NOT NULL,\n"
    "  created_at TEXT NOT NULL,\n"
    "  expires_at INTEGER NOT NULL\n" /* epoch seconds */
    ");\n"
    "CREATE INDEX sessions_user ON sessions(user_id);\n"
    "CREATE INDEX sessions_expires ON sessions(expires_at);\n"
    "CREATE TABLE memberships (\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
    "  PRIMARY KEY (project_id, user_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX memberships_user ON memberships(user_id, project_id);\n"
    "CREATE TABLE task_locks (\n"
    "  task_id INTEGER PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
    "  expires_at INTEGER NOT NULL\n" /* epoch seconds */
    ");\n"
    "CREATE INDEX task_locks_user ON task_locks(user_id);\n"
    "CREATE TABLE reviews (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,\n"
    "  reviewer_id INTEGER REFERENCES users(id) ON DELETE SET NULL,\n"
    "  accepted INTEGER NOT NULL,\n"
    "  comment TEXT NOT NULL DEFAULT '',\n"
    "  created_at TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX reviews_annotation ON reviews(annotation_id);\n"
    "CREATE INDEX reviews_reviewer ON reviews(reviewer_id);\n"
    /* user_id is deliberately not a foreign key: ON DELETE SET NULL would update the log,
     * which the triggers below refuse, so deleting a user would fail. */
    "CREATE TABLE audit (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  at TEXT NOT NULL,\n"
    "  user_id INTEGER,\n"
    "  action TEXT NOT NULL,\n"
    "  object TEXT NOT NULL DEFAULT '',\n"
    "  object_id INTEGER,\n"
    "  detail TEXT\n"
    ");\n"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN\n"
    "  SELECT RAISE(ABORT, 'the audit log is append-only');\n"
    "END;\n"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN\n"
    "  SELECT RAISE(ABORT, 'the audit log is append-only');\n"
    "END;\n"
    /* The next-task query probes, per task in id order, "has this user annotated it" and
     * "how many live annotations has it": both answered from this one covering index
     * without reading annotation rows. */
    "CREATE INDEX annotations_task_annotator ON annotations(task_id, annotator_id, "
    "was_cancelled);\n"
    /* Low-water marks for the next-task search: every task of the project with an id below
     * low has at least overlap live (non-cancelled) annotations, so the search starts at low
     * instead of walking the finished part of the project on every call. Whatever can free
     * a place in a task below low (deleting or cancelling an annotation, deleting a task,
     * whose id a new task may take) lowers low in the same transaction. */
    "CREATE TABLE next_hints (\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  overlap INTEGER NOT NULL,\n"
    "  low INTEGER NOT NULL,\n"
    "  PRIMARY KEY (project_id, overlap)\n"
    ") WITHOUT ROWID;\n",

    /* 3: export jobs run by the server's workers, recorded so that their state survives a
     * restart; audit entries name the project they concern so the log can be read per
     * project (older entries keep NULL: the objects they name may be gone). */
    "CREATE TABLE export_jobs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  user_id INTEGER,\n"
    "  format TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed')),\n"
    "  created_at TEXT NOT NULL,\n"
    "  finished_at TEXT,\n"
    "  error TEXT,\n"
    "  path TEXT,\n"
    "  tasks INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX export_jobs_project ON export_jobs(project_id, id);\n"
    "CREATE INDEX export_jobs_status ON export_jobs(status, id);\n"
    "ALTER TABLE audit ADD COLUMN project_id INTEGER;\n"
    "CREATE INDEX audit_project ON audit(project_id, id);\n"
    "CREATE INDEX audit_user ON audit(user_id, id);\n"
    "CREATE INDEX reviews_annotation_latest ON reviews(annotation_id, id);\n",

    /* 4: quality control (a project's rules document and the findings its rules produce),
     * outbound notifications (webhooks and the workspace's settings, which hold the
     * allow-list for outbound addresses), and rank marks that let an offset page seek. */
    "CREATE TABLE qc_rules (\n"
    "  project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  doc TEXT NOT NULL,\n"
    "  updated_at TEXT NOT NULL\n"
    ");\n"
    /* origin: 'submit' (checked as the annotation arrived) or 'batch' (`annot qc`, which
     * replaces the project's earlier batch findings). annotation_id is NULL for findings
     * about a task as a whole (consensus-based rules, say). */
    "CREATE TABLE qc_findings (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  annotation_id INTEGER REFERENCES annotations(id) ON DELETE CASCADE,\n"
    "  annotator_id INTEGER,\n"
    "  rule TEXT NOT NULL,\n"
    "  severity TEXT NOT NULL CHECK (severity IN ('error','warning')),\n"
    "  place TEXT NOT NULL DEFAULT '',\n"
    "  message TEXT NOT NULL,\n"
    "  origin TEXT NOT NULL CHECK (origin IN ('submit','batch')),\n"
    "  created_at TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX qc_findings_project ON qc_findings(project_id, id);\n"
    "CREATE INDEX qc_findings_task ON qc_findings(task_id);\n"
    "CREATE INDEX qc_findings_annotation ON qc_findings(annotation_id);\n"
    /* Label Studio's webhook fields; project_id NULL sends for every project. */
    "CREATE TABLE webhooks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  url TEXT NOT NULL,\n"
    "  send_payload INTEGER NOT NULL DEFAULT 1,\n"
    "  send_for_all_actions INTEGER NOT NULL DEFAULT 1,\n"
    "  actions TEXT NOT NULL DEFAULT '[]',\n"
    "  headers TEXT NOT NULL DEFAULT '{}',\n"
    "  is_active INTEGER NOT NULL DEFAULT 1,\n"
    "  created_by INTEGER,\n"
    "  created_at TEXT NOT NULL,\n"
    "  updated_at TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX webhooks_project ON webhooks(project_id);\n"
    "CREATE TABLE workspace_settings (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n"
    /* Every MARK_EVERY-th task of a project in id order: rank (its 0-based position) and
     * id. The marks present always form a correct prefix: deleting a task drops the marks
     * at and after it, and the commit that changed a project's tasks extends them again. */
    "CREATE TABLE task_marks (\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  rank INTEGER NOT NULL,\n"
    "  task_id INTEGER NOT NULL,\n"
    "  PRIMARY KEY (project_id, rank)\n"
    ") WITHOUT ROWID;\n",

    /* 5: pre-annotation — trained models (their parameters as a blob, versioned: the
     * version is what their predictions carry as model_version), Label Studio ML backends
     * attached to a project, embeddings stored compactly (float32/float16 blobs), and an
     * index that lets a batch skip tasks already predicted by a model version. */
    "CREATE TABLE models (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  version TEXT NOT NULL,\n"
    "  control TEXT,\n"
    "  params TEXT NOT NULL DEFAULT '{}',\n"
    "  metrics TEXT NOT NULL DEFAULT '{}',\n"
    "  blob BLOB,\n"
    "  created_at TEXT NOT NULL,\n"
    "  UNIQUE (project_id, name, version)\n"
    ");\n"
    "CREATE TABLE ml_backends (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  url TEXT NOT NULL,\n"
    "  title TEXT NOT NULL DEFAULT '',\n"
    "  model_version TEXT NOT NULL DEFAULT '',\n"
    "  timeout_ms INTEGER NOT NULL DEFAULT 30000,\n"
    "  retries INTEGER NOT NULL DEFAULT 2,\n"
    "  batch_size INTEGER NOT NULL DEFAULT 16,\n"
    "  concurrency INTEGER NOT NULL DEFAULT 2,\n"
    "  is_active INTEGER NOT NULL DEFAULT 1,\n"
    "  created_at TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX ml_backends_project ON ml_backends(project_id);\n"
    "CREATE TABLE embeddings (\n"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  field TEXT NOT NULL,\n"
    "  dtype TEXT NOT NULL CHECK (dtype IN ('f32','f16')),\n"
    "  dim INTEGER NOT NULL,\n"
    "  vec BLOB NOT NULL,\n"
    "  PRIMARY KEY (task_id, field)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX predictions_task_version ON predictions(task_id, model_version);\n",

    /* 6: gold tasks — the tasks of a project that carry a ground-truth annotation, found
     * without reading the project's other annotations (a partial index holds only those). */
    "CREATE INDEX annotations_gold ON annotations(project_id, task_id) "
    "WHERE ground_truth = 1 AND was_cancelled = 0;\n",

    /* 7: compliance — the provenance ledger (append-only, each entry chained to the one
     * before by hash and signed with the workspace's key; an entry may cover many objects,
     * e.g. an import batch or one commit of annotations, listed in its body), and each
     * task's source, licence and authorisation. */
    "CREATE TABLE ledger (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  at TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  project_id INTEGER,\n"
    "  body TEXT NOT NULL,\n"
    "  prev BLOB NOT NULL,\n"
    "  hash BLOB NOT NULL,\n"
    "  sig BLOB NOT NULL\n"
    ");\n"
    "CREATE INDEX ledger_project ON ledger(project_id, seq);\n"
    /* Which entries name a task, so one task's history is found without reading them all. */
    "CREATE TABLE ledger_tasks (\n"
    "  task_id INTEGER NOT NULL,\n"
    "  seq INTEGER NOT NULL,\n"
    "  PRIMARY KEY (task_id, seq)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN\n"
    "  SELECT RAISE(ABORT, 'the ledger is append-only');\n"
    "END;\n"
    "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN\n"
    "  SELECT RAISE(ABORT, 'the ledger is append-only');\n"
    "END;\n"
    "CREATE TABLE task_provenance (\n"
    "  task_id INTEGER PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  source TEXT,\n"
    "  licence TEXT,\n"
    "  authorisation TEXT,\n"
    "  detail TEXT\n"
    ");\n"
    "CREATE INDEX task_provenance_licence ON task_provenance(licence);\n",

    /* 8: embeddings in a rowid table. In the WITHOUT ROWID table of step 5 a row may keep
     * only about 1,000 bytes in its B-tree page, so every 512-dimensional vector spilled
     * into an overflow page of its own (a 1 KB float16 vector took 5 KB); a rowid table keeps
     * rows of up to about 4,000 bytes in the page. The project is kept with each row so that
     * one field of a project reads as one range of (project, field, task) in task order: a
     * task's two embeddings are then paired by merging two ordered scans rather than looked
     * up task by task. */
    "CREATE TABLE embeddings_rowid (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,\n"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  field TEXT NOT NULL,\n"
    "  dtype TEXT NOT NULL CHECK (dtype IN ('f32','f16')),\n"
    "  dim INTEGER NOT NULL,\n"
    "  vec BLOB NOT NULL,\n"
    "  UNIQUE (project_id, field, task_id)\n"
    ");\n"
    "INSERT INTO embeddings_rowid (project_id, task_id, field, dtype, dim, vec) "
    "SELECT t.project_id, e.task_id, e.field, e.dtype, e.dim, e.vec FROM embeddings e "
    "JOIN tasks t ON t.id = e.task_id ORDER BY t.project_id, e.field, e.task_id;\n"
    "DROP TABLE embeddings;\n"
    "ALTER TABLE embeddings_rowid RENAME TO embeddings;\n"
    /* Deleting a task finds its embeddings (the cascade) through this. */
    "CREATE INDEX embeddings_task ON embeddings(task_id);\n",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- prepared statements, each prepared once per handle --------------------------------- */

/* enum stmt_id is in sqlite_int.h. */

#define PROJECT_COLUMNS                                                                            \
    "id, name, created_at, task_count, annotation_count, prediction_count, settings, config"

#define ANNOTATION_COLUMNS                                                                         \
    "id, task_id, project_id, annotator_id, lead_time, ground_truth, was_cancelled, "              \
    "created_at, updated_at, result"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT an_mark",
    [ST_SAVEPOINT_RELEASE] = "RELEASE an_mark",
    [ST_SAVEPOINT_UNDO] = "ROLLBACK TO an_mark",
    [ST_TASK_INSERT] = "INSERT INTO tasks (project_id, batch_id, content_hash, created_at, "
                       "updated_at, meta, data, hash_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                       "ON CONFLICT (project_id, hash_key) DO NOTHING",
    [ST_TASK_HASH_AT] = "SELECT content_hash FROM tasks WHERE project_id = ?1 AND hash_key = ?2",
    [ST_ANNOTATION_INSERT] = "INSERT INTO annotations (task_id, project_id, annotator_id, "
                             "lead_time, ground_truth, was_cancelled, created_at, updated_at, "
                             "result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_LABEL_INSERT] = "INSERT INTO annotation_labels (annotation_id, project_id, from_name, "
                        "label) VALUES (?1, ?2, ?3, ?4) "
                        "ON CONFLICT (annotation_id, from_name, label) DO NOTHING",
    [ST_PREDICTION_INSERT] = "INSERT INTO predictions (task_id, project_id, model_version, "
                             "score, created_at, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_COUNTERS_ADD] = "UPDATE projects SET task_count = task_count + ?2, "
                        "annotation_count = annotation_count + ?3, "
                        "prediction_count = prediction_count + ?4 WHERE id = ?1",
    [ST_BATCH_INSERT] = "INSERT INTO import_batches (project_id, source, format, created_at) "
                        "VALUES (?1, ?2, ?3, ?4)",
    [ST_BATCH_ADD] = "UPDATE import_batches SET added = added + ?2, "
                     "duplicates = duplicates + ?3, rejected = rejected + ?4 WHERE id = ?1",
    [ST_USER_INSERT] = "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
    [ST_USER_BY_NAME] = "SELECT id, name, role, created_at FROM users WHERE name = ?1",
    [ST_USER_BY_ID] = "SELECT id, name, role, created_at FROM users WHERE id = ?1",
    [ST_USER_ENSURE] =
        "INSERT INTO users (id, name, role, created_at) "
        "VALUES (?1, 'imported-user-' || ?1, 'annotator', ?2) ON CONFLICT DO NOTHING",
    [ST_PROJECT_INSERT] = "INSERT INTO projects (name, created_at, settings, config) "
                          "VALUES (?1, ?2, ?3, ?4)",
    [ST_PROJECT_BY_NAME] = "SELECT " PROJECT_COLUMNS " FROM projects WHERE name = ?1",
    [ST_PROJECT_BY_ID] = "SELECT " PROJECT_COLUMNS " FROM projects WHERE id = ?1",
    [ST_LABELED_COUNT] = "SELECT count(DISTINCT task_id) FROM annotations "
                         "WHERE project_id = ?1 AND was_cancelled = 0",
    [ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",
    [ST_USER_SET_ACTIVE] = "UPDATE users SET active = ?2 WHERE id = ?1",
    [ST_USER_ACTIVE] = "SELECT active FROM users WHERE id = ?1",
    [ST_USER_AUTH] = "SELECT id, name, role, created_at, password_hash FROM users "
                     "WHERE name = ?1 AND active = 1",
    [ST_TOKEN_INSERT] = "INSERT INTO api_tokens (user_id, hash, label, created_at) "
                        "VALUES (?1, ?2, ?3, ?4)",
    [ST_TOKEN_USER] = "SELECT u.id, u.name, u.role, u.created_at, t.id, t.last_used_at "
                      "FROM api_tokens t JOIN users u ON u.id = t.user_id "
                      "WHERE t.hash = ?1 AND u.active = 1",
    [ST_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1 "
                       "AND (last_used_at IS NULL OR last_used_at < ?3)",
    [ST_TOKEN_DELETE] = "DELETE FROM api_tokens WHERE id = ?1 AND (?2 <= 0 OR user_id = ?2)",
    [ST_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?1",
    [ST_SESSION_INSERT] = "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_SESSION_GET] = "SELECT u.id, u.name, u.role, u.created_at, s.csrf "
                       "FROM sessions s JOIN users u ON u.id = s.user_id "
                       "WHERE s.hash = ?1 AND s.expires_at > ?2 AND u.active = 1",
    [ST_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = ?1",
    [ST_MEMBER_ADD] = "INSERT INTO memberships (project_id, user_id) VALUES (?1, ?2) "
                      "ON CONFLICT DO NOTHING",
    [ST_MEMBER_REMOVE] = "DELETE FROM memberships WHERE project_id = ?1 AND user_id = ?2",
    [ST_MEMBER_IS] = "SELECT 1 FROM memberships WHERE project_id = ?1 AND user_id = ?2",
    [ST_TASK_GET] = "SELECT t.id, t.project_id, t.meta, t.created_at, t.updated_at, t.data, "
                    "(SELECT count(*) FROM annotations a "
                    " WHERE a.task_id = t.id AND a.was_cancelled = 0), "
                    "(SELECT count(*) FROM predictions p WHERE p.task_id = t.id) "
                    "FROM tasks t WHERE t.id = ?1",
    [ST_TASK_KEY_OF] = "SELECT t.project_id, t.hash_key, t.content_hash, "
                       "(SELECT count(*) FROM annotations a WHERE a.task_id = t.id), "
                       "(SELECT count(*) FROM predictions p WHERE p.task_id = t.id) "
                       "FROM tasks t WHERE t.id = ?1",
    [ST_TASK_AT_KEY] = "SELECT id, content_hash FROM tasks WHERE project_id = ?1 AND hash_key = ?2",
    [ST_TASK_SET_KEY] = "UPDATE tasks SET hash_key = ?2 WHERE id = ?1",
    [ST_TASK_SET_DATA] = "UPDATE tasks SET data = ?2, meta = ?3, updated_at = ?4 WHERE id = ?1",
    [ST_TASK_SET_ALL] = "UPDATE tasks SET data = ?2, meta = ?3, updated_at = ?4, "
                        "content_hash = ?5, hash_key = ?6 WHERE id = ?1",
    [ST_TASK_DELETE] = "DELETE FROM tasks WHERE id = ?1",
    [ST_ANNOTATION_GET] = "SELECT " ANNOTATION_COLUMNS " FROM annotations WHERE id = ?1",
    [ST_ANNOTATION_SET] = "UPDATE annotations SET result = ?2, lead_time = ?3, ground_truth = ?4, "
                          "was_cancelled = ?5, updated_at = ?6 WHERE id = ?1",
    [ST_ANNOTATION_DELETE] = "DELETE FROM annotations WHERE id = ?1",
    [ST_LABELS_DELETE] = "DELETE FROM annotation_labels WHERE annotation_id = ?1",
    [ST_LOCK] = "INSERT INTO task_locks (task_id, user_id, expires_at) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (task_id) DO UPDATE SET user_id = excluded.user_id, "
                "expires_at = excluded.expires_at "
                "WHERE task_locks.user_id = excluded.user_id OR task_locks.expires_at <= ?4",
    [ST_UNLOCK] = "DELETE FROM task_locks WHERE task_id = ?1 AND user_id = ?2",
    /* Walks the project's tasks in id order on tasks_project and stops at the first match;
     * each test is a probe of an index keyed by task_id (annotations_task_annotator covers
     * both annotation tests, task_locks by its primary key). See test_next_task_plan. */
    [ST_NEXT_TASK] = "SELECT t.id FROM tasks t WHERE t.project_id = ?1 "
                     "AND NOT EXISTS (SELECT 1 FROM annotations a "
                     "  WHERE a.task_id = t.id AND a.annotator_id = ?2) "
                     "AND (SELECT count(*) FROM annotations a "
                     "  WHERE a.task_id = t.id AND a.was_cancelled = 0) < ?3 "
                     "AND NOT EXISTS (SELECT 1 FROM task_locks l "
                     "  WHERE l.task_id = t.id AND l.user_id <> ?2 AND l.expires_at > ?4) "
                     "AND t.id >= ?5 ORDER BY t.id LIMIT 1",
    [ST_HINT_GET] = "SELECT low FROM next_hints WHERE project_id = ?1 AND overlap = ?2",
    [ST_HINT_SET] = "INSERT INTO next_hints (project_id, overlap, low) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (project_id, overlap) DO UPDATE SET low = excluded.low",
    [ST_HINT_LOWER] = "UPDATE next_hints SET low = ?2 WHERE project_id = ?1 AND low > ?2",
    [ST_FIRST_OPEN] = "SELECT t.id FROM tasks t WHERE t.project_id = ?1 AND t.id >= ?2 "
                      "AND (SELECT count(*) FROM annotations a "
                      "  WHERE a.task_id = t.id AND a.was_cancelled = 0) < ?3 "
                      "ORDER BY t.id LIMIT 1",
    [ST_TASK_MAX] = "SELECT max(id) FROM tasks WHERE project_id = ?1",
    [ST_REVIEW_INSERT] = "INSERT INTO reviews (annotation_id, reviewer_id, accepted, comment, "
                         "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* The project an entry concerns is looked up while the object still exists. */
    [ST_AUDIT_INSERT] =
        "INSERT INTO audit (at, user_id, action, object, object_id, detail, project_id) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE ?4 WHEN 'project' THEN ?5 "
        "WHEN 'task' THEN (SELECT project_id FROM tasks WHERE id = ?5) "
        "WHEN 'annotation' THEN (SELECT project_id FROM annotations WHERE id = ?5) "
        "WHEN 'prediction' THEN (SELECT project_id FROM predictions WHERE id = ?5) "
        "WHEN 'export' THEN (SELECT project_id FROM export_jobs WHERE id = ?5) "
        "WHEN 'review' THEN (SELECT a.project_id FROM reviews r JOIN annotations a "
        "ON a.id = r.annotation_id WHERE r.id = ?5) END)",
};

/* ---- errors ----------------------------------------------------------------------------- */

static const char *sqlite_advice(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "another annot process held the workspace for longer than the wait allows; "
               "retry, or find and stop the process that keeps it busy";
    case SQLITE_FULL:
        return "the disk is full; free some space and retry";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return "check that the workspace file and its folder exist and are writable by you";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return "the file is damaged or is not an annot workspace; restore it from a backup";
    case SQLITE_NOMEM:
        return "the machine is out of memory; free some and retry";
    default:
        return "check the disk and the file's permissions, then retry";
    }
}

/* Turns a failed SQLite call into an an_err naming the workspace. */
int sq_db_fail(an_store *s, an_err *err, int rc, const char *doing)
{
    int code = ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) ? AN_EBUSY : AN_EIO;
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    return an_err_set(err, code, s->location, "%s failed: %s (SQLite error %d); %s", doing, msg, rc,
                      sqlite_advice(rc));
}

int sq_need_write_tx(an_store *s, an_err *err, const char *what)
{
    if (s->tx == TX_WRITE) return 0;
    return an_err_set(err, AN_EINTERNAL, what,
                      "%s needs a write transaction: call an_store_begin first", what);
}

/* ---- statements --------------------------------------------------------------------------- */

int sq_stmt_get(an_store *s, enum stmt_id id, sqlite3_stmt **out, an_err *err)
{
    if (!s->stmt[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[id], NULL);
        if (rc != SQLITE_OK) return sq_db_fail(s, err, rc, "preparing a query");
    }
    *out = s->stmt[id];
    return 0;
}

/* A statement for sql (an SQLite result code): the cached one when it is free, else
 * (re-entered, or the cache is full) a fresh one. Give it back with sq_sql_release. The text is
 * compared, not the pointer, so callers may pass any string. */
int sq_sql_prepare(an_store *s, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    bool fresh = false;
    for (int i = 0; i < s->n_sql; i++) {
        cached_sql *c = &s->sql[i];
        if (strcmp(sqlite3_sql(c->st), sql) != 0) continue;
        if (c->busy) {
            fresh = true;
            break;
        }
        c->busy = true;
        *out = c->st;
        return SQLITE_OK;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, fresh ? 0 : SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) return rc;
    if (!fresh && s->n_sql < SQL_CACHE) s->sql[s->n_sql++] = (cached_sql){st, true};
    *out = st;
    return SQLITE_OK;
}

/* sq_sql_prepare with its failure as an an_err. */
int sq_sql_acquire(an_store *s, const char *sql, sqlite3_stmt **out, an_err *err, const char *doing)
{
    int rc = sq_sql_prepare(s, sql, out);
    return rc == SQLITE_OK ? 0 : sq_db_fail(s, err, rc, doing);
}

/* Gives a statement from sq_sql_acquire back: a cached one is reset (ending its read of the
 * workspace) and its parameters cleared (they may point at the caller's memory); a fresh
 * one is finalized. */
void sq_sql_release(an_store *s, sqlite3_stmt *st)
{
    if (!st) return;
    for (int i = 0; i < s->n_sql; i++)
        if (s->sql[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->sql[i].busy = false;
            return;
        }
    sqlite3_finalize(st);
}

/* Runs a cached statement that returns no rows (its parameters already bound). */
int sq_stmt_run(an_store *s, sqlite3_stmt *st, an_err *err, const char *doing)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return sq_db_fail(s, err, rc, doing);
    return 0;
}

int sq_exec_id(an_store *s, enum stmt_id id, an_err *err, const char *doing)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, id, &st, err);
    if (rc) return rc;
    return sq_stmt_run(s, st, err, doing);
}

void sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

void sq_bind_id_or_null(sqlite3_stmt *st, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

void sq_bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

double sq_column_real_or_nan(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

char *sq_column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) return NULL;
    return an_xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

/* ---- opening, the busy handler, migrations ---------------------------------------------- */

/* Called by SQLite while another connection holds a lock we need. Sleeping a short, growing,
 * jittered time and retrying makes writers queue; jitter keeps two waiters from retrying in
 * lock step. Gives up (SQLite then returns SQLITE_BUSY) after BUSY_TIMEOUT_S. */
static int busy_wait(void *ud, int attempts)
{
    an_store *s = ud;
    double now = an_monotonic();
    if (attempts == 0) s->busy_since = now;
    if (now - s->busy_since >= (s->busy_limit_s > 0 ? s->busy_limit_s : BUSY_TIMEOUT_S)) return 0;
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 17;
    s->rng ^= s->rng << 5;
    long max_us = attempts < 6 ? 100L << attempts : 5000; /* 0.1 ms doubling to 5 ms */
    long us = max_us / 2 + (long)(s->rng % (uint32_t)(max_us / 2 + 1));
    struct timespec ts = {0, us * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 1;
}

static int pragma_int(an_store *s, const char *sql, int *out, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(s, err, rc, "reading the workspace header");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return sq_db_fail(s, err, rc, "reading the workspace header");
    return 0;
}

int sq_exec_sql(an_store *s, const char *sql, an_err *err, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(s, err, rc, doing);
    return 0;
}

/* Applies one migration step inside its own write transaction. Rereads the version under the
 * write lock, so several processes opening an old workspace at once migrate it once. */
static int migrate_step(an_store *s, int *version, an_err *err)
{
    int rc = sq_exec_id(s, ST_BEGIN, err, "locking the workspace to upgrade it");
    if (rc) return rc;
    int v = 0, app = 0, objects = 0;
    if ((rc = pragma_int(s, "PRAGMA user_version", &v, err))) goto fail;
    if (v >= SCHEMA_VERSION) { /* someone else got there first */
        *version = v;
        return sq_exec_id(s, ST_COMMIT, err, "upgrading the workspace");
    }
    if (v == 0) {
        /* Refuse to add our tables to some other program's database. */
        if ((rc = pragma_int(s, "PRAGMA application_id", &app, err))) goto fail;
        if ((rc = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &objects, err))) goto fail;
        if ((app != 0 && app != APPLICATION_ID) || objects != 0) {
            rc = an_err_set(err, AN_EINVAL, s->location,
                            "this is an SQLite database of another program, not an annot "
                            "workspace; choose a new file name for the workspace");
            goto fail;
        }
    }
    if ((rc = sq_exec_sql(s, migrations[v], err, "upgrading the workspace schema"))) goto fail;
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
    if ((rc = sq_exec_sql(s, bump, err, "upgrading the workspace schema"))) goto fail;
    if ((rc = sq_exec_id(s, ST_COMMIT, err, "upgrading the workspace schema"))) goto fail;
    *version = v + 1;
    return 0;
fail:
    if (!sqlite3_get_autocommit(s->db)) sq_exec_id(s, ST_ROLLBACK, NULL, "");
    return rc;
}

static int migrate(an_store *s, an_err *err)
{
    int v = 0, rc;
    if ((rc = pragma_int(s, "PRAGMA user_version", &v, err))) return rc;
    if (v > SCHEMA_VERSION)
        return an_err_set(err, AN_EINVAL, s->location,
                          "the workspace has schema version %d but this annot understands up "
                          "to version %d; upgrade annot to open it",
                          v, SCHEMA_VERSION);
    while (v < SCHEMA_VERSION)
        if ((rc = migrate_step(s, &v, err))) return rc;
    s->version = v;
    return 0;
}

/* SQLite's memory statistics take a global mutex on every allocation; annot never reads
 * them, and turning them off must happen before SQLite initialises. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int an_store_open(const char *location, an_store **out, an_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    *out = NULL;
    if (!location || !*location)
        return an_err_set(err, AN_EINVAL, "workspace",
                          "no workspace given; pass the path of a workspace file");
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return an_err_set(err, AN_EINVAL, "workspace",
                          "PostgreSQL workspaces are not supported by this build yet; use a "
                          "workspace file path");

    an_store *s = an_xcalloc(1, sizeof *s);
    s->location = an_xstrdup(location);
    s->rng = (uint32_t)getpid() * 2654435761u ^ (uint32_t)(uintptr_t)s;
    if (!s->rng) s->rng = 1;

    int rc = sqlite3_open_v2(
        location, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_fail(s, err, rc, "opening the workspace");
        an_store_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_handler(s->db, busy_wait, s);

    /* journal_mode=WAL persists in the file; the other settings hold per connection.
     * Checkpoints come every 64 MB of WAL rather than SQLite's 4 MB: an import dirties
     * random pages of the dedupe index in every batch, and a rarer checkpoint copies each
     * such page into the database once rather than once per batch (for 1M tasks a quarter
     * less disk writing). journal_size_limit then trims the WAL file back. */
    char setup[256];
    snprintf(setup, sizeof setup,
             "PRAGMA journal_mode = WAL;\n"
             "PRAGMA synchronous = NORMAL;\n"
             "PRAGMA foreign_keys = ON;\n"
             "PRAGMA temp_store = MEMORY;\n"
             "PRAGMA cache_size = -%d;\n"
             "PRAGMA wal_autocheckpoint = %d;\n"
             "PRAGMA journal_size_limit = 67108864;\n",
             (int)CACHE_KIB, (int)AUTOCHECKPOINT_PAGES);
    if ((rc = sq_exec_sql(s, setup, err, "setting up the workspace connection")) ||
        (rc = migrate(s, err))) {
        an_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void an_store_close(an_store *s)
{
    if (!s) return;
    if (s->db) {
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        for (int i = 0; i < ST__COUNT; i++)
            sqlite3_finalize(s->stmt[i]);
        for (int i = 0; i < s->n_sql; i++)
            sqlite3_finalize(s->sql[i].st);
        /* close_v2 also copes with an iterator the caller forgot to close. */
        sqlite3_close_v2(s->db);
    }
    free(s->pend);
    free(s->mark_pend);
    free(s->location);
    free(s);
}

int an_store_schema_version(an_store *s)
{
    return s->version;
}

/* ---- transactions ----------------------------------------------------------------------- */

/* Whether a read on the handle keeps it from writing: a stream or read_begin is open. Soft
 * reads alone do not (an_store_begin ends them). */
static bool reads_block_writes(const an_store *s)
{
    return s->tx == TX_READ && s->readers > s->soft;
}

/* Ends a read transaction only soft reads hold (a write is about to start). */
static void end_soft_reads(an_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) sq_exec_id(s, ST_COMMIT, NULL, "");
    s->tx = TX_NONE;
    s->readers = 0;
    s->soft = 0;
}

int an_store_begin(an_store *s, an_err *err)
{
    if (s->tx == TX_WRITE)
        return an_err_set(err, AN_EINTERNAL, "an_store_begin",
                          "a transaction is already open on this handle; commit or roll it "
                          "back first");
    if (reads_block_writes(s))
        return an_err_set(err, AN_EINTERNAL, "an_store_begin",
                          "a task stream or read transaction is open on this handle; close or "
                          "end it before writing, or write through another handle");
    if (s->tx == TX_READ) end_soft_reads(s);
    int rc = sq_exec_id(s, ST_BEGIN, err, "starting a write transaction");
    if (rc) return rc;
    s->tx = TX_WRITE;
    s->n_pend = 0;
    s->last_pend = 0;
    /* Rows given no time get the transaction's start time, as PostgreSQL's now() does: one
     * clock read per transaction instead of a formatted time per row, and a batch's rows
     * share the moment the batch began. */
    an_now_iso(s->tx_now);
    return 0;
}

static void discard(an_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) sq_exec_id(s, ST_ROLLBACK, NULL, "");
    s->tx = TX_NONE;
    s->n_pend = 0;
    s->marked = false;
}

int an_store_commit(an_store *s, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_commit");
    if (rc) return rc;
    if (sqlite3_get_autocommit(s->db)) {
        /* SQLite rolls back on its own after some errors (disk full, I/O error). */
        discard(s);
        return an_err_set(err, AN_EIO, s->location,
                          "the transaction was rolled back after an earlier error, so nothing "
                          "since begin was saved; fix that error and run the operation again");
    }
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_COUNTERS_ADD, &st, err))) goto fail;
    for (size_t i = 0; i < s->n_pend; i++) {
        const pending *p = &s->pend[i];
        if (!p->tasks && !p->annotations && !p->predictions) continue;
        sqlite3_bind_int64(st, 1, p->project_id);
        sqlite3_bind_int64(st, 2, p->tasks);
        sqlite3_bind_int64(st, 3, p->annotations);
        sqlite3_bind_int64(st, 4, p->predictions);
        if ((rc = sq_stmt_run(s, st, err, "updating the project counters"))) goto fail;
    }
    /* Projects whose tasks changed get their rank marks extended (sqlite_marks.c): tasks
     * inserted move the count; a delete sets marks_cut even when inserts balance it. */
    for (size_t i = 0; i < s->n_pend; i++) {
        const pending *p = &s->pend[i];
        if ((p->tasks || p->marks_cut) && (rc = sq_marks_extend(s, p->project_id, err))) goto fail;
    }
    if ((rc = sq_exec_id(s, ST_COMMIT, err, "committing"))) goto fail;
    s->tx = TX_NONE;
    s->n_pend = 0;
    return 0;
fail:
    discard(s);
    return rc;
}

void an_store_rollback(an_store *s)
{
    if (s->tx != TX_WRITE) return;
    discard(s);
}

int an_store_set_cache_kib(an_store *s, int kib, an_err *err)
{
    if (kib < 64) kib = 64;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", kib);
    return sq_exec_sql(s, sql, err, "setting the page cache size");
}

int an_store_set_synchronous(an_store *s, bool full, an_err *err)
{
    return sq_exec_sql(s, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", err,
                       "setting the durability of commits");
}

const char *an_store_tx_time(const an_store *s)
{
    return s->tx == TX_WRITE ? s->tx_now : "";
}

int an_store_mark(an_store *s, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_mark");
    if (rc) return rc;
    if (s->marked)
        return an_err_set(err, AN_EINTERNAL, "an_store_mark",
                          "a mark is already set; release or undo it first");
    if ((rc = sq_exec_id(s, ST_SAVEPOINT, err, "setting a savepoint"))) return rc;
    if (s->cap_mark_pend < s->n_pend) {
        s->cap_mark_pend = s->n_pend;
        s->mark_pend = an_xrealloc(s->mark_pend, s->cap_mark_pend * sizeof *s->mark_pend);
    }
    if (s->n_pend) memcpy(s->mark_pend, s->pend, s->n_pend * sizeof *s->pend);
    s->n_mark_pend = s->n_pend;
    s->marked = true;
    return 0;
}

int an_store_mark_release(an_store *s, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_mark_release");
    if (rc) return rc;
    if (!s->marked) return 0;
    s->marked = false;
    return sq_exec_id(s, ST_SAVEPOINT_RELEASE, err, "releasing a savepoint");
}

int an_store_mark_undo(an_store *s, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_mark_undo");
    if (rc) return rc;
    if (!s->marked) return 0;
    s->marked = false;
    /* ROLLBACK TO keeps the savepoint open; RELEASE then drops it. */
    if ((rc = sq_exec_id(s, ST_SAVEPOINT_UNDO, err, "undoing to a savepoint")) ||
        (rc = sq_exec_id(s, ST_SAVEPOINT_RELEASE, err, "releasing a savepoint")))
        return rc;
    if (s->n_mark_pend) memcpy(s->pend, s->mark_pend, s->n_mark_pend * sizeof *s->pend);
    s->n_pend = s->n_mark_pend;
    s->last_pend = 0;
    return 0;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* The WAL hook of a handle whose commits do not checkpoint: only reports the log's size. */
static int wal_note(void *ud, sqlite3 *db, const char *name, int pages)
{
    (void)db, (void)name;
    an_store *s = ud;
    if (s->wal_cb) s->wal_cb(s->wal_ud, pages);
    return SQLITE_OK;
}

int an_store_set_autocheckpoint(an_store *s, bool on, an_wal_cb wal_cb, void *ud, an_err *err)
{
    (void)err;
    if (on) {
        /* Installs SQLite's own hook again, with the threshold an_store_open sets. */
        sqlite3_wal_autocheckpoint(s->db, AUTOCHECKPOINT_PAGES);
        s->wal_cb = NULL;
        s->wal_ud = NULL;
        return 0;
    }
    s->wal_cb = wal_cb;
    s->wal_ud = ud;
    sqlite3_wal_hook(s->db, wal_note, s);
    return 0;
}

int an_store_checkpoint(an_store *s, an_checkpoint_mode mode, int wait_ms, int64_t *log_pages,
                        int64_t *copied_pages, an_err *err)
{
    if (log_pages) *log_pages = 0;
    if (copied_pages) *copied_pages = 0;
    if (s->tx != TX_NONE)
        return an_err_set(err, AN_EINTERNAL, "an_store_checkpoint",
                          "a transaction or task stream is open on this handle; checkpoint "
                          "from a handle that is not reading or writing");
    int log = 0, copied = 0;
    int smode =
        mode == AN_CHECKPOINT_RESTART ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
    /* A RESTART holds writers off while it waits: it must give up quickly. */
    s->busy_limit_s = wait_ms > 0 ? wait_ms / 1000.0 : 0.001;
    int rc = sqlite3_wal_checkpoint_v2(s->db, "main", smode, &log, &copied);
    s->busy_limit_s = 0;
    if (log_pages) *log_pages = log > 0 ? log : 0;
    if (copied_pages) *copied_pages = copied > 0 ? copied : 0;
    if (rc == SQLITE_OK) return 0;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        if (mode == AN_CHECKPOINT_PASSIVE) return 0;
        return an_err_set(err, AN_EBUSY, s->location,
                          "the checkpoint waited %d ms for readers or the writer; retry later",
                          wait_ms);
    }
    return sq_db_fail(s, err, rc, "checkpointing the workspace");
}

/* A read_begin inside a write transaction is counted apart (reads_in_write) so that its
 * read_end, before or after the write commits, never ends a read transaction it did not
 * begin. */
int an_store_read_begin(an_store *s, an_err *err)
{
    if (s->tx == TX_WRITE) {
        s->reads_in_write++;
        return 0;
    }
    if (s->tx == TX_NONE) {
        int rc = sq_exec_id(s, ST_BEGIN_READ, err, "starting a read transaction");
        if (rc) return rc;
        s->tx = TX_READ;
    }
    s->readers++;
    return 0;
}

void an_store_read_end(an_store *s)
{
    if (s->reads_in_write > 0) {
        s->reads_in_write--;
        return;
    }
    if (s->tx != TX_READ || s->readers <= 0) return;
    if (--s->readers == 0) {
        /* A read-only COMMIT writes nothing; it drops the snapshot and the WAL read lock. */
        if (!sqlite3_get_autocommit(s->db)) sq_exec_id(s, ST_COMMIT, NULL, "");
        s->tx = TX_NONE;
    }
}

int an_store_read_begin_soft(an_store *s, an_err *err)
{
    int rc = an_store_read_begin(s, err);
    if (rc == 0 && s->tx == TX_READ) s->soft++;
    return rc;
}

void an_store_read_end_soft(an_store *s)
{
    if (s->tx == TX_WRITE) {
        /* Begun inside a write transaction: counted there, like read_begin's. */
        an_store_read_end(s);
        return;
    }
    if (s->soft <= 0) return; /* given up when a write started */
    s->soft--;
    an_store_read_end(s);
}

/* Runs a single-statement write in the caller's transaction when one is open, else in its
 * own. *own tells the caller to finish it with sq_finish_own. */
int sq_begin_own(an_store *s, bool *own, an_err *err)
{
    *own = false;
    if (s->tx == TX_WRITE) return 0;
    int rc = an_store_begin(s, err);
    if (rc) return rc;
    *own = true;
    return 0;
}

int sq_finish_own(an_store *s, bool own, int rc, an_err *err)
{
    if (!own) return rc;
    if (rc) {
        an_store_rollback(s);
        return rc;
    }
    return an_store_commit(s, err);
}

static pending *pending_for(an_store *s, int64_t project_id)
{
    if (s->last_pend < s->n_pend && s->pend[s->last_pend].project_id == project_id)
        return &s->pend[s->last_pend];
    for (size_t i = 0; i < s->n_pend; i++)
        if (s->pend[i].project_id == project_id) {
            s->last_pend = i;
            return &s->pend[i];
        }
    if (s->n_pend == s->cap_pend) {
        s->cap_pend = s->cap_pend ? 2 * s->cap_pend : 4;
        s->pend = an_xrealloc(s->pend, s->cap_pend * sizeof *s->pend);
    }
    s->last_pend = s->n_pend++;
    pending *p = &s->pend[s->last_pend];
    memset(p, 0, sizeof *p);
    p->project_id = project_id;
    return p;
}

/* Adds this transaction's not yet written counters, so a project read inside a write
 * transaction shows the rows that transaction inserted. */
static void add_pending(an_store *s, an_project *p)
{
    if (s->tx != TX_WRITE) return;
    for (size_t i = 0; i < s->n_pend; i++)
        if (s->pend[i].project_id == p->id) {
            p->task_count += s->pend[i].tasks;
            p->annotation_count += s->pend[i].annotations;
            p->prediction_count += s->pend[i].predictions;
        }
}

bool sq_is_unique_violation(int rc)
{
    return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/* "All digits" in the sense of the name_or_id rule: a plain decimal that fits int64. */
bool sq_parse_id(const char *text, int64_t *id)
{
    size_t n = strlen(text);
    if (n == 0 || n > 18) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        v = v * 10 + (text[i] - '0');
    }
    *id = v;
    return true;
}

int sq_check_name(const char *name, const char *what, an_err *err)
{
    if (!name || !*name)
        return an_err_set(err, AN_EINVAL, what, "the %s name is empty; give a name", what);
    if (strlen(name) > 200)
        return an_err_set(err, AN_EINVAL, what,
                          "the %s name is longer than 200 bytes; choose a shorter name", what);
    return 0;
}

/* ---- users -------------------------------------------------------------------------------- */

int an_store_user_add(an_store *s, const char *name, an_role role, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = sq_check_name(name, "user", err);
    if (rc) return rc;
    if (an_role_parse(an_role_name(role)) < 0)
        return an_err_set(err, AN_EINVAL, "role",
                          "unknown role %d; use admin, manager, reviewer or annotator", (int)role);
    bool own;
    if ((rc = sq_begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_USER_INSERT, &st, err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, an_role_name(role), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, s->tx_now, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (sq_is_unique_violation(src)) {
            rc = an_err_set(err, AN_EEXIST, "user",
                            "a user named %s already exists; choose another name", name);
        } else {
            rc = sq_db_fail(s, err, src, "adding a user");
        }
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_user_ensure(an_store *s, int64_t id, an_err *err)
{
    if (id <= 0) return an_err_set(err, AN_EINVAL, "annotator_id", "user ids are positive");
    if (s->tx != TX_WRITE)
        return an_err_set(err, AN_EINTERNAL, "user", "an_store_user_ensure needs a transaction");
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_USER_ENSURE, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, s->tx_now, -1, SQLITE_STATIC);
    return sq_stmt_run(s, st, err, "adding an imported annotator");
}

static void user_from_row(sqlite3_stmt *st, an_user *u)
{
    u->id = sqlite3_column_int64(st, 0);
    u->name = sq_column_dup(st, 1);
    const char *role = (const char *)sqlite3_column_text(st, 2);
    int r = an_role_parse(role);
    u->role = r < 0 ? AN_ROLE_ANNOTATOR : (an_role)r;
    u->created_at = sq_column_dup(st, 3);
}

/* Looks one row up with a cached statement; 1 found (filled by fill), 0 absent. */
static int lookup(an_store *s, enum stmt_id id, const char *text, int64_t num,
                  void (*fill)(sqlite3_stmt *, void *), void *out, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, id, &st, err);
    if (rc) return rc;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, num);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) fill(st, out);
    sqlite3_reset(st);
    if (src == SQLITE_ROW) return 1;
    if (src == SQLITE_DONE) return 0;
    return sq_db_fail(s, err, src, "reading the workspace");
}

static void fill_user(sqlite3_stmt *st, void *out)
{
    user_from_row(st, out);
}

int an_store_user_get(an_store *s, const char *name_or_id, an_user *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (!name_or_id) name_or_id = "";
    int rc = lookup(s, ST_USER_BY_NAME, name_or_id, 0, fill_user, out, err);
    int64_t id;
    if (rc == 0 && sq_parse_id(name_or_id, &id))
        rc = lookup(s, ST_USER_BY_ID, NULL, id, fill_user, out, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "user",
                          "no user named or numbered %s; `annot user list` shows them", name_or_id);
    return 0;
}

int an_store_user_list(an_store *s, an_user_cb cb, void *ud, an_err *err)
{
    /* The callback may call back into the store: sq_sql_acquire copes with that. */
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s, "SELECT id, name, role, created_at FROM users ORDER BY id", &st, err,
                            "listing users");
    if (rc) return rc;
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        an_user u;
        user_from_row(st, &u);
        ret = cb(ud, &u);
        an_user_clear(&u);
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_db_fail(s, err, rc, "listing users");
    sq_sql_release(s, st);
    return ret;
}

/* ---- projects ----------------------------------------------------------------------------- */

static void project_from_row(sqlite3_stmt *st, an_project *p, bool full)
{
    p->id = sqlite3_column_int64(st, 0);
    p->name = sq_column_dup(st, 1);
    p->created_at = sq_column_dup(st, 2);
    p->task_count = sqlite3_column_int64(st, 3);
    p->annotation_count = sqlite3_column_int64(st, 4);
    p->prediction_count = sqlite3_column_int64(st, 5);
    p->settings = full ? sq_column_dup(st, 6) : NULL;
    p->config = full ? sq_column_dup(st, 7) : NULL;
}

static void fill_project(sqlite3_stmt *st, void *out)
{
    project_from_row(st, out, true);
}

int an_store_project_create(an_store *s, const char *name, const char *config_xml,
                            const char *settings_json, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = sq_check_name(name, "project", err);
    if (rc) return rc;
    if (!config_xml)
        return an_err_set(err, AN_EINVAL, "config", "the project has no labeling config; give one");
    bool own;
    if ((rc = sq_begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_PROJECT_INSERT, &st, err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, s->tx_now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, settings_json ? settings_json : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, config_xml, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (sq_is_unique_violation(src)) {
            rc = an_err_set(err, AN_EEXIST, "project",
                            "a project named %s already exists; choose another name", name);
        } else {
            rc = sq_db_fail(s, err, src, "creating a project");
        }
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_project_get(an_store *s, const char *name_or_id, an_project *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (!name_or_id) name_or_id = "";
    int rc = lookup(s, ST_PROJECT_BY_NAME, name_or_id, 0, fill_project, out, err);
    int64_t id;
    if (rc == 0 && sq_parse_id(name_or_id, &id))
        rc = lookup(s, ST_PROJECT_BY_ID, NULL, id, fill_project, out, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "project",
                          "no project named or numbered %s; `annot project list` shows them",
                          name_or_id);
    add_pending(s, out);
    return 0;
}

int an_store_project_get_id(an_store *s, int64_t id, an_project *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = lookup(s, ST_PROJECT_BY_ID, NULL, id, fill_project, out, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "project", "no project numbered %lld", (long long)id);
    add_pending(s, out);
    return 0;
}

int an_store_project_list(an_store *s, an_project_cb cb, void *ud, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT id, name, created_at, task_count, annotation_count, "
                            "prediction_count FROM projects ORDER BY id",
                            &st, err, "listing projects");
    if (rc) return rc;
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        an_project p;
        project_from_row(st, &p, false);
        add_pending(s, &p);
        ret = cb(ud, &p);
        an_project_clear(&p);
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_db_fail(s, err, rc, "listing projects");
    sq_sql_release(s, st);
    return ret;
}

/* ---- import batches ----------------------------------------------------------------------- */

int an_store_batch_create(an_store *s, int64_t project_id, const char *source, const char *format,
                          int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = sq_need_write_tx(s, err, "an_store_batch_create");
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_BATCH_INSERT, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_text(st, 2, source ? source : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, format ? format : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, s->tx_now, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
        return an_err_set(err, AN_ENOTFOUND, "project",
                          "no project numbered %lld; `annot project list` shows them",
                          (long long)project_id);
    if (src != SQLITE_DONE) return sq_db_fail(s, err, src, "recording an import batch");
    if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int an_store_batch_add(an_store *s, int64_t batch_id, int64_t added, int64_t duplicates,
                       int64_t rejected, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_batch_add");
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_BATCH_ADD, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, batch_id);
    sqlite3_bind_int64(st, 2, added);
    sqlite3_bind_int64(st, 3, duplicates);
    sqlite3_bind_int64(st, 4, rejected);
    if ((rc = sq_stmt_run(s, st, err, "updating an import batch"))) return rc;
    if (sqlite3_changes(s->db) == 0)
        return an_err_set(err, AN_ENOTFOUND, "batch", "no import batch numbered %lld",
                          (long long)batch_id);
    return 0;
}

/* ---- tasks, annotations, predictions -------------------------------------------------------- */

static int missing_task(an_err *err, int64_t task_id, int64_t project_id)
{
    return an_err_set(err, AN_ENOTFOUND, "task_id",
                      "project %lld has no task %lld; insert the task first", (long long)project_id,
                      (long long)task_id);
}

int an_store_task_insert(an_store *s, const an_task_in *t, int64_t *id_out, an_err *err)
{
    *id_out = 0;
    int rc = sq_need_write_tx(s, err, "an_store_task_insert");
    if (rc) return rc;
    if (!t->data)
        return an_err_set(err, AN_EINVAL, "data", "the task has no data; give a data object");
    if (t->data_len > (size_t)INT32_MAX)
        return an_err_set(err, AN_EINVAL, "data",
                          "the task's data is larger than 2 GB; split it or store the large "
                          "content as a file and refer to it");
    sqlite3_stmt *st = NULL, *probe = NULL;
    if ((rc = sq_stmt_get(s, ST_TASK_INSERT, &st, err))) return rc;
    const char *created = t->created_at ? t->created_at : s->tx_now;
    uint64_t key = 0;
    for (int i = 0; i < 8; i++)
        key = key << 8 | t->hash[i];
    /* Each round either inserts, finds the same content (a duplicate), or finds a different
     * content under this key and moves to the next key. */
    for (int round = 0;; round++) {
        sqlite3_bind_int64(st, 1, t->project_id);
        sq_bind_id_or_null(st, 2, t->batch_id);
        sqlite3_bind_blob(st, 3, t->hash, AN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, created, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, t->updated_at ? t->updated_at : created, -1, SQLITE_STATIC);
        sq_bind_text_or_null(st, 6, t->meta);
        sqlite3_bind_text(st, 7, t->data, (int)t->data_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)key);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
            return an_err_set(err, AN_ENOTFOUND, "project_id",
                              "no project numbered %lld; `annot project list` shows them",
                              (long long)t->project_id);
        if (src != SQLITE_DONE) return sq_db_fail(s, err, src, "inserting a task");
        if (sqlite3_changes(s->db) == 1) break;
        if (!probe && (rc = sq_stmt_get(s, ST_TASK_HASH_AT, &probe, err))) return rc;
        sqlite3_bind_int64(probe, 1, t->project_id);
        sqlite3_bind_int64(probe, 2, (sqlite3_int64)key);
        src = sqlite3_step(probe);
        bool same = src == SQLITE_ROW && sqlite3_column_bytes(probe, 0) == AN_HASH_BYTES &&
                    memcmp(sqlite3_column_blob(probe, 0), t->hash, AN_HASH_BYTES) == 0;
        sqlite3_reset(probe);
        if (src != SQLITE_ROW) return sq_db_fail(s, err, src, "checking a task's content hash");
        if (same) return 0; /* same content already in the project */
        if (round > 64)
            return an_err_set(err, AN_EINTERNAL, "content_hash",
                              "too many content-hash collisions; report this as a bug");
        key++;
    }
    *id_out = sqlite3_last_insert_rowid(s->db);
    pending_for(s, t->project_id)->tasks++;
    return 0;
}

int an_store_annotation_insert(an_store *s, const an_annotation_in *a, int64_t *id_out, an_err *err)
{
    *id_out = 0;
    int rc = sq_need_write_tx(s, err, "an_store_annotation_insert");
    if (rc) return rc;
    if (!a->result)
        return an_err_set(err, AN_EINVAL, "result",
                          "the annotation has no result; give a result array");
    if (isinf(a->lead_time))
        return an_err_set(err, AN_EINVAL, "lead_time",
                          "lead_time is infinite; give seconds or leave it unknown");
    for (size_t i = 0; i < a->n_labels; i++)
        if (!a->labels[i].from_name || !a->labels[i].label)
            return an_err_set(err, AN_EINTERNAL, "labels", "label %zu has no control or label name",
                              i);
    sqlite3_stmt *st, *lst = NULL;
    if ((rc = sq_stmt_get(s, ST_ANNOTATION_INSERT, &st, err))) return rc;
    if (a->n_labels && (rc = sq_stmt_get(s, ST_LABEL_INSERT, &lst, err))) return rc;
    const char *created = a->created_at ? a->created_at : s->tx_now;
    sqlite3_bind_int64(st, 1, a->task_id);
    sqlite3_bind_int64(st, 2, a->project_id);
    sq_bind_id_or_null(st, 3, a->annotator_id);
    sq_bind_real_or_null(st, 4, a->lead_time);
    sqlite3_bind_int(st, 5, a->ground_truth ? 1 : 0);
    sqlite3_bind_int(st, 6, a->cancelled ? 1 : 0);
    sqlite3_bind_text(st, 7, created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, a->updated_at ? a->updated_at : created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, a->result, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
        /* Either the task (in that project) or the annotator does not exist. */
        an_user u = {0};
        char idtext[24];
        snprintf(idtext, sizeof idtext, "%lld", (long long)a->annotator_id);
        if (a->annotator_id > 0 &&
            lookup(s, ST_USER_BY_ID, NULL, a->annotator_id, fill_user, &u, NULL) == 0)
            return an_err_set(err, AN_ENOTFOUND, "annotator_id",
                              "no user numbered %s; `annot user list` shows them", idtext);
        an_user_clear(&u);
        return missing_task(err, a->task_id, a->project_id);
    }
    if (src != SQLITE_DONE) return sq_db_fail(s, err, src, "inserting an annotation");
    int64_t id = sqlite3_last_insert_rowid(s->db);
    for (size_t i = 0; i < a->n_labels; i++) {
        sqlite3_bind_int64(lst, 1, id);
        sqlite3_bind_int64(lst, 2, a->project_id);
        sqlite3_bind_text(lst, 3, a->labels[i].from_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(lst, 4, a->labels[i].label, -1, SQLITE_STATIC);
        /* A failure here leaves the annotation row in the transaction; the caller's error
         * path rolls the whole transaction back, as for any failed insert. */
        if ((rc = sq_stmt_run(s, lst, err, "recording an annotation's labels"))) return rc;
    }
    *id_out = id;
    pending_for(s, a->project_id)->annotations++;
    return 0;
}

int an_store_prediction_insert(an_store *s, const an_prediction_in *p, int64_t *id_out, an_err *err)
{
    *id_out = 0;
    int rc = sq_need_write_tx(s, err, "an_store_prediction_insert");
    if (rc) return rc;
    if (!p->result)
        return an_err_set(err, AN_EINVAL, "result",
                          "the prediction has no result; give a result array");
    if (isinf(p->score))
        return an_err_set(err, AN_EINVAL, "score",
                          "score is infinite; give a finite number or leave it out");
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_PREDICTION_INSERT, &st, err))) return rc;
    const char *created = p->created_at ? p->created_at : s->tx_now;
    sqlite3_bind_int64(st, 1, p->task_id);
    sqlite3_bind_int64(st, 2, p->project_id);
    sqlite3_bind_text(st, 3, p->model_version ? p->model_version : "", -1, SQLITE_STATIC);
    sq_bind_real_or_null(st, 4, p->score);
    sqlite3_bind_text(st, 5, created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, p->result, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_CONSTRAINT_FOREIGNKEY) return missing_task(err, p->task_id, p->project_id);
    if (src != SQLITE_DONE) return sq_db_fail(s, err, src, "inserting a prediction");
    *id_out = sqlite3_last_insert_rowid(s->db);
    pending_for(s, p->project_id)->predictions++;
    return 0;
}

/* ---- the task stream ----------------------------------------------------------------------
 *
 * A merge join of three cursors, each reading its table once in (task_id, id) order through
 * the per-project indexes: tasks by id, annotations and predictions by task_id then id. The
 * annotation and prediction cursors always hold their next unconsumed row; next() copies the
 * rows whose task_id matches the current task into the iterator's buffers (the cursor moves
 * past them, so SQLite's copies do not survive) and points the row at those copies. The
 * task's own columns are borrowed straight from its cursor, valid until it steps again.
 *
 * Snapshot: on a handle with no open transaction, the first iterator starts a read
 * transaction (BEGIN DEFERRED) that the last iterator to close ends, so all three cursors
 * see one consistent state of the workspace however long the export runs, while writers on
 * other handles go on. Opened inside the handle's write transaction, an iterator reads that
 * transaction's view (including its uncommitted rows) and must be closed before commit or
 * rollback. While a stream holds the read transaction, writing through the same handle is
 * refused; write through another handle. */

/* Offsets of an annotation's or prediction's strings inside it->strs (SIZE_MAX: NULL). */
typedef struct str_offsets {
    size_t a, b, c, d;
} str_offsets;

struct an_task_iter {
    an_store *s;
    sqlite3_stmt *tasks, *anns, *preds;
    int ann_rc, pred_rc; /* SQLITE_ROW while the cursor holds an unconsumed row */
    bool owns_read;
    bool done;
    an_task_row row;
    an_annotation_row *ann;
    str_offsets *ann_offs;
    size_t cap_ann;
    size_t cap_ann_offs;
    an_prediction_row *pred;
    str_offsets *pred_offs;
    size_t cap_pred, cap_pred_offs;
    an_buf strs;
};

static size_t keep_text(an_buf *b, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t) return SIZE_MAX;
    size_t off = b->len;
    an_buf_add(b, t, (size_t)sqlite3_column_bytes(st, col));
    an_buf_addc(b, '\0');
    return off;
}

static const char *text_at(const an_buf *b, size_t off)
{
    return off == SIZE_MAX ? NULL : b->p + off;
}

static int iter_fail(an_task_iter *it, an_err *err, int rc)
{
    return sq_db_fail(it->s, err, rc, "reading the project's tasks");
}

static int iter_prepare(an_task_iter *it, const char *sql, sqlite3_stmt **out, int64_t pid,
                        an_err *err)
{
    int rc = sqlite3_prepare_v2(it->s->db, sql, -1, out, NULL);
    if (rc != SQLITE_OK) return iter_fail(it, err, rc);
    sqlite3_bind_int64(*out, 1, pid);
    return 0;
}

int an_store_tasks_open(an_store *s, int64_t project_id, unsigned flags, an_task_iter **out,
                        an_err *err)
{
    *out = NULL;
    an_task_iter *it = an_xcalloc(1, sizeof *it);
    it->s = s;
    it->ann_rc = it->pred_rc = SQLITE_DONE;
    an_buf_init(&it->strs);
    int rc = 0;
    if (s->tx == TX_NONE) {
        if ((rc = sq_exec_id(s, ST_BEGIN_READ, err, "starting a read transaction"))) goto fail;
        s->tx = TX_READ;
    }
    if (s->tx == TX_READ) {
        s->readers++;
        it->owns_read = true;
    }
    if ((rc = iter_prepare(it,
                           "SELECT id, meta, created_at, updated_at, data FROM tasks "
                           "WHERE project_id = ?1 ORDER BY id",
                           &it->tasks, project_id, err)))
        goto fail;
    if ((flags & AN_ITER_ANNOTATIONS) &&
        (rc = iter_prepare(it,
                           "SELECT task_id, id, annotator_id, lead_time, ground_truth, "
                           "was_cancelled, created_at, updated_at, result FROM annotations "
                           "WHERE project_id = ?1 ORDER BY task_id, id",
                           &it->anns, project_id, err)))
        goto fail;
    if ((flags & AN_ITER_PREDICTIONS) &&
        (rc = iter_prepare(it,
                           "SELECT task_id, id, model_version, score, created_at, result "
                           "FROM predictions WHERE project_id = ?1 ORDER BY task_id, id",
                           &it->preds, project_id, err)))
        goto fail;
    /* Prime the side cursors; the first step also pins the read snapshot. */
    if (it->anns) {
        it->ann_rc = sqlite3_step(it->anns);
        if (it->ann_rc != SQLITE_ROW && it->ann_rc != SQLITE_DONE) {
            rc = iter_fail(it, err, it->ann_rc);
            goto fail;
        }
    }
    if (it->preds) {
        it->pred_rc = sqlite3_step(it->preds);
        if (it->pred_rc != SQLITE_ROW && it->pred_rc != SQLITE_DONE) {
            rc = iter_fail(it, err, it->pred_rc);
            goto fail;
        }
    }
    *out = it;
    return 0;
fail:
    an_task_iter_close(it);
    return rc;
}

static void *grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    *cap = n;
    return an_xrealloc(p, n * elem);
}

/* Copies the annotation cursor's rows for task tid; leaves the cursor on the next task's
 * first row. Rows with a smaller task_id cannot occur (the foreign key ties every row to a
 * task of the project) but are skipped rather than trusted. */
static int collect_annotations(an_task_iter *it, int64_t tid, size_t *n, an_err *err)
{
    *n = 0;
    while (it->ann_rc == SQLITE_ROW) {
        int64_t atid = sqlite3_column_int64(it->anns, 0);
        if (atid > tid) break;
        if (atid == tid) {
            size_t i = (*n)++;
            it->ann = grow_array(it->ann, &it->cap_ann, *n, sizeof *it->ann);
            it->ann_offs = grow_array(it->ann_offs, &it->cap_ann_offs, *n, sizeof *it->ann_offs);
            sqlite3_stmt *st = it->anns;
            an_annotation_row *r = &it->ann[i];
            r->id = sqlite3_column_int64(st, 1);
            r->annotator_id = sqlite3_column_int64(st, 2); /* NULL reads as 0 */
            r->lead_time = sq_column_real_or_nan(st, 3);
            r->ground_truth = sqlite3_column_int(st, 4) != 0;
            r->cancelled = sqlite3_column_int(st, 5) != 0;
            it->ann_offs[i].a = keep_text(&it->strs, st, 6);
            it->ann_offs[i].b = keep_text(&it->strs, st, 7);
            it->ann_offs[i].c = keep_text(&it->strs, st, 8);
        }
        it->ann_rc = sqlite3_step(it->anns);
    }
    if (it->ann_rc != SQLITE_ROW && it->ann_rc != SQLITE_DONE)
        return iter_fail(it, err, it->ann_rc);
    return 0;
}

static int collect_predictions(an_task_iter *it, int64_t tid, size_t *n, an_err *err)
{
    *n = 0;
    while (it->pred_rc == SQLITE_ROW) {
        int64_t ptid = sqlite3_column_int64(it->preds, 0);
        if (ptid > tid) break;
        if (ptid == tid) {
            size_t i = (*n)++;
            it->pred = grow_array(it->pred, &it->cap_pred, *n, sizeof *it->pred);
            it->pred_offs =
                grow_array(it->pred_offs, &it->cap_pred_offs, *n, sizeof *it->pred_offs);
            sqlite3_stmt *st = it->preds;
            an_prediction_row *r = &it->pred[i];
            r->id = sqlite3_column_int64(st, 1);
            it->pred_offs[i].a = keep_text(&it->strs, st, 2);
            r->score = sq_column_real_or_nan(st, 3);
            it->pred_offs[i].b = keep_text(&it->strs, st, 4);
            it->pred_offs[i].c = keep_text(&it->strs, st, 5);
        }
        it->pred_rc = sqlite3_step(it->preds);
    }
    if (it->pred_rc != SQLITE_ROW && it->pred_rc != SQLITE_DONE)
        return iter_fail(it, err, it->pred_rc);
    return 0;
}

int an_task_iter_next(an_task_iter *it, const an_task_row **row, an_err *err)
{
    *row = NULL;
    if (it->done) return 0;
    int rc = sqlite3_step(it->tasks);
    if (rc == SQLITE_DONE) {
        it->done = true;
        return 0;
    }
    if (rc != SQLITE_ROW) {
        it->done = true;
        return iter_fail(it, err, rc);
    }
    sqlite3_stmt *st = it->tasks;
    an_task_row *r = &it->row;
    r->id = sqlite3_column_int64(st, 0);

    an_buf_reset(&it->strs);
    size_t na = 0, np = 0;
    if (it->anns && (rc = collect_annotations(it, r->id, &na, err))) return rc;
    if (it->preds && (rc = collect_predictions(it, r->id, &np, err))) return rc;
    /* The buffer stopped moving: turn offsets into pointers. */
    for (size_t i = 0; i < na; i++) {
        it->ann[i].created_at = text_at(&it->strs, it->ann_offs[i].a);
        it->ann[i].updated_at = text_at(&it->strs, it->ann_offs[i].b);
        it->ann[i].result = text_at(&it->strs, it->ann_offs[i].c);
    }
    for (size_t i = 0; i < np; i++) {
        it->pred[i].model_version = text_at(&it->strs, it->pred_offs[i].a);
        it->pred[i].created_at = text_at(&it->strs, it->pred_offs[i].b);
        it->pred[i].result = text_at(&it->strs, it->pred_offs[i].c);
    }
    r->annotations = na ? it->ann : NULL;
    r->n_annotations = na;
    r->predictions = np ? it->pred : NULL;
    r->n_predictions = np;

    /* Borrowed from the task cursor: text first, then its length (SQLite's rule). */
    r->meta = (const char *)sqlite3_column_text(st, 1);
    r->created_at = (const char *)sqlite3_column_text(st, 2);
    r->updated_at = (const char *)sqlite3_column_text(st, 3);
    r->data = (const char *)sqlite3_column_text(st, 4);
    r->data_len = (size_t)sqlite3_column_bytes(st, 4);
    if (!r->data) {
        r->data = "";
        r->data_len = 0;
    }
    *row = r;
    return 1;
}

void an_task_iter_close(an_task_iter *it)
{
    if (!it) return;
    sqlite3_finalize(it->tasks);
    sqlite3_finalize(it->anns);
    sqlite3_finalize(it->preds);
    an_store *s = it->s;
    if (it->owns_read && --s->readers == 0 && s->tx == TX_READ) {
        /* Ends the read transaction; a read-only COMMIT writes nothing. */
        if (!sqlite3_get_autocommit(s->db)) sq_exec_id(s, ST_COMMIT, NULL, "");
        s->tx = TX_NONE;
    }
    free(it->ann);
    free(it->ann_offs);
    free(it->pred);
    free(it->pred_offs);
    an_buf_free(&it->strs);
    free(it);
}

/* ---- statistics ----------------------------------------------------------------------------- */

int an_store_label_counts(an_store *s, int64_t project_id, an_label_count_cb cb, void *ud,
                          an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT l.from_name, l.label, count(*) "
                            "FROM annotation_labels l JOIN annotations a "
                            "ON a.id = l.annotation_id "
                            "WHERE l.project_id = ?1 AND a.was_cancelled = 0 "
                            "GROUP BY l.from_name, l.label ORDER BY l.from_name, l.label",
                            &st, err, "counting labels");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *from = (const char *)sqlite3_column_text(st, 0);
        const char *label = (const char *)sqlite3_column_text(st, 1);
        ret = cb(ud, from ? from : "", label ? label : "", sqlite3_column_int64(st, 2));
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_db_fail(s, err, rc, "counting labels");
    sq_sql_release(s, st);
    return ret;
}

int an_store_annotator_counts(an_store *s, int64_t project_id, an_annotator_count_cb cb, void *ud,
                              an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT coalesce(annotator_id, 0), sum(was_cancelled = 0), "
                            "sum(was_cancelled <> 0), avg(CASE WHEN was_cancelled = 0 "
                            "THEN lead_time END) FROM annotations WHERE project_id = ?1 "
                            "GROUP BY annotator_id ORDER BY annotator_id",
                            &st, err, "counting annotations per annotator");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        an_annotator_count c = {.annotator_id = sqlite3_column_int64(st, 0),
                                .submitted = sqlite3_column_int64(st, 1),
                                .skipped = sqlite3_column_int64(st, 2),
                                .mean_lead_time = sqlite3_column_type(st, 3) == SQLITE_NULL
                                                      ? NAN
                                                      : sqlite3_column_double(st, 3)};
        ret = cb(ud, &c);
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_db_fail(s, err, rc, "counting annotations per annotator");
    sq_sql_release(s, st);
    return ret;
}

int an_store_labeled_task_count(an_store *s, int64_t project_id, int64_t *out, an_err *err)
{
    *out = 0;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_LABELED_COUNT, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src != SQLITE_ROW) return sq_db_fail(s, err, src, "counting labeled tasks");
    return 0;
}

/* ==== schema 2: accounts, access and review ====================================================
 *
 * Small writes here (a password, a membership, an audit entry) join the caller's open write
 * transaction or run their own (sq_begin_own), so a handler can make a change and its audit
 * entry commit together. Task and annotation edits need the caller's transaction, as inserts
 * do, because they move the project counters. */

/* Steps a cached statement expected to return at most one row: 1 row (left for the caller
 * to read, who then resets), 0 none (reset done), negative on error (reset done). */
int sq_step_one(an_store *s, sqlite3_stmt *st, an_err *err, const char *doing)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 0;
    return sq_db_fail(s, err, rc, doing);
}

/* Runs a query with integer parameters, calling row for each row; a non-zero return from
 * row stops and is returned. The statement is cached per handle (sq_sql_acquire), and the
 * callback may use the store, even to run the same query. */
int sq_int_row(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 1;
}

int sq_each_row(an_store *s, const char *sql, const int64_t *params, int n_params, row_fn row,
                void *ctx, an_err *err, const char *doing)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s, sql, &st, err, doing);
    if (rc) return rc;
    for (int i = 0; i < n_params; i++)
        sqlite3_bind_int64(st, i + 1, params[i]);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = row(st, ctx))) break;
    if (!ret && rc != SQLITE_DONE) ret = sq_db_fail(s, err, rc, doing);
    sq_sql_release(s, st);
    return ret;
}

void sq_iso_from_epoch(int64_t t, char out[32])
{
    an_iso_from_epoch(t, 0, out);
}

int sq_no_user(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "user_id",
                      "no user numbered %lld; `annot user list` shows them", (long long)id);
}

bool sq_user_exists(an_store *s, int64_t id)
{
    an_user u = {0};
    bool found = lookup(s, ST_USER_BY_ID, NULL, id, fill_user, &u, NULL) == 1;
    an_user_clear(&u);
    return found;
}

/* Runs a cached single-row UPDATE/DELETE by id in the open or an own transaction; sets
 * *changed to the number of rows it changed. */
int sq_write_by_id(an_store *s, enum stmt_id id, int64_t a, sqlite3_stmt **pst, bool *own,
                   an_err *err)
{
    int rc = sq_begin_own(s, own, err);
    if (rc) return rc;
    if ((rc = sq_stmt_get(s, id, pst, err))) return rc;
    sqlite3_bind_int64(*pst, 1, a);
    return 0;
}

/* ---- login data of users ------------------------------------------------------------------ */

int an_store_user_set_password(an_store *s, int64_t user_id, const char *hash_or_null, an_err *err)
{
    if (hash_or_null && (!*hash_or_null || strlen(hash_or_null) > 512))
        return an_err_set(err, AN_EINVAL, "password_hash",
                          "the password hash is empty or too long; store what "
                          "an_password_hash produced");
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_USER_SET_PASSWORD, user_id, &st, &own, err);
    if (!rc) {
        sq_bind_text_or_null(st, 2, hash_or_null);
        rc = sq_stmt_run(s, st, err, "setting a password");
        if (!rc && sqlite3_changes(s->db) == 0) rc = sq_no_user(err, user_id);
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_user_set_active(an_store *s, int64_t user_id, bool active, an_err *err)
{
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_USER_SET_ACTIVE, user_id, &st, &own, err);
    if (!rc) {
        sqlite3_bind_int(st, 2, active ? 1 : 0);
        rc = sq_stmt_run(s, st, err, "activating or deactivating a user");
        if (!rc && sqlite3_changes(s->db) == 0) rc = sq_no_user(err, user_id);
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_user_is_active(an_store *s, int64_t user_id, bool *active, an_err *err)
{
    *active = false;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_USER_ACTIVE, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, user_id);
    if ((rc = sq_step_one(s, st, err, "reading a user")) <= 0)
        return rc < 0 ? rc : sq_no_user(err, user_id);
    *active = sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return 0;
}

int an_store_user_auth(an_store *s, const char *name, an_user *out, char **password_hash,
                       an_err *err)
{
    memset(out, 0, sizeof *out);
    *password_hash = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_USER_AUTH, &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    if ((rc = sq_step_one(s, st, err, "reading a user")) < 0) return rc;
    if (rc == 0) return an_err_set(err, AN_ENOTFOUND, "user", "no active user has that name");
    user_from_row(st, out);
    *password_hash = sq_column_dup(st, 4);
    sqlite3_reset(st);
    return 0;
}

int an_store_user_by_id(an_store *s, int64_t id, an_user *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = lookup(s, ST_USER_BY_ID, NULL, id, fill_user, out, err);
    if (rc < 0) return rc;
    if (rc == 0) return sq_no_user(err, id);
    return 0;
}

char *an_store_user_label(an_store *s, int64_t id)
{
    an_user u;
    an_err e;
    if (an_store_user_by_id(s, id, &u, &e) == 0) {
        char *name = an_xstrdup(u.name);
        an_user_clear(&u);
        return name;
    }
    an_user_clear(&u);
    char buf[32];
    snprintf(buf, sizeof buf, "user %lld", (long long)id);
    return an_xstrdup(buf);
}

/* ---- API tokens ----------------------------------------------------------------------------- */

int an_store_token_add(an_store *s, int64_t user_id, const uint8_t hash[AN_SECRET_HASH_BYTES],
                       const char *label, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    if (label && strlen(label) > 200)
        return an_err_set(err, AN_EINVAL, "label",
                          "the token label is longer than 200 bytes; choose a shorter one");
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_TOKEN_INSERT, &st, err))) {
        sqlite3_bind_int64(st, 1, user_id);
        sqlite3_bind_blob(st, 2, hash, AN_SECRET_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, label ? label : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, s->tx_now, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
            rc = sq_no_user(err, user_id);
        } else if (sq_is_unique_violation(src)) {
            rc = an_err_set(err, AN_EEXIST, "token", "this token is already stored");
        } else {
            rc = sq_db_fail(s, err, src, "storing a token");
        }
    }
    return sq_finish_own(s, own, rc, err);
}

enum { TOKEN_TOUCH_S = 60 };

/* Records a token's use. Failing to record it must not fail the request, so errors are
 * dropped; inside a read stream the write is skipped (it would be refused). */
static void token_touch(an_store *s, int64_t token_id)
{
    if (reads_block_writes(s)) return;
    bool own;
    an_err ignored;
    if (sq_begin_own(s, &own, &ignored)) return;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_TOKEN_TOUCH, &st, &ignored);
    if (!rc) {
        char now[32], stale[32];
        an_now_iso(now);
        sq_iso_from_epoch((int64_t)time(NULL) - TOKEN_TOUCH_S, stale);
        sqlite3_bind_int64(st, 1, token_id);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, stale, -1, SQLITE_TRANSIENT);
        rc = sq_stmt_run(s, st, &ignored, "recording a token's use");
    }
    sq_finish_own(s, own, rc, &ignored);
}

int an_store_token_user(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], an_user *out,
                        an_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_TOKEN_USER, &st, err);
    if (rc) return rc;
    sqlite3_bind_blob(st, 1, hash, AN_SECRET_HASH_BYTES, SQLITE_STATIC);
    if ((rc = sq_step_one(s, st, err, "checking a token")) < 0) return rc;
    if (rc == 0) return an_err_set(err, AN_ENOTFOUND, "token", "unknown or revoked token");
    user_from_row(st, out);
    int64_t token_id = sqlite3_column_int64(st, 4);
    const char *last = (const char *)sqlite3_column_text(st, 5);
    char stale[32];
    sq_iso_from_epoch((int64_t)time(NULL) - TOKEN_TOUCH_S, stale);
    bool touch = !last || strcmp(last, stale) < 0;
    sqlite3_reset(st);
    if (touch) token_touch(s, token_id);
    return 0;
}

int an_store_token_delete(an_store *s, int64_t token_id, int64_t user_id, an_err *err)
{
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_TOKEN_DELETE, token_id, &st, &own, err);
    if (!rc) {
        sqlite3_bind_int64(st, 2, user_id);
        rc = sq_stmt_run(s, st, err, "revoking a token");
        if (!rc && sqlite3_changes(s->db) == 0)
            rc = an_err_set(err, AN_ENOTFOUND, "token", "no token numbered %lld%s",
                            (long long)token_id, user_id > 0 ? " of this user" : "");
    }
    return sq_finish_own(s, own, rc, err);
}

/* ---- sessions -----------------------------------------------------------------------------------
 */

int an_store_session_add(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], int64_t user_id,
                         const char *csrf, int64_t expires_at, an_err *err)
{
    if (!csrf || !*csrf || strlen(csrf) > 255)
        return an_err_set(err, AN_EINVAL, "csrf", "the CSRF token is empty or too long");
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *purge = NULL, *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_SESSION_PURGE, &purge, err))) {
        sqlite3_bind_int64(purge, 1, (int64_t)time(NULL));
        rc = sq_stmt_run(s, purge, err, "removing expired sessions");
    }
    if (!rc && !(rc = sq_stmt_get(s, ST_SESSION_INSERT, &st, err))) {
        sqlite3_bind_blob(st, 1, hash, AN_SECRET_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, user_id);
        sqlite3_bind_text(st, 3, csrf, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, s->tx_now, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, expires_at);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = sq_no_user(err, user_id);
        else if (sq_is_unique_violation(src))
            rc = an_err_set(err, AN_EEXIST, "session", "this session is already stored");
        else if (src != SQLITE_DONE)
            rc = sq_db_fail(s, err, src, "storing a session");
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_session_get(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], an_user *out,
                         char **csrf, an_err *err)
{
    memset(out, 0, sizeof *out);
    *csrf = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_SESSION_GET, &st, err);
    if (rc) return rc;
    sqlite3_bind_blob(st, 1, hash, AN_SECRET_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
    if ((rc = sq_step_one(s, st, err, "checking a session")) < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "session", "unknown or expired session; log in again");
    user_from_row(st, out);
    *csrf = sq_column_dup(st, 4);
    sqlite3_reset(st);
    return 0;
}

int an_store_session_delete(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], an_err *err)
{
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_SESSION_DELETE, &st, err))) {
        sqlite3_bind_blob(st, 1, hash, AN_SECRET_HASH_BYTES, SQLITE_STATIC);
        rc = sq_stmt_run(s, st, err, "ending a session");
    }
    return sq_finish_own(s, own, rc, err);
}

/* ---- memberships --------------------------------------------------------------------------------
 */

int sq_no_project(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "project_id",
                      "no project numbered %lld; `annot project list` shows them", (long long)id);
}

int an_store_member_add(an_store *s, int64_t project_id, int64_t user_id, an_err *err)
{
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_MEMBER_ADD, project_id, &st, &own, err);
    if (!rc) {
        sqlite3_bind_int64(st, 2, user_id);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = sq_user_exists(s, user_id) ? sq_no_project(err, project_id)
                                            : sq_no_user(err, user_id);
        else if (src != SQLITE_DONE)
            rc = sq_db_fail(s, err, src, "adding a project member");
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_member_remove(an_store *s, int64_t project_id, int64_t user_id, an_err *err)
{
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_MEMBER_REMOVE, project_id, &st, &own, err);
    if (!rc) {
        sqlite3_bind_int64(st, 2, user_id);
        rc = sq_stmt_run(s, st, err, "removing a project member");
        if (!rc && sqlite3_changes(s->db) == 0)
            rc = an_err_set(err, AN_ENOTFOUND, "user_id",
                            "user %lld is not a member of project %lld", (long long)user_id,
                            (long long)project_id);
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_is_member(an_store *s, int64_t project_id, int64_t user_id, bool *out, an_err *err)
{
    *out = false;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_MEMBER_IS, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_int64(st, 2, user_id);
    if ((rc = sq_step_one(s, st, err, "checking a membership")) < 0) return rc;
    if (rc == 1) sqlite3_reset(st);
    *out = rc == 1;
    return 0;
}

typedef struct user_cb_ctx {
    an_user_cb cb;
    void *ud;
} user_cb_ctx;

static int user_row(sqlite3_stmt *st, void *ctx)
{
    user_cb_ctx *c = ctx;
    an_user u;
    user_from_row(st, &u);
    int ret = c->cb(c->ud, &u);
    an_user_clear(&u);
    return ret;
}

int an_store_member_list(an_store *s, int64_t project_id, an_user_cb cb, void *ud, an_err *err)
{
    user_cb_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT u.id, u.name, u.role, u.created_at FROM memberships m "
                       "JOIN users u ON u.id = m.user_id WHERE m.project_id = ?1 ORDER BY u.id",
                       &project_id, 1, user_row, &c, err, "listing project members");
}

typedef struct id_cb_ctx {
    an_id_cb cb;
    void *ud;
} id_cb_ctx;

static int id_row(sqlite3_stmt *st, void *ctx)
{
    id_cb_ctx *c = ctx;
    return c->cb(c->ud, sqlite3_column_int64(st, 0));
}

int an_store_user_projects(an_store *s, int64_t user_id, an_id_cb cb, void *ud, an_err *err)
{
    id_cb_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT project_id FROM memberships WHERE user_id = ?1 ORDER BY project_id",
                       &user_id, 1, id_row, &c, err, "listing a user's projects");
}

/* ---- next-task low-water marks (see next_hints in migration 2) ------------------------------ */

/* Makes every mark of the project at most task_id: that task may have a free place now, or
 * (deleted) its id may be given to a new task. Inside the caller's write transaction. */
static int lower_next_hint(an_store *s, int64_t pid, int64_t task_id, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_HINT_LOWER, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, pid);
    sqlite3_bind_int64(st, 2, task_id);
    return sq_stmt_run(s, st, err, "updating the next-task mark");
}

/* Reads one integer from a cached statement with integer parameters; *found false when
 * there is no row or the value is NULL. */
static int query_int(an_store *s, enum stmt_id id, const int64_t *params, int n, int64_t *out,
                     bool *found, an_err *err)
{
    *found = false;
    *out = 0;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, id, &st, err);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        sqlite3_bind_int64(st, i + 1, params[i]);
    if ((rc = sq_step_one(s, st, err, "finding the next task")) <= 0) return rc;
    if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *found = true;
        *out = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return 0;
}

/* Moves the project's mark for overlap up to its first task with a free place (or past its
 * last task), and returns it in *low. Inside a write transaction, so no concurrent delete
 * can free a place below the new mark unseen. */
static int advance_next_hint(an_store *s, int64_t pid, int overlap, int64_t *low, an_err *err)
{
    bool found;
    int64_t old = 0, first = 0;
    int64_t key[] = {pid, overlap};
    int rc = query_int(s, ST_HINT_GET, key, 2, &old, &found, err);
    if (rc) return rc;
    *low = old;
    int64_t q[] = {pid, old, overlap};
    if ((rc = query_int(s, ST_FIRST_OPEN, q, 3, &first, &found, err))) return rc;
    if (!found) {
        /* Every task is full: the mark goes past the last one. A new task gets a larger id;
         * if tasks are deleted first, their deletion lowers the mark. */
        int64_t max = 0;
        bool any;
        if ((rc = query_int(s, ST_TASK_MAX, &pid, 1, &max, &any, err))) return rc;
        first = any ? max + 1 : old;
    }
    if (first == old) return 0;
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_HINT_SET, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, pid);
    sqlite3_bind_int(st, 2, overlap);
    sqlite3_bind_int64(st, 3, first);
    if ((rc = sq_stmt_run(s, st, err, "updating the next-task mark"))) return rc;
    *low = first;
    return 0;
}

/* ---- single tasks --------------------------------------------------------------------------- */

static int no_task(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "task_id", "no task numbered %lld", (long long)id);
}

int an_store_task_get(an_store *s, int64_t task_id, an_task *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_TASK_GET, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, task_id);
    if ((rc = sq_step_one(s, st, err, "reading a task")) < 0) return rc;
    if (rc == 0) return no_task(err, task_id);
    out->id = sqlite3_column_int64(st, 0);
    out->project_id = sqlite3_column_int64(st, 1);
    out->meta = sq_column_dup(st, 2);
    out->created_at = sq_column_dup(st, 3);
    out->updated_at = sq_column_dup(st, 4);
    out->data = sq_column_dup(st, 5);
    out->data_len = (size_t)sqlite3_column_bytes(st, 5);
    if (!out->data) out->data = an_xstrdup("");
    out->annotation_count = sqlite3_column_int64(st, 6);
    out->prediction_count = sqlite3_column_int64(st, 7);
    sqlite3_reset(st);
    return 0;
}

typedef struct brief_ctx {
    an_task_brief_cb cb;
    void *ud;
} brief_ctx;

static int brief_row(sqlite3_stmt *st, void *ctx)
{
    brief_ctx *c = ctx;
    an_task_brief b = {
        .id = sqlite3_column_int64(st, 0),
        .created_at = (const char *)sqlite3_column_text(st, 1),
        .updated_at = (const char *)sqlite3_column_text(st, 2),
        .annotation_count = sqlite3_column_int64(st, 3),
        .cancelled_count = sqlite3_column_int64(st, 4),
        .prediction_count = sqlite3_column_int64(st, 5),
    };
    return c->cb(c->ud, &b);
}

#define TASK_BRIEF_SELECT                                                                          \
    "SELECT t.id, t.created_at, t.updated_at, "                                                    \
    "(SELECT count(*) FROM annotations a WHERE a.task_id = t.id AND a.was_cancelled = 0), "        \
    "(SELECT count(*) FROM annotations a WHERE a.task_id = t.id AND a.was_cancelled <> 0), "       \
    "(SELECT count(*) FROM predictions p WHERE p.task_id = t.id) FROM tasks t "

enum { PAGE_MAX = 10000 };

int sq_check_page(int64_t offset, int *limit, an_err *err)
{
    if (offset < 0)
        return an_err_set(err, AN_EINVAL, "offset", "the offset is negative; give 0 or more");
    if (*limit < 0)
        return an_err_set(err, AN_EINVAL, "limit", "the limit is negative; give 1 or more");
    if (*limit > PAGE_MAX) *limit = PAGE_MAX;
    return 0;
}

int an_store_task_page(an_store *s, int64_t project_id, int64_t offset, int limit,
                       an_task_brief_cb cb, void *ud, an_err *err)
{
    int rc = sq_check_page(offset, &limit, err);
    if (rc || limit == 0) return rc;
    brief_ctx c = {cb, ud};
    /* Seek from the nearest rank mark at or before offset, so the OFFSET walk is shorter
     * than MARK_EVERY (sqlite_marks.c); with no mark (task_id 0) it walks from the start.
     * One read transaction: the mark and the page see the same tasks. */
    if ((rc = an_store_read_begin(s, err))) return rc;
    int64_t rank = 0, from = 0;
    if (!(rc = sq_marks_seek(s, project_id, offset, &rank, &from, err))) {
        int64_t params[] = {project_id, from, limit, offset - rank};
        rc = sq_each_row(s,
                         TASK_BRIEF_SELECT "WHERE t.project_id = ?1 AND t.id >= ?2 "
                                           "ORDER BY t.id LIMIT ?3 OFFSET ?4",
                         params, 4, brief_row, &c, err, "listing tasks");
    }
    an_store_read_end(s);
    return rc;
}

int an_store_task_after(an_store *s, int64_t project_id, int64_t after_id, int limit,
                        an_task_brief_cb cb, void *ud, an_err *err)
{
    int rc = sq_check_page(0, &limit, err);
    if (rc || limit == 0) return rc;
    brief_ctx c = {cb, ud};
    int64_t params[] = {project_id, after_id, limit};
    return sq_each_row(s,
                       TASK_BRIEF_SELECT "WHERE t.project_id = ?1 AND t.id > ?2 ORDER BY t.id "
                                         "LIMIT ?3",
                       params, 3, brief_row, &c, err, "listing tasks");
}

static uint64_t home_key(const void *hash)
{
    const uint8_t *h = hash;
    uint64_t key = 0;
    for (int i = 0; i < 8; i++)
        key = key << 8 | h[i];
    return key;
}

/* Finds the task at (project, key): 1 with *id and *home (the home key of its content hash),
 * 0 when the key is free. */
static int task_at_key(an_store *s, int64_t pid, uint64_t key, int64_t *id, uint64_t *home,
                       uint8_t hash[AN_HASH_BYTES], an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_TASK_AT_KEY, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, pid);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)key);
    if ((rc = sq_step_one(s, st, err, "checking a task's content hash")) <= 0) return rc;
    *id = sqlite3_column_int64(st, 0);
    bool ok = sqlite3_column_bytes(st, 1) == AN_HASH_BYTES;
    if (ok) {
        memcpy(hash, sqlite3_column_blob(st, 1), AN_HASH_BYTES);
        *home = home_key(hash);
    }
    sqlite3_reset(st);
    if (!ok)
        return an_err_set(err, AN_EINTERNAL, "content_hash",
                          "task %lld has a damaged content hash; report this as a bug",
                          (long long)*id);
    return 1;
}

int an_store_task_by_hash(an_store *s, int64_t project_id, const uint8_t hash[AN_HASH_BYTES],
                          int64_t *task_id, an_err *err)
{
    *task_id = 0;
    /* The insert's probe: from the home key on, until the hash or a free key. */
    for (uint64_t key = home_key(hash), n = 0; n < 1024; key++, n++) {
        int64_t id = 0;
        uint64_t home = 0;
        uint8_t h[AN_HASH_BYTES];
        int rc = task_at_key(s, project_id, key, &id, &home, h, err);
        if (rc <= 0) return rc;
        if (memcmp(h, hash, AN_HASH_BYTES) == 0) {
            *task_id = id;
            return 0;
        }
    }
    return 0;
}

/* Dedupe keys are open addressing with linear probing (see the tasks table): a freed key in
 * the middle of a probe run would hide the tasks after it from an insert's duplicate check.
 * So a freed key is refilled by backward shifting: each later task of the run whose probe
 * path passes the hole moves into it, and the hole moves on to where it was, until a free
 * key ends the run. 64-bit runs are almost always of length one: one index probe. */
static int fill_key_hole(an_store *s, int64_t pid, uint64_t hole, an_err *err)
{
    sqlite3_stmt *set = NULL;
    int rc = sq_stmt_get(s, ST_TASK_SET_KEY, &set, err);
    if (rc) return rc;
    for (uint64_t j = hole + 1;; j++) {
        int64_t id = 0;
        uint64_t home = 0;
        uint8_t h[AN_HASH_BYTES];
        if ((rc = task_at_key(s, pid, j, &id, &home, h, err)) < 0) return rc;
        if (rc == 0) return 0;
        if (j - home >= j - hole) {
            sqlite3_bind_int64(set, 1, id);
            sqlite3_bind_int64(set, 2, (sqlite3_int64)hole);
            if ((rc = sq_stmt_run(s, set, err, "moving a task's dedupe key"))) return rc;
            hole = j;
        }
    }
}

typedef struct task_key {
    int64_t project_id;
    uint64_t key;
    uint8_t hash[AN_HASH_BYTES];
    int64_t annotations, predictions;
} task_key;

static int task_key_of(an_store *s, int64_t task_id, task_key *k, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_TASK_KEY_OF, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, task_id);
    if ((rc = sq_step_one(s, st, err, "reading a task")) < 0) return rc;
    if (rc == 0) return no_task(err, task_id);
    k->project_id = sqlite3_column_int64(st, 0);
    k->key = (uint64_t)sqlite3_column_int64(st, 1);
    bool ok = sqlite3_column_bytes(st, 2) == AN_HASH_BYTES;
    if (ok) memcpy(k->hash, sqlite3_column_blob(st, 2), AN_HASH_BYTES);
    k->annotations = sqlite3_column_int64(st, 3);
    k->predictions = sqlite3_column_int64(st, 4);
    sqlite3_reset(st);
    if (!ok)
        return an_err_set(err, AN_EINTERNAL, "content_hash",
                          "task %lld has a damaged content hash; report this as a bug",
                          (long long)task_id);
    return 0;
}

int an_store_task_update_data(an_store *s, int64_t task_id, const an_task_in *t, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_task_update_data");
    if (rc) return rc;
    if (!t->data)
        return an_err_set(err, AN_EINVAL, "data", "the task has no data; give a data object");
    if (t->data_len > (size_t)INT32_MAX)
        return an_err_set(err, AN_EINVAL, "data",
                          "the task's data is larger than 2 GB; split it or store the large "
                          "content as a file and refer to it");
    task_key old;
    if ((rc = task_key_of(s, task_id, &old, err))) return rc;
    if (old.project_id != t->project_id) return missing_task(err, task_id, t->project_id);
    const char *updated = t->updated_at ? t->updated_at : s->tx_now;
    sqlite3_stmt *st = NULL;
    if (memcmp(old.hash, t->hash, AN_HASH_BYTES) == 0) {
        /* Same content: the dedupe key stays. */
        if ((rc = sq_stmt_get(s, ST_TASK_SET_DATA, &st, err))) return rc;
        sqlite3_bind_int64(st, 1, task_id);
        sqlite3_bind_text(st, 2, t->data, (int)t->data_len, SQLITE_STATIC);
        sq_bind_text_or_null(st, 3, t->meta);
        sqlite3_bind_text(st, 4, updated, -1, SQLITE_STATIC);
        return sq_stmt_run(s, st, err, "updating a task");
    }
    /* Find the new content's key as an insert would: the first free key of its run, unless
     * the run holds the same content (a duplicate). */
    uint64_t key = home_key(t->hash);
    for (int round = 0;; round++, key++) {
        int64_t id = 0;
        uint64_t home = 0;
        uint8_t h[AN_HASH_BYTES];
        if ((rc = task_at_key(s, t->project_id, key, &id, &home, h, err)) < 0) return rc;
        if (rc == 0) break;
        if (memcmp(h, t->hash, AN_HASH_BYTES) == 0)
            return an_err_set(err, AN_EEXIST, "data",
                              "task %lld of this project already has this data; edit that task "
                              "or change the data",
                              (long long)id);
        if (round > 64)
            return an_err_set(err, AN_EINTERNAL, "content_hash",
                              "too many content-hash collisions; report this as a bug");
    }
    if ((rc = sq_stmt_get(s, ST_TASK_SET_ALL, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, task_id);
    sqlite3_bind_text(st, 2, t->data, (int)t->data_len, SQLITE_STATIC);
    sq_bind_text_or_null(st, 3, t->meta);
    sqlite3_bind_text(st, 4, updated, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, t->hash, AN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)key);
    if ((rc = sq_stmt_run(s, st, err, "updating a task"))) return rc;
    return fill_key_hole(s, t->project_id, old.key, err);
}

int an_store_task_delete(an_store *s, int64_t task_id, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_task_delete");
    if (rc) return rc;
    task_key old;
    if ((rc = task_key_of(s, task_id, &old, err))) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_TASK_DELETE, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, task_id);
    /* Annotations, their labels and reviews, predictions and the lock go by cascade. */
    if ((rc = sq_stmt_run(s, st, err, "deleting a task"))) return rc;
    if ((rc = lower_next_hint(s, old.project_id, task_id, err))) return rc;
    /* Later tasks move up one rank: their marks go, and the commit makes them again. */
    if ((rc = sq_marks_cut(s, old.project_id, task_id, err))) return rc;
    pending *p = pending_for(s, old.project_id);
    p->marks_cut = true;
    p->tasks--;
    p->annotations -= old.annotations;
    p->predictions -= old.predictions;
    return fill_key_hole(s, old.project_id, old.key, err);
}

/* ---- single annotations and predictions --------------------------------------------------- */

/* Fills a from a row of ANNOTATION_COLUMNS; with copy false the strings are borrowed. */
static void annotation_from_row(sqlite3_stmt *st, an_annotation *a, bool copy)
{
    a->id = sqlite3_column_int64(st, 0);
    a->task_id = sqlite3_column_int64(st, 1);
    a->project_id = sqlite3_column_int64(st, 2);
    a->annotator_id = sqlite3_column_int64(st, 3);
    a->lead_time = sq_column_real_or_nan(st, 4);
    a->ground_truth = sqlite3_column_int(st, 5) != 0;
    a->cancelled = sqlite3_column_int(st, 6) != 0;
    if (copy) {
        a->created_at = sq_column_dup(st, 7);
        a->updated_at = sq_column_dup(st, 8);
        a->result = sq_column_dup(st, 9);
    } else {
        a->created_at = (char *)sqlite3_column_text(st, 7);
        a->updated_at = (char *)sqlite3_column_text(st, 8);
        a->result = (char *)sqlite3_column_text(st, 9);
    }
}

int sq_no_annotation(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "annotation_id", "no annotation numbered %lld",
                      (long long)id);
}

int an_store_annotation_get(an_store *s, int64_t id, an_annotation *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(s, ST_ANNOTATION_GET, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = sq_step_one(s, st, err, "reading an annotation")) < 0) return rc;
    if (rc == 0) return sq_no_annotation(err, id);
    annotation_from_row(st, out, true);
    sqlite3_reset(st);
    return 0;
}

typedef struct ann_ctx {
    an_annotation_cb cb;
    void *ud;
} ann_ctx;

static int annotation_row(sqlite3_stmt *st, void *ctx)
{
    ann_ctx *c = ctx;
    an_annotation a;
    annotation_from_row(st, &a, false);
    return c->cb(c->ud, &a);
}

int an_store_annotation_list(an_store *s, int64_t task_id, an_annotation_cb cb, void *ud,
                             an_err *err)
{
    ann_ctx c = {cb, ud};
    return sq_each_row(
        s, "SELECT " ANNOTATION_COLUMNS " FROM annotations WHERE task_id = ?1 ORDER BY id",
        &task_id, 1, annotation_row, &c, err, "listing annotations");
}

/* The project and task of annotation id, or a not-found error. */
static int annotation_project(an_store *s, int64_t id, int64_t *pid, int64_t *tid, an_err *err)
{
    an_annotation a;
    int rc = an_store_annotation_get(s, id, &a, err);
    *pid = a.project_id;
    *tid = a.task_id;
    an_annotation_clear(&a);
    return rc;
}

int an_store_annotation_update(an_store *s, int64_t id, const an_annotation_update *u, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_annotation_update");
    if (rc) return rc;
    if (!u->result)
        return an_err_set(err, AN_EINVAL, "result",
                          "the annotation has no result; give a result array");
    if (isinf(u->lead_time))
        return an_err_set(err, AN_EINVAL, "lead_time",
                          "lead_time is infinite; give seconds or leave it unknown");
    for (size_t i = 0; i < u->n_labels; i++)
        if (!u->labels[i].from_name || !u->labels[i].label)
            return an_err_set(err, AN_EINTERNAL, "labels", "label %zu has no control or label name",
                              i);
    int64_t pid = 0, tid = 0;
    if ((rc = annotation_project(s, id, &pid, &tid, err))) return rc;
    /* Cancelling frees a place in the task. */
    if (u->cancelled && (rc = lower_next_hint(s, pid, tid, err))) return rc;
    sqlite3_stmt *st = NULL, *del = NULL, *lst = NULL;
    if ((rc = sq_stmt_get(s, ST_ANNOTATION_SET, &st, err)) ||
        (rc = sq_stmt_get(s, ST_LABELS_DELETE, &del, err)) ||
        (rc = sq_stmt_get(s, ST_LABEL_INSERT, &lst, err)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, u->result, -1, SQLITE_STATIC);
    sq_bind_real_or_null(st, 3, u->lead_time);
    sqlite3_bind_int(st, 4, u->ground_truth ? 1 : 0);
    sqlite3_bind_int(st, 5, u->cancelled ? 1 : 0);
    sqlite3_bind_text(st, 6, u->updated_at ? u->updated_at : s->tx_now, -1, SQLITE_STATIC);
    if ((rc = sq_stmt_run(s, st, err, "updating an annotation"))) return rc;
    sqlite3_bind_int64(del, 1, id);
    if ((rc = sq_stmt_run(s, del, err, "replacing an annotation's labels"))) return rc;
    for (size_t i = 0; i < u->n_labels; i++) {
        sqlite3_bind_int64(lst, 1, id);
        sqlite3_bind_int64(lst, 2, pid);
        sqlite3_bind_text(lst, 3, u->labels[i].from_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(lst, 4, u->labels[i].label, -1, SQLITE_STATIC);
        if ((rc = sq_stmt_run(s, lst, err, "recording an annotation's labels"))) return rc;
    }
    return 0;
}

int an_store_annotation_delete(an_store *s, int64_t id, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_annotation_delete");
    if (rc) return rc;
    int64_t pid = 0, tid = 0;
    if ((rc = annotation_project(s, id, &pid, &tid, err))) return rc;
    if ((rc = lower_next_hint(s, pid, tid, err))) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = sq_stmt_get(s, ST_ANNOTATION_DELETE, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, id);
    /* Labels and reviews go by cascade. */
    if ((rc = sq_stmt_run(s, st, err, "deleting an annotation"))) return rc;
    pending_for(s, pid)->annotations--;
    return 0;
}

typedef struct pred_ctx {
    an_prediction_cb cb;
    void *ud;
} pred_ctx;

static int prediction_row(sqlite3_stmt *st, void *ctx)
{
    pred_ctx *c = ctx;
    an_prediction_row p = {
        .id = sqlite3_column_int64(st, 0),
        .model_version = (const char *)sqlite3_column_text(st, 1),
        .score = sq_column_real_or_nan(st, 2),
        .created_at = (const char *)sqlite3_column_text(st, 3),
        .result = (const char *)sqlite3_column_text(st, 4),
    };
    return c->cb(c->ud, &p);
}

int an_store_prediction_list(an_store *s, int64_t task_id, an_prediction_cb cb, void *ud,
                             an_err *err)
{
    pred_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT id, model_version, score, created_at, result FROM predictions "
                       "WHERE task_id = ?1 ORDER BY id",
                       &task_id, 1, prediction_row, &c, err, "listing predictions");
}

/* ---- task locks and the next task ---------------------------------------------------------- */

int an_store_lock_task(an_store *s, int64_t task_id, int64_t user_id, int64_t expires_at, bool *got,
                       an_err *err)
{
    *got = false;
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_LOCK, task_id, &st, &own, err);
    if (!rc) {
        sqlite3_bind_int64(st, 2, user_id);
        sqlite3_bind_int64(st, 3, expires_at);
        sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE)
            *got = sqlite3_changes(s->db) == 1;
        else if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = sq_user_exists(s, user_id) ? no_task(err, task_id) : sq_no_user(err, user_id);
        else
            rc = sq_db_fail(s, err, src, "reserving a task");
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_unlock_task(an_store *s, int64_t task_id, int64_t user_id, an_err *err)
{
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_UNLOCK, task_id, &st, &own, err);
    if (!rc) {
        sqlite3_bind_int64(st, 2, user_id);
        rc = sq_stmt_run(s, st, err, "releasing a task");
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_next_task(an_store *s, int64_t project_id, int64_t user_id, int overlap,
                       int64_t now_epoch, int64_t *task_id, an_err *err)
{
    *task_id = 0;
    if (overlap < 1 || overlap > 1000)
        return an_err_set(err, AN_EINVAL, "overlap",
                          "overlap is %d; give the number of annotations a task needs (1 to "
                          "1000)",
                          overlap);
    /* The mark lets the search skip the finished part of the project; keeping it needs the
     * write lock. Inside a read stream no write is possible: search from the start. */
    int64_t low = 0;
    bool own = false;
    int rc = 0;
    if (!reads_block_writes(s)) {
        if ((rc = sq_begin_own(s, &own, err))) return rc;
        if ((rc = advance_next_hint(s, project_id, overlap, &low, err)))
            return sq_finish_own(s, own, rc, err);
    }
    sqlite3_stmt *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_NEXT_TASK, &st, err))) {
        sqlite3_bind_int64(st, 1, project_id);
        sqlite3_bind_int64(st, 2, user_id);
        sqlite3_bind_int(st, 3, overlap);
        sqlite3_bind_int64(st, 4, now_epoch);
        sqlite3_bind_int64(st, 5, low);
        if ((rc = sq_step_one(s, st, err, "finding the next task")) == 1) {
            *task_id = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
            rc = 0;
        }
    }
    return sq_finish_own(s, own, rc, err);
}

/* ---- project edits (schema 3) ------------------------------------------------------------------
 */

/* Runs a fresh statement with up to 4 text-or-NULL parameters after one integer in the open
 * or an own transaction; *changed is how many rows it changed. */
int sq_write_texts(an_store *s, const char *sql, int64_t id, const char *const *texts, int n_texts,
                   int *changed, int *src_out, an_err *err, const char *doing)
{
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s, sql, &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        for (int i = 0; i < n_texts; i++)
            sq_bind_text_or_null(st, i + 2, texts[i]);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src_out) *src_out = src;
    if (src == SQLITE_DONE) {
        if (changed) *changed = sqlite3_changes(s->db);
    } else if (!src_out || !sq_is_unique_violation(src)) {
        rc = sq_db_fail(s, err, src, doing);
    } else {
        rc = -AN_EEXIST;
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_user_set_role(an_store *s, int64_t user_id, an_role role, an_err *err)
{
    if (role < AN_ROLE_ANNOTATOR || role > AN_ROLE_ADMIN)
        return an_err_set(err, AN_EINVAL, "role", "unknown role");
    const char *texts[1] = {an_role_name(role)};
    int changed = 0;
    int rc = sq_write_texts(s, "UPDATE users SET role = ?2 WHERE id = ?1", user_id, texts, 1,
                            &changed, NULL, err, "changing a user's role");
    if (rc) return rc;
    if (!changed) return sq_no_user(err, user_id);
    return 0;
}

int an_store_project_update(an_store *s, int64_t id, const char *name_or_null,
                            const char *config_or_null, const char *settings_or_null, an_err *err)
{
    int rc;
    if (name_or_null && (rc = sq_check_name(name_or_null, "project", err))) return rc;
    const char *texts[3] = {name_or_null, config_or_null, settings_or_null};
    int changed = 0, src = 0;
    rc = sq_write_texts(s,
                        "UPDATE projects SET name = coalesce(?2, name), config = coalesce(?3, "
                        "config), settings = coalesce(?4, settings) WHERE id = ?1",
                        id, texts, 3, &changed, &src, err, "updating a project");
    if (rc == -AN_EEXIST)
        return an_err_set(err, AN_EEXIST, "title",
                          "a project named %s already exists; choose another name",
                          name_or_null ? name_or_null : "");
    if (rc) return rc;
    if (!changed) return sq_no_project(err, id);
    return 0;
}

int an_store_project_delete(an_store *s, int64_t id, an_err *err)
{
    int changed = 0;
    /* Everything inside the project goes by cascade (foreign keys are on). */
    int rc = sq_write_texts(s, "DELETE FROM projects WHERE id = ?1", id, NULL, 0, &changed, NULL,
                            err, "deleting a project");
    if (rc) return rc;
    if (!changed) return sq_no_project(err, id);
    return 0;
}
