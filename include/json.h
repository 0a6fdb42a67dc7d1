/* SPDX-License-Identifier: MIT */
/* A small JSON reader (RFC 8259) for wgsdctl: the status document into a tree. */
#ifndef WGSD_JSON_H
#define WGSD_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	char *key;            /* member name inside an object, else NULL */
	bool boolean;
	double number;
	char *string;         /* JSON_STRING: decoded UTF-8, NUL-terminated */
	struct json *child;   /* first element or member */
	struct json *next;    /* next sibling */
};

/* Parse len bytes. NULL on error, with *err_offset (if given) set to where it failed. */
struct json *json_parse(const char *text, size_t len, size_t *err_offset);
/* Free a tree. */
void json_free(struct json *j);
/* Member of an object by name, or NULL. */
const struct json *json_get(const struct json *obj, const char *key);

#endif
