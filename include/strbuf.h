/* SPDX-License-Identifier: MIT */
/* A growable byte buffer for building text (JSON status, metrics, messages). */
#ifndef WGSD_STRBUF_H
#define WGSD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct strbuf {
	char *data;    /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	bool oom;      /* an append failed: the content is incomplete */
};

#define STRBUF_INIT { NULL, 0, 0, false }

/* Release the memory and reset to empty. */
void strbuf_free(struct strbuf *sb);
/* Empty the buffer, keeping its memory. */
void strbuf_reset(struct strbuf *sb);
/* Append n bytes. */
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
/* Append a NUL-terminated string. */
void strbuf_puts(struct strbuf *sb, const char *s);
/* Append formatted text. */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quoted and escaped (NULL -> null). */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Append an IPv4 or IPv6 address (with its port when set) as a JSON string; null for any other family. */
void strbuf_json_addr(struct strbuf *sb, const union sockaddr_any *a);
/* The content as a C string ("" when empty). */
const char *strbuf_str(const struct strbuf *sb);

#endif
