/* SPDX-License-Identifier: MIT */
/* Client candidates: gathering, the registering UPDATE, reading a peer's candidates, path choice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "client-candidates.h"
#include "config.h"
#include "wire.h"

#define DNS_HEADER_LEN 12
#define TYPE_A 1
#define TYPE_SOA 6
#define TYPE_AAAA 28
#define TYPE_SRV 33
#define TYPE_OPT 41
#define TYPE_ANY 255
#define CLASS_IN 1
#define CLASS_ANY 255
#define OPCODE_UPDATE 5
#define LEASE_OPTION 2
#define LEASE_MIN_S 120
#define LEASE_MAX_S 3600

/* Point cc at a section's settings. */
void client_candidates_init(struct client_candidates *cc, const struct config_client *cfg)
{
	memset(cc, 0, sizeof(*cc));
	cc->gather = !cfg->cand_none;
	cc->statics = cfg->cand_statics;
	cc->n_statics = cfg->n_cand_statics;
	cc->exclude = cfg->cand_exclude;
	cc->n_exclude = cfg->n_cand_exclude;
}

/* Set or clear an extra candidate. */
int client_candidates_set_extra(struct client_candidates *cc, enum cand_kind kind, const union sockaddr_any *ep)
{
	union sockaddr_any v;

	if (kind != CAND_MAPPED)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	if (ep) {
		v = *ep;
		addr_unmap_v4(&v);
		if (addr_endpoint_check(&v) != ADDR_EP_OK)
			return -EINVAL;
	}
	if (addr_equal(&v, &cc->extra[kind]) ||
	    (v.sa.sa_family == AF_UNSPEC && cc->extra[kind].sa.sa_family == AF_UNSPEC))
		return 0;
	cc->extra[kind] = v;
	return 1;
}

/* True for an IPv6 unique local address (fc00::/7). */
static bool is_ula(const uint8_t a[16])
{
	return (a[0] & 0xfe) == 0xfc;
}

/* An IPv4 address another host may send to: not 0/8, loopback, link-local, multicast, reserved. */
static bool v4_unicast(const uint8_t a[4])
{
	return a[0] != 0 && a[0] != 127 && !(a[0] == 169 && a[1] == 254) && a[0] < 224;
}

/* An IPv6 address another host may send to: not ::, ::1, link-local, site-local, multicast, v4-mapped. */
static bool v6_unicast(const uint8_t a[16])
{
	static const uint8_t zero[16], mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
		return false;
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0x80)))
		return false;   /* ff00::/8, fe80::/10 and fec0::/10 */
	return memcmp(a, mapped, 12) != 0;
}

/* True when an address of family lies inside one of the prefixes. */
static bool in_cidrs(const struct cidr *c, size_t n, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_contains_raw(&c[i], family, addr))
			return true;
	return false;
}

/* An interface address usable as a candidate of this host (with candidates = auto). */
static bool ifaddr_usable(const struct client_candidates *cc, const struct cand_ifaddr *a, uint32_t wg_ifindex)
{
	if (a->ifindex == wg_ifindex || a->scope == RT_SCOPE_HOST || a->scope == RT_SCOPE_LINK ||
	    a->scope == RT_SCOPE_NOWHERE)
		return false;
	if (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED))
		return false;
	if (a->family == AF_INET) {
		if (!v4_unicast(a->addr))
			return false;
	} else if (a->family == AF_INET6) {
		/* IFA_F_TEMPORARY (RFC 8981 privacy addresses) shares its bit with IPv4's IFA_F_SECONDARY. */
		if (!v6_unicast(a->addr) || (a->flags & IFA_F_TEMPORARY))
			return false;
	} else {
		return false;
	}
	return !in_cidrs(cc->exclude, cc->n_exclude, a->family, a->addr);
}

