/* SPDX-License-Identifier: MIT */
/* The JSON reader used by wgsdctl, and the JSON writer in strbuf. */
#include <stdlib.h>

#include "check.h"
#include "json.h"
#include "strbuf.h"

/* Parse a string, expecting success or failure. */
static struct json *parse(const char *s)
{
	return json_parse(s, strlen(s), NULL);
}

int main(void)
{
	struct json *j;
	const struct json *v;

	j = parse(" {\"a\": 1, \"b\": [true, false, null, \"x\\u00e9\\n\"], \"c\": {\"d\": -2.5e1}} ");
	CHECK(j && j->type == JSON_OBJECT);
	CHECK((v = json_get(j, "a")) && v->type == JSON_NUMBER && v->number == 1);
	CHECK((v = json_get(j, "b")) && v->type == JSON_ARRAY && v->child->boolean);
	CHECK(v && strcmp(v->child->next->next->next->string, "x\xc3\xa9\n") == 0);
	CHECK((v = json_get(json_get(j, "c"), "d")) && v->number == -25);
	json_free(j);

	static const char *bad[] = {
		"", "{", "}", "[1,]", "{\"a\" 1}", "{\"a\":}", "tru", "01", "1.", "\"abc", "\"\\x\"",
		"\"\\ud800\"", "\"\\u0000\"", "[1] x", "{\"a\":1,}", "\"\x01\"", "-", "1e",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = parse(bad[i]);
		CHECK(j == NULL);
		if (j)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		json_free(j);
	}
	/* Depth is bounded: a deep document is refused, not a stack overflow. */
	char deep[4096];
	memset(deep, '[', sizeof(deep));
	CHECK(json_parse(deep, sizeof(deep), NULL) == NULL);

	/* The writer escapes what JSON requires. */
	struct strbuf sb = STRBUF_INIT;
	strbuf_json_string(&sb, "q\"b\\s\n\x01");
	CHECK(strcmp(strbuf_str(&sb), "\"q\\\"b\\\\s\\u000a\\u0001\"") == 0);
	j = json_parse(sb.data, sb.len, NULL);
	CHECK(j && j->type == JSON_STRING && strcmp(j->string, "q\"b\\s\n\x01") == 0);
	json_free(j);
	strbuf_free(&sb);
	return CHECK_DONE();
}
