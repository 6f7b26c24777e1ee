/* IEEE 754 half precision (binary16) for compact embeddings: conversions to and from float,
 * rounding to nearest even, with infinities, NaN and subnormals kept. */
#ifndef AN_BASE_F16_H
#define AN_BASE_F16_H

#include <stdint.h>

uint16_t an_f32_to_f16(float f);
float an_f16_to_f32(uint16_t h);

#endif
