/* SPDX-License-Identifier: MIT */
/* Client role, pure logic: candidates, query names, registry answers, choice. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-answer.h"

#define SERVICE_LABELS "_wireguard._udp."

/* Write the SRV name of a peer. */
int client_answer_qname(const uint8_t key[WG_KEY_LEN], const char *zone, char *out, size_t len)
{
	char b32[KEY_B32_LEN + 1];
	size_t zl = strlen(zone);
	int n;

	key_to_base32(key, b32);
	/* A relative zone name is taken as absolute. */
	n = snprintf(out, len, "%s." SERVICE_LABELS "%s%s", b32, zone,
		     zl && zone[zl - 1] == '.' ? "" : ".");
	if (n < 0 || (size_t)n >= len || (size_t)n >= DNAME_STRLEN)
		return -ENAMETOOLONG;
	return 0;
}

/* Short name of a status. */
const char *client_answer_status_name(enum client_answer_status s)
{
	switch (s) {
	case CLIENT_ANSWER_NONE: return "none";
	case CLIENT_ANSWER_OK: return "ok";
	case CLIENT_ANSWER_NXDOMAIN: return "nxdomain";
	case CLIENT_ANSWER_NODATA: return "nodata";
	case CLIENT_ANSWER_RCODE: return "rcode";
	case CLIENT_ANSWER_BAD: return "bad";
	}
	return "?";
}

/* Parse a presentation-form name; NULL when it is not one. */
static ldns_rdf *dname_from_str(const char *s)
{
	ldns_rdf *d = NULL;

	if (ldns_str2rdf_dname(&d, s) != LDNS_STATUS_OK)
		return NULL;
	return d;
}

/* True when two names are equal, ignoring letter case. */
static bool dname_equal(const ldns_rdf *a, const ldns_rdf *b)
{
	return a && b && ldns_rdf_get_type(a) == LDNS_RDF_TYPE_DNAME &&
	       ldns_rdf_get_type(b) == LDNS_RDF_TYPE_DNAME && ldns_dname_compare(a, b) == 0;
}

/*
 * The SRV target must name this peer in one of the two layouts:
 * B.ZONE (first plugin versions) or B._wireguard._udp.ZONE (later ones).
 */
static bool target_is_valid(const ldns_rdf *target, const uint8_t key[WG_KEY_LEN],
			    const ldns_rdf *zone, const ldns_rdf *service_zone)
{
	const uint8_t *wire = ldns_rdf_data(target);
	size_t size = ldns_rdf_size(target);
	uint8_t tkey[WG_KEY_LEN];
	char label[KEY_B32_LEN + 1];
	ldns_rdf *parent;
	bool ok = false;

	if (ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME || size < 2 || wire[0] == 0 ||
	    (size_t)wire[0] + 1 > size)
		return false;
	if (wire[0] != KEY_B32_LEN && wire[0] != KEY_B32_UNPADDED_LEN)
		return false;
	/* Decode the padded form: unpadded labels (52 digits) get their "====" back. */
	memcpy(label, wire + 1, wire[0]);
	memset(label + wire[0], '=', KEY_B32_LEN - wire[0]);
	label[KEY_B32_LEN] = '\0';
	if (key_from_base32(label, KEY_B32_LEN, tkey) != 0 || memcmp(tkey, key, WG_KEY_LEN) != 0)
		return false;
	parent = ldns_dname_left_chop(target);
	if (!parent)
		return false;
	ok = dname_equal(parent, zone) || dname_equal(parent, service_zone);
	ldns_rdf_deep_free(parent);
	return ok;
}

/* Read the TXT strings of the peer: "seen=" and a consistency check of "pub=". */
static int parse_txt(const ldns_rr *rr, const uint8_t key[WG_KEY_LEN], struct client_answer *out)
{
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(rdf);
		size_t size = ldns_rdf_size(rdf);
		char text[256];
		size_t n;

		if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_STR || size < 1 || (size_t)d[0] + 1 > size)
			continue;
		n = d[0];
		memcpy(text, d + 1, n);
		text[n] = '\0';
		if (strlen(text) != n)
			continue;   /* embedded NUL: not ours */
		if (strncmp(text, "seen=", 5) == 0) {
			char *end;
			unsigned long long v;

			if (!isdigit((unsigned char)text[5]))
				continue;
			errno = 0;
			v = strtoull(text + 5, &end, 10);
			if (errno || *end)
				continue;
			out->has_seen = true;
			out->seen = v;
		} else if (strncmp(text, "pub=", 4) == 0) {
			uint8_t pub[WG_KEY_LEN];

			if (key_from_base64(text + 4, pub) == 0 && memcmp(pub, key, WG_KEY_LEN) != 0)
				return -EBADMSG;
		}
	}
	return 0;
}

