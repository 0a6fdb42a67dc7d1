/* SPDX-License-Identifier: MIT */
/* Client role, mesh membership: listings, published allowed IPs, guard rails, absence. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-answer.h"
#include "client-members.h"

#define SERVICE_LABELS "_wireguard._udp."

/* Write the listing's name. */
int client_members_listing_qname(const char *zone, char *out, size_t len)
{
	size_t zl = strlen(zone);
	int n = snprintf(out, len, SERVICE_LABELS "%s%s", zone, zl && zone[zl - 1] == '.' ? "" : ".");

	if (n < 0 || (size_t)n >= len || (size_t)n >= DNAME_STRLEN)
		return -ENAMETOOLONG;
	return 0;
}

/* Short name of a listing status. */
const char *client_members_listing_status_name(enum client_listing_status s)
{
	switch (s) {
	case CLIENT_LISTING_NONE: return "none";
	case CLIENT_LISTING_COMPLETE: return "complete";
	case CLIENT_LISTING_TRUNCATED: return "truncated";
	case CLIENT_LISTING_PARTIAL: return "partial";
	case CLIENT_LISTING_RCODE: return "rcode";
	}
	return "?";
}

/* Free a listing's keys. */
void client_members_listing_clear(struct client_listing *l)
{
	free(l->keys);
	memset(l, 0, sizeof(*l));
}

/* True when key is listed. */
bool client_members_listing_has(const struct client_listing *l, const uint8_t key[WG_KEY_LEN])
{
	return l->n_keys && bsearch(key, l->keys, l->n_keys, WG_KEY_LEN, key_cmp) != NULL;
}

/* True when absence can be read from the listing. */
bool client_members_listing_complete(const struct client_listing *l)
{
	return l->status == CLIENT_LISTING_COMPLETE;
}

/* True when a name is a DNAME rdf equal to b, ignoring case. */
static bool dname_is(const ldns_rdf *a, const ldns_rdf *b)
{
	return a && b && ldns_rdf_get_type(a) == LDNS_RDF_TYPE_DNAME &&
	       ldns_rdf_get_type(b) == LDNS_RDF_TYPE_DNAME && ldns_dname_compare(a, b) == 0;
}

/* The key named by a PTR target B._wireguard._udp.ZONE (service = _wireguard._udp.ZONE). */
bool client_members_ptr_key(const ldns_rdf *target, const ldns_rdf *service, uint8_t key[WG_KEY_LEN])
{
	const uint8_t *wire;
	size_t size;
	char label[KEY_B32_LEN + 1];
	ldns_rdf *parent;
	bool ok;

	if (!target || ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME)
		return false;
	wire = ldns_rdf_data(target);
	size = ldns_rdf_size(target);
	if (size < 2 || (wire[0] != KEY_B32_LEN && wire[0] != KEY_B32_UNPADDED_LEN) ||
	    (size_t)wire[0] + 1 > size)
		return false;
	/* Unpadded labels (52 digits) get their "====" back. */
	memcpy(label, wire + 1, wire[0]);
	memset(label + wire[0], '=', KEY_B32_LEN - wire[0]);
	label[KEY_B32_LEN] = '\0';
	if (key_from_base32(label, KEY_B32_LEN, key) != 0)
		return false;
	parent = ldns_dname_left_chop(target);
	ok = dname_is(parent, service);
	ldns_rdf_deep_free(parent);
	return ok;
}

