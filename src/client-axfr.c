/* SPDX-License-Identifier: MIT */
/* Client role, mesh membership: a registry's zone read from an AXFR stream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "client-axfr.h"
#include "dns-pkt.h"

#define DNS_HEADER_LEN 12

/* An SRV record of B._wireguard._udp.ZONE. */
struct client_axfr_srv {
	uint8_t key[WG_KEY_LEN];
	uint16_t port;
	ldns_rdf *target;              /* canonical (lower case) */
};

/* A TXT record of B._wireguard._udp.ZONE. */
struct client_axfr_txt {
	uint8_t key[WG_KEY_LEN];
	ldns_rr *rr;
};

/* An A or AAAA record of any name in the zone. */
struct client_axfr_addr {
	ldns_rdf *owner;               /* canonical (lower case) */
	union sockaddr_any addr;
};

/* Grow an array to hold one more element of size bytes. 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *t;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	t = realloc(*arr, ncap * size);
	if (!t)
		return -ENOMEM;
	*arr = t;
	*cap = ncap;
	return 0;
}

/* Start reading a transfer. */
int client_axfr_init(struct client_axfr *x, const char *zone, size_t max_records, size_t max_bytes)
{
	char service[DNAME_STRLEN];

	memset(x, 0, sizeof(*x));
	x->max_records = max_records;
	x->max_bytes = max_bytes;
	if (client_members_listing_qname(zone, service, sizeof(service)) != 0 ||
	    ldns_str2rdf_dname(&x->service, service) != LDNS_STATUS_OK || !x->service)
		goto bad;
	/* service is _wireguard._udp.ZONE: two labels above it is the zone. */
	{
		ldns_rdf *udp = ldns_dname_left_chop(x->service);

		x->apex = udp ? ldns_dname_left_chop(udp) : NULL;
		ldns_rdf_deep_free(udp);
	}
	if (!x->apex)
		goto bad;
	return 0;
bad:
	client_axfr_free(x);
	return -EINVAL;
}

/* Free a result. */
void client_axfr_result_clear(struct client_axfr_result *r)
{
	for (size_t i = 0; i < r->n_peers; i++)
		free(r->peers[i].allowed);
	free(r->peers);
	client_members_listing_clear(&r->listing);
	memset(r, 0, sizeof(*r));
}

/* Free a transfer being read. */
void client_axfr_free(struct client_axfr *x)
{
	for (size_t i = 0; i < x->n_srv; i++)
		ldns_rdf_deep_free(x->srv[i].target);
	for (size_t i = 0; i < x->n_txt; i++)
		ldns_rr_free(x->txt[i].rr);
	for (size_t i = 0; i < x->n_addr; i++)
		ldns_rdf_deep_free(x->addr[i].owner);
	free(x->srv);
	free(x->txt);
	free(x->addr);
	free(x->keys);
	ldns_rdf_deep_free(x->apex);
	ldns_rdf_deep_free(x->service);
	client_axfr_result_clear(&x->res);
	memset(x, 0, sizeof(*x));
}

/* True when name is the apex or below it. */
static bool in_zone(const struct client_axfr *x, const ldns_rdf *name)
{
	return name && ldns_rdf_get_type(name) == LDNS_RDF_TYPE_DNAME &&
	       (ldns_dname_compare(name, x->apex) == 0 || ldns_dname_is_subdomain(name, x->apex));
}

/* True when name is exactly ref. */
static bool same_name(const ldns_rdf *name, const ldns_rdf *ref)
{
	return name && ldns_rdf_get_type(name) == LDNS_RDF_TYPE_DNAME && ldns_dname_compare(name, ref) == 0;
}

/* A name's canonical (lower-case) copy, NULL without memory. */
static ldns_rdf *canonical(const ldns_rdf *name)
{
	ldns_rdf *c = ldns_rdf_clone(name);

	if (c)
		ldns_dname2canonical(c);
	return c;
}

