/* SPDX-License-Identifier: MIT */
/* A growable byte buffer for building text. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Make room for n more bytes plus a NUL; false (and oom set) on failure. */
static bool strbuf_grow(struct strbuf *sb, size_t n)
{
	if (sb->oom)
		return false;
	if (sb->len + n + 1 <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			sb->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(sb->data, cap);
	if (!p) {
		sb->oom = true;
		return false;
	}
	sb->data = p;
	sb->cap = cap;
	return true;
}

/* Release memory. */
void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
	sb->oom = false;
}

/* Empty, keeping memory. */
void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->oom = false;
	if (sb->data)
		sb->data[0] = '\0';
}

/* Append n bytes. */
void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_grow(sb, n))
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

/* Append a C string. */
void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

/* Append formatted text. */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* Append a JSON string literal; control characters and non-ASCII bytes are escaped as \u00XX. */
void strbuf_json_string(struct strbuf *sb, const char *s)
{
	if (!s) {
		strbuf_puts(sb, "null");
		return;
	}
	strbuf_append(sb, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			strbuf_append(sb, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			strbuf_printf(sb, "\\u%04x", c);
		} else {
			strbuf_append(sb, (const char *)&c, 1);
		}
	}
	strbuf_append(sb, "\"", 1);
}

/* Content as a C string. */
const char *strbuf_str(const struct strbuf *sb)
{
	return sb->data ? sb->data : "";
}

void strbuf_json_addr(struct strbuf *sb, const union sockaddr_any *a)
{
	char buf[ADDR_STRLEN];

	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
		strbuf_puts(sb, "null");
	else
		strbuf_json_string(sb, addr_format(a, buf, sizeof(buf)));
}
