/* Labeling configs: Label Studio's XML interface description, parsed (libxml2) into objects
 * (what is shown: Text, Image, …) and controls (what is answered: Choices, Labels, …).
 *
 * Supported tags: View, Header, Text, HyperText, Paragraphs, Image, Audio, Video; Choices and
 * Choice, Labels and Label, RectangleLabels, PolygonLabels, KeyPointLabels, TextArea, Rating,
 * Number, Pairwise, Ranker, Relations and Relation. Any other tag is an error that names the
 * tag and its line. A parsed config is immutable and may be shared between threads. */
#ifndef AN_CONFIG_H
#define AN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

typedef enum an_tag {
    AN_TAG_NONE = 0,
    /* layout */
    AN_TAG_VIEW,
    AN_TAG_HEADER,
    /* objects: show task data */
    AN_TAG_TEXT,
    AN_TAG_HYPERTEXT,
    AN_TAG_PARAGRAPHS,
    AN_TAG_IMAGE,
    AN_TAG_AUDIO,
    AN_TAG_VIDEO,
    /* controls: produce result items */
    AN_TAG_CHOICES,
    AN_TAG_LABELS,
    AN_TAG_RECTANGLELABELS,
    AN_TAG_POLYGONLABELS,
    AN_TAG_KEYPOINTLABELS,
    AN_TAG_TEXTAREA,
    AN_TAG_RATING,
    AN_TAG_NUMBER,
    AN_TAG_PAIRWISE,
    AN_TAG_RANKER,
    AN_TAG_RELATIONS,
    /* children of controls */
    AN_TAG_CHOICE,
    AN_TAG_LABEL,
    AN_TAG_RELATION,
} an_tag;

/* An object tag: shows one field of the task data. */
typedef struct an_object {
    an_tag tag;
    char *name;     /* the name= attribute, unique among objects and controls */
    char *value;    /* the value= attribute as written, e.g. "$text" */
    char *data_key; /* the task data field it reads ("text" for "$text"); NULL for literals */
    int line;       /* line in the XML, for messages */
} an_object;

/* A control tag: produces result items of one type for the objects it names. */
typedef struct an_control {
    an_tag tag;
    char *name;
    char **to_names; /* toName= split on commas; every name is an object of the config */
    size_t n_to;
    const char *result_type; /* Label Studio's result "type": "choices", "labels", … */
    char **labels;           /* Choice / Label / Relation values, in config order */
    size_t n_labels;
    bool multiple;   /* Choices choice="multiple"; Labels/…Labels allow several labels */
    bool required;   /* required="true" */
    int max_rating;  /* Rating maxRating=, default 5 */
    double min, max; /* Number min= / max=, when has_min / has_max */
    bool has_min, has_max;
    int line;
} an_control;

typedef struct an_config {
    an_object *objects;
    size_t n_objects;
    an_control *controls;
    size_t n_controls;
} an_config;

/* Parses the XML text xml[0..len). On success *out is a new config the caller frees with
 * an_config_free. Errors (AN_EINVAL) name the line ("config:LINE") and the tag or attribute:
 * unknown tags, missing name/toName/value, toName naming no object, a control whose type does
 * not fit its object (RectangleLabels on Text), duplicate names, label-less label controls. */
int an_config_parse(const char *xml, size_t len, an_config **out, an_err *err);

void an_config_free(an_config *cfg);

/* Lookups by name; NULL when absent. */
const an_object *an_config_object(const an_config *cfg, const char *name);
const an_control *an_config_control(const an_config *cfg, const char *name);

/* The first object / control with this tag, in config order; NULL when none. */
const an_object *an_config_first_object(const an_config *cfg, an_tag tag);
const an_control *an_config_first_control(const an_config *cfg, an_tag tag);

/* Index of label in c->labels, or -1. */
int an_control_label_index(const an_control *c, const char *label);

/* The XML tag name ("RectangleLabels") of a tag. */
const char *an_tag_name(an_tag tag);

#endif
