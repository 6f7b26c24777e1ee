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

enum {
    BUSY_TIMEOUT_S = 60,
    CACHE_KIB = 32768,           /* page cache ceiling per handle */
    APPLICATION_ID = 0x616e6e74, /* "annt": marks the file as an annot workspace */
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
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- prepared statements, each prepared once per handle --------------------------------- */

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_TASK_INSERT,
    ST_TASK_HASH_AT,
    ST_ANNOTATION_INSERT,
    ST_LABEL_INSERT,
    ST_PREDICTION_INSERT,
    ST_COUNTERS_ADD,
    ST_BATCH_INSERT,
    ST_BATCH_ADD,
    ST_USER_INSERT,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_ENSURE,
    ST_PROJECT_INSERT,
    ST_PROJECT_BY_NAME,
    ST_PROJECT_BY_ID,
    ST_LABELED_COUNT,
    ST__COUNT
};

#define PROJECT_COLUMNS                                                                            \
    "id, name, created_at, task_count, annotation_count, prediction_count, settings, config"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
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
    [ST_USER_ENSURE] = "INSERT INTO users (id, name, role, created_at) "
                       "VALUES (?1, 'imported-user-' || ?1, 'annotator', ?2) ON CONFLICT DO NOTHING",
    [ST_PROJECT_INSERT] = "INSERT INTO projects (name, created_at, settings, config) "
                          "VALUES (?1, ?2, ?3, ?4)",
    [ST_PROJECT_BY_NAME] = "SELECT " PROJECT_COLUMNS " FROM projects WHERE name = ?1",
    [ST_PROJECT_BY_ID] = "SELECT " PROJECT_COLUMNS " FROM projects WHERE id = ?1",
    [ST_LABELED_COUNT] = "SELECT count(DISTINCT task_id) FROM annotations "
                         "WHERE project_id = ?1 AND was_cancelled = 0",
};

/* Counters of one project accumulated during the open write transaction. */
typedef struct pending {
    int64_t project_id;
    int64_t tasks, annotations, predictions;
} pending;

enum tx_state { TX_NONE, TX_WRITE, TX_READ };

struct an_store {
    sqlite3 *db;
    char *location;
    int version;
    enum tx_state tx;
    int readers; /* open iterators sharing the TX_READ transaction */
    sqlite3_stmt *stmt[ST__COUNT];
    pending *pend;
    size_t n_pend, cap_pend, last_pend;
    char tx_now[32]; /* the open write transaction's start time: "now" for its rows */
    double busy_since;
    uint32_t rng; /* jitter for the busy handler's sleeps */
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
static int db_fail(an_store *s, an_err *err, int rc, const char *doing)
{
    int code = ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) ? AN_EBUSY : AN_EIO;
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    return an_err_set(err, code, s->location, "%s failed: %s (SQLite error %d); %s", doing, msg, rc,
                      sqlite_advice(rc));
}

static int need_write_tx(an_store *s, an_err *err, const char *what)
{
    if (s->tx == TX_WRITE) return 0;
    return an_err_set(err, AN_EINTERNAL, what,
                      "%s needs a write transaction: call an_store_begin first", what);
}

/* ---- statements --------------------------------------------------------------------------- */

static int stmt_get(an_store *s, enum stmt_id id, sqlite3_stmt **out, an_err *err)
{
    if (!s->stmt[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[id], NULL);
        if (rc != SQLITE_OK) return db_fail(s, err, rc, "preparing a query");
    }
    *out = s->stmt[id];
    return 0;
}

/* Runs a cached statement that returns no rows (its parameters already bound). */
static int stmt_run(an_store *s, sqlite3_stmt *st, an_err *err, const char *doing)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return db_fail(s, err, rc, doing);
    return 0;
}

