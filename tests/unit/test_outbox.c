/* The outbox (service/outbox.h) that webhooks and ML backends' training events are delivered
 * through: the worker delivers queued events in order with its own store handle, "wanted"
 * follows the targets' count (at once after a change, periodically without one, unchanged
 * when the count fails), a full queue drops and counts, stopping lets the delivery under way
 * finish (cutting its waits short) and drops what is queued, and a workspace that cannot be
 * opened costs the event taken and a pause before the next try. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "service/outbox.h"
#include "store/store.h"
#include "testlib.h"

enum { GOT_MAX = 64, SLEEPER = 1000 };

/* What the callbacks see and do, shared with the test thread. */
typedef struct ctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool hold;        /* deliver waits while set */
    bool in_deliver;  /* a delivery has begun */
    bool hold_count;  /* count_wanted waits while set */
    int got[GOT_MAX]; /* the values delivered, in order */
    size_t n_got;
    bool null_store;   /* a callback was given no store */
    int slept;         /* an_outbox_sleep's answer in the SLEEPER event; -1: not called */
    atomic_int active; /* targets count_wanted reports */
    atomic_bool count_fails;
    atomic_int entered; /* calls of count_wanted begun… */
    atomic_int counts;  /* …and ended */
} ctx;

typedef struct fixture {
    char dir[PATH_MAX];
    char away[PATH_MAX + 8]; /* where dir is moved to make the workspace unreachable */
    char path[PATH_MAX];
    ctx c;
    an_outbox *o;
} fixture;

static atomic_int freed; /* events freed, all tests */

typedef struct event {
    int value; /* < 0: the delivery fails */
} event;

static void *new_event(int value)
{
    event *e = malloc(sizeof *e);
    assert_non_null(e);
    e->value = value;
    return e;
}

static void free_event(void *p)
{
    free(p);
    atomic_fetch_add(&freed, 1);
}

static int count_wanted(void *ud, an_store *s, bool *wanted, an_err *err)
{
    ctx *c = ud;
    atomic_fetch_add(&c->entered, 1);
    pthread_mutex_lock(&c->mu);
    if (!s) c->null_store = true;
    while (c->hold_count)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->counts, 1);
    if (atomic_load(&c->count_fails)) return an_err_set(err, AN_EIO, "test", "count fails");
    *wanted = atomic_load(&c->active) > 0;
    return 0;
}

static void deliver(void *ud, an_outbox *o, an_store *s, void *p)
{
    ctx *c = ud;
    const event *e = p;
    pthread_mutex_lock(&c->mu);
    if (!s) c->null_store = true;
    c->in_deliver = true;
    pthread_cond_broadcast(&c->cv);
    while (c->hold)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    int slept = -1;
    if (e->value == SLEEPER) slept = an_outbox_sleep(o, 60);
    pthread_mutex_lock(&c->mu);
    if (e->value == SLEEPER) c->slept = slept;
    if (c->n_got < GOT_MAX) c->got[c->n_got++] = e->value;
    pthread_mutex_unlock(&c->mu);
    an_outbox_tally(o, e->value >= 0);
}

