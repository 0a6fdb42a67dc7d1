/* SPDX-License-Identifier: MIT */
/* The membership state file: round trip, and every kind of damaged or hostile file refused whole. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "client-state.h"
#include "strbuf.h"

static uint8_t keys[3][WG_KEY_LEN];
static char b64[3][KEY_B64_LEN + 1];

/* Parse a prefix for a test. */
static struct cidr C(const char *text)
{
	struct cidr c;

	if (cidr_parse(text, false, &c) < 0)
		abort();
	return c;
}

/* Parse text (a C string) for wg0; returns the result and the line. */
static int parse(const char *text, struct client_state *st, unsigned int *line)
{
	return client_state_parse(text, strlen(text), "wg0", st, line);
}

/* Peers added in any order come back sorted; the text parses back to the same state. */
static void test_round_trip(void)
{
	struct client_state st = { 0 }, back = { 0 };
	struct strbuf sb = STRBUF_INIT;
	struct cidr a[2] = { C("fd00::3/128"), C("10.0.0.3/32") }, b[1] = { C("10.0.0.4/32") };
	unsigned int line = 99;

	CHECK(client_state_add(&st, keys[1], a, 2, 1700000000) == 0);
	CHECK(client_state_add(&st, keys[0], b, 1, 1700000001) == 0);
	CHECK(client_state_add(&st, keys[0], b, 1, 1) == -EEXIST);
	CHECK(client_state_add(&st, keys[2], b, 0, 1) == -EINVAL);
	CHECK(st.n_peers == 2 && memcmp(st.peers[0].key, st.peers[1].key, WG_KEY_LEN) < 0);
	CHECK(client_state_find(&st, keys[1]) && client_state_find(&st, keys[1])->n_allowed == 2);
	CHECK(client_state_find(&st, keys[1])->allowed[0].family == AF_INET);   /* sorted */
	CHECK(client_state_find(&st, keys[2]) == NULL);
	client_state_format(&st, "wg0", &sb);
	CHECK_STR_CONTAINS(strbuf_str(&sb), "wgsd-members 1 wg0\n");
	CHECK_STR_CONTAINS(strbuf_str(&sb), "10.0.0.3/32,fd00::3/128\n");
	CHECK(client_state_parse(strbuf_str(&sb), sb.len, "wg0", &back, &line) == 0 && line == 0);
	CHECK(back.n_peers == 2);
	for (size_t i = 0; i < back.n_peers && i < st.n_peers; i++) {
		CHECK(memcmp(back.peers[i].key, st.peers[i].key, WG_KEY_LEN) == 0);
		CHECK(back.peers[i].added_at == st.peers[i].added_at);
		CHECK(back.peers[i].n_allowed == st.peers[i].n_allowed &&
		      memcmp(back.peers[i].allowed, st.peers[i].allowed, st.peers[i].n_allowed * sizeof(struct cidr)) == 0);
	}
	client_state_del(&st, keys[1]);
	client_state_del(&st, keys[2]);
	CHECK(st.n_peers == 1 && client_state_find(&st, keys[0]));
	client_state_clear(&st);
	client_state_clear(&back);
	strbuf_free(&sb);
}

/* Comments, blank lines and a missing final newline are fine; an empty list is a valid state. */
static void test_accepted_forms(void)
{
	struct client_state st = { 0 };
	unsigned int line;
	char text[512];

	CHECK(parse("# nothing yet\n\nwgsd-members 1 wg0\n", &st, &line) == 0 && st.n_peers == 0);
	snprintf(text, sizeof(text), "wgsd-members 1 wg0\n# added\npeer %s 0 10.0.0.3/32", b64[0]);
	CHECK(parse(text, &st, &line) == 0 && st.n_peers == 1 && st.peers[0].added_at == 0);
	client_state_clear(&st);
}

/* Copy a template into out with K1 and K2 replaced by two keys. */
static void with_keys(const char *tmpl, char *out, size_t cap)
{
	size_t w = 0;

	for (const char *p = tmpl; *p && w + KEY_B64_LEN + 1 < cap; p++) {
		if (p[0] == 'K' && (p[1] == '1' || p[1] == '2')) {
			memcpy(out + w, b64[p[1] - '1'], KEY_B64_LEN);
			w += KEY_B64_LEN;
			p++;
		} else {
			out[w++] = *p;
		}
	}
	out[w] = '\0';
}