/* Read a listing response. */
int client_members_listing_parse(const ldns_pkt *pkt, const char *zone, struct client_listing *out)
{
	char qname_str[DNAME_STRLEN];
	ldns_rdf *service = NULL;
	const ldns_rr_list *answer = ldns_pkt_answer(pkt);
	size_t n_rr = ldns_rr_list_rr_count(answer), w = 0;
	int ret = 0;

	client_members_listing_clear(out);
	out->rcode = (uint8_t)ldns_pkt_get_rcode(pkt);
	if (out->rcode != LDNS_RCODE_NOERROR) {
		out->status = CLIENT_LISTING_RCODE;
		return 0;
	}
	if (client_members_listing_qname(zone, qname_str, sizeof(qname_str)) != 0 ||
	    ldns_str2rdf_dname(&service, qname_str) != LDNS_STATUS_OK) {
		/* Not a name this listing could be for: nothing in it is readable. */
		out->status = CLIENT_LISTING_PARTIAL;
		out->n_unreadable = n_rr;
		return 0;
	}
	if (n_rr) {
		out->keys = calloc(n_rr, WG_KEY_LEN);
		if (!out->keys) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n_rr; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);

		/* Records of other names or types are not part of the listing. */
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_PTR || !dname_is(ldns_rr_owner(rr), service))
			continue;
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) != 1 ||
		    !client_members_ptr_key(ldns_rr_rdf(rr, 0), service, out->keys[w])) {
			out->n_unreadable++;
			continue;
		}
		w++;
	}
	if (w > 1)
		qsort(out->keys, w, WG_KEY_LEN, key_cmp);
	out->n_keys = 0;
	for (size_t i = 0; i < w; i++)
		if (!out->n_keys || memcmp(out->keys[out->n_keys - 1], out->keys[i], WG_KEY_LEN) != 0)
			memmove(out->keys[out->n_keys++], out->keys[i], WG_KEY_LEN);
	if (ldns_pkt_tc(pkt))
		out->status = CLIENT_LISTING_TRUNCATED;
	else if (out->n_unreadable)
		out->status = CLIENT_LISTING_PARTIAL;
	else
		out->status = CLIENT_LISTING_COMPLETE;
out:
	if (ret < 0)
		client_members_listing_clear(out);
	ldns_rdf_deep_free(service);
	return ret;
}

/* True when the n bytes at s are text, ignoring case. */
static bool text_is(const uint8_t *s, size_t n, const char *text)
{
	size_t tl = strlen(text);

	if (n != tl)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower(s[i]) != tolower((unsigned char)text[i]))
			return false;
	return true;
}