static an_outbox_ops ops(size_t queue_max, int recount_seconds)
{
    return (an_outbox_ops){.name = "test outbox",
                           .where = "test",
                           .thread = "test",
                           .queue_max = queue_max,
                           .recount_seconds = recount_seconds,
                           .count_wanted = count_wanted,
                           .deliver = deliver,
                           .free_event = free_event};
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    an_store *s = NULL;
    if (!f || tl_workspace_open("outbox", f->dir, sizeof f->dir, f->path, sizeof f->path, &s))
        return -1;
    an_store_close(s);
    snprintf(f->away, sizeof f->away, "%s.away", f->dir);
    pthread_mutex_init(&f->c.mu, NULL);
    pthread_cond_init(&f->c.cv, NULL);
    f->c.slept = -1;
    atomic_init(&f->c.active, 1);
    atomic_init(&f->c.count_fails, false);
    atomic_init(&f->c.entered, 0);
    atomic_init(&f->c.counts, 0);
    atomic_store(&freed, 0);
    *state = f;
    return 0;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Polls cond for up to 10 seconds (the worker runs beside the test). */
#define WAIT_UNTIL(cond)                                                                           \
    do {                                                                                           \
        double until_ = an_monotonic() + 10;                                                       \
        while (!(cond) && an_monotonic() < until_)                                                 \
            nap_ms(5);                                                                             \
    } while (0)

static an_outbox_stats stats(an_outbox *o)
{
    an_outbox_stats st;
    an_outbox_stats_get(o, &st);
    return st;
}

static size_t n_got(ctx *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n_got;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void set_flag(ctx *c, bool *flag, bool on)
{
    pthread_mutex_lock(&c->mu);
    *flag = on;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static bool in_deliver(ctx *c)
{
    pthread_mutex_lock(&c->mu);
    bool in = c->in_deliver;
    pthread_mutex_unlock(&c->mu);
    return in;
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* A test that failed may have left the worker waiting in a callback. */
    set_flag(&f->c, &f->c.hold, false);
    set_flag(&f->c, &f->c.hold_count, false);
    an_outbox_free(f->o);
    pthread_cond_destroy(&f->c.cv);
    pthread_mutex_destroy(&f->c.mu);
    rename(f->away, f->dir); /* when a test failed with the folder away */
    int rc = tl_remove_tree(f->dir);
    free(f);
    return rc;
}

static void start(fixture *f, size_t queue_max, int recount_seconds)
{
    an_outbox_ops o = ops(queue_max, recount_seconds);
    an_err err;
    an_err_clear(&err);
    int rc = an_outbox_start(&o, &f->c, f->path, &f->o, &err);
    if (rc < 0) fail_msg("an_outbox_start: %s", err.msg);
    assert_non_null(f->o);
}

/* ---- delivery -------------------------------------------------------------------------------- */

static void delivers_in_order(void **state)
{
    fixture *f = *state;
    start(f, 32, 30);
    for (int i = 1; i <= 20; i++)
        assert_int_equal(an_outbox_push(f->o, new_event(i)), 0);
    assert_int_equal(an_outbox_push(f->o, new_event(-1)), 0);
    WAIT_UNTIL(stats(f->o).delivered + stats(f->o).failed == 21);
    an_outbox_stats st = stats(f->o);
    assert_int_equal(st.queued, 21);
    assert_int_equal(st.delivered, 20);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(n_got(&f->c), 21);
    for (int i = 0; i < 20; i++)
        assert_int_equal(f->c.got[i], i + 1);
    assert_int_equal(f->c.got[20], -1);
    assert_false(f->c.null_store);
    assert_int_equal(atomic_load(&freed), 21); /* each event freed once delivered */
    assert_int_equal(an_outbox_stop(f->o), 0);
}

/* ---- wanted ---------------------------------------------------------------------------------- */

static void wanted_follows_changes(void **state)
{
    fixture *f = *state;
    atomic_store(&f->c.active, 0);
    start(f, 8, 30);                      /* no periodic count within the test */
    assert_false(an_outbox_wanted(f->o)); /* counted at start: no target */
    atomic_store(&f->c.active, 1);
    nap_ms(100);
    assert_false(an_outbox_wanted(f->o)); /* nobody said anything changed */

    /* Until the worker has counted, a change means "wanted". */
    set_flag(&f->c, &f->c.hold_count, true);
    an_outbox_changed(f->o);
    assert_true(an_outbox_wanted(f->o));
    WAIT_UNTIL(atomic_load(&f->c.entered) == 2); /* the worker is in count_wanted */
    assert_int_equal(atomic_load(&f->c.entered), 2);
    assert_true(an_outbox_wanted(f->o));
    atomic_store(&f->c.active, 0); /* what the count will find */
    set_flag(&f->c, &f->c.hold_count, false);
    WAIT_UNTIL(!an_outbox_wanted(f->o));
    assert_false(an_outbox_wanted(f->o));
    assert_int_equal(atomic_load(&f->c.counts), 2);

    atomic_store(&f->c.active, 3);
    an_outbox_changed(f->o);
    WAIT_UNTIL(atomic_load(&f->c.counts) == 3);
    assert_true(an_outbox_wanted(f->o));
    assert_false(an_outbox_wanted(NULL));
}

static void wanted_is_counted_periodically(void **state)
{
    fixture *f = *state;
    atomic_store(&f->c.active, 0);
    start(f, 8, 1);
    assert_false(an_outbox_wanted(f->o));
    atomic_store(&f->c.active, 1); /* no an_outbox_changed: the periodic count finds it */
    WAIT_UNTIL(an_outbox_wanted(f->o));
    assert_true(an_outbox_wanted(f->o));

    /* A count that fails leaves wanted as it was. */
    atomic_store(&f->c.count_fails, true);
    atomic_store(&f->c.active, 0);
    int before = atomic_load(&f->c.counts);
    WAIT_UNTIL(atomic_load(&f->c.counts) >= before + 2);
    assert_true(atomic_load(&f->c.counts) >= before + 2);
    assert_true(an_outbox_wanted(f->o));
    atomic_store(&f->c.count_fails, false);
    WAIT_UNTIL(!an_outbox_wanted(f->o));
    assert_false(an_outbox_wanted(f->o));
    assert_false(f->c.null_store);
}

static void start_fails_when_the_count_fails(void **state)
{
    fixture *f = *state;
    atomic_store(&f->c.count_fails, true);
    an_outbox_ops o = ops(8, 30);
    an_err err;
    an_err_clear(&err);
    assert_true(an_outbox_start(&o, &f->c, f->path, &f->o, &err) < 0);
    assert_null(f->o);
    assert_int_equal(err.code, AN_EIO);

    o.queue_max = 0; /* a queue of nothing is a mistake of the caller */
    atomic_store(&f->c.count_fails, false);
    assert_true(an_outbox_start(&o, &f->c, f->path, &f->o, &err) < 0);
    assert_null(f->o);
}

/* ---- dropping -------------------------------------------------------------------------------- */

static void full_queue_drops_and_counts(void **state)
{
    fixture *f = *state;
    start(f, 4, 30);
    set_flag(&f->c, &f->c.hold, true);
    assert_int_equal(an_outbox_push(f->o, new_event(1)), 0);
    WAIT_UNTIL(in_deliver(&f->c)); /* 1 is taken: the queue is empty again */
    assert_true(in_deliver(&f->c));
    for (int i = 2; i <= 5; i++)
        assert_int_equal(an_outbox_push(f->o, new_event(i)), 0);
    assert_int_equal(an_outbox_push(f->o, new_event(6)), 1); /* dropped so far */
    assert_int_equal(an_outbox_push(f->o, new_event(7)), 2);
    assert_int_equal(atomic_load(&freed), 2);
    an_outbox_stats st = stats(f->o);
    assert_int_equal(st.queued, 5);
    assert_int_equal(st.dropped, 2);

    set_flag(&f->c, &f->c.hold, false);
    WAIT_UNTIL(stats(f->o).delivered == 5);
    assert_int_equal(n_got(&f->c), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(f->c.got[i], i + 1);
    assert_int_equal(an_outbox_stop(f->o), 0);
    assert_int_equal(stats(f->o).dropped, 2);
    assert_int_equal(atomic_load(&freed), 7);
}

static void stop_finishes_the_delivery_and_drops_the_queue(void **state)
{
    fixture *f = *state;
    start(f, 8, 30);
    assert_int_equal(an_outbox_push(f->o, new_event(SLEEPER)), 0);
    WAIT_UNTIL(in_deliver(&f->c)); /* it waits a minute between "retries"… */
    assert_true(in_deliver(&f->c));
    for (int i = 2; i <= 4; i++)
        assert_int_equal(an_outbox_push(f->o, new_event(i)), 0);
    assert_false(an_outbox_stopping(f->o));
    double t0 = an_monotonic();
    assert_int_equal(an_outbox_stop(f->o), 3); /* …which stopping cuts short */
    assert_true(an_monotonic() - t0 < 30);
    assert_true(an_outbox_stopping(f->o));
    assert_int_equal(f->c.slept, 0);
    assert_int_equal(n_got(&f->c), 1); /* the delivery under way finished… */
    assert_int_equal(f->c.got[0], SLEEPER);
    an_outbox_stats st = stats(f->o);
    assert_int_equal(st.delivered, 1); /* …the queued ones were dropped */
    assert_int_equal(st.queued, 4);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(atomic_load(&freed), 4);

    assert_int_equal(an_outbox_push(f->o, new_event(5)), 4); /* after stop: dropped */
    assert_int_equal(atomic_load(&freed), 5);
    assert_int_equal(an_outbox_stop(f->o), 0);
    assert_int_equal(stats(f->o).queued, 4);
}

static void unreachable_workspace_drops_and_backs_off(void **state)
{
    fixture *f = *state;
    start(f, 8, 30);
    /* The worker opens its handle at its first event: the folder is gone by then. */
    assert_int_equal(rename(f->dir, f->away), 0);
    assert_int_equal(an_outbox_push(f->o, new_event(1)), 0);
    WAIT_UNTIL(stats(f->o).dropped == 1);
    double dropped_at = an_monotonic();
    assert_int_equal(stats(f->o).dropped, 1);
    assert_int_equal(atomic_load(&freed), 1);

    assert_int_equal(an_outbox_push(f->o, new_event(2)), 0);
    assert_int_equal(rename(f->away, f->dir), 0);
    nap_ms(100);
    /* A second's pause before the next try (checked only when this thread was not held up). */
    if (an_monotonic() - dropped_at < 0.8) assert_int_equal(n_got(&f->c), 0);
    WAIT_UNTIL(stats(f->o).delivered == 1);
    assert_int_equal(n_got(&f->c), 1);
    assert_int_equal(f->c.got[0], 2);
    an_outbox_stats st = stats(f->o);
    assert_int_equal(st.queued, 2);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.failed, 0);
}

static void null_is_nothing(void **state)
{
    (void)state;
    an_outbox_stats st = {1, 1, 1, 1};
    an_outbox_stats_get(NULL, &st);
    assert_int_equal(st.queued + st.delivered + st.failed + st.dropped, 0);
    assert_int_equal(an_outbox_stop(NULL), 0);
    an_outbox_changed(NULL);
    an_outbox_free(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(delivers_in_order),
        T(wanted_follows_changes),
        T(wanted_is_counted_periodically),
        T(start_fails_when_the_count_fails),
        T(full_queue_drops_and_counts),
        T(stop_finishes_the_delivery_and_drops_the_queue),
        T(unreachable_workspace_drops_and_backs_off),
        cmocka_unit_test(null_is_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