/* Keep one record of the zone body (not the SOAs). */
static int take_record(struct client_axfr *x, const ldns_rr *rr)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	ldns_rr_type type = ldns_rr_get_type(rr);
	uint8_t key[WG_KEY_LEN];

	if (!in_zone(x, owner)) {
		x->res.n_outside++;
		return 0;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return 0;
	switch (type) {
	case LDNS_RR_TYPE_PTR:
		if (!same_name(owner, x->service))
			return 0;
		if (ldns_rr_rd_count(rr) != 1 || !client_members_ptr_key(ldns_rr_rdf(rr, 0), x->service, key)) {
			x->res.listing.n_unreadable++;
			return 0;
		}
		if (grow((void **)&x->keys, &x->cap_keys, x->n_keys, WG_KEY_LEN) < 0)
			return -ENOMEM;
		memcpy(x->keys[x->n_keys++], key, WG_KEY_LEN);
		return 0;
	case LDNS_RR_TYPE_SRV: {
		struct client_axfr_srv *s;

		if (!client_members_ptr_key(owner, x->service, key))
			return 0;
		if (grow((void **)&x->srv, &x->cap_srv, x->n_srv, sizeof(*x->srv)) < 0)
			return -ENOMEM;
		s = &x->srv[x->n_srv];
		memcpy(s->key, key, WG_KEY_LEN);
		s->port = 0;
		s->target = NULL;
		/* A malformed SRV still counts: with two SRV records the peer is asked directly. */
		if (ldns_rr_rd_count(rr) == 4 && ldns_rdf_get_type(ldns_rr_rdf(rr, 2)) == LDNS_RDF_TYPE_INT16 &&
		    ldns_rdf_get_type(ldns_rr_rdf(rr, 3)) == LDNS_RDF_TYPE_DNAME) {
			s->port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
			s->target = canonical(ldns_rr_rdf(rr, 3));
			if (!s->target)
				return -ENOMEM;
		}
		x->n_srv++;
		return 0;
	}
	case LDNS_RR_TYPE_TXT: {
		ldns_rr *c;

		if (!client_members_ptr_key(owner, x->service, key))
			return 0;
		if (grow((void **)&x->txt, &x->cap_txt, x->n_txt, sizeof(*x->txt)) < 0)
			return -ENOMEM;
		c = ldns_rr_clone(rr);
		if (!c)
			return -ENOMEM;
		memcpy(x->txt[x->n_txt].key, key, WG_KEY_LEN);
		x->txt[x->n_txt++].rr = c;
		return 0;
	}
	case LDNS_RR_TYPE_A:
	case LDNS_RR_TYPE_AAAA: {
		const ldns_rdf *rd = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
		struct client_axfr_addr *a;

		if (!rd || ldns_rdf_size(rd) != (type == LDNS_RR_TYPE_A ? 4u : 16u))
			return 0;
		if (grow((void **)&x->addr, &x->cap_addr, x->n_addr, sizeof(*x->addr)) < 0)
			return -ENOMEM;
		a = &x->addr[x->n_addr];
		memset(a, 0, sizeof(*a));
		/* The port is the SRV's, set when the peers are built. */
		if (type == LDNS_RR_TYPE_A) {
			a->addr.in.sin_family = AF_INET;
			memcpy(&a->addr.in.sin_addr, ldns_rdf_data(rd), 4);
		} else {
			a->addr.in6.sin6_family = AF_INET6;
			memcpy(&a->addr.in6.sin6_addr, ldns_rdf_data(rd), 16);
		}
		a->owner = canonical(owner);
		if (!a->owner)
			return -ENOMEM;
		x->n_addr++;
		return 0;
	}
	default:
		return 0;
	}
}

/* The serial of an SOA record, false when it has no readable one. */
static bool soa_serial(const ldns_rr *rr, uint32_t *serial)
{
	const ldns_rdf *rd = ldns_rr_rd_count(rr) == 7 ? ldns_rr_rdf(rr, 2) : NULL;

	if (!rd || ldns_rdf_size(rd) != 4)
		return false;
	*serial = ldns_rdf2native_int32(rd);
	return true;
}