/* Add one A or AAAA record as an address with the answer's port; false if it is not one. */
static bool add_addr_rr(const ldns_rr *rr, struct client_answer *ans)
{
	const ldns_rdf *rdf;
	union sockaddr_any a;

	if (ldns_rr_rd_count(rr) != 1 || ans->n_addrs >= CLIENT_ANSWER_MAX_ADDRS)
		return false;
	rdf = ldns_rr_rdf(rr, 0);
	memset(&a, 0, sizeof(a));
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_A &&
	    ldns_rdf_size(rdf) == 4) {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(ans->port);
		memcpy(&a.in.sin_addr, ldns_rdf_data(rdf), 4);
	} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA &&
		   ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rdf) == 16) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(ans->port);
		memcpy(&a.in6.sin6_addr, ldns_rdf_data(rdf), 16);
		addr_unmap_v4(&a);
	} else {
		return false;
	}
	for (size_t i = 0; i < ans->n_addrs; i++)
		if (addr_equal(&ans->addrs[i], &a))
			return false;
	ans->addrs[ans->n_addrs++] = a;
	return true;
}

/* Add the target's A/AAAA records found in one section. */
static int add_addrs_from(const ldns_rr_list *list, const ldns_rdf *target, struct client_answer *ans)
{
	int added = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !dname_equal(ldns_rr_owner(rr), target))
			continue;
		if (add_addr_rr(rr, ans))
			added++;
	}
	return added;
}

/* Interpret an SRV response. */
void client_answer_parse_srv(const ldns_pkt *pkt, const uint8_t key[WG_KEY_LEN], const char *zone,
			     struct client_answer *out)
{
	char qname_str[DNAME_STRLEN + 32];
	ldns_rdf *qname = NULL, *zone_rdf = NULL, *service_zone = NULL, *target = NULL;
	const ldns_rr *srv = NULL;
	const ldns_rr_list *answer;
	char *text;

	memset(out, 0, sizeof(*out));
	out->rcode = (uint8_t)ldns_pkt_get_rcode(pkt);
	if (out->rcode == LDNS_RCODE_NXDOMAIN) {
		out->status = CLIENT_ANSWER_NXDOMAIN;
		return;
	}
	if (out->rcode != LDNS_RCODE_NOERROR) {
		out->status = CLIENT_ANSWER_RCODE;
		return;
	}
	out->status = CLIENT_ANSWER_BAD;
	if (client_answer_qname(key, zone, qname_str, sizeof(qname_str)) != 0)
		goto out;
	qname = dname_from_str(qname_str);
	zone_rdf = dname_from_str(zone);
	service_zone = qname ? ldns_dname_left_chop(qname) : NULL;
	if (!qname || !zone_rdf || !service_zone)
		goto out;

	/* Lowest priority SRV owned by the name asked for; others are ignored. */
	answer = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SRV || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 4 || !dname_equal(ldns_rr_owner(rr), qname))
			continue;
		if (!srv || ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) <
			    ldns_rdf2native_int16(ldns_rr_rdf(srv, 0)))
			srv = rr;
	}
	if (!srv) {
		out->status = CLIENT_ANSWER_NODATA;
		goto out;
	}
	out->port = ldns_rdf2native_int16(ldns_rr_rdf(srv, 2));
	target = ldns_rdf_clone(ldns_rr_rdf(srv, 3));
	if (!target || out->port == 0 || !target_is_valid(target, key, zone_rdf, service_zone))
		goto out;
	text = ldns_rdf2str(target);
	if (!text || strlen(text) >= sizeof(out->target)) {
		free(text);
		goto out;
	}
	for (char *p = text; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	strcpy(out->target, text);
	free(text);

	/* TXT of the service name, in the answer or additional section. */
	const ldns_rr_list *sections[2] = { ldns_pkt_answer(pkt), ldns_pkt_additional(pkt) };
	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(sections[s]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(sections[s], i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT &&
			    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
			    dname_equal(ldns_rr_owner(rr), qname) && parse_txt(rr, key, out) != 0)
				goto out;
		}
	}
	add_addrs_from(ldns_pkt_answer(pkt), target, out);
	add_addrs_from(ldns_pkt_additional(pkt), target, out);
	out->status = CLIENT_ANSWER_OK;
out:
	if (out->status != CLIENT_ANSWER_OK) {
		out->n_addrs = 0;
		out->has_seen = false;
		out->seen = 0;
		if (out->status != CLIENT_ANSWER_BAD)
			out->port = 0;
	}
	ldns_rdf_deep_free(qname);
	ldns_rdf_deep_free(zone_rdf);
	ldns_rdf_deep_free(service_zone);
	ldns_rdf_deep_free(target);
}

/* Add the target's addresses from an A/AAAA response. */
int client_answer_add_addrs(const ldns_pkt *pkt, struct client_answer *ans)
{
	ldns_rdf *target;
	int added;

	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR)
		return -EBADMSG;
	target = dname_from_str(ans->target);
	if (!target)
		return -EBADMSG;
	added = add_addrs_from(ldns_pkt_answer(pkt), target, ans);
	ldns_rdf_deep_free(target);
	return added;
}

/* True when a ranks before b (smaller seen; known seen before unknown). */
static bool answer_better(const struct client_answer *a, const struct client_answer *b)
{
	if (a->has_seen != b->has_seen)
		return a->has_seen;
	return a->has_seen && a->seen < b->seen;
}