/* Append a candidate unless its endpoint is there already or the list is full. */
static void own_add(struct cand_rec *own, size_t *n, const struct cand_rec *c)
{
	if (*n >= CLIENT_CANDIDATES_OWN_MAX)
		return;
	for (size_t i = 0; i < *n; i++)
		if (cand_same_endpoint(&own[i], c))
			return;
	own[(*n)++] = *c;
}

/* Order gathered candidates by family and address, so that the set does not depend on the kernel's order. */
static int gathered_cmp(const void *a, const void *b)
{
	const struct cand_rec *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* Recompute the own candidates. */
int client_candidates_update(struct client_candidates *cc, const struct cand_ifaddr *ifa, size_t n_ifa,
			     uint32_t wg_ifindex, uint16_t listen_port)
{
	struct cand_rec own[CLIENT_CANDIDATES_OWN_MAX], lan[CLIENT_CANDIDATES_OWN_MAX], v6[CLIENT_CANDIDATES_OWN_MAX];
	size_t n = 0, n_lan = 0, n_v6 = 0;
	uint8_t next[CAND_KIND_MAX] = { 0 };
	struct cand_rec c;

	memset(own, 0, sizeof(own));
	for (size_t i = 0; i < cc->n_statics; i++) {
		memset(&c, 0, sizeof(c));
		if (cand_from_sockaddr(&c, &cc->statics[i]) < 0)
			continue;
		c.kind = CAND_STATIC;
		if (c.port == 0)
			c.port = listen_port;
		if (c.port)
			own_add(own, &n, &c);
	}
	if (cc->extra[CAND_MAPPED].sa.sa_family != AF_UNSPEC) {
		memset(&c, 0, sizeof(c));
		if (cand_from_sockaddr(&c, &cc->extra[CAND_MAPPED]) == 0) {
			c.kind = CAND_MAPPED;
			own_add(own, &n, &c);
		}
	}
	for (size_t i = 0; cc->gather && listen_port && i < n_ifa; i++) {
		if (!ifaddr_usable(cc, &ifa[i], wg_ifindex))
			continue;
		memset(&c, 0, sizeof(c));
		c.family = ifa[i].family;
		memcpy(c.addr, ifa[i].addr, ifa[i].family == AF_INET ? 4 : 16);
		c.port = listen_port;
		if (ifa[i].family == AF_INET || is_ula(ifa[i].addr)) {
			c.kind = CAND_LAN;
			own_add(lan, &n_lan, &c);
		} else {
			c.kind = CAND_V6;
			own_add(v6, &n_v6, &c);
		}
	}
	qsort(lan, n_lan, sizeof(*lan), gathered_cmp);
	qsort(v6, n_v6, sizeof(*v6), gathered_cmp);
	for (size_t i = 0; i < n_lan; i++)
		own_add(own, &n, &lan[i]);
	for (size_t i = 0; i < n_v6; i++)
		own_add(own, &n, &v6[i]);
	for (size_t i = 0; i < n; i++)
		own[i].index = next[own[i].kind]++;
	if (n == cc->n_own && memcmp(own, cc->own, n * sizeof(*own)) == 0)
		return 0;
	memcpy(cc->own, own, sizeof(own));
	cc->n_own = n;
	return 1;
}

/* The lease to ask for. */
uint32_t client_candidates_lease_s(unsigned int interval_ms)
{
	uint64_t s = (uint64_t)interval_ms * 4 / 1000;

	return s < LEASE_MIN_S ? LEASE_MIN_S : s > LEASE_MAX_S ? LEASE_MAX_S : (uint32_t)s;
}

/* Write a presentation-form name (config-normalized: absolute, no escapes) in wire form. 0 or -EINVAL. */
static int put_zone(struct wire_writer *m, const char *zone)
{
	const char *p = zone;
	size_t total = 1;

	while (*p && strcmp(p, ".") != 0) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		uint8_t lb = (uint8_t)l;
		if (l == 0 || l > 63 || (total += l + 1) > 255)
			return -EINVAL;
		wire_put(m, &lb, 1);
		wire_put(m, p, l);
		p += l + (dot ? 1 : 0);
	}
	wire_put(m, "", 1);
	return 0;
}