/* Read the next message of the stream. */
int client_axfr_feed(struct client_axfr *x, const uint8_t *wire, size_t len)
{
	ldns_pkt *pkt = NULL;
	const ldns_rr_list *an, *qd;
	int ret = 0;

	if (!x->apex || x->done || len < DNS_HEADER_LEN)
		return -EBADMSG;
	x->res.n_messages++;
	x->res.n_bytes += len;
	if (x->res.n_bytes > x->max_bytes)
		return -EFBIG;
	if (dns_pkt_from_wire(&pkt, wire, len) != LDNS_STATUS_OK)
		return -EBADMSG;
	if (!ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
		ret = -EBADMSG;
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
		x->rcode = (uint8_t)ldns_pkt_get_rcode(pkt);
		ret = -EREMOTEIO;
		goto out;
	}
	if (ldns_pkt_tc(pkt)) {
		ret = -EBADMSG;
		goto out;
	}
	/* RFC 5936 2.2: the question may be left out after the first message; when present it is ours. */
	qd = ldns_pkt_question(pkt);
	if (ldns_rr_list_rr_count(qd) > 1 ||
	    (ldns_rr_list_rr_count(qd) == 1 &&
	     (ldns_rr_get_type(ldns_rr_list_rr(qd, 0)) != LDNS_RR_TYPE_AXFR ||
	      ldns_rr_get_class(ldns_rr_list_rr(qd, 0)) != LDNS_RR_CLASS_IN ||
	      !same_name(ldns_rr_owner(ldns_rr_list_rr(qd, 0)), x->apex)))) {
		ret = -EBADMSG;
		goto out;
	}
	an = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		bool apex_soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && same_name(ldns_rr_owner(rr), x->apex);
		uint32_t serial;

		if (x->done) {
			ret = -EBADMSG;   /* records after the last SOA */
			goto out;
		}
		if (++x->res.n_records > x->max_records) {
			ret = -EFBIG;
			goto out;
		}
		if (!x->started) {
			if (!apex_soa || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !soa_serial(rr, &x->res.serial)) {
				ret = -EBADMSG;
				goto out;
			}
			x->started = true;
			continue;
		}
		if (apex_soa) {
			/* RFC 5936 2.2: the stream ends with the first SOA again. */
			if (!soa_serial(rr, &serial) || serial != x->res.serial) {
				ret = -EBADMSG;
				goto out;
			}
			x->done = true;
			continue;
		}
		ret = take_record(x, rr);
		if (ret < 0)
			goto out;
	}
	ret = x->done ? 1 : 0;
out:
	ldns_pkt_free(pkt);
	return ret;
}

/* Order address records by owner name. */
static int addr_cmp(const void *a, const void *b)
{
	return ldns_dname_compare(((const struct client_axfr_addr *)a)->owner,
				  ((const struct client_axfr_addr *)b)->owner);
}

/* Fill a peer's port, target and addresses from its single SRV record. */
static int peer_srv(struct client_axfr *x, struct client_axfr_peer *p)
{
	bool found;
	size_t i = key_search(x->srv, x->n_srv, sizeof(*x->srv), p->key, &found);
	const struct client_axfr_srv *s;
	char *text;
	size_t lo = 0, hi = x->n_addr;

	if (!found)
		return 0;
	s = &x->srv[i];
	/* Two SRV records, or one without a port or target: the zone does not say which; ask. */
	if ((i + 1 < x->n_srv && memcmp(x->srv[i + 1].key, p->key, WG_KEY_LEN) == 0) || !s->port || !s->target)
		return 0;
	text = ldns_rdf2str(s->target);
	if (!text)
		return -ENOMEM;
	if (strlen(text) >= sizeof(p->target)) {
		free(text);
		return 0;
	}
	strcpy(p->target, text);
	free(text);
	p->port = s->port;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ldns_dname_compare(x->addr[mid].owner, s->target) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < x->n_addr && p->n_addrs < CLIENT_ANSWER_MAX_ADDRS &&
	       ldns_dname_compare(x->addr[lo].owner, s->target) == 0; lo++) {
		union sockaddr_any a = x->addr[lo].addr;
		bool dup = false;

		if (a.sa.sa_family == AF_INET)
			a.in.sin_port = htons(p->port);
		else
			a.in6.sin6_port = htons(p->port);
		for (size_t k = 0; k < p->n_addrs && !dup; k++)
			dup = addr_equal(&p->addrs[k], &a);
		if (!dup)
			p->addrs[p->n_addrs++] = a;
	}
	return 0;
}