static int exec_id(an_store *s, enum stmt_id id, an_err *err, const char *doing)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st, err);
    if (rc) return rc;
    return stmt_run(s, st, err, doing);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_id_or_null(sqlite3_stmt *st, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

static void bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

static double column_real_or_nan(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static char *column_dup(sqlite3_stmt *st, int i)
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
    if (now - s->busy_since >= BUSY_TIMEOUT_S) return 0;
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
    if (rc != SQLITE_OK) return db_fail(s, err, rc, "reading the workspace header");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(s, err, rc, "reading the workspace header");
    return 0;
}

static int exec_sql(an_store *s, const char *sql, an_err *err, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return db_fail(s, err, rc, doing);
    return 0;
}

/* Applies one migration step inside its own write transaction. Rereads the version under the
 * write lock, so several processes opening an old workspace at once migrate it once. */
static int migrate_step(an_store *s, int *version, an_err *err)
{
    int rc = exec_id(s, ST_BEGIN, err, "locking the workspace to upgrade it");
    if (rc) return rc;
    int v = 0, app = 0, objects = 0;
    if ((rc = pragma_int(s, "PRAGMA user_version", &v, err))) goto fail;
    if (v >= SCHEMA_VERSION) { /* someone else got there first */
        *version = v;
        return exec_id(s, ST_COMMIT, err, "upgrading the workspace");
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
    if ((rc = exec_sql(s, migrations[v], err, "upgrading the workspace schema"))) goto fail;
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
    if ((rc = exec_sql(s, bump, err, "upgrading the workspace schema"))) goto fail;
    if ((rc = exec_id(s, ST_COMMIT, err, "upgrading the workspace schema"))) goto fail;
    *version = v + 1;
    return 0;
fail:
    if (!sqlite3_get_autocommit(s->db)) exec_id(s, ST_ROLLBACK, NULL, "");
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
        rc = db_fail(s, err, rc, "opening the workspace");
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
             "PRAGMA wal_autocheckpoint = 16384;\n"
             "PRAGMA journal_size_limit = 67108864;\n",
             (int)CACHE_KIB);
    if ((rc = exec_sql(s, setup, err, "setting up the workspace connection")) ||
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
        /* close_v2 also copes with an iterator the caller forgot to close. */
        sqlite3_close_v2(s->db);
    }
    free(s->pend);
    free(s->location);
    free(s);
}

int an_store_schema_version(an_store *s)
{
    return s->version;
}

/* ---- transactions ----------------------------------------------------------------------- */

int an_store_begin(an_store *s, an_err *err)
{
    if (s->tx == TX_WRITE)
        return an_err_set(err, AN_EINTERNAL, "an_store_begin",
                          "a transaction is already open on this handle; commit or roll it "
                          "back first");
    if (s->tx == TX_READ)
        return an_err_set(err, AN_EINTERNAL, "an_store_begin",
                          "a task stream is open on this handle; close it before writing, or "
                          "write through another handle");
    int rc = exec_id(s, ST_BEGIN, err, "starting a write transaction");
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
    if (!sqlite3_get_autocommit(s->db)) exec_id(s, ST_ROLLBACK, NULL, "");
    s->tx = TX_NONE;
    s->n_pend = 0;
}

int an_store_commit(an_store *s, an_err *err)
{
    int rc = need_write_tx(s, err, "an_store_commit");
    if (rc) return rc;
    if (sqlite3_get_autocommit(s->db)) {
        /* SQLite rolls back on its own after some errors (disk full, I/O error). */
        discard(s);
        return an_err_set(err, AN_EIO, s->location,
                          "the transaction was rolled back after an earlier error, so nothing "
                          "since begin was saved; fix that error and run the operation again");
    }
    sqlite3_stmt *st = NULL;
    if ((rc = stmt_get(s, ST_COUNTERS_ADD, &st, err))) goto fail;
    for (size_t i = 0; i < s->n_pend; i++) {
        const pending *p = &s->pend[i];
        if (!p->tasks && !p->annotations && !p->predictions) continue;
        sqlite3_bind_int64(st, 1, p->project_id);
        sqlite3_bind_int64(st, 2, p->tasks);
        sqlite3_bind_int64(st, 3, p->annotations);
        sqlite3_bind_int64(st, 4, p->predictions);
        if ((rc = stmt_run(s, st, err, "updating the project counters"))) goto fail;
    }
    if ((rc = exec_id(s, ST_COMMIT, err, "committing"))) goto fail;
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

/* Runs a single-statement write in the caller's transaction when one is open, else in its
 * own. *own tells the caller to finish it with finish_own. */
static int begin_own(an_store *s, bool *own, an_err *err)
{
    *own = false;
    if (s->tx == TX_WRITE) return 0;
    int rc = an_store_begin(s, err);
    if (rc) return rc;
    *own = true;
    return 0;
}

static int finish_own(an_store *s, bool own, int rc, an_err *err)
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

static bool is_unique_violation(int rc)
{
    return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/* "All digits" in the sense of the name_or_id rule: a plain decimal that fits int64. */
static bool parse_id(const char *text, int64_t *id)
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

static int check_name(const char *name, const char *what, an_err *err)
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
    int rc = check_name(name, "user", err);
    if (rc) return rc;
    if (an_role_parse(an_role_name(role)) < 0)
        return an_err_set(err, AN_EINVAL, "role",
                          "unknown role %d; use admin, manager, reviewer or annotator", (int)role);
    bool own;
    if ((rc = begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = stmt_get(s, ST_USER_INSERT, &st, err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, an_role_name(role), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, s->tx_now, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (is_unique_violation(src)) {
            rc = an_err_set(err, AN_EEXIST, "user",
                            "a user named %s already exists; choose another name", name);
        } else {
            rc = db_fail(s, err, src, "adding a user");
        }
    }
    return finish_own(s, own, rc, err);
}

int an_store_user_ensure(an_store *s, int64_t id, an_err *err)
{
    if (id <= 0) return an_err_set(err, AN_EINVAL, "annotator_id", "user ids are positive");
    if (s->tx != TX_WRITE)
        return an_err_set(err, AN_EINTERNAL, "user", "an_store_user_ensure needs a transaction");
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_USER_ENSURE, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, s->tx_now, -1, SQLITE_STATIC);
    return stmt_run(s, st, err, "adding an imported annotator");
}

static void user_from_row(sqlite3_stmt *st, an_user *u)
{
    u->id = sqlite3_column_int64(st, 0);
    u->name = column_dup(st, 1);
    const char *role = (const char *)sqlite3_column_text(st, 2);
    int r = an_role_parse(role);
    u->role = r < 0 ? AN_ROLE_ANNOTATOR : (an_role)r;
    u->created_at = column_dup(st, 3);
}

/* Looks one row up with a cached statement; 1 found (filled by fill), 0 absent. */
static int lookup(an_store *s, enum stmt_id id, const char *text, int64_t num,
                  void (*fill)(sqlite3_stmt *, void *), void *out, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st, err);
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
    return db_fail(s, err, src, "reading the workspace");
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
    if (rc == 0 && parse_id(name_or_id, &id))
        rc = lookup(s, ST_USER_BY_ID, NULL, id, fill_user, out, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "user",
                          "no user named or numbered %s; `annot user list` shows them", name_or_id);
    return 0;
}

int an_store_user_list(an_store *s, an_user_cb cb, void *ud, an_err *err)
{
    /* A fresh statement, not a cached one: the callback may call back into the store. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT id, name, role, created_at FROM users ORDER BY id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(s, err, rc, "listing users");
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        an_user u;
        user_from_row(st, &u);
        ret = cb(ud, &u);
        an_user_clear(&u);
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = db_fail(s, err, rc, "listing users");
    sqlite3_finalize(st);
    return ret;
}

/* ---- projects ----------------------------------------------------------------------------- */

static void project_from_row(sqlite3_stmt *st, an_project *p, bool full)
{
    p->id = sqlite3_column_int64(st, 0);
    p->name = column_dup(st, 1);
    p->created_at = column_dup(st, 2);
    p->task_count = sqlite3_column_int64(st, 3);
    p->annotation_count = sqlite3_column_int64(st, 4);
    p->prediction_count = sqlite3_column_int64(st, 5);
    p->settings = full ? column_dup(st, 6) : NULL;
    p->config = full ? column_dup(st, 7) : NULL;
}

static void fill_project(sqlite3_stmt *st, void *out)
{
    project_from_row(st, out, true);
}

int an_store_project_create(an_store *s, const char *name, const char *config_xml,
                            const char *settings_json, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = check_name(name, "project", err);
    if (rc) return rc;
    if (!config_xml)
        return an_err_set(err, AN_EINVAL, "config", "the project has no labeling config; give one");
    bool own;
    if ((rc = begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = stmt_get(s, ST_PROJECT_INSERT, &st, err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, s->tx_now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, settings_json ? settings_json : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, config_xml, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (is_unique_violation(src)) {
            rc = an_err_set(err, AN_EEXIST, "project",
                            "a project named %s already exists; choose another name", name);
        } else {
            rc = db_fail(s, err, src, "creating a project");
        }
    }
    return finish_own(s, own, rc, err);
}

int an_store_project_get(an_store *s, const char *name_or_id, an_project *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (!name_or_id) name_or_id = "";
    int rc = lookup(s, ST_PROJECT_BY_NAME, name_or_id, 0, fill_project, out, err);
    int64_t id;
    if (rc == 0 && parse_id(name_or_id, &id))
        rc = lookup(s, ST_PROJECT_BY_ID, NULL, id, fill_project, out, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "project",
                          "no project named or numbered %s; `annot project list` shows them",
                          name_or_id);
    add_pending(s, out);
    return 0;
}

int an_store_project_list(an_store *s, an_project_cb cb, void *ud, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, name, created_at, task_count, annotation_count, "
                                "prediction_count FROM projects ORDER BY id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(s, err, rc, "listing projects");
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        an_project p;
        project_from_row(st, &p, false);
        add_pending(s, &p);
        ret = cb(ud, &p);
        an_project_clear(&p);
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = db_fail(s, err, rc, "listing projects");
    sqlite3_finalize(st);
    return ret;
}

/* ---- import batches ----------------------------------------------------------------------- */

int an_store_batch_create(an_store *s, int64_t project_id, const char *source, const char *format,
                          int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = need_write_tx(s, err, "an_store_batch_create");
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = stmt_get(s, ST_BATCH_INSERT, &st, err))) return rc;
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
    if (src != SQLITE_DONE) return db_fail(s, err, src, "recording an import batch");
    if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int an_store_batch_add(an_store *s, int64_t batch_id, int64_t added, int64_t duplicates,
                       int64_t rejected, an_err *err)
{
    int rc = need_write_tx(s, err, "an_store_batch_add");
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = stmt_get(s, ST_BATCH_ADD, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, batch_id);
    sqlite3_bind_int64(st, 2, added);
    sqlite3_bind_int64(st, 3, duplicates);
    sqlite3_bind_int64(st, 4, rejected);
    if ((rc = stmt_run(s, st, err, "updating an import batch"))) return rc;
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
    int rc = need_write_tx(s, err, "an_store_task_insert");
    if (rc) return rc;
    if (!t->data)
        return an_err_set(err, AN_EINVAL, "data", "the task has no data; give a data object");
    if (t->data_len > (size_t)INT32_MAX)
        return an_err_set(err, AN_EINVAL, "data",
                          "the task's data is larger than 2 GB; split it or store the large "
                          "content as a file and refer to it");
    sqlite3_stmt *st = NULL, *probe = NULL;
    if ((rc = stmt_get(s, ST_TASK_INSERT, &st, err))) return rc;
    const char *created = t->created_at ? t->created_at : s->tx_now;
    uint64_t key = 0;
    for (int i = 0; i < 8; i++) key = key << 8 | t->hash[i];
    /* Each round either inserts, finds the same content (a duplicate), or finds a different
     * content under this key and moves to the next key. */
    for (int round = 0;; round++) {
        sqlite3_bind_int64(st, 1, t->project_id);
        bind_id_or_null(st, 2, t->batch_id);
        sqlite3_bind_blob(st, 3, t->hash, AN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, created, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, t->updated_at ? t->updated_at : created, -1, SQLITE_STATIC);
        bind_text_or_null(st, 6, t->meta);
        sqlite3_bind_text(st, 7, t->data, (int)t->data_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)key);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
            return an_err_set(err, AN_ENOTFOUND, "project_id",
                              "no project numbered %lld; `annot project list` shows them",
                              (long long)t->project_id);
        if (src != SQLITE_DONE) return db_fail(s, err, src, "inserting a task");
        if (sqlite3_changes(s->db) == 1) break;
        if (!probe && (rc = stmt_get(s, ST_TASK_HASH_AT, &probe, err))) return rc;
        sqlite3_bind_int64(probe, 1, t->project_id);
        sqlite3_bind_int64(probe, 2, (sqlite3_int64)key);
        src = sqlite3_step(probe);
        bool same = src == SQLITE_ROW && sqlite3_column_bytes(probe, 0) == AN_HASH_BYTES &&
                    memcmp(sqlite3_column_blob(probe, 0), t->hash, AN_HASH_BYTES) == 0;
        sqlite3_reset(probe);
        if (src != SQLITE_ROW) return db_fail(s, err, src, "checking a task's content hash");
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
    int rc = need_write_tx(s, err, "an_store_annotation_insert");
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
    if ((rc = stmt_get(s, ST_ANNOTATION_INSERT, &st, err))) return rc;
    if (a->n_labels && (rc = stmt_get(s, ST_LABEL_INSERT, &lst, err))) return rc;
    const char *created = a->created_at ? a->created_at : s->tx_now;
    sqlite3_bind_int64(st, 1, a->task_id);
    sqlite3_bind_int64(st, 2, a->project_id);
    bind_id_or_null(st, 3, a->annotator_id);
    bind_real_or_null(st, 4, a->lead_time);
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
    if (src != SQLITE_DONE) return db_fail(s, err, src, "inserting an annotation");
    int64_t id = sqlite3_last_insert_rowid(s->db);
    for (size_t i = 0; i < a->n_labels; i++) {
        sqlite3_bind_int64(lst, 1, id);
        sqlite3_bind_int64(lst, 2, a->project_id);
        sqlite3_bind_text(lst, 3, a->labels[i].from_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(lst, 4, a->labels[i].label, -1, SQLITE_STATIC);
        /* A failure here leaves the annotation row in the transaction; the caller's error
         * path rolls the whole transaction back, as for any failed insert. */
        if ((rc = stmt_run(s, lst, err, "recording an annotation's labels"))) return rc;
    }
    *id_out = id;
    pending_for(s, a->project_id)->annotations++;
    return 0;
}

int an_store_prediction_insert(an_store *s, const an_prediction_in *p, int64_t *id_out, an_err *err)
{
    *id_out = 0;
    int rc = need_write_tx(s, err, "an_store_prediction_insert");
    if (rc) return rc;
    if (!p->result)
        return an_err_set(err, AN_EINVAL, "result",
                          "the prediction has no result; give a result array");
    if (isinf(p->score))
        return an_err_set(err, AN_EINVAL, "score",
                          "score is infinite; give a finite number or leave it out");
    sqlite3_stmt *st = NULL;
    if ((rc = stmt_get(s, ST_PREDICTION_INSERT, &st, err))) return rc;
    const char *created = p->created_at ? p->created_at : s->tx_now;
    sqlite3_bind_int64(st, 1, p->task_id);
    sqlite3_bind_int64(st, 2, p->project_id);
    sqlite3_bind_text(st, 3, p->model_version ? p->model_version : "", -1, SQLITE_STATIC);
    bind_real_or_null(st, 4, p->score);
    sqlite3_bind_text(st, 5, created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, p->result, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_CONSTRAINT_FOREIGNKEY) return missing_task(err, p->task_id, p->project_id);
    if (src != SQLITE_DONE) return db_fail(s, err, src, "inserting a prediction");
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
    return db_fail(it->s, err, rc, "reading the project's tasks");
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
        if ((rc = exec_id(s, ST_BEGIN_READ, err, "starting a read transaction"))) goto fail;
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
            r->lead_time = column_real_or_nan(st, 3);
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
            r->score = column_real_or_nan(st, 3);
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
        if (!sqlite3_get_autocommit(s->db)) exec_id(s, ST_COMMIT, NULL, "");
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
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT l.from_name, l.label, count(*) "
                                "FROM annotation_labels l JOIN annotations a "
                                "ON a.id = l.annotation_id "
                                "WHERE l.project_id = ?1 AND a.was_cancelled = 0 "
                                "GROUP BY l.from_name, l.label ORDER BY l.from_name, l.label",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(s, err, rc, "counting labels");
    sqlite3_bind_int64(st, 1, project_id);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *from = (const char *)sqlite3_column_text(st, 0);
        const char *label = (const char *)sqlite3_column_text(st, 1);
        ret = cb(ud, from ? from : "", label ? label : "", sqlite3_column_int64(st, 2));
        if (ret) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = db_fail(s, err, rc, "counting labels");
    sqlite3_finalize(st);
    return ret;
}

int an_store_labeled_task_count(an_store *s, int64_t project_id, int64_t *out, an_err *err)
{
    *out = 0;
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_LABELED_COUNT, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src != SQLITE_ROW) return db_fail(s, err, src, "counting labeled tasks");
    return 0;
}
