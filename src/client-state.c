/* SPDX-License-Identifier: MIT */
/* Client role, mesh membership: the peers a section added, in memory and in its state file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client-state.h"
#include "strbuf.h"

#define HEADER_WORD "wgsd-members"
/* Largest ADDED_AT accepted: year 9999. */
#define ADDED_AT_MAX 253402300799LL

/* Write the state file's path. */
int client_state_path(const char *dir, const char *device, char *out, size_t len)
{
	size_t dl = strlen(dir);
	int n = snprintf(out, len, "%s%sclient-%s.members", dir, dl && dir[dl - 1] == '/' ? "" : "/", device);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Free a peer's memory. */
static void peer_clear(struct client_state_peer *p)
{
	free(p->allowed);
	p->allowed = NULL;
	p->n_allowed = 0;
}

/* Free everything. */
void client_state_clear(struct client_state *st)
{
	for (size_t i = 0; i < st->n_peers; i++)
		peer_clear(&st->peers[i]);
	free(st->peers);
	memset(st, 0, sizeof(*st));
}

/* Find a peer. */
struct client_state_peer *client_state_find(const struct client_state *st, const uint8_t key[WG_KEY_LEN])
{
	bool found;
	size_t i = key_search(st->peers, st->n_peers, sizeof(*st->peers), key, &found);

	return found ? &st->peers[i] : NULL;
}

/* Add a peer in key order. */
int client_state_add(struct client_state *st, const uint8_t key[WG_KEY_LEN], const struct cidr *allowed,
		     size_t n, int64_t added_at)
{
	struct client_state_peer *p;
	struct cidr *copy;
	bool found;
	size_t at = key_search(st->peers, st->n_peers, sizeof(*st->peers), key, &found);

	if (found)
		return -EEXIST;
	if (n == 0 || n > CLIENT_STATE_MAX_ALLOWED)
		return -EINVAL;
	if (st->n_peers == st->cap_peers) {
		size_t cap = st->cap_peers ? st->cap_peers * 2 : 16;

		p = realloc(st->peers, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->peers = p;
		st->cap_peers = cap;
	}
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, allowed, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cidr_cmp);
	memmove(&st->peers[at + 1], &st->peers[at], (st->n_peers - at) * sizeof(*st->peers));
	p = &st->peers[at];
	memset(p, 0, sizeof(*p));
	memcpy(p->key, key, WG_KEY_LEN);
	p->added_at = added_at;
	p->allowed = copy;
	p->n_allowed = n;
	st->n_peers++;
	return 0;
}

/* Forget a peer. */
void client_state_del(struct client_state *st, const uint8_t key[WG_KEY_LEN])
{
	bool found;
	size_t at = key_search(st->peers, st->n_peers, sizeof(*st->peers), key, &found);

	if (!found)
		return;
	peer_clear(&st->peers[at]);
	memmove(&st->peers[at], &st->peers[at + 1], (st->n_peers - at - 1) * sizeof(*st->peers));
	st->n_peers--;
}

/* Parse "ADDED_AT": decimal seconds, 0..ADDED_AT_MAX, no sign or leading zeros. */
static int parse_added_at(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 12 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > ADDED_AT_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parse "CIDR[,CIDR...]" into list (at most CLIENT_STATE_MAX_ALLOWED, no duplicates); returns the count or -EINVAL. */
static int parse_allowed(char *s, struct cidr *list)
{
	size_t n = 0;
	char *save = NULL, *tok;

	if (!*s || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
		return -EINVAL;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == CLIENT_STATE_MAX_ALLOWED || cidr_parse(tok, false, &list[n]) < 0)
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (cidr_cmp(&list[i], &list[n]) == 0)
				return -EINVAL;
		n++;
	}
	return (int)n;
}

/* Split line into exactly want space-separated fields (single spaces, none empty). */
static bool split_fields(char *line, char **fields, size_t want)
{
	size_t n = 0;
	char *p = line;

	while (n < want) {
		char *sp = strchr(p, ' ');

		if (*p == '\0' || *p == ' ')
			return false;
		fields[n++] = p;
		if (!sp || n == want)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	return n == want && !strchr(fields[want - 1], ' ');
}

/* Parse one non-comment line after the header. */
static int parse_peer_line(char *buf, struct client_state *out, struct cidr *scratch)
{
	char *f[4];
	uint8_t key[WG_KEY_LEN];
	int64_t added_at;
	int n;

	if (!split_fields(buf, f, 4) || strcmp(f[0], "peer") != 0 || strlen(f[1]) != KEY_B64_LEN ||
	    key_from_base64(f[1], key) < 0 || parse_added_at(f[2], &added_at) < 0)
		return -EBADMSG;
	n = parse_allowed(f[3], scratch);
	if (n <= 0)
		return -EBADMSG;
	if (out->n_peers >= CLIENT_STATE_MAX_PEERS)
		return -EBADMSG;
	n = client_state_add(out, key, scratch, (size_t)n, added_at);
	return n == -ENOMEM ? -ENOMEM : n < 0 ? -EBADMSG : 0;
}

/* Parse a state file's text. */
int client_state_parse(const char *text, size_t len, const char *device, struct client_state *out,
		       unsigned int *line)
{
	char *buf = NULL, header[64];
	struct cidr *scratch = NULL;
	size_t pos = 0;
	unsigned int ln = 0;
	bool have_header = false;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	*line = 0;
	if (len > CLIENT_STATE_MAX_BYTES)
		return -EBADMSG;
	snprintf(header, sizeof(header), HEADER_WORD " %d %s", CLIENT_STATE_VERSION, device);
	buf = malloc(CLIENT_STATE_LINE_MAX + 1);
	scratch = malloc(CLIENT_STATE_MAX_ALLOWED * sizeof(*scratch));
	if (!buf || !scratch) {
		ret = -ENOMEM;
		goto out;
	}
	while (pos < len) {
		const char *start = text + pos;
		const char *eol = memchr(start, '\n', len - pos);
		size_t l = eol ? (size_t)(eol - start) : len - pos;

		ln++;
		pos += l + (eol ? 1 : 0);
		if (l > CLIENT_STATE_LINE_MAX || memchr(start, '\0', l)) {
			ret = -EBADMSG;
			goto out;
		}
		memcpy(buf, start, l);
		buf[l] = '\0';
		if (l == 0 || buf[0] == '#')
			continue;
		if (!have_header) {
			if (strcmp(buf, header) != 0) {
				ret = -EBADMSG;
				goto out;
			}
			have_header = true;
			continue;
		}
		ret = parse_peer_line(buf, out, scratch);
		if (ret < 0)
			goto out;
	}
	if (!have_header) {
		ln = 0;
		ret = -EBADMSG;
	}
out:
	if (ret < 0) {
		client_state_clear(out);
		*line = ret == -EBADMSG ? ln : 0;
	}
	free(buf);
	free(scratch);
	return ret;
}

/* Format the file. */
void client_state_format(const struct client_state *st, const char *device, struct strbuf *out)
{
	char b64[KEY_B64_LEN + 1], c[CIDR_STRLEN];

	strbuf_printf(out, "# Peers that wgsd's [client %s] added from its registries' listings.\n"
		      "# wgsd removes only peers named here; written by wgsd, do not edit while it runs.\n"
		      HEADER_WORD " %d %s\n", device, CLIENT_STATE_VERSION, device);
	for (size_t i = 0; i < st->n_peers; i++) {
		const struct client_state_peer *p = &st->peers[i];

		key_to_base64(p->key, b64);
		strbuf_printf(out, "peer %s %" PRId64 " ", b64, p->added_at);
		for (size_t j = 0; j < p->n_allowed; j++)
			strbuf_printf(out, "%s%s", j ? "," : "", cidr_format(&p->allowed[j], c, sizeof(c)));
		strbuf_puts(out, "\n");
	}
}

/* Read and parse a state file. */
int client_state_load(const char *path, const char *device, struct client_state *out, unsigned int *line)
{
	struct stat sb;
	char *text = NULL;
	size_t got = 0;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	*line = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if (sb.st_size > (off_t)CLIENT_STATE_MAX_BYTES) {
		ret = -EFBIG;
		goto out;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	/* Read to the end, but never more than the limit (the file may grow meanwhile). */
	for (;;) {
		ssize_t n = read(fd, text + got, (size_t)sb.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)sb.st_size) {
			ret = -EFBIG;
			goto out;
		}
	}
	ret = client_state_parse(text, got, device, out, line);
out:
	free(text);
	close(fd);
	return ret;
}

/* Write all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write the state atomically. */
int client_state_save(const char *path, const char *device, const struct client_state *st)
{
	struct strbuf text = STRBUF_INIT;
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd = -1, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	client_state_format(st, device, &text);
	if (text.oom) {
		ret = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = write_all(fd, strbuf_str(&text), text.len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	fd = -1;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		goto out;
	}
	/* The rename itself must survive a crash too. */
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
out:
	strbuf_free(&text);
	return ret;
}