/* 1 for "allowed", N for "allowedN" (2..CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 1, no leading zero), 0 otherwise. */
static unsigned int allowed_key(const uint8_t *s, size_t n)
{
	unsigned int v = 0;

	if (n < 7 || !text_is(s, 7, "allowed"))
		return 0;
	if (n == 7)
		return 1;
	if (s[7] == '0' || n > 7 + 3)
		return 0;
	for (size_t i = 7; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v >= 2 && v <= CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 1 ? v : 0;
}

/* Add the prefixes of one comma-separated list (n bytes) to out, skipping duplicates. */
static int allowed_list(const uint8_t *s, size_t n, struct cidr *out, size_t cap, size_t *count)
{
	size_t pos = 0;

	if (n == 0)
		return 0;
	while (pos <= n) {
		const uint8_t *comma = memchr(s + pos, ',', n - pos);
		size_t tl = comma ? (size_t)(comma - (s + pos)) : n - pos;
		char tok[CIDR_STRLEN];
		struct cidr c;
		bool dup = false;

		if (tl == 0 || tl >= sizeof(tok) || memchr(s + pos, '\0', tl))
			return -EBADMSG;
		memcpy(tok, s + pos, tl);
		tok[tl] = '\0';
		if (cidr_parse(tok, false, &c) < 0)
			return -EBADMSG;
		for (size_t i = 0; i < *count && !dup; i++)
			dup = out[i].family == c.family && out[i].prefix == c.prefix &&
			      memcmp(out[i].addr, c.addr, 16) == 0;
		if (!dup) {
			if (*count >= cap)
				return -ENOBUFS;
			out[(*count)++] = c;
		}
		if (!comma)
			break;
		pos += tl + 1;
	}
	return 0;
}

/* Read the allowed IPs of a TXT rdata. */
int client_members_allowed(const uint8_t *rdata, size_t len, struct cidr *out, size_t cap)
{
	/* Offset + 1 of the first string of key N (allowedN=); "allowed=" may repeat. */
	uint32_t first[CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 2] = { 0 };
	bool txtvers_seen = false, any_allowed = false;
	size_t count = 0;
	int r;

	if (len == 0 || len > 65535)
		return -EBADMSG;
	/* First pass: the framing, txtvers, and where the continuation keys are. */
	for (size_t pos = 0; pos < len; pos += 1u + rdata[pos]) {
		const uint8_t *s = rdata + pos + 1;
		size_t n = rdata[pos];
		const uint8_t *eq;
		size_t klen;
		unsigned int k;

		if (n > len - pos - 1)
			return -EBADMSG;
		eq = memchr(s, '=', n);
		klen = eq ? (size_t)(eq - s) : n;
		k = allowed_key(s, klen);
		if (k == 1)
			any_allowed = true;
		else if (k && !first[k])
			first[k] = (uint32_t)pos + 1;
		else if (!k && !txtvers_seen && text_is(s, klen, "txtvers")) {
			txtvers_seen = true;
			if (!eq || n != klen + 2 || eq[1] != '1')
				return -EPROTONOSUPPORT;
		}
	}
	if (!any_allowed)
		return -ENOENT;
	/* Every "allowed=" string in order, then allowed2=, allowed3=, ... */
	for (size_t pos = 0; pos < len; pos += 1u + rdata[pos]) {
		const uint8_t *s = rdata + pos + 1;
		size_t n = rdata[pos];
		const uint8_t *eq = memchr(s, '=', n);

		if (allowed_key(s, eq ? (size_t)(eq - s) : n) != 1)
			continue;
		if (!eq)
			return -EBADMSG;
		r = allowed_list(eq + 1, n - (size_t)(eq + 1 - s), out, cap, &count);
		if (r < 0)
			return r;
	}
	for (unsigned int k = 2; k <= CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 1 && first[k]; k++) {
		const uint8_t *s = rdata + first[k];
		size_t n = s[-1];
		const uint8_t *eq = memchr(s, '=', n);

		if (k > CLIENT_MEMBERS_ALLOWED_KEYS_MAX)
			return -ENOBUFS;   /* the list goes on past what is read */
		if (!eq)
			return -EBADMSG;
		r = allowed_list(eq + 1, n - (size_t)(eq + 1 - s), out, cap, &count);
		if (r < 0)
			return r;
	}
	return (int)count;
}

/* True when a TXT rdata's first "pub=" names another key than key (an unreadable one counts as another). */
static bool txt_pub_mismatch(const uint8_t *rdata, size_t len, const uint8_t key[WG_KEY_LEN])
{
	for (size_t pos = 0; pos < len; pos += 1u + rdata[pos]) {
		const uint8_t *s = rdata + pos + 1;
		size_t n = rdata[pos];
		char text[KEY_B64_LEN + 1];
		uint8_t pub[WG_KEY_LEN];

		if (n > len - pos - 1)
			return true;
		if (n < 4 || !text_is(s, 4, "pub="))
			continue;
		if (n - 4 > KEY_B64_LEN)
			return true;
		memcpy(text, s + 4, n - 4);
		text[n - 4] = '\0';
		return strlen(text) != n - 4 || key_from_base64(text, pub) != 0 ||
		       memcmp(pub, key, WG_KEY_LEN) != 0;
	}
	return false;
}

/* Read the allowed IPs of one peer's TXT record (its "pub=" must name key). */
int client_members_txt_rr(const ldns_rr *txt, const uint8_t key[WG_KEY_LEN], struct cidr *out, size_t cap)
{
	uint8_t *rdata = NULL;
	size_t len = 0;
	int ret;

	/* The rdata in wire form: the strings, each after its length byte, as ldns keeps them. */
	for (size_t i = 0; i < ldns_rr_rd_count(txt); i++)
		len += ldns_rdf_size(ldns_rr_rdf(txt, i));
	if (len == 0 || len > 65535)
		return -EBADMSG;
	rdata = malloc(len);
	if (!rdata)
		return -ENOMEM;
	len = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(txt); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(txt, i);

		if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_STR) {
			ret = -EBADMSG;
			goto out;
		}
		memcpy(rdata + len, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
		len += ldns_rdf_size(rdf);
	}
	if (txt_pub_mismatch(rdata, len, key)) {
		ret = -EBADMSG;
		goto out;
	}
	ret = client_members_allowed(rdata, len, out, cap);
out:
	free(rdata);
	return ret;
}