/* Fill a peer's allowed IPs from its single TXT record. */
static int peer_txt(struct client_axfr *x, struct client_axfr_peer *p, struct cidr *scratch)
{
	bool found;
	size_t i = key_search(x->txt, x->n_txt, sizeof(*x->txt), p->key, &found);
	int n;

	if (!found) {
		p->n_allowed = -ENODATA;
		return 0;
	}
	if (i + 1 < x->n_txt && memcmp(x->txt[i + 1].key, p->key, WG_KEY_LEN) == 0) {
		p->n_allowed = -EBADMSG;   /* two TXT records: which one holds the peer's data? */
		return 0;
	}
	n = client_members_txt_rr(x->txt[i].rr, p->key, scratch, CLIENT_MEMBERS_MAX_ALLOWED);
	if (n == -ENOMEM)
		return n;
	if (n > 0) {
		p->allowed = malloc((size_t)n * sizeof(*p->allowed));
		if (!p->allowed)
			return -ENOMEM;
		memcpy(p->allowed, scratch, (size_t)n * sizeof(*p->allowed));
	}
	p->n_allowed = n;
	return 0;
}

/* Build the listing and the peers of a finished transfer. */
int client_axfr_finish(struct client_axfr *x, struct client_axfr_result *out)
{
	struct client_axfr_result *r = &x->res;
	struct cidr *scratch = NULL;
	size_t w = 0;
	int ret = 0;

	client_axfr_result_clear(out);
	if (!x->done)
		return -EINVAL;
	if (x->n_keys > 1)
		qsort(x->keys, x->n_keys, WG_KEY_LEN, key_cmp);
	for (size_t i = 0; i < x->n_keys; i++)
		if (!w || memcmp(x->keys[w - 1], x->keys[i], WG_KEY_LEN) != 0)
			memmove(x->keys[w++], x->keys[i], WG_KEY_LEN);
	if (x->n_srv > 1)
		qsort(x->srv, x->n_srv, sizeof(*x->srv), key_cmp);
	if (x->n_txt > 1)
		qsort(x->txt, x->n_txt, sizeof(*x->txt), key_cmp);
	if (x->n_addr > 1)
		qsort(x->addr, x->n_addr, sizeof(*x->addr), addr_cmp);
	scratch = malloc(CLIENT_MEMBERS_MAX_ALLOWED * sizeof(*scratch));
	if (w) {
		r->peers = calloc(w, sizeof(*r->peers));
		r->listing.keys = malloc(w * WG_KEY_LEN);
	}
	if (!scratch || (w && (!r->peers || !r->listing.keys))) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < w; i++) {
		struct client_axfr_peer *p = &r->peers[i];

		memcpy(p->key, x->keys[i], WG_KEY_LEN);
		memcpy(r->listing.keys[i], x->keys[i], WG_KEY_LEN);
		r->n_peers++;
		r->listing.n_keys++;
		ret = peer_srv(x, p);
		if (ret == 0)
			ret = peer_txt(x, p, scratch);
		if (ret < 0)
			goto out;
	}
	r->listing.status = r->listing.n_unreadable ? CLIENT_LISTING_PARTIAL : CLIENT_LISTING_COMPLETE;
	*out = *r;
	memset(r, 0, sizeof(*r));
out:
	free(scratch);
	return ret;
}

/* Find a listed peer. */
const struct client_axfr_peer *client_axfr_find(const struct client_axfr_result *r, const uint8_t key[WG_KEY_LEN])
{
	bool found;
	size_t i = key_search(r->peers, r->n_peers, sizeof(*r->peers), key, &found);

	return found ? &r->peers[i] : NULL;
}