/* Choose among the registries' answers. */
void client_answer_choose(const struct client_answer *const *answers, size_t n,
			  const union sockaddr_any *current, struct client_choice *out)
{
	const struct client_answer *best = NULL;
	int port = -1;

	memset(out, 0, sizeof(*out));
	out->index = -1;
	for (size_t i = 0; i < n; i++) {
		const struct client_answer *a = answers[i];

		if (!a || a->status != CLIENT_ANSWER_OK)
			continue;
		/* Different public ports seen by different registries: the NAT maps per destination. */
		if (port >= 0 && port != a->port)
			out->nat_symmetric = true;
		port = a->port;
		if (a->n_addrs == 0)
			continue;
		if (!best || answer_better(a, best)) {
			best = a;
			out->index = (int)i;
		}
	}
	if (!best)
		return;
	out->endpoint = best->addrs[0];
	/*
	 * An endpoint that some registry still reports is kept: behind a
	 * symmetric NAT the registries report different ports, and their seen
	 * values take turns being smallest, so following the best answer alone
	 * would rewrite the endpoint every cycle.
	 */
	if (current && current->sa.sa_family != AF_UNSPEC) {
		for (size_t i = 0; i < n; i++) {
			const struct client_answer *a = answers[i];
			if (!a || a->status != CLIENT_ANSWER_OK)
				continue;
			for (size_t j = 0; j < a->n_addrs; j++) {
				if (addr_equal(&a->addrs[j], current)) {
					out->endpoint = a->addrs[j];
					out->index = (int)i;
					return;
				}
			}
		}
	}
}

/* Short name of a class. */
const char *client_peer_class_name(enum client_peer_class c)
{
	switch (c) {
	case CLIENT_PEER_CANDIDATE: return "candidate";
	case CLIENT_PEER_FRESH: return "fresh";
	case CLIENT_PEER_EXCLUDED: return "excluded";
	case CLIENT_PEER_REGISTRY: return "registry";
	}
	return "?";
}

/* Classify a peer. */
enum client_peer_class client_answer_classify(const struct wg_peer *peer, int64_t now_sec,
					      unsigned int handshake_timeout_ms,
					      const uint8_t *exclude, size_t n_exclude,
					      const union sockaddr_any *registries, size_t n_registries)
{
	for (size_t i = 0; i < n_exclude; i++)
		if (memcmp(exclude + i * WG_KEY_LEN, peer->public_key, WG_KEY_LEN) == 0)
			return CLIENT_PEER_EXCLUDED;
	for (size_t i = 0; i < peer->n_allowed_ips; i++)
		for (size_t j = 0; j < n_registries; j++)
			if (cidr_contains(&peer->allowed_ips[i], &registries[j]))
				return CLIENT_PEER_REGISTRY;
	if (peer->last_handshake_sec == 0 && peer->last_handshake_nsec == 0)
		return CLIENT_PEER_CANDIDATE;
	/* A handshake "in the future" (clock stepped back) counts as fresh. */
	if (now_sec - peer->last_handshake_sec <= (int64_t)(handshake_timeout_ms / 1000))
		return CLIENT_PEER_FRESH;
	return CLIENT_PEER_CANDIDATE;
}

/* Why an endpoint cannot be written, or NULL. */
const char *client_answer_endpoint_problem(const union sockaddr_any *ep, const struct client_local *l)
{
	union sockaddr_any u = *ep;
	enum addr_ep e = addr_endpoint_check(&u);

	if (e != ADDR_EP_OK)
		return addr_endpoint_reason(e);
	addr_unmap_v4(&u);
	if (!l)
		return NULL;
	if (l->dev && l->dev->listen_port == addr_port(&u))
		for (size_t i = 0; i < l->n_addrs; i++)
			if (cidr_contains(&l->addrs[i], &u))
				return "this device's own listen address";
	for (size_t i = 0; i < l->n_dev_nets; i++)
		if (cidr_contains(&l->dev_nets[i], &u))
			return "inside the WireGuard interface's own network";
	if (!l->dev)
		return NULL;
	for (size_t i = 0; i < l->dev->n_peers; i++) {
		const struct wg_peer *wp = &l->dev->peers[i];

		/*
		 * A /0 is a full tunnel: wg-quick keeps WireGuard's own packets
		 * out of it with a fwmark rule, so it does not make a loop.
		 */
		for (size_t j = 0; j < wp->n_allowed_ips; j++)
			if (wp->allowed_ips[j].prefix > 0 && cidr_contains(&wp->allowed_ips[j], &u))
				return "inside a peer's allowed IPs (would loop into the tunnel)";
	}
	return NULL;
}

/* Drop unusable addresses from an answer. */
size_t client_answer_filter(struct client_answer *ans, const struct client_local *l, const char **why)
{
	size_t w = 0, dropped = 0;

	if (why)
		*why = NULL;
	for (size_t i = 0; i < ans->n_addrs; i++) {
		const char *problem = client_answer_endpoint_problem(&ans->addrs[i], l);

		if (problem) {
			if (why && !*why)
				*why = problem;
			dropped++;
			continue;
		}
		ans->addrs[w++] = ans->addrs[i];
	}
	ans->n_addrs = w;
	return dropped;
}