/* Write the UPDATE that replaces this key's candidates. */
int client_candidates_update_msg(const uint8_t key[WG_KEY_LEN], const char *zone, const struct cand_rec *cands,
				 size_t n, uint32_t lease_s, uint8_t *out, size_t cap)
{
	static const uint8_t service[] = "\x07" CAND_SERVICE_LABEL "\x04_udp";
	struct wire_writer m = { .buf = out, .cap = cap };
	char b32[KEY_B32_LEN + 1];
	uint8_t blen = KEY_B32_LEN;
	size_t inst_off, n_add = 0;

	key_to_base32(key, b32);
	for (size_t i = 0; i < n; i++)
		n_add += cand_kind_registrable((enum cand_kind)cands[i].kind) ? 1 : 0;
	/* Header: opcode UPDATE; one zone, no prerequisites, 1 + 2 * n updates, the OPT. */
	wire_put16(&m, 0);
	wire_put16(&m, OPCODE_UPDATE << 11);
	wire_put16(&m, 1);
	wire_put16(&m, 0);
	wire_put16(&m, (uint16_t)(1 + 2 * n_add));
	wire_put16(&m, 1);
	if (put_zone(&m, zone) < 0)
		return -EINVAL;
	wire_put16(&m, TYPE_SOA);
	wire_put16(&m, CLASS_IN);
	/* Delete every RRset at B._wgcand._udp.ZONE (RFC 2136 2.5.3): the set is replaced. */
	inst_off = m.len;
	wire_put(&m, &blen, 1);
	wire_put(&m, b32, KEY_B32_LEN);
	wire_put(&m, service, sizeof(service) - 1);
	put_zone(&m, zone);
	wire_put16(&m, TYPE_ANY);
	wire_put16(&m, CLASS_ANY);
	wire_put32(&m, 0);
	wire_put16(&m, 0);
	for (size_t i = 0; i < n; i++) {
		const struct cand_rec *c = &cands[i];
		char label[CAND_LABEL_MAX];
		uint8_t llen = (uint8_t)cand_label(c, label);
		size_t rdlen_at, target_off;

		if (!llen)
			continue;
		/* SRV at the instance (owner compressed), target written in full (RFC 2782). */
		wire_put16(&m, (uint16_t)(0xc000 | inst_off));
		wire_put16(&m, TYPE_SRV);
		wire_put16(&m, CLASS_IN);
		wire_put32(&m, lease_s);
		rdlen_at = m.len;
		wire_put16(&m, 0);
		wire_put16(&m, 0);
		wire_put16(&m, 0);
		wire_put16(&m, c->port);
		target_off = m.len;
		wire_put(&m, &llen, 1);
		wire_put(&m, label, llen);
		wire_put(&m, &blen, 1);
		wire_put(&m, b32, KEY_B32_LEN);
		put_zone(&m, zone);
		if (m.full || target_off > 0x3fff)
			return -ENOBUFS;
		size_t rdlen = m.len - rdlen_at - 2;
		out[rdlen_at] = (uint8_t)(rdlen >> 8);
		out[rdlen_at + 1] = (uint8_t)rdlen;
		/* The target's address, owner compressed to the SRV target. */
		wire_put16(&m, (uint16_t)(0xc000 | target_off));
		wire_put16(&m, c->family == AF_INET ? TYPE_A : TYPE_AAAA);
		wire_put16(&m, CLASS_IN);
		wire_put32(&m, lease_s);
		wire_put16(&m, c->family == AF_INET ? 4 : 16);
		wire_put(&m, c->addr, c->family == AF_INET ? 4 : 16);
	}
	/* OPT: root, 1232-byte payload, version 0, the Update Lease (RFC 9664). */
	wire_put(&m, "", 1);
	wire_put16(&m, TYPE_OPT);
	wire_put16(&m, 1232);
	wire_put32(&m, 0);
	wire_put16(&m, 8);
	wire_put16(&m, LEASE_OPTION);
	wire_put16(&m, 4);
	wire_put32(&m, lease_s);
	return m.full ? -ENOBUFS : (int)m.len;
}