/* Each damaged or hostile file is refused whole, with the line that gave it away, and leaves nothing behind. */
static void test_refused(void)
{
	static const struct {
		const char *text;      /* K1: a key, K2: another key */
		unsigned int line;
	} cases[] = {
		{ "", 0 },                                                      /* empty: no header */
		{ "# only a comment\n", 0 },
		{ "peer K1 1 10.0.0.3/32\n", 1 },                             /* no header first */
		{ "wgsd-members 2 wg0\n", 1 },                                  /* unknown version */
		{ "wgsd-members 1 wg1\n", 1 },                                  /* another device's file */
		{ "wgsd-members 1 wg0 \n", 1 },
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/32\nfrob\n", 3 },   /* unknown line */
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/32 extra\n", 2 },   /* too many fields */
		{ "wgsd-members 1 wg0\npeer K1 1\n", 2 },                     /* too few */
		{ "wgsd-members 1 wg0\npeer  K1 1 10.0.0.3/32\n", 2 },        /* double space */
		{ "wgsd-members 1 wg0\npeer K1\t1 10.0.0.3/32\n", 2 },
		{ "wgsd-members 1 wg0\r\npeer K1 1 10.0.0.3/32\n", 1 },       /* CRLF */
		{ "wgsd-members 1 wg0\npeer notakey 1 10.0.0.3/32\n", 2 },
		{ "wgsd-members 1 wg0\npeer K1 -1 10.0.0.3/32\n", 2 },        /* negative time */
		{ "wgsd-members 1 wg0\npeer K1 01 10.0.0.3/32\n", 2 },
		{ "wgsd-members 1 wg0\npeer K1 99999999999999999999 10.0.0.3/32\n", 2 },
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/24\n", 2 },         /* host bits */
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/33\n", 2 },
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/32,\n", 2 },        /* empty element */
		{ "wgsd-members 1 wg0\npeer K1 1 ,10.0.0.3/32\n", 2 },
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/32,,10.0.0.4/32\n", 2 },
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/32,10.0.0.3/32\n", 2 },   /* duplicate prefix */
		{ "wgsd-members 1 wg0\npeer K1 1 10.0.0.3/32\npeer K2 1 10.0.0.4/32\npeer K1 2 10.0.0.5/32\n", 4 },
	};
	struct client_state st = { 0 };
	unsigned int line;
	char text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		with_keys(cases[i].text, text, sizeof(text));
		r = parse(text, &st, &line);
		if (r != -EBADMSG || line != cases[i].line || st.n_peers != 0 || st.peers != NULL)
			fprintf(stderr, "case %zu: ret %d line %u peers %zu\n", i, r, line, st.n_peers);
		CHECK(r == -EBADMSG && line == cases[i].line && st.n_peers == 0 && st.peers == NULL);
	}
}

/* A NUL byte, an overlong line and an oversized file are refused without reading on. */
static void test_refused_sizes(void)
{
	struct client_state st = { 0 };
	unsigned int line;
	char text[256];
	char *big;
	size_t n = (size_t)snprintf(text, sizeof(text), "wgsd-members 1 wg0\npeer %s 1 10.0.0.3/32\n", b64[0]);

	text[n - 5] = '\0';
	CHECK(client_state_parse(text, n, "wg0", &st, &line) == -EBADMSG && line == 2 && st.n_peers == 0);
	big = malloc(CLIENT_STATE_MAX_BYTES + 2);
	CHECK(big != NULL);
	if (!big)
		return;
	memcpy(big, "wgsd-members 1 wg0\n", 19);
	memset(big + 19, '#', CLIENT_STATE_LINE_MAX + 10);
	CHECK(client_state_parse(big, 19 + CLIENT_STATE_LINE_MAX + 10, "wg0", &st, &line) == -EBADMSG && line == 2);
	memset(big, '\n', CLIENT_STATE_MAX_BYTES + 1);
	CHECK(client_state_parse(big, CLIENT_STATE_MAX_BYTES + 1, "wg0", &st, &line) == -EBADMSG && line == 0);
	free(big);
}

/* Saving replaces the file atomically and loading reads it back; a missing file says ENOENT. */
static void test_files(void)
{
	char dir[] = "/tmp/wgsd-state-test.XXXXXX", path[256], tmp[300];
	struct client_state st = { 0 }, back = { 0 };
	struct cidr a = C("10.0.0.3/32");
	unsigned int line;
	struct stat sb;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(client_state_path(dir, "wg0", path, sizeof(path)) == 0);
	CHECK_STR_CONTAINS(path, "/client-wg0.members");
	CHECK(client_state_path(dir, "wg0", path, 10) == -ENAMETOOLONG);
	CHECK(client_state_path(dir, "wg0", path, sizeof(path)) == 0);
	CHECK(client_state_load(path, "wg0", &back, &line) == -ENOENT);
	CHECK(client_state_add(&st, keys[0], &a, 1, 42) == 0);
	CHECK(client_state_save(path, "wg0", &st) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(access(tmp, F_OK) != 0);
	CHECK(client_state_load(path, "wg0", &back, &line) == 0 && back.n_peers == 1 && back.peers[0].added_at == 42);
	client_state_clear(&back);
	/* A file for another device is not this one's. */
	CHECK(client_state_load(path, "wg1", &back, &line) == -EBADMSG && line == 3);
	/* Garbage appended by someone else: refused whole. */
	f = fopen(path, "a");
	CHECK(f != NULL);
	if (f) {
		fputs("peer garbage\n", f);
		fclose(f);
	}
	CHECK(client_state_load(path, "wg0", &back, &line) == -EBADMSG && line == 5 && back.n_peers == 0);
	/* A directory where the file should be: an error, not a crash. */
	unlink(path);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(client_state_load(path, "wg0", &back, &line) < 0);
	CHECK(client_state_save(path, "wg0", &st) < 0);
	rmdir(path);
	rmdir(dir);
	/* An unwritable place fails cleanly. */
	CHECK(client_state_save("/nonexistent-wgsd-dir/client-wg0.members", "wg0", &st) == -ENOENT);
	client_state_clear(&st);
}

/* Run all cases. */
int main(void)
{
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < WG_KEY_LEN; j++)
			keys[i][j] = (uint8_t)(i * 53 + j * 7 + 3);
		key_to_base64(keys[i], b64[i]);
	}
	test_round_trip();
	test_accepted_forms();
	test_refused();
	test_refused_sizes();
	test_files();
	return CHECK_DONE();
}
