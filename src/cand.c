/* SPDX-License-Identifier: MIT */
/* Candidate kinds, their DNS labels, and conversions. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "cand.h"

static const char *const kind_names[CAND_KIND_MAX] = {
	[CAND_LAN] = "lan",
	[CAND_V6] = "v6",
	[CAND_REGISTRY] = "registry",
	[CAND_STATIC] = "static",
	[CAND_MAPPED] = "mapped",
};

/* Short name of a kind. */
const char *cand_kind_name(enum cand_kind k)
{
	return (unsigned int)k < CAND_KIND_MAX ? kind_names[k] : "?";
}

/* Parse a kind name. */
int cand_kind_parse(const char *name, enum cand_kind *out)
{
	for (int k = 0; k < CAND_KIND_MAX; k++) {
		if (strcmp(name, kind_names[k]) == 0) {
			*out = (enum cand_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

/* True for the kinds a peer registers for itself. */
bool cand_kind_registrable(enum cand_kind k)
{
	return k == CAND_LAN || k == CAND_V6 || k == CAND_STATIC || k == CAND_MAPPED;
}

/* Write "<kind>-<index>". */
size_t cand_label(const struct cand_rec *c, char out[CAND_LABEL_MAX])
{
	const char *name;
	size_t n;

	if (!cand_kind_registrable((enum cand_kind)c->kind) || c->index >= CAND_PEER_MAX)
		return 0;
	name = kind_names[c->kind];
	n = strlen(name);
	memcpy(out, name, n);
	out[n++] = '-';
	if (c->index >= 10)
		out[n++] = (char)('0' + c->index / 10);
	out[n++] = (char)('0' + c->index % 10);
	return n;
}

/* Parse "<kind>-<index>" of len bytes, any letter case. */
int cand_label_parse(const uint8_t *label, size_t len, enum cand_kind *kind, uint8_t *index)
{
	char low[CAND_LABEL_MAX];
	size_t dash = len;
	unsigned int v = 0;

	if (len < 3 || len >= CAND_LABEL_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = (char)label[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch | 0x20);
		low[i] = ch;
		if (ch == '-' && dash == len)
			dash = i;
	}
	if (dash == 0 || dash + 1 >= len || len - dash - 1 > 2)
		return -EINVAL;
	/* No leading zeros: one spelling per candidate name. */
	if (low[dash + 1] == '0' && len - dash - 1 > 1)
		return -EINVAL;
	for (size_t i = dash + 1; i < len; i++) {
		if (low[i] < '0' || low[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(low[i] - '0');
	}
	if (v >= CAND_PEER_MAX)
		return -EINVAL;
	low[dash] = '\0';
	for (int k = 0; k < CAND_KIND_MAX; k++) {
		if (cand_kind_registrable((enum cand_kind)k) && strcmp(low, kind_names[k]) == 0) {
			*kind = (enum cand_kind)k;
			*index = (uint8_t)v;
			return 0;
		}
	}
	return -EINVAL;
}

/* Candidate to socket address. */
void cand_to_sockaddr(const struct cand_rec *c, union sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (c->family == AF_INET) {
		out->in.sin_family = AF_INET;
		memcpy(&out->in.sin_addr, c->addr, 4);
		out->in.sin_port = htons(c->port);
	} else if (c->family == AF_INET6) {
		out->in6.sin6_family = AF_INET6;
		memcpy(&out->in6.sin6_addr, c->addr, 16);
		out->in6.sin6_port = htons(c->port);
	}
}

/* Socket address to candidate (address part only). */
int cand_from_sockaddr(struct cand_rec *c, const union sockaddr_any *a)
{
	union sockaddr_any u = *a;

	addr_unmap_v4(&u);
	memset(c->addr, 0, sizeof(c->addr));
	if (u.sa.sa_family == AF_INET) {
		c->family = AF_INET;
		memcpy(c->addr, &u.in.sin_addr, 4);
	} else if (u.sa.sa_family == AF_INET6) {
		c->family = AF_INET6;
		memcpy(c->addr, &u.in6.sin6_addr, 16);
	} else {
		return -EINVAL;
	}
	c->port = addr_port(&u);
	return 0;
}

/* Same family, address and port. */
bool cand_same_endpoint(const struct cand_rec *a, const struct cand_rec *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}