/* The lease in an UPDATE response. */
uint32_t client_candidates_granted_lease(const ldns_pkt *pkt)
{
	const ldns_rdf *d = ldns_pkt_edns_data(pkt);
	const uint8_t *p;
	size_t len;

	if (!d)
		return 0;
	p = ldns_rdf_data(d);
	len = ldns_rdf_size(d);
	for (size_t o = 0; len - o >= 4;) {
		uint16_t code = (uint16_t)(p[o] << 8 | p[o + 1]), olen = (uint16_t)(p[o + 2] << 8 | p[o + 3]);
		if (len - o - 4 < olen)
			break;
		if (code == LEASE_OPTION && (olen == 4 || olen == 8))
			return (uint32_t)p[o + 4] << 24 | (uint32_t)p[o + 5] << 16 | (uint32_t)p[o + 6] << 8 | p[o + 7];
		o += 4u + olen;
	}
	return 0;
}

/* Write "B._wgcand._udp.ZONE". */
int client_candidates_qname(const uint8_t key[WG_KEY_LEN], const char *zone, char *out, size_t len)
{
	char b32[KEY_B32_LEN + 1];
	int n;

	key_to_base32(key, b32);
	n = snprintf(out, len, "%s.%s._udp.%s", b32, CAND_SERVICE_LABEL, strcmp(zone, ".") == 0 ? "" : zone);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Check that target is <kind>-<n>.B.ZONE for this key (zone: wire form of
 * zlen bytes) and read the kind and index. 0 or -1.
 */
static int cand_target(const ldns_rdf *target, const uint8_t key[WG_KEY_LEN], const uint8_t *zone, size_t zlen,
		       enum cand_kind *kind, uint8_t *index)
{
	const uint8_t *w = ldns_rdf_data(target);
	size_t size = ldns_rdf_size(target), b;
	uint8_t k[WG_KEY_LEN];

	if (ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME || size < 2 || (size_t)w[0] + 2 > size)
		return -1;
	if (cand_label_parse(w + 1, w[0], kind, index) < 0)
		return -1;
	b = 1u + w[0];
	if (b + 1 + w[b] > size || key_from_base32((const char *)w + b + 1, w[b], k) < 0 ||
	    memcmp(k, key, WG_KEY_LEN) != 0)
		return -1;
	b += 1u + w[b];
	return size - b == zlen && wire_equal_nocase(w + b, zone, zlen) ? 0 : -1;
}

/* The first A or AAAA record owned by name in the answer or additional section. */
static const ldns_rr *find_addr(const ldns_pkt *pkt, const ldns_rdf *name)
{
	const ldns_rr_list *lists[2] = { ldns_pkt_answer(pkt), ldns_pkt_additional(pkt) };

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(lists[l]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(lists[l], i);
			ldns_rr_type t = ldns_rr_get_type(rr);
			if ((t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
			    ldns_rr_owner(rr) && ldns_dname_compare(ldns_rr_owner(rr), name) == 0 && ldns_rr_rd_count(rr) == 1)
				return rr;
		}
	}
	return NULL;
}

/* Read a peer's candidates from an SRV response. */
int client_candidates_parse(const ldns_pkt *pkt, const uint8_t key[WG_KEY_LEN], const char *zone,
			    struct cand_rec *out, size_t cap)
{
	char qname[DNAME_STRLEN + 80];
	uint8_t zbuf[256];
	struct wire_writer zm = { .buf = zbuf, .cap = sizeof(zbuf) };
	ldns_rdf *q = NULL;
	size_t n = 0;

	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN)
		return -ENOENT;
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR)
		return -EPROTO;
	if (put_zone(&zm, zone) < 0 || zm.full || client_candidates_qname(key, zone, qname, sizeof(qname)) < 0 ||
	    ldns_str2rdf_dname(&q, qname) != LDNS_STATUS_OK)
		return -EINVAL;
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an) && n < cap; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i), *a;
		struct cand_rec c;
		enum cand_kind kind;
		uint8_t index;
		bool dup = false;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SRV || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 4 || !ldns_rr_owner(rr) || ldns_dname_compare(ldns_rr_owner(rr), q) != 0)
			continue;
		const ldns_rdf *port = ldns_rr_rdf(rr, 2), *target = ldns_rr_rdf(rr, 3);
		if (ldns_rdf_size(port) != 2 || cand_target(target, key, zbuf, zm.len, &kind, &index) < 0)
			continue;
		a = find_addr(pkt, target);
		if (!a)
			continue;
		memset(&c, 0, sizeof(c));
		c.kind = (uint8_t)kind;
		c.index = index;
		c.port = ldns_rdf2native_int16(port);
		const ldns_rdf *ad = ldns_rr_rdf(a, 0);
		if (ldns_rr_get_type(a) == LDNS_RR_TYPE_A && ldns_rdf_size(ad) == 4) {
			c.family = AF_INET;
			memcpy(c.addr, ldns_rdf_data(ad), 4);
		} else if (ldns_rr_get_type(a) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(ad) == 16) {
			c.family = AF_INET6;
			memcpy(c.addr, ldns_rdf_data(ad), 16);
		} else {
			continue;
		}
		union sockaddr_any sa;
		cand_to_sockaddr(&c, &sa);
		if (addr_endpoint_check(&sa) != ADDR_EP_OK)
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = (out[j].kind == c.kind && out[j].index == c.index) || cand_same_endpoint(&out[j], &c);
		if (!dup)
			out[n++] = c;
	}
	ldns_rdf_deep_free(q);
	return (int)n;
}

