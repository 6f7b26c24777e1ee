#include "base/hash.h"

#include <sodium.h>

void an_hash(const void *data, size_t len, uint8_t out[AN_HASH_BYTES])
{
    crypto_generichash(out, AN_HASH_BYTES, data, len, NULL, 0);
}

void an_hash_hex(const uint8_t h[AN_HASH_BYTES], char out[2 * AN_HASH_BYTES + 1])
{
    sodium_bin2hex(out, 2 * AN_HASH_BYTES + 1, h, AN_HASH_BYTES);
}