/* Find and read the TXT record of a peer. */
int client_members_txt(const ldns_pkt *pkt, const uint8_t key[WG_KEY_LEN], const char *zone,
		       struct cidr *out, size_t cap)
{
	char qname_str[DNAME_STRLEN + 32];
	ldns_rdf *qname = NULL;
	const ldns_rr *txt = NULL;
	const ldns_rr_list *sections[2] = { ldns_pkt_answer(pkt), ldns_pkt_additional(pkt) };
	int ret;

	if (client_answer_qname(key, zone, qname_str, sizeof(qname_str)) != 0 ||
	    ldns_str2rdf_dname(&qname, qname_str) != LDNS_STATUS_OK)
		return -EBADMSG;
	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(sections[s]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(sections[s], i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
			    !dname_is(ldns_rr_owner(rr), qname))
				continue;
			if (txt) {
				ret = -EBADMSG;   /* two TXT records: which one holds the peer's data? */
				goto out;
			}
			txt = rr;
		}
	}
	ret = txt ? client_members_txt_rr(txt, key, out, cap) : -ENODATA;
out:
	ldns_rdf_deep_free(qname);
	return ret;
}

/* Sort and deduplicate prefixes. */
size_t client_members_allowed_sort(struct cidr *c, size_t n)
{
	size_t w = 0;

	if (n == 0)
		return 0;
	qsort(c, n, sizeof(*c), cidr_cmp);
	for (size_t i = 0; i < n; i++)
		if (!w || cidr_cmp(&c[w - 1], &c[i]) != 0)
			c[w++] = c[i];
	return w;
}

/* True when every prefix of a is in b. */
static bool allowed_subset(const struct cidr *a, size_t na, const struct cidr *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = cidr_cmp(&a[i], &b[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Compare two prefix lists as sets. */
bool client_members_allowed_same(const struct cidr *a, size_t na, const struct cidr *b, size_t nb)
{
	return allowed_subset(a, na, b, nb) && allowed_subset(b, nb, a, na);
}

/* True when the prefixes share addresses. */
bool client_members_overlap(const struct cidr *a, const struct cidr *b)
{
	uint8_t p = a->prefix < b->prefix ? a->prefix : b->prefix;
	uint8_t max = a->family == AF_INET ? 32 : 128;
	size_t full = p / 8;

	if (a->family != b->family || (a->family != AF_INET && a->family != AF_INET6) || p > max)
		return false;
	if (memcmp(a->addr, b->addr, full) != 0)
		return false;
	if (p % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - p % 8));

		return (a->addr[full] & mask) == (b->addr[full] & mask);
	}
	return true;
}

/* Short name of a refusal. */
const char *client_members_refusal_name(enum client_members_refusal r)
{
	switch (r) {
	case CLIENT_MEMBERS_OK: return "ok";
	case CLIENT_MEMBERS_EXCLUDED: return "excluded";
	case CLIENT_MEMBERS_NO_ALLOWED: return "no-allowed-ips";
	case CLIENT_MEMBERS_BAD_ALLOWED: return "bad-allowed-ips";
	case CLIENT_MEMBERS_DISAGREE: return "registries-disagree";
	case CLIENT_MEMBERS_OUTSIDE: return "outside-auto-allowed-ips";
	case CLIENT_MEMBERS_OVERLAP_SELF: return "overlaps-own-address";
	case CLIENT_MEMBERS_OVERLAP_PEER: return "overlaps-peer";
	case CLIENT_MEMBERS_REGISTRY: return "holds-registry";
	case CLIENT_MEMBERS_LIMIT: return "auto-max-peers";
	}
	return "?";
}

/* Log text of a refusal. */
const char *client_members_refusal_text(enum client_members_refusal r)
{
	switch (r) {
	case CLIENT_MEMBERS_OK: return "may be added";
	case CLIENT_MEMBERS_EXCLUDED: return "it is listed in exclude";
	case CLIENT_MEMBERS_NO_ALLOWED: return "the registries publish no allowed IPs for it";
	case CLIENT_MEMBERS_BAD_ALLOWED: return "its published allowed IPs are unreadable or too many";
	case CLIENT_MEMBERS_DISAGREE: return "the registries publish different allowed IPs for it";
	case CLIENT_MEMBERS_OUTSIDE: return "its allowed IPs are not all inside auto-allowed-ips";
	case CLIENT_MEMBERS_OVERLAP_SELF: return "its allowed IPs hold an address of this device";
	case CLIENT_MEMBERS_OVERLAP_PEER: return "its allowed IPs overlap those of a peer on the device";
	case CLIENT_MEMBERS_REGISTRY: return "its allowed IPs hold a registry's address";
	case CLIENT_MEMBERS_LIMIT: return "auto-max-peers peers were added already";
	}
	return "?";
}

/* True when a lies inside one of the prefixes in. */
static bool inside_any(const struct cidr *a, const struct cidr *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in[i].family == a->family && in[i].prefix <= a->prefix &&
		    cidr_contains_raw(&in[i], a->family, a->addr))
			return true;
	return false;
}

