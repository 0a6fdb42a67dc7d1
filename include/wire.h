/* SPDX-License-Identifier: MIT */
/*
 * Wire-format helpers shared by the DNS, PCP and TSIG code: big-endian loads
 * and stores, ASCII case-insensitive comparison of wire-form names, and a
 * bounded writer that remembers running out of room instead of writing past
 * its end. Inline: they sit on the answer path of every query.
 */
#ifndef WGSD_WIRE_H
#define WGSD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Read a 16-bit big-endian value. */
static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Read a 32-bit big-endian value. */
static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Write a 16-bit big-endian value. */
static inline void wire_set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Write a 32-bit big-endian value. */
static inline void wire_set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Lower case of an ASCII byte (DNS names compare case-insensitively in ASCII only). */
static inline uint8_t wire_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

/* True when n bytes of a and b are equal ignoring ASCII case. */
static inline bool wire_equal_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (wire_lower(a[i]) != wire_lower(b[i]))
			return false;
	return true;
}

/* A message being written into buf: it stops at cap and remembers that it ran out (full). */
struct wire_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;       /* may be lowered below len (room reserved for a trailer): full from then on */
	bool full;
};

/* Append n bytes if they fit; otherwise append nothing from now on. */
static inline void wire_put(struct wire_writer *w, const void *p, size_t n)
{
	if (w->full || w->len > w->cap || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* Append a 16-bit big-endian value. */
static inline void wire_put16(struct wire_writer *w, uint16_t v)
{
	uint8_t b[2];

	wire_set16(b, v);
	wire_put(w, b, 2);
}

/* Append a 32-bit big-endian value. */
static inline void wire_put32(struct wire_writer *w, uint32_t v)
{
	uint8_t b[4];

	wire_set32(b, v);
	wire_put(w, b, 4);
}

#endif
