/* Content hashes: BLAKE2b (libsodium) truncated to 128 bits, enough to tell tasks apart in
 * projects of billions without a practical chance of collision. */
#ifndef AN_HASH_H
#define AN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define AN_HASH_BYTES 16

/* Hashes data[0..len) into out. Thread-safe. */
void an_hash(const void *data, size_t len, uint8_t out[AN_HASH_BYTES]);

/* Lower-case hex of a hash, into out (33 bytes). */
void an_hash_hex(const uint8_t h[AN_HASH_BYTES], char out[2 * AN_HASH_BYTES + 1]);

#endif
