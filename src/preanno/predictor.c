/* The registry of pre-annotation models and the helpers text models share: see predictor.h. */
#include "preanno/predictor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "preanno/detect.h"
#include "preanno/media_models.h"
#include "preanno/textmodel.h"

static const an_predictor_ops *const registry[] = {
    &an_textcls_ops,
    &an_fewshot_ops,
    &an_ocr_ops,
    &an_asr_ops,
    &an_face_ops,
    &an_plate_ops,
};

const an_predictor_ops *an_predictor_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

const an_predictor_ops *const *an_predictor_list(size_t *n)
{
    *n = sizeof registry / sizeof registry[0];
    return registry;
}

void an_trained_free(an_trained *t)
{
    an_buf_free(&t->blob);
    json_decref(t->params);
    json_decref(t->metrics);
    t->params = t->metrics = NULL;
}

int an_preanno_text_choices(const an_config *cfg, const an_control *control,
                            const an_object **text_obj, an_err *err)
{
    *text_obj = NULL;
    if (!control || control->tag != AN_TAG_CHOICES)
        return an_err_set(err, AN_EINVAL, control ? control->name : "control",
                          "the text models answer Choices controls; choose a Choices control of "
                          "the labeling config");
    if (control->multiple)
        return an_err_set(err, AN_EINVAL, control->name,
                          "control \"%s\" allows several choices; the text models answer "
                          "single-choice Choices controls",
                          control->name);
    const an_object *o = control->n_to ? an_config_object(cfg, control->to_names[0]) : NULL;
    if (!o || o->tag != AN_TAG_TEXT || !o->data_key)
        return an_err_set(err, AN_EINVAL, control->name,
                          "control \"%s\" does not answer a Text object reading a task field "
                          "($field); the text models read the text of such an object",
                          control->name);
    *text_obj = o;
    return 0;
}

int an_preanno_task_text(const an_object *obj, const json_t *data, const char **text,
                         size_t *len, an_err *err)
{
    const json_t *v = json_object_get(data, obj->data_key);
    if (!json_is_string(v)) {
        char where[200];
        snprintf(where, sizeof where, "data.%s", obj->data_key);
        return an_err_set(err, AN_EINVAL, where,
                          v ? "the text field is not a string" : "the task has no such field");
    }
    *text = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

json_t *an_preanno_choice_result(const an_control *control, const char *to_name,
                                 const char *label, double score)
{
    json_t *item = json_object();
    json_object_set_new(item, "from_name", json_string(control->name));
    json_object_set_new(item, "to_name", json_string(to_name));
    json_object_set_new(item, "type", json_string("choices"));
    json_object_set_new(item, "value", json_pack("{s:[s]}", "choices", label));
    if (isfinite(score)) json_object_set_new(item, "score", json_real(score));
    json_t *result = json_array();
    json_array_append_new(result, item);
    return result;
}

int an_preanno_result_choice(const json_t *result, const an_control *control)
{
    int found = -1;
    size_t i;
    const json_t *item;
    json_array_foreach(result, i, item) {
        const char *from = an_json_str(item, "from_name");
        if (!from || strcmp(from, control->name) != 0) continue;
        const json_t *choices = json_object_get(json_object_get(item, "value"), "choices");
        if (!json_is_array(choices)) continue;
        size_t j;
        const json_t *c;
        json_array_foreach(choices, j, c) {
            int k = json_is_string(c) ? an_control_label_index(control, json_string_value(c)) : -1;
            if (k < 0 || (found >= 0 && found != k)) return -1;
            found = k;
        }
    }
    return found;
}

json_t *an_preanno_class_names(const an_control *control)
{
    json_t *a = json_array();
    for (size_t i = 0; i < control->n_labels; i++)
        json_array_append_new(a, json_string(control->labels[i]));
    return a;
}

int an_preanno_class_map(const json_t *params, const an_control *control, int **map, size_t *k,
                         an_err *err)
{
    *map = NULL;
    *k = 0;
    const json_t *classes = json_object_get(params, "classes");
    size_t n = json_array_size(classes);
    if (!json_is_array(classes) || n == 0)
        return an_err_set(err, AN_EINVAL, "model.params.classes",
                          "the stored model lists no classes; train the model again");
    int *m = an_xmalloc(n * sizeof *m);
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(classes, i);
        m[i] = json_is_string(c) ? an_control_label_index(control, json_string_value(c)) : -1;
        if (m[i] < 0) {
            free(m);
            return an_err_set(err, AN_EINVAL, "model.params.classes",
                              "the model was trained with class \"%s\", which control \"%s\" no "
                              "longer has; train the model again",
                              json_is_string(c) ? json_string_value(c) : "?", control->name);
        }
    }
    *map = m;
    *k = n;
    return 0;
}
