/* annot stats PROJECT [--json]: counts read from the store's counters and label index,
 * never from task payloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"

static const char usage[] = "usage: annot stats PROJECT [--json]\n\n"
                            "Tasks, annotations, predictions, labelled tasks, and how many\n"
                            "annotations use each label of each control.\n";

typedef struct label_acc {
    cli *c;
    json_t *labels; /* --json: {control: {label: count}} */
} label_acc;

static int on_label(void *ud, const char *from_name, const char *label, int64_t count)
{
    label_acc *acc = ud;
    if (acc->c->json) {
        json_t *ctl = json_object_get(acc->labels, from_name);
        if (!ctl) {
            ctl = json_object();
            json_object_set_new(acc->labels, from_name, ctl);
        }
        json_object_set_new(ctl, label, json_integer(count));
    } else {
        /* Relations carry no control name. */
        printf("  %-20s %-30s %lld\n", *from_name ? from_name : "(relations)", label,
               (long long)count);
    }
    return 0;
}

int cmd_stats(cli *c, int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c->json = true;
        else if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (argv[i][0] == '-' || name)
            return cli_usage(c, "stats", "unexpected argument %s", argv[i]);
        else
            name = argv[i];
    }
    if (!name) return cli_usage(c, "stats", "give a PROJECT");
    an_project p = {0};
    int status = cli_project(c, name, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    int64_t labelled = 0;
    int rc = an_store_labeled_task_count(c->store, p.id, &labelled, &e);
    label_acc acc = {.c = c, .labels = json_object()};
    if (rc == 0 && !c->json) {
        printf("project      %s (id %lld)\n", p.name, (long long)p.id);
        printf("tasks        %lld\n", (long long)p.task_count);
        printf("labelled     %lld\n", (long long)labelled);
        printf("annotations  %lld\n", (long long)p.annotation_count);
        printf("predictions  %lld\n", (long long)p.prediction_count);
        printf("labels (annotations using each):\n");
    }
    if (rc == 0) rc = an_store_label_counts(c->store, p.id, on_label, &acc, &e);
    if (rc == 0 && c->json) {
        json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:O}", "id", (json_int_t)p.id, "name",
                              p.name, "tasks", (json_int_t)p.task_count, "labelled_tasks",
                              (json_int_t)labelled, "annotations", (json_int_t)p.annotation_count,
                              "predictions", (json_int_t)p.prediction_count, "labels", acc.labels);
        cli_print_json(o);
    }
    json_decref(acc.labels);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}
