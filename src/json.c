/* SPDX-License-Identifier: MIT */
/* A small recursive-descent JSON reader with a depth limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct json_parser {
	const char *p, *end, *start;
	int depth;
};

static struct json *json_value(struct json_parser *jp);

/* Skip JSON whitespace. */
static void json_ws(struct json_parser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* Append the UTF-8 encoding of code point cp. */
static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Read 4 hex digits. */
static int json_hex4(struct json_parser *jp, unsigned long *out)
{
	unsigned long v = 0;

	if (jp->end - jp->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = *jp->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned long)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Parse a string literal at jp->p (which is '"'); returns a malloc'd decoded copy. */
static char *json_string(struct json_parser *jp)
{
	size_t cap, n = 0;
	const char *q;
	char *out;

	if (jp->p >= jp->end || *jp->p != '"')
		return NULL;
	jp->p++;
	/* Size the copy by the literal (decoded text is never longer), not by the rest of the input. */
	for (q = jp->p; q < jp->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < jp->end)
			q++;
	cap = (size_t)(q - jp->p) + 1;
	out = malloc(cap);
	if (!out)
		return NULL;
	while (jp->p < jp->end) {
		unsigned char c = (unsigned char)*jp->p++;
		if (c == '"') {
			out[n] = '\0';
			return out;
		}
		if (c < 0x20)
			break;
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		if (jp->p >= jp->end)
			break;
		c = (unsigned char)*jp->p++;
		unsigned long cp;
		switch (c) {
		case '"': case '\\': case '/':
			out[n++] = (char)c;
			break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			if (json_hex4(jp, &cp) < 0)
				goto fail;
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned long lo;
				if (jp->end - jp->p < 6 || jp->p[0] != '\\' || jp->p[1] != 'u')
					goto fail;
				jp->p += 2;
				if (json_hex4(jp, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					goto fail;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				goto fail;
			}
			if (cp == 0)
				goto fail;  /* would truncate the C string */
			n += utf8_put(out + n, cp);
			break;
		default:
			goto fail;
		}
	}
fail:
	free(out);
	return NULL;
}

/* Parse a number per the JSON grammar. */
static int json_number(struct json_parser *jp, double *out)
{
	const char *s = jp->p;
	char buf[64];

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
		return -1;
	if (*jp->p == '0')
		jp->p++;
	else
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	if (jp->p < jp->end && *jp->p == '.') {
		jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return -1;
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return -1;
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if ((size_t)(jp->p - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(jp->p - s));
	buf[jp->p - s] = '\0';
	*out = strtod(buf, NULL);
	return 0;
}

/* Match a literal word. */
static bool json_word(struct json_parser *jp, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, w, n) != 0)
		return false;
	jp->p += n;
	return true;
}

/* Parse an array or object body after its opening bracket. */
static int json_container(struct json_parser *jp, struct json *j, char close)
{
	struct json **tail = &j->child;

	json_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		json_ws(jp);
		if (close == '}') {
			key = json_string(jp);
			if (!key)
				return -1;
			json_ws(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				free(key);
				return -1;
			}
			jp->p++;
		}
		struct json *v = json_value(jp);
		if (!v) {
			free(key);
			return -1;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		json_ws(jp);
		if (jp->p >= jp->end)
			return -1;
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			return 0;
		}
		return -1;
	}
}

/* Parse any value. */
static struct json *json_value(struct json_parser *jp)
{
	struct json *j;

	json_ws(jp);
	if (jp->p >= jp->end || jp->depth >= JSON_MAX_DEPTH)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	switch (*jp->p) {
	case '{':
	case '[': {
		char close = *jp->p == '{' ? '}' : ']';
		j->type = close == '}' ? JSON_OBJECT : JSON_ARRAY;
		jp->p++;
		jp->depth++;
		int rc = json_container(jp, j, close);
		jp->depth--;
		if (rc < 0)
			goto fail;
		break;
	}
	case '"':
		j->type = JSON_STRING;
		if (!(j->string = json_string(jp)))
			goto fail;
		break;
	case 't':
	case 'f':
		j->type = JSON_BOOL;
		j->boolean = *jp->p == 't';
		if (!json_word(jp, j->boolean ? "true" : "false"))
			goto fail;
		break;
	case 'n':
		j->type = JSON_NULL;
		if (!json_word(jp, "null"))
			goto fail;
		break;
	default:
		j->type = JSON_NUMBER;
		if (json_number(jp, &j->number) < 0)
			goto fail;
		break;
	}
	return j;
fail:
	json_free(j);
	return NULL;
}

/* Parse a whole document (one value and trailing whitespace only). */
struct json *json_parse(const char *text, size_t len, size_t *err_offset)
{
	struct json_parser jp = { .p = text, .end = text + len, .start = text };
	struct json *j = json_value(&jp);

	if (j) {
		json_ws(&jp);
		if (jp.p == jp.end)
			return j;
		json_free(j);
	}
	if (err_offset)
		*err_offset = (size_t)(jp.p - jp.start);
	return NULL;
}

/* Free a tree (iterative over siblings). */
void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;
		json_free(j->child);
		free(j->key);
		free(j->string);
		free(j);
		j = next;
	}
}

/* Member by name. */
const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *c = obj->child; c; c = c->next)
		if (c->key && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}
