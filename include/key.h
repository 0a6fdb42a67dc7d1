/* SPDX-License-Identifier: MIT */
/* WireGuard public keys in their text forms: base64 (wg(8)), base32 (DNS labels), hex (UAPI). */
#ifndef WGSD_KEY_H
#define WGSD_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define KEY_B64_LEN 44          /* with one '=' of padding */
#define KEY_B32_LEN 56          /* with "====" padding */
#define KEY_B32_UNPADDED_LEN 52
#define KEY_HEX_LEN 64

/* Encode key as base64 into out (KEY_B64_LEN + 1 bytes). */
void key_to_base64(const uint8_t key[WG_KEY_LEN], char out[KEY_B64_LEN + 1]);
/* Decode base64 text; returns 0 or -EINVAL. */
int key_from_base64(const char *text, uint8_t key[WG_KEY_LEN]);
/* Encode key as upper-case RFC 4648 base32 with padding into out (KEY_B32_LEN + 1 bytes). */
void key_to_base32(const uint8_t key[WG_KEY_LEN], char out[KEY_B32_LEN + 1]);
/* Decode base32 of len bytes (56 padded or 52 unpadded), any letter case; returns 0 or -EINVAL. */
int key_from_base32(const char *text, size_t len, uint8_t key[WG_KEY_LEN]);
/* Encode key as lower-case hex into out (KEY_HEX_LEN + 1 bytes). */
void key_to_hex(const uint8_t key[WG_KEY_LEN], char out[KEY_HEX_LEN + 1]);
/* Decode exactly KEY_HEX_LEN hex digits of len bytes; returns 0 or -EINVAL. */
int key_from_hex(const char *text, size_t len, uint8_t key[WG_KEY_LEN]);
/* True when all bytes are zero (an unset key). */
bool key_is_zero(const uint8_t key[WG_KEY_LEN]);
/* Short printable form for logs: first 8 base64 characters plus "...". */
void key_short(const uint8_t key[WG_KEY_LEN], char out[12]);
/* Order two keys, or two elements that start with their keys (qsort, bsearch). */
int key_cmp(const void *a, const void *b);
/*
 * In n elements of size bytes, each starting with its key and sorted by it:
 * the index of the first whose key is not below key. *found (when not NULL)
 * says whether that element's key is key.
 */
size_t key_search(const void *arr, size_t n, size_t size, const uint8_t key[WG_KEY_LEN], bool *found);

#endif
