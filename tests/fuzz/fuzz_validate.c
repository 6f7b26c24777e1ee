/* Fuzz target: results submitted against a config that uses every supported tag. The input
 * is a JSON object {"data": {...}, "result": [...]}. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/json.h"
#include "model/config.h"
#include "model/validate.h"

static const char xml[] =
    "<View><Header value=\"h\"/><Text name=\"text\" value=\"$text\"/>"
    "<HyperText name=\"html\" value=\"$html\"/><Paragraphs name=\"dialog\" value=\"$dialog\"/>"
    "<Image name=\"image\" value=\"$image\"/><Audio name=\"audio\" value=\"$audio\"/>"
    "<Video name=\"video\" value=\"$video\"/>"
    "<Choices name=\"c\" toName=\"text\" choice=\"multiple\"><Choice value=\"A\"/><Choice value=\"B\"/></Choices>"
    "<Labels name=\"l\" toName=\"text,audio\"><Label value=\"PER\"/></Labels>"
    "<RectangleLabels name=\"r\" toName=\"image\"><Label value=\"Car\"/></RectangleLabels>"
    "<PolygonLabels name=\"p\" toName=\"image\"><Label value=\"Car\"/></PolygonLabels>"
    "<KeyPointLabels name=\"k\" toName=\"image\"><Label value=\"Eye\"/></KeyPointLabels>"
    "<TextArea name=\"ta\" toName=\"text\"/><Rating name=\"ra\" toName=\"text\"/>"
    "<Number name=\"n\" toName=\"text\" min=\"0\" max=\"10\"/>"
    "<Pairwise name=\"pw\" toName=\"text,html\"/><Ranker name=\"rk\" toName=\"text\"/>"
    "<Relations><Relation value=\"rel\"/></Relations></View>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static an_config *cfg;
    an_err e;
    if (!cfg && an_config_parse(xml, strlen(xml), &cfg, &e) < 0) __builtin_trap();
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j) return 0;
    json_t *d = json_object_get(j, "data");
    json_t *r = json_object_get(j, "result");
    if (d) an_validate_task_data(cfg, d, &e);
    if (d && r) {
        an_validate_result(cfg, d, r, &e);
        an_label_use uses[64];
        an_result_labels(r, uses, 64);
    }
    json_decref(j);
    return 0;
}