/* True when a overlaps any of the n prefixes in list. */
static bool overlaps_any(const struct cidr *a, const struct cidr *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (client_members_overlap(a, &list[i]))
			return true;
	return false;
}

/* Apply the guard rails to one candidate. */
enum client_members_refusal client_members_vet(const struct client_members_policy *pol,
					       const struct client_members_view *v,
					       const uint8_t key[WG_KEY_LEN],
					       const struct cidr *allowed, size_t n)
{
	for (size_t i = 0; i < pol->n_exclude; i++)
		if (memcmp(pol->exclude + i * WG_KEY_LEN, key, WG_KEY_LEN) == 0)
			return CLIENT_MEMBERS_EXCLUDED;
	if (n == 0)
		return CLIENT_MEMBERS_NO_ALLOWED;
	if (n > CLIENT_MEMBERS_MAX_ALLOWED)
		return CLIENT_MEMBERS_BAD_ALLOWED;
	for (size_t i = 0; i < n; i++)
		if (!inside_any(&allowed[i], pol->auto_allowed, pol->n_auto_allowed))
			return CLIENT_MEMBERS_OUTSIDE;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < pol->n_registries; j++)
			if (cidr_contains(&allowed[i], &pol->registries[j]))
				return CLIENT_MEMBERS_REGISTRY;
	for (size_t i = 0; i < n; i++)
		if (overlaps_any(&allowed[i], v->own_addrs, v->n_own_addrs))
			return CLIENT_MEMBERS_OVERLAP_SELF;
	for (size_t i = 0; i < n; i++) {
		if (v->dev)
			for (size_t p = 0; p < v->dev->n_peers; p++)
				if (overlaps_any(&allowed[i], v->dev->peers[p].allowed_ips,
						 v->dev->peers[p].n_allowed_ips))
					return CLIENT_MEMBERS_OVERLAP_PEER;
		if (overlaps_any(&allowed[i], v->accepted, v->n_accepted))
			return CLIENT_MEMBERS_OVERLAP_PEER;
	}
	if (v->n_added >= pol->max_peers)
		return CLIENT_MEMBERS_LIMIT;
	return CLIENT_MEMBERS_OK;
}

/* Advance a managed peer's absence by one cycle. */
bool client_members_absence_step(bool *absent, uint64_t *absent_since_ms, bool listed,
				 bool all_complete, uint64_t now_ms, uint64_t remove_after_ms,
				 bool never)
{
	if (listed) {
		*absent = false;
		*absent_since_ms = 0;
		return false;
	}
	if (!all_complete)
		return false;
	if (!*absent) {
		*absent = true;
		*absent_since_ms = now_ms;
	}
	if (never)
		return false;
	return now_ms >= *absent_since_ms && now_ms - *absent_since_ms >= remove_after_ms;
}
