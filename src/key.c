/* SPDX-License-Identifier: MIT */
/* WireGuard public keys in their text forms: base64, base32, hex. */
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "key.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of one base64 digit, or -1. */
static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Encode key as base64 (32 bytes -> 43 digits and one '='). */
void key_to_base64(const uint8_t key[WG_KEY_LEN], char out[KEY_B64_LEN + 1])
{
	size_t i, o = 0;

	for (i = 0; i + 3 <= WG_KEY_LEN; i += 3) {
		uint32_t v = (uint32_t)key[i] << 16 | (uint32_t)key[i + 1] << 8 | key[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	/* 32 = 30 + 2: two bytes left, three digits and one pad. */
	uint32_t v = (uint32_t)key[30] << 16 | (uint32_t)key[31] << 8;
	out[o++] = b64_alphabet[v >> 18 & 63];
	out[o++] = b64_alphabet[v >> 12 & 63];
	out[o++] = b64_alphabet[v >> 6 & 63];
	out[o++] = '=';
	out[o] = '\0';
}

/* Decode a 44-character base64 key; the unused low bits of the last digit must be zero. */
int key_from_base64(const char *text, uint8_t key[WG_KEY_LEN])
{
	uint8_t tmp[WG_KEY_LEN];
	size_t i, o = 0;
	int d[4];

	if (strlen(text) != KEY_B64_LEN || text[43] != '=')
		return -EINVAL;
	for (i = 0; i < 40; i += 4) {
		for (int j = 0; j < 4; j++)
			if ((d[j] = b64_value(text[i + j])) < 0)
				return -EINVAL;
		uint32_t v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6 | (uint32_t)d[3];
		tmp[o++] = (uint8_t)(v >> 16);
		tmp[o++] = (uint8_t)(v >> 8);
		tmp[o++] = (uint8_t)v;
	}
	for (int j = 0; j < 3; j++)
		if ((d[j] = b64_value(text[40 + j])) < 0)
			return -EINVAL;
	if (d[2] & 3)
		return -EINVAL;
	uint32_t v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6;
	tmp[o++] = (uint8_t)(v >> 16);
	tmp[o++] = (uint8_t)(v >> 8);
	memcpy(key, tmp, WG_KEY_LEN);
	return 0;
}

/* Encode as upper-case padded base32; ldns writes lower case, DNS-SD names here use upper. */
void key_to_base32(const uint8_t key[WG_KEY_LEN], char out[KEY_B32_LEN + 1])
{
	char buf[KEY_B32_LEN + 8];
	int n = ldns_b32_ntop(key, WG_KEY_LEN, buf, sizeof(buf));

	if (n != KEY_B32_LEN) {
		memset(out, 0, KEY_B32_LEN + 1);
		return;
	}
	for (int i = 0; i < KEY_B32_LEN; i++) {
		char c = buf[i];
		out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	out[KEY_B32_LEN] = '\0';
}

/* Value of one base32 digit (RFC 4648 alphabet, either letter case), or 0xff. */
static uint8_t b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(c - 'a');
	if (c >= '2' && c <= '7')
		return (uint8_t)(c - '2' + 26);
	return 0xff;
}

/*
 * Decode 56 (padded) or 52 (unpadded) base32 characters, any case. Every query
 * for a peer's name decodes its label: one pass, no copies, no allocation.
 */
int key_from_base32(const char *text, size_t len, uint8_t key[WG_KEY_LEN])
{
	uint8_t tmp[WG_KEY_LEN];
	uint64_t acc = 0;
	unsigned int bits = 0;
	size_t o = 0;

	if (len != KEY_B32_LEN && len != KEY_B32_UNPADDED_LEN)
		return -EINVAL;
	for (size_t i = KEY_B32_UNPADDED_LEN; i < len; i++)
		if (text[i] != '=')
			return -EINVAL;
	for (size_t i = 0; i < KEY_B32_UNPADDED_LEN; i++) {
		uint8_t v = b32_value(text[i]);
		if (v == 0xff)
			return -EINVAL;
		acc = acc << 5 | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			tmp[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* 52 digits carry 260 bits: the 4 spare bits must be zero (one spelling per key). */
	if (acc & ((1u << bits) - 1))
		return -EINVAL;
	memcpy(key, tmp, WG_KEY_LEN);
	return 0;
}

/* Encode as lower-case hex, as the UAPI protocol writes keys. */
void key_to_hex(const uint8_t key[WG_KEY_LEN], char out[KEY_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < WG_KEY_LEN; i++) {
		out[2 * i] = hex[key[i] >> 4];
		out[2 * i + 1] = hex[key[i] & 15];
	}
	out[KEY_HEX_LEN] = '\0';
}

/*
 * Hex digit values plus one; 0 marks a non-digit. A table instead of range
 * tests: the digits of a random key make those branches unpredictable, and
 * they were the largest single cost of parsing a 10,000-peer UAPI reply. It
 * also decodes private keys without data-dependent branches.
 */
static const uint8_t hex_table[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Decode exactly 64 hex digits. */
int key_from_hex(const char *text, size_t len, uint8_t key[WG_KEY_LEN])
{
	uint8_t tmp[WG_KEY_LEN];
	unsigned int bad = 0;

	if (len != KEY_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < WG_KEY_LEN; i++) {
		unsigned int hi = hex_table[(unsigned char)text[2 * i]];
		unsigned int lo = hex_table[(unsigned char)text[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		tmp[i] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 0xf));
	}
	if (bad) {
		explicit_bzero(tmp, sizeof(tmp));
		return -EINVAL;
	}
	memcpy(key, tmp, WG_KEY_LEN);
	explicit_bzero(tmp, sizeof(tmp));
	return 0;
}

/* True for the all-zero key. */
bool key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < WG_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

/* First 8 base64 characters and "...", enough to tell peers apart in a log line. */
void key_short(const uint8_t key[WG_KEY_LEN], char out[12])
{
	char b64[KEY_B64_LEN + 1];

	key_to_base64(key, b64);
	memcpy(out, b64, 8);
	memcpy(out + 8, "...", 4);
}

int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, WG_KEY_LEN);
}

size_t key_search(const void *arr, size_t n, size_t size, const uint8_t key[WG_KEY_LEN], bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp((const uint8_t *)arr + mid * size, key, WG_KEY_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (found)
		*found = lo < n && memcmp((const uint8_t *)arr + lo * size, key, WG_KEY_LEN) == 0;
	return lo;
}