/* True when the candidate's address lies in the subnet of one of this host's other interfaces. */
static bool on_local_subnet(const struct client_candidates_self *self, const struct cand_rec *c)
{
	for (size_t i = 0; i < self->n_ifaddrs; i++) {
		const struct cand_ifaddr *a = &self->ifaddrs[i];
		struct cidr net;

		if (a->ifindex == self->wg_ifindex || a->family != c->family || a->scope == RT_SCOPE_HOST ||
		    a->prefix == 0)
			continue;
		net.family = a->family;
		net.prefix = a->prefix;
		memcpy(net.addr, a->addr, 16);
		if (cidr_contains_raw(&net, c->family, c->addr))
			return true;
	}
	return false;
}

/* True when this host has a global IPv6 address on another interface than the WireGuard one. */
static bool has_global_v6(const struct client_candidates_self *self)
{
	for (size_t i = 0; i < self->n_ifaddrs; i++) {
		const struct cand_ifaddr *a = &self->ifaddrs[i];
		if (a->ifindex != self->wg_ifindex && a->family == AF_INET6 && a->scope == RT_SCOPE_UNIVERSE &&
		    v6_unicast(a->addr) && !is_ula(a->addr) && !(a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			return true;
	}
	return false;
}

/* Why a peer's candidate cannot work from here, NULL when it may. */
static const char *cand_skip(const struct client_candidates_self *self, const struct cand_rec *c,
			     const union sockaddr_any *ep, const union sockaddr_any *observed)
{
	const char *problem = self->local ? client_answer_endpoint_problem(ep, self->local) : NULL;
	bool behind_same = false;

	if (problem)
		return problem;
	if (c->kind == CAND_V6)
		return has_global_v6(self) ? NULL : "no global IPv6 address here";
	if (c->kind != CAND_LAN)
		return NULL;
	if (!on_local_subnet(self, c))
		return "not on a subnet of this host";
	/* A private IPv4 subnet repeats in every home: only behind the same public address is it the peer's. */
	if (c->family == AF_INET6)
		return NULL;
	if (self->n_public == 0)
		return "this host's public address is not known yet";
	for (size_t i = 0; observed && i < self->n_public && !behind_same; i++)
		behind_same = addr_same_ip(&self->public_addrs[i], observed);
	return behind_same ? NULL : "not behind this host's public address";
}

/* Append an entry unless an earlier one has its endpoint. */
static void order_add(struct client_candidates_try *out, size_t *n, size_t cap, uint8_t kind,
		      const union sockaddr_any *ep, const char *skip)
{
	union sockaddr_any e = *ep;

	addr_unmap_v4(&e);
	if (*n >= cap)
		return;
	for (size_t i = 0; i < *n; i++)
		if (addr_equal(&out[i].ep, &e))
			return;
	out[*n].kind = kind;
	out[*n].ep = e;
	out[*n].skip = skip;
	(*n)++;
}

/* Order a peer's candidates. */
size_t client_candidates_order(const struct client_candidates_self *self, const struct cand_rec *cands,
			       size_t n_cands, const union sockaddr_any *observed, const union sockaddr_any *remembered,
			       struct client_candidates_try *out, size_t cap)
{
	static const uint8_t before[] = { CAND_LAN, CAND_V6 }, after[] = { CAND_STATIC, CAND_MAPPED };
	bool have_observed = observed && (observed->sa.sa_family == AF_INET || observed->sa.sa_family == AF_INET6);
	size_t n = 0;

	for (size_t k = 0; k < sizeof(before); k++) {
		for (size_t i = 0; i < n_cands; i++) {
			union sockaddr_any ep;
			if (cands[i].kind != before[k])
				continue;
			cand_to_sockaddr(&cands[i], &ep);
			order_add(out, &n, cap, cands[i].kind, &ep, cand_skip(self, &cands[i], &ep, have_observed ? observed : NULL));
		}
	}
	if (have_observed)
		order_add(out, &n, cap, CAND_REGISTRY, observed, NULL);
	for (size_t k = 0; k < sizeof(after); k++) {
		for (size_t i = 0; i < n_cands; i++) {
			union sockaddr_any ep;
			if (cands[i].kind != after[k])
				continue;
			cand_to_sockaddr(&cands[i], &ep);
			order_add(out, &n, cap, cands[i].kind, &ep, cand_skip(self, &cands[i], &ep, observed));
		}
	}
	/* What worked last time goes first, if it may be tried now. */
	if (remembered && remembered->sa.sa_family != AF_UNSPEC) {
		union sockaddr_any r = *remembered;
		addr_unmap_v4(&r);
		for (size_t i = 1; i < n; i++) {
			if (!out[i].skip && addr_equal(&out[i].ep, &r)) {
				struct client_candidates_try t = out[i];
				memmove(out + 1, out, i * sizeof(*out));
				out[0] = t;
				break;
			}
		}
	}
	return n;
}

/* Fold bytes into a 64-bit FNV-1a hash. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Digest of the endpoints that may be tried. */
static uint64_t order_digest(const struct client_candidates_try *order, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		if (order[i].skip)
			continue;
		h = fnv(h, &order[i].kind, 1);
		h = fnv(h, &order[i].ep, sizeof(order[i].ep));
	}
	return h;
}

/* True when ep was tried in this round. */
static bool was_tried(const struct client_candidates_peer *st, const union sockaddr_any *ep)
{
	for (size_t i = 0; i < st->n_tried; i++)
		if (addr_equal(&st->tried[i], ep))
			return true;
	return false;
}

/* One step of a stale peer. */
enum client_candidates_action client_candidates_step(struct client_candidates_peer *st,
						     const struct client_candidates_try *order, size_t n,
						     const union sockaddr_any *device_ep, uint64_t now_ms,
						     unsigned int budget_ms, union sockaddr_any *write_ep)
{
	size_t triable = 0, pick = n;
	bool only_registry = true;
	uint64_t digest = order_digest(order, n);
	union sockaddr_any dev = *device_ep;

	addr_unmap_v4(&dev);
	for (size_t i = 0; i < n; i++) {
		if (order[i].skip)
			continue;
		triable++;
		only_registry = only_registry && order[i].kind == CAND_REGISTRY;
	}
	/* Nothing to choose between: the client's behaviour without candidates. */
	if (st->state != CLIENT_CANDIDATES_TRYING && (triable == 0 || (triable == 1 && only_registry))) {
		if (st->state == CLIENT_CANDIDATES_EXHAUSTED && digest != st->round_digest)
			st->state = CLIENT_CANDIDATES_IDLE;
		return CLIENT_CANDIDATES_DEFAULT;
	}
	if (st->state == CLIENT_CANDIDATES_EXHAUSTED) {
		if (now_ms - st->exhausted_at_ms < CLIENT_CANDIDATES_REST_MS && digest == st->round_digest)
			return CLIENT_CANDIDATES_DEFAULT;
		st->state = CLIENT_CANDIDATES_IDLE;
	}
	if (st->state == CLIENT_CANDIDATES_TRYING && now_ms - st->current_since_ms < budget_ms)
		return CLIENT_CANDIDATES_WAIT;
	if (st->state == CLIENT_CANDIDATES_IDLE)
		st->n_tried = 0;
	for (size_t i = 0; i < n && pick == n; i++)
		if (!order[i].skip && !was_tried(st, &order[i].ep))
			pick = i;
	st->round_digest = digest;
	memset(&st->current, 0, sizeof(st->current));
	if (pick == n || st->n_tried >= CLIENT_CANDIDATES_TRY_MAX) {
		st->state = CLIENT_CANDIDATES_EXHAUSTED;
		st->exhausted_at_ms = now_ms;
		return CLIENT_CANDIDATES_DEFAULT;
	}
	st->state = CLIENT_CANDIDATES_TRYING;
	st->current = order[pick].ep;
	st->current_kind = order[pick].kind;
	st->current_since_ms = now_ms;
	st->tried[st->n_tried] = order[pick].ep;
	st->tried_kind[st->n_tried] = order[pick].kind;
	st->n_tried++;
	if (order[pick].kind < CAND_KIND_MAX)
		st->attempts[order[pick].kind]++;
	if (addr_equal(&order[pick].ep, &dev))
		return CLIENT_CANDIDATES_WAIT;
	*write_ep = order[pick].ep;
	return CLIENT_CANDIDATES_WRITE;
}

/* The peer has a fresh handshake. */
void client_candidates_fresh(struct client_candidates_peer *st, const union sockaddr_any *device_ep,
			     const struct client_candidates_try *order, size_t n)
{
	union sockaddr_any dev = *device_ep;
	uint8_t kind = CAND_KIND_MAX;
	bool counted = false;

	addr_unmap_v4(&dev);
	if (st->state == CLIENT_CANDIDATES_IDLE && st->has_worked && addr_equal(&st->worked, &dev))
		return;
	for (size_t i = 0; i < st->n_tried && st->state == CLIENT_CANDIDATES_TRYING; i++) {
		if (addr_equal(&st->tried[i], &dev)) {
			kind = st->tried_kind[i];
			counted = true;
		}
	}
	for (size_t i = 0; i < n && kind == CAND_KIND_MAX; i++)
		if (addr_equal(&order[i].ep, &dev))
			kind = order[i].kind;
	if (counted && kind < CAND_KIND_MAX)
		st->successes[kind]++;
	if (dev.sa.sa_family == AF_INET || dev.sa.sa_family == AF_INET6) {
		st->has_worked = true;
		st->worked = dev;
		st->worked_kind = kind;
	}
	st->state = CLIENT_CANDIDATES_IDLE;
	st->n_tried = 0;
	memset(&st->current, 0, sizeof(st->current));
}

/* When the candidate in place runs out of time. */
uint64_t client_candidates_deadline(const struct client_candidates_peer *st, unsigned int budget_ms)
{
	return st->state == CLIENT_CANDIDATES_TRYING ? st->current_since_ms + budget_ms : 0;
}

/* True while the walk has something left to try. */
bool client_candidates_walking(const struct client_candidates_peer *st, const struct client_candidates_try *order,
			       size_t n, uint64_t now_ms, unsigned int budget_ms)
{
	bool untried = false;

	if (st->state == CLIENT_CANDIDATES_EXHAUSTED)
		return false;
	if (st->state == CLIENT_CANDIDATES_TRYING && now_ms - st->current_since_ms < budget_ms)
		return true;
	for (size_t i = 0; i < n && !untried; i++) {
		if (order[i].skip || order[i].kind == CAND_REGISTRY)
			continue;
		/* IDLE: a round starts with the next lookup and tries it (or the registry's endpoint first). */
		untried = st->state == CLIENT_CANDIDATES_IDLE || !was_tried(st, &order[i].ep);
	}
	if (st->state == CLIENT_CANDIDATES_TRYING && !untried) {
		/* The registry's endpoint ordered before the others may still be untried. */
		for (size_t i = 0; i < n && !untried; i++)
			untried = !order[i].skip && order[i].kind == CAND_REGISTRY && !was_tried(st, &order[i].ep);
	}
	return untried;
}

/* Digest of the entries that may be tried. */
uint64_t client_candidates_digest(const struct client_candidates_try *order, size_t n,
				  const union sockaddr_any *self_pub, size_t n_pub)
{
	uint64_t h = order_digest(order, n);

	for (size_t i = 0; i < n_pub; i++) {
		union sockaddr_any a = self_pub[i];
		addr_unmap_v4(&a);
		h = fnv(h, &a, sizeof(a));
	}
	return h ? h : 1;
}

/* A direct endpoint to try while relayed. */
bool client_candidates_pick_direct(const struct client_candidates_try *order, size_t n, unsigned int turn,
				   union sockaddr_any *out)
{
	static const uint8_t pref[] = { CAND_MAPPED, CAND_REGISTRY, CAND_STATIC, CAND_V6, CAND_LAN };
	size_t count = 0, want;

	for (size_t i = 0; i < n; i++)
		if (!order[i].skip)
			count++;
	if (!count)
		return false;
	want = turn % count;
	for (size_t k = 0; k < sizeof(pref); k++)
		for (size_t i = 0; i < n; i++) {
			if (order[i].skip || order[i].kind != pref[k])
				continue;
			if (want-- == 0) {
				*out = order[i].ep;
				return true;
			}
		}
	return false;
}

/* What became of an entry. */
const char *client_candidates_entry_state(const struct client_candidates_peer *st,
					  const struct client_candidates_try *t)
{
	if (t->skip)
		return "skipped";
	if (st->state == CLIENT_CANDIDATES_TRYING && addr_equal(&st->current, &t->ep))
		return "trying";
	if (st->state == CLIENT_CANDIDATES_IDLE && st->has_worked && addr_equal(&st->worked, &t->ep))
		return "worked";
	if (st->state != CLIENT_CANDIDATES_IDLE && was_tried(st, &t->ep))
		return "failed";
	return "untried";
}

/* Name of a state. */
const char *client_candidates_state_name(enum client_candidates_state s)
{
	return s == CLIENT_CANDIDATES_TRYING ? "trying" : s == CLIENT_CANDIDATES_EXHAUSTED ? "exhausted" : "idle";
}
