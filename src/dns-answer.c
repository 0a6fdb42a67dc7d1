/* SPDX-License-Identifier: MIT */
/* Build DNS responses from zone snapshots without allocating. */
#include <string.h>
#include <arpa/inet.h>

#include "cand.h"
#include "dns-answer.h"
#include "wire.h"
#include "zone.h"

#define OPT_RR_LEN 11
#define PTR_TO(off) ((uint16_t)(0xc000 | (off)))

/* Response being written (wire.h's bounded writer) and its section counts. */
struct writer {
	struct wire_writer out;
	uint16_t an, ns, ar;
};

/* What the query name is inside its zone. */
enum name_kind {
	NAME_NONE = 0,    /* does not exist: NXDOMAIN */
	NAME_APEX,
	NAME_EMPTY,       /* no records, names below it (empty non-terminal): NODATA */
	NAME_SERVICE,     /* _wireguard._udp.Z, while something is published */
	NAME_INSTANCE,    /* B._wireguard._udp.Z */
	NAME_HOST,        /* B.Z */
	NAME_NS,          /* the NS name, when it is in the zone and has glue */
	NAME_CAND_SERVICE,  /* _wgcand._udp.Z, while some entry has candidates */
	NAME_CAND_INSTANCE, /* B._wgcand._udp.Z of an entry with candidates */
	NAME_CAND_HOST,     /* <kind>-<n>.B.Z: the address of one candidate */
	NAME_RELAY_HOST,  /* _relay.Z: the relay's addresses */
	NAME_RELAY_PAIR,  /* <peer>.<self>._relay.Z */
};

/* Per-query state shared by the record writers. */
struct ctx {
	const struct dns_answer_env *env;
	const struct dns_client *cl;
	const struct dns_query *q;
	const struct zone *z;
	const struct zone_entry *e;
	const struct cand_rec *cand;   /* NAME_CAND_HOST */
	uint16_t apex_off;       /* offset of the zone name inside the copied question */
	struct writer w;
};

/* Start a record owned by the name at owner_off; returns the rdata length position. */
static size_t rr_begin(struct writer *w, uint16_t owner_off, uint16_t type, uint32_t ttl)
{
	wire_put16(&w->out, PTR_TO(owner_off));
	wire_put16(&w->out, type);
	wire_put16(&w->out, DNS_CLASS_IN);
	wire_put32(&w->out, ttl);
	size_t at = w->out.len;
	wire_put16(&w->out, 0);
	return at;
}

/* Finish a record: patch its rdata length. False (and the record removed) if it did not fit. */
static bool rr_end(struct writer *w, size_t mark, size_t rdlen_at, uint16_t *count)
{
	if (w->out.full) {
		w->out.len = mark;
		w->out.full = false;
		return false;
	}
	size_t rdlen = w->out.len - rdlen_at - 2;
	w->out.buf[rdlen_at] = (uint8_t)(rdlen >> 8);
	w->out.buf[rdlen_at + 1] = (uint8_t)rdlen;
	(*count)++;
	return true;
}

/* Label i of the query name (length byte first). */
static const uint8_t *qlabel(const uint8_t *msg, const struct dns_query *q, unsigned int i)
{
	return msg + DNS_QNAME_OFF + q->label_off[i];
}

/* True when label i equals the text s (case-insensitive). */
static bool label_is(const uint8_t *msg, const struct dns_query *q, unsigned int i, const char *s)
{
	const uint8_t *l = qlabel(msg, q, i);
	size_t n = strlen(s);

	return l[0] == n && wire_equal_nocase(l + 1, (const uint8_t *)s, n);
}

/* Find the zone with the longest name that contains the query name; sets *apex_off. */
static int find_zone(const struct dns_answer_env *env, const uint8_t *msg, const struct dns_query *q,
		     uint16_t *apex_off)
{
	int best = -1;
	unsigned int best_labels = 0;

	for (size_t i = 0; i < env->n_zones; i++) {
		const struct zone *z = env->zones[i];
		if (!z || z->apex_labels > q->n_labels)
			continue;
		unsigned int k = q->n_labels - z->apex_labels;
		size_t off = k < q->n_labels ? q->label_off[k] : (size_t)q->qname_len - 1;
		if (q->qname_len - off != z->apex_len)
			continue;
		if (!wire_equal_nocase(msg + DNS_QNAME_OFF + off, z->apex, z->apex_len))
			continue;
		if (best < 0 || z->apex_labels >= best_labels) {
			best = (int)i;
			best_labels = z->apex_labels;
			*apex_off = (uint16_t)(DNS_QNAME_OFF + off);
		}
	}
	return best;
}

/* True when the source may query zone z. */
static bool access_allowed(const struct dns_answer_env *env, const struct dns_client *cl, const struct zone *z)
{
	union sockaddr_any src = *cl->src;

	if (env->access == ACCESS_ANY || cl->trusted)
		return true;
	addr_unmap_v4(&src);
	if (env->access == ACCESS_CIDR) {
		for (size_t i = 0; i < env->n_access_cidrs; i++)
			if (cidr_contains(&env->access_cidrs[i], &src))
				return true;
		return false;
	}
	if (z->ifindex == 0 || cl->ifindex != z->ifindex)
		return false;
	if (src.sa.sa_family == AF_INET)
		return zone_acl_contains(z, AF_INET, (const uint8_t *)&src.in.sin_addr);
	if (src.sa.sa_family == AF_INET6)
		return zone_acl_contains(z, AF_INET6, (const uint8_t *)&src.in6.sin6_addr);
	return false;
}

/* True when wire name child (clen bytes) lies strictly below parent (plen bytes), ignoring case. */
static bool name_below(const uint8_t *child, size_t clen, const uint8_t *parent, size_t plen)
{
	for (size_t pos = 0; clen > plen && pos < clen - plen && child[pos]; pos += 1u + child[pos])
		if (clen - pos - (1u + child[pos]) == plen)
			return wire_equal_nocase(child + pos + 1 + child[pos], parent, plen);
	return false;
}

/*
 * True when some name of the zone lies below the query name (k labels below
 * the apex), which then exists without records: NODATA, not NXDOMAIN, since
 * an NXDOMAIN says that nothing exists below either (RFC 8020). Such names:
 * the service instances under _udp.Z while any is published, the in-zone NS
 * name when it has glue, and the apex of another served zone (zones Z and
 * a.b.Z without a delegation between them: b.Z exists in Z, as NSD answers
 * when it serves both).
 */
static bool has_names_below(const struct ctx *c, const uint8_t *msg, unsigned int k)
{
	const uint8_t *qname = msg + DNS_QNAME_OFF;
	size_t qlen = c->q->qname_len;

	if (k == 1 && c->z->n_entries && label_is(msg, c->q, 0, "_udp"))
		return true;
	if (c->z->ns_in_zone && (c->z->n_glue4 || c->z->n_glue6) && name_below(c->z->ns, c->z->ns_len, qname, qlen))
		return true;
	for (size_t i = 0; i < c->env->n_zones; i++) {
		const struct zone *o = c->env->zones[i];
		if (o && o != c->z && name_below(o->apex, o->apex_len, qname, qlen))
			return true;
	}
	return false;
}

/*
 * The candidate names (k labels below the apex), which exist only while
 * some entry has candidates: _wgcand._udp.Z, B._wgcand._udp.Z and
 * <kind>-<n>.B.Z. NAME_NONE for anything else.
 */
static enum name_kind classify_cand(struct ctx *c, const uint8_t *msg, unsigned int k)
{
	const struct dns_query *q = c->q;
	const uint8_t *l0 = qlabel(msg, q, 0), *l1;
	enum cand_kind kind;
	uint8_t index;

	if (k == 2 && label_is(msg, q, 0, CAND_SERVICE_LABEL) && label_is(msg, q, 1, "_udp"))
		return NAME_CAND_SERVICE;
	if (k == 3 && label_is(msg, q, 1, CAND_SERVICE_LABEL) && label_is(msg, q, 2, "_udp")) {
		c->e = zone_lookup(c->z, l0 + 1, l0[0]);
		if (c->e && c->e->n_cands)
			return NAME_CAND_INSTANCE;
	}
	if (k == 2 && cand_label_parse(l0 + 1, l0[0], &kind, &index) == 0) {
		l1 = qlabel(msg, q, 1);
		c->e = zone_lookup(c->z, l1 + 1, l1[0]);
		for (size_t i = 0; c->e && i < c->e->n_cands; i++) {
			const struct cand_rec *r = &c->z->cands[c->e->cand_first + i];
			if (r->kind == kind && r->index == index) {
				c->cand = r;
				return NAME_CAND_HOST;
			}
		}
	}
	c->e = NULL;
	return NAME_NONE;
}

/* Classify the query name relative to its zone (k labels below the apex). */
static enum name_kind classify(struct ctx *c, const uint8_t *msg)
{
	const struct dns_query *q = c->q;
	unsigned int k = q->n_labels - c->z->apex_labels;
	const uint8_t *l0 = k ? qlabel(msg, q, 0) : NULL;

	c->e = NULL;
	if (k == 0)
		return NAME_APEX;
	if (c->env->relay && label_is(msg, q, k - 1, "_relay")) {
		uint8_t key[WG_KEY_LEN];
		if (k == 1)
			return NAME_RELAY_HOST;
		if (k == 2)
			return key_from_base32((const char *)l0 + 1, l0[0], key) == 0 ? NAME_EMPTY : NAME_NONE;
		return k == 3 ? NAME_RELAY_PAIR : NAME_NONE;
	}
	/* The PTR listing exists while it lists something: an empty RRset is no RRset. */
	if (k == 2 && c->z->n_entries && label_is(msg, q, 0, "_wireguard") && label_is(msg, q, 1, "_udp"))
		return NAME_SERVICE;
	if (k == 3 && label_is(msg, q, 1, "_wireguard") && label_is(msg, q, 2, "_udp")) {
		c->e = zone_lookup(c->z, l0 + 1, l0[0]);
		if (c->e)
			return NAME_INSTANCE;
	}
	if (k == 1) {
		c->e = zone_lookup(c->z, l0 + 1, l0[0]);
		if (c->e)
			return NAME_HOST;
	}
	if (c->z->n_cand_entries) {
		enum name_kind kind = classify_cand(c, msg, k);
		if (kind != NAME_NONE)
			return kind;
	}
	if (c->z->ns_in_zone && (c->z->n_glue4 || c->z->n_glue6) && q->qname_len == c->z->ns_len &&
	    wire_equal_nocase(msg + DNS_QNAME_OFF, c->z->ns, c->z->ns_len))
		return NAME_NS;
	return has_names_below(c, msg, k) ? NAME_EMPTY : NAME_NONE;
}

/* Endpoint address of the entry for this query: family and bytes; false if none. */
static bool entry_addr(const struct ctx *c, int *family, const uint8_t **addr)
{
	const struct zone_entry *e = c->e;

	if (!e->self_auto) {
		*family = e->family;
		*addr = e->addr;
		return e->family == AF_INET || e->family == AF_INET6;
	}
	/* self = auto: the address this query arrived on, if other hosts can send to it. */
	const union sockaddr_any *l = c->cl->local;
	union sockaddr_any ep;
	if (!l)
		return false;
	if (l->sa.sa_family == AF_INET) {
		*family = AF_INET;
		*addr = (const uint8_t *)&l->in.sin_addr;
	} else if (l->sa.sa_family == AF_INET6) {
		const uint8_t *a6 = (const uint8_t *)&l->in6.sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&l->in6.sin6_addr)) {
			*family = AF_INET;
			*addr = a6 + 12;
		} else {
			*family = AF_INET6;
			*addr = a6;
		}
	} else {
		return false;
	}
	/* A query over loopback or to a link-local address: the endpoint would be useless to the asker. */
	memset(&ep, 0, sizeof(ep));
	ep.sa.sa_family = (sa_family_t)*family;
	if (*family == AF_INET) {
		memcpy(&ep.in.sin_addr, *addr, 4);
		ep.in.sin_port = htons(e->port);
	} else {
		memcpy(&ep.in6.sin6_addr, *addr, 16);
		ep.in6.sin6_port = htons(e->port);
	}
	return addr_endpoint_check(&ep) == ADDR_EP_OK;
}

/*
 * Write the A or AAAA record of the entry if its family is the asked one,
 * owned by the name at owner_off, or with label by B.<name at owner_off>.
 */
static bool put_entry_addr(struct ctx *c, bool label, uint16_t owner_off, uint16_t qtype, uint16_t *count)
{
	int family;
	const uint8_t *addr;
	uint8_t len = KEY_B32_LEN;

	if (!entry_addr(c, &family, &addr))
		return false;
	if (qtype == DNS_TYPE_ANY)
		qtype = family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
	if ((qtype == DNS_TYPE_A) != (family == AF_INET))
		return false;
	size_t mark = c->w.out.len;
	if (label) {
		wire_put(&c->w.out, &len, 1);
		wire_put(&c->w.out, c->e->label, KEY_B32_LEN);
	}
	size_t at = rr_begin(&c->w, owner_off, qtype, c->env->ttl);
	wire_put(&c->w.out, addr, family == AF_INET ? 4 : 16);
	return rr_end(&c->w, mark, at, count);
}

/* True when the entry has an endpoint address for this query. */
static bool entry_usable(const struct ctx *c)
{
	int family;
	const uint8_t *addr;

	return entry_addr(c, &family, &addr);
}

/* Write the decimal value of v into s; returns the length. */
static size_t fmt_u64(char *s, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		s[i++] = tmp[--n];
	return i;
}

/* Write the TXT record of the entry (precomputed part plus "seen="). */
static bool put_entry_txt(struct ctx *c, uint16_t owner_off, uint16_t *count)
{
	const struct zone_entry *e = c->e;
	char seen[32] = "seen=";
	size_t seen_len = 0;

	if (e->self) {
		seen[5] = '0';
		seen_len = 6;
	} else if (e->last_handshake_sec != 0) {
		int64_t d = (int64_t)c->env->now - e->last_handshake_sec;
		seen_len = 5 + fmt_u64(seen + 5, d > 0 ? (uint64_t)d : 0);
	}
	size_t mark = c->w.out.len;
	size_t at = rr_begin(&c->w, owner_off, DNS_TYPE_TXT, c->env->ttl);
	wire_put(&c->w.out, e->txt, e->txt_len);
	if (seen_len) {
		uint8_t l = (uint8_t)seen_len;
		wire_put(&c->w.out, &l, 1);
		wire_put(&c->w.out, seen, seen_len);
	}
	return rr_end(&c->w, mark, at, count);
}

/*
 * SRV of the instance, with A/AAAA of B.Z and TXT of the instance in
 * additional. The target B.Z is written in full: RFC 2782 forbids
 * compressing it, and RFC 3597 4 any name in the rdata of a type newer than
 * RFC 1035. The zone part is copied from the question (the query's case);
 * the A/AAAA owner is B and a pointer to the question's zone name, not into
 * the SRV rdata, as NSD writes it.
 */
static void put_srv(struct ctx *c)
{
	size_t mark = c->w.out.len;
	size_t at = rr_begin(&c->w, DNS_QNAME_OFF, DNS_TYPE_SRV, c->env->ttl);
	uint8_t len = KEY_B32_LEN;

	wire_put16(&c->w.out, 0);
	wire_put16(&c->w.out, 0);
	wire_put16(&c->w.out, c->e->port);
	wire_put(&c->w.out, &len, 1);
	wire_put(&c->w.out, c->e->label, KEY_B32_LEN);
	wire_put(&c->w.out, c->w.out.buf + c->apex_off, c->z->apex_len);
	if (!rr_end(&c->w, mark, at, &c->w.an)) {
		c->w.out.full = true;
		return;
	}
	/* Additional data is optional (RFC 2181 9): leave out what does not fit, no TC. */
	put_entry_addr(c, true, c->apex_off, DNS_TYPE_ANY, &c->w.ar);
	put_entry_txt(c, DNS_QNAME_OFF, &c->w.ar);
}

/* Write one record with fixed rdata. */
static bool put_rr(struct ctx *c, uint16_t owner_off, uint16_t type, const void *rdata, size_t n,
		   uint16_t *count)
{
	size_t mark = c->w.out.len;
	size_t at = rr_begin(&c->w, owner_off, type, c->env->ttl);

	wire_put(&c->w.out, rdata, n);
	return rr_end(&c->w, mark, at, count);
}

/* SOA of the zone, owned by the apex as the query spelled it. */
static bool put_soa(struct ctx *c, uint16_t *count)
{
	static const uint8_t hostmaster[] = "\x0ahostmaster";
	const struct zone *z = c->z;
	size_t mark = c->w.out.len;
	size_t at = rr_begin(&c->w, c->apex_off, DNS_TYPE_SOA, c->env->ttl);

	wire_put(&c->w.out, z->ns, z->ns_len);
	wire_put(&c->w.out, hostmaster, sizeof(hostmaster) - 1);
	wire_put16(&c->w.out, PTR_TO(c->apex_off));
	wire_put32(&c->w.out, z->serial);
	wire_put32(&c->w.out, z->refresh_s);
	wire_put32(&c->w.out, z->retry_s);
	wire_put32(&c->w.out, z->expire_s);
	wire_put32(&c->w.out, c->env->ttl);      /* minimum: negative answers live as long as positive ones */
	return rr_end(&c->w, mark, at, count);
}

/* NS at the apex, with glue for an in-zone name. */
static void put_ns(struct ctx *c)
{
	size_t target = c->w.out.len + 12;

	if (!put_rr(c, c->apex_off, DNS_TYPE_NS, c->z->ns, c->z->ns_len, &c->w.an)) {
		c->w.out.full = true;
		return;
	}
	if (!c->z->ns_in_zone || target > 0x3fff)
		return;
	for (size_t i = 0; i < c->z->n_glue4; i++)
		put_rr(c, (uint16_t)target, DNS_TYPE_A, c->z->glue4[i], 4, &c->w.ar);
	for (size_t i = 0; i < c->z->n_glue6; i++)
		put_rr(c, (uint16_t)target, DNS_TYPE_AAAA, c->z->glue6[i], 16, &c->w.ar);
}

/* A/AAAA records of the in-zone NS name. Returns the number written. */
static unsigned int put_ns_addrs(struct ctx *c, uint16_t qtype)
{
	unsigned int n = 0;

	if (qtype == DNS_TYPE_ANY)
		qtype = c->z->n_glue4 ? DNS_TYPE_A : DNS_TYPE_AAAA;
	if (qtype == DNS_TYPE_A)
		for (size_t i = 0; i < c->z->n_glue4; i++, n++)
			if (!put_rr(c, DNS_QNAME_OFF, DNS_TYPE_A, c->z->glue4[i], 4, &c->w.an))
				c->w.out.full = true;
	if (qtype == DNS_TYPE_AAAA)
		for (size_t i = 0; i < c->z->n_glue6; i++, n++)
			if (!put_rr(c, DNS_QNAME_OFF, DNS_TYPE_AAAA, c->z->glue6[i], 16, &c->w.an))
				c->w.out.full = true;
	return n;
}

/* The PTR listing: one record per published entry, as many as fit. */
static void put_ptr_listing(struct ctx *c)
{
	uint8_t rdata[1 + KEY_B32_LEN + 2];

	rdata[0] = KEY_B32_LEN;
	rdata[1 + KEY_B32_LEN] = (uint8_t)(PTR_TO(DNS_QNAME_OFF) >> 8);
	rdata[2 + KEY_B32_LEN] = (uint8_t)PTR_TO(DNS_QNAME_OFF);
	for (size_t i = 0; i < c->z->n_entries; i++) {
		memcpy(rdata + 1, c->z->entries[i].label, KEY_B32_LEN);
		if (!put_rr(c, DNS_QNAME_OFF, DNS_TYPE_PTR, rdata, sizeof(rdata), &c->w.an)) {
			c->w.out.full = true;
			return;
		}
	}
}

/* The PTR listing of _wgcand._udp.Z: one record per entry with candidates, as many as fit. */
static void put_cand_listing(struct ctx *c)
{
	uint8_t rdata[1 + KEY_B32_LEN + 2];

	rdata[0] = KEY_B32_LEN;
	rdata[1 + KEY_B32_LEN] = (uint8_t)(PTR_TO(DNS_QNAME_OFF) >> 8);
	rdata[2 + KEY_B32_LEN] = (uint8_t)PTR_TO(DNS_QNAME_OFF);
	for (size_t i = 0; i < c->z->n_entries; i++) {
		if (!c->z->entries[i].n_cands)
			continue;
		memcpy(rdata + 1, c->z->entries[i].label, KEY_B32_LEN);
		if (!put_rr(c, DNS_QNAME_OFF, DNS_TYPE_PTR, rdata, sizeof(rdata), &c->w.an)) {
			c->w.out.full = true;
			return;
		}
	}
}

/* Write a candidate's address record owned by the name at owner_off (qtype A, AAAA or ANY). */
static bool put_cand_addr(struct ctx *c, const struct cand_rec *r, uint16_t owner_off, uint16_t qtype,
			  uint16_t *count)
{
	uint16_t type = r->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;

	if (qtype != DNS_TYPE_ANY && qtype != type)
		return false;
	return put_rr(c, owner_off, type, r->addr, r->family == AF_INET ? 4 : 16, count);
}

/*
 * The candidates of an entry: one SRV per candidate at the question's name,
 * priority by kind, target <kind>-<n>.B.Z written in full (RFC 2782);
 * each target's A/AAAA in the additional section, owned by a pointer to
 * the target inside the SRV rdata. The addresses are what a candidate is
 * made of: when they do not all fit, the answer is truncated (TC=1) so
 * that the client asks over TCP instead of seeing half a candidate.
 */
static void put_cand_srvs(struct ctx *c)
{
	const struct zone_entry *e = c->e;
	uint16_t target_off[CAND_PEER_MAX];
	size_t n = e->n_cands > CAND_PEER_MAX ? CAND_PEER_MAX : e->n_cands;
	uint8_t blen = KEY_B32_LEN;

	for (size_t i = 0; i < n; i++) {
		const struct cand_rec *r = &c->z->cands[e->cand_first + i];
		char label[CAND_LABEL_MAX];
		uint8_t llen = (uint8_t)cand_label(r, label);
		size_t mark = c->w.out.len;
		size_t at = rr_begin(&c->w, DNS_QNAME_OFF, DNS_TYPE_SRV, c->env->ttl);

		wire_put16(&c->w.out, (uint16_t)((r->kind + 1) * 10));
		wire_put16(&c->w.out, 0);
		wire_put16(&c->w.out, r->port);
		target_off[i] = (uint16_t)(c->w.out.len > 0x3fff ? 0 : c->w.out.len);
		wire_put(&c->w.out, &llen, 1);
		wire_put(&c->w.out, label, llen);
		wire_put(&c->w.out, &blen, 1);
		wire_put(&c->w.out, e->label, KEY_B32_LEN);
		wire_put(&c->w.out, c->w.out.buf + c->apex_off, c->z->apex_len);
		if (!rr_end(&c->w, mark, at, &c->w.an) || target_off[i] == 0) {
			c->w.out.full = true;
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!put_cand_addr(c, &c->z->cands[e->cand_first + i], target_off[i], DNS_TYPE_ANY, &c->w.ar)) {
			c->w.out.full = true;
			return;
		}
	}
}

/* A and/or AAAA of the relay owned by the name at owner_off. Returns the number written. */
static unsigned int put_relay_addrs(struct ctx *c, uint16_t owner_off, uint16_t qtype, uint16_t *count)
{
	const struct dns_relay *r = c->env->relay;
	unsigned int n = 0;

	if (qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY)
		for (size_t i = 0; i < r->n_addr4; i++, n++)
			if (!put_rr(c, owner_off, DNS_TYPE_A, r->addr4[i], 4, count))
				return n;
	if (qtype == DNS_TYPE_AAAA || qtype == DNS_TYPE_ANY)
		for (size_t i = 0; i < r->n_addr6; i++, n++)
			if (!put_rr(c, owner_off, DNS_TYPE_AAAA, r->addr6[i], 16, count))
				return n;
	return n;
}

/*
 * True when the query comes from the peer with this key: on the zone's
 * interface, from an address whose longest allowed-IP match is that peer's
 * (the only peer WireGuard accepts packets from that source from).
 */
static bool relay_asker_is(const struct ctx *c, const uint8_t key[WG_KEY_LEN])
{
	union sockaddr_any src = *c->cl->src;
	const uint8_t *owner = NULL;

	if (c->z->ifindex == 0 || c->cl->ifindex != c->z->ifindex)
		return false;
	addr_unmap_v4(&src);
	if (src.sa.sa_family == AF_INET)
		owner = zone_acl_owner(c->z, AF_INET, (const uint8_t *)&src.in.sin_addr);
	else if (src.sa.sa_family == AF_INET6)
		owner = zone_acl_owner(c->z, AF_INET6, (const uint8_t *)&src.in6.sin6_addr);
	return owner && memcmp(owner, key, WG_KEY_LEN) == 0;
}

/*
 * <peer>.<self>._relay.Z: check the asker, allocate, and write the SRV with
 * the relay's addresses as additional data. Returns the rcode; NOERROR
 * without an answer record is NODATA.
 */
static uint16_t answer_relay_pair(struct ctx *c, const uint8_t *msg, enum dns_relay_result *res)
{
	const uint8_t *lp = qlabel(msg, c->q, 0), *ls = qlabel(msg, c->q, 1);
	uint16_t relay_off = (uint16_t)(DNS_QNAME_OFF + c->q->label_off[2]);
	uint8_t self[WG_KEY_LEN];
	uint16_t port;

	if (key_from_base32((const char *)ls + 1, ls[0], self) < 0 || !relay_asker_is(c, self)) {
		*res = DNS_RELAY_REFUSED;
		return DNS_RCODE_REFUSED;
	}
	c->e = zone_lookup(c->z, lp + 1, lp[0]);
	if (!c->e || c->e->self || memcmp(c->e->key, self, WG_KEY_LEN) == 0) {
		*res = DNS_RELAY_UNKNOWN;
		return DNS_RCODE_NXDOMAIN;
	}
	if (c->q->qtype != DNS_TYPE_SRV)
		return DNS_RCODE_NOERROR;
	if (c->env->relay->allocate(c->env->relay->arg, self, c->e->key, &port) < 0) {
		*res = DNS_RELAY_FAILED;
		return DNS_RCODE_SERVFAIL;
	}
	*res = DNS_RELAY_GRANTED;
	/* The target _relay.Z is written in full (RFC 2782), the zone part as the query spelled it. */
	size_t mark = c->w.out.len;
	size_t at = rr_begin(&c->w, DNS_QNAME_OFF, DNS_TYPE_SRV, c->env->ttl);
	wire_put16(&c->w.out, 0);
	wire_put16(&c->w.out, 0);
	wire_put16(&c->w.out, port);
	wire_put(&c->w.out, "\x06_relay", 7);
	wire_put(&c->w.out, c->w.out.buf + c->apex_off, c->z->apex_len);
	if (!rr_end(&c->w, mark, at, &c->w.an)) {
		c->w.out.full = true;
		return DNS_RCODE_NOERROR;
	}
	put_relay_addrs(c, relay_off, DNS_TYPE_ANY, &c->w.ar);
	return DNS_RCODE_NOERROR;
}

/* Fill the answer for an existing name; returns false for NODATA. */
static bool answer_name(struct ctx *c, enum name_kind kind)
{
	uint16_t qt = c->q->qtype;
	uint16_t before = c->w.an;

	switch (kind) {
	case NAME_APEX:
		if (qt == DNS_TYPE_SOA || qt == DNS_TYPE_ANY) {
			if (!put_soa(c, &c->w.an))
				c->w.out.full = true;
		} else if (qt == DNS_TYPE_NS) {
			put_ns(c);
		}
		break;
	case NAME_SERVICE:
		if (qt == DNS_TYPE_PTR)
			put_ptr_listing(c);
		else if (qt == DNS_TYPE_ANY && !put_rr(c, DNS_QNAME_OFF, DNS_TYPE_HINFO, "\x07RFC8482\x00", 9, &c->w.an))
			c->w.out.full = true;
		break;
	case NAME_INSTANCE:
		/* No usable address for this query (self = auto over loopback): no SRV either; ANY gets the TXT. */
		if ((qt == DNS_TYPE_SRV || qt == DNS_TYPE_ANY) && entry_usable(c))
			put_srv(c);
		else if ((qt == DNS_TYPE_TXT || qt == DNS_TYPE_ANY) && !put_entry_txt(c, DNS_QNAME_OFF, &c->w.an))
			c->w.out.full = true;
		else if (qt == DNS_TYPE_A || qt == DNS_TYPE_AAAA)
			put_entry_addr(c, false, DNS_QNAME_OFF, qt, &c->w.an);
		break;
	case NAME_HOST:
		if (qt == DNS_TYPE_A || qt == DNS_TYPE_AAAA || qt == DNS_TYPE_ANY)
			put_entry_addr(c, false, DNS_QNAME_OFF, qt, &c->w.an);
		break;
	case NAME_NS:
		put_ns_addrs(c, qt);
		break;
	case NAME_CAND_SERVICE:
		if (qt == DNS_TYPE_PTR)
			put_cand_listing(c);
		else if (qt == DNS_TYPE_ANY && !put_rr(c, DNS_QNAME_OFF, DNS_TYPE_HINFO, "\x07RFC8482\x00", 9, &c->w.an))
			c->w.out.full = true;
		break;
	case NAME_CAND_INSTANCE:
		if (qt == DNS_TYPE_SRV || qt == DNS_TYPE_ANY)
			put_cand_srvs(c);
		break;
	case NAME_CAND_HOST:
		if ((qt == DNS_TYPE_ANY || qt == (c->cand->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA)) &&
		    !put_cand_addr(c, c->cand, DNS_QNAME_OFF, qt, &c->w.an))
			c->w.out.full = true;
		break;
	case NAME_RELAY_HOST:
		if (qt == DNS_TYPE_A || qt == DNS_TYPE_AAAA || qt == DNS_TYPE_ANY)
			put_relay_addrs(c, DNS_QNAME_OFF, qt, &c->w.an);
		break;
	case NAME_RELAY_PAIR:
	case NAME_EMPTY:
	case NAME_NONE:
		break;
	}
	/* An answer that did not fit at all still is an answer: TC tells the client to retry over TCP. */
	return c->w.an != before || c->w.out.full;
}

/* Write the header of the response. */
static void put_header(struct writer *w, const struct dns_query *q, bool aa, uint16_t rcode)
{
	uint8_t h[DNS_HEADER_LEN] = { 0 };

	h[0] = (uint8_t)(q->id >> 8);
	h[1] = (uint8_t)q->id;
	h[2] = (uint8_t)(0x80 | q->opcode << 3 | (aa ? 0x04 : 0) | (q->rd ? 0x01 : 0));
	h[3] = (uint8_t)((q->cd ? 0x10 : 0) | (rcode & 0x0f));
	memcpy(w->out.buf, h, sizeof(h));
}

/* Write the section counts (and TC) into the header. */
static void finish_header(struct writer *w, uint16_t qd, bool tc)
{
	uint16_t counts[4] = { qd, w->an, w->ns, w->ar };

	for (int i = 0; i < 4; i++) {
		w->out.buf[4 + 2 * i] = (uint8_t)(counts[i] >> 8);
		w->out.buf[5 + 2 * i] = (uint8_t)counts[i];
	}
	if (tc)
		w->out.buf[2] |= 0x02;
}

/* Append the OPT record of the response (space for it was reserved). */
static void put_opt(struct writer *w, const struct dns_answer_env *env, const struct dns_query *q, uint16_t rcode)
{
	uint8_t opt[OPT_RR_LEN] = { 0 };
	uint16_t size = env->edns_size < DNS_UDP_MIN_SIZE ? DNS_UDP_MIN_SIZE : env->edns_size;

	opt[2] = DNS_TYPE_OPT;
	opt[3] = (uint8_t)(size >> 8);
	opt[4] = (uint8_t)size;
	opt[5] = (uint8_t)(rcode >> 4);
	opt[6] = 0;                        /* version 0 */
	opt[7] = q->edns_do ? 0x80 : 0;    /* RFC 3225: DO is copied */
	memcpy(w->out.buf + w->out.len, opt, sizeof(opt));
	w->out.len += sizeof(opt);
	w->ar++;
}

/* Largest response this query may receive. */
static size_t size_limit(const struct dns_answer_env *env, const struct dns_client *cl,
			 const struct dns_query *q, size_t cap)
{
	size_t lim;

	if (cl->tcp) {
		lim = DNS_TCP_MAX_SIZE;
	} else if (q->has_edns) {
		lim = q->edns_udp_size < env->edns_size ? q->edns_udp_size : env->edns_size;
		if (lim < DNS_UDP_MIN_SIZE)
			lim = DNS_UDP_MIN_SIZE;
	} else {
		lim = DNS_UDP_MIN_SIZE;
	}
	return lim < cap ? lim : cap;
}

/* Answer one query. */
size_t dns_answer(const struct dns_answer_env *env, const struct dns_client *cl,
		  const uint8_t *msg, size_t qlen, uint8_t *out, size_t cap,
		  struct dns_answer_info *info)
{
	struct dns_query q;
	struct ctx c = { .env = env, .cl = cl, .q = &q };
	uint16_t rcode = DNS_RCODE_NOERROR;
	bool aa = false, opt, tc = false;

	memset(info, 0, sizeof(*info));
	info->zone = -1;
	info->verdict = dns_query_parse(msg, qlen, &q);
	info->qtype = q.has_question ? q.qtype : 0;
	if (info->verdict == DNS_QUERY_DROP || cap < DNS_HEADER_LEN + OPT_RR_LEN)
		return 0;
	c.w.out.buf = out;
	c.w.out.cap = size_limit(env, cl, &q, cap);
	/* The question is at most 259 bytes after the header: it always fits in 512. */
	if (info->verdict == DNS_QUERY_FORMERR) {
		q.has_question = false;
		rcode = DNS_RCODE_FORMERR;
	} else if (info->verdict == DNS_QUERY_NOTIMP) {
		rcode = DNS_RCODE_NOTIMP;
	} else if (info->verdict == DNS_QUERY_BADVERS) {
		rcode = DNS_RCODE_BADVERS;
	}
	/* An OPT in the query gets one in the answer (RFC 6891 6.1.1): has_edns is only set for well-formed OPTs. */
	opt = q.has_edns;
	if (opt)
		c.w.out.cap -= OPT_RR_LEN;
	c.w.out.len = DNS_HEADER_LEN;
	if (q.has_question)
		wire_put(&c.w.out, msg + DNS_HEADER_LEN, q.question_end - DNS_HEADER_LEN);
	if (c.w.out.full)
		return 0;
	if (info->verdict != DNS_QUERY_OK)
		goto done;

	int zi = q.qclass == DNS_CLASS_IN ? find_zone(env, msg, &q, &c.apex_off) : -1;
	info->zone = zi;
	if (zi < 0 || q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
		rcode = DNS_RCODE_REFUSED;
		goto done;
	}
	c.z = env->zones[zi];
	if (c.z->servfail) {
		rcode = DNS_RCODE_SERVFAIL;
		goto done;
	}
	if (!access_allowed(env, cl, c.z)) {
		rcode = DNS_RCODE_REFUSED;
		info->refused_access = true;
		goto done;
	}
	aa = true;
	enum name_kind kind = classify(&c, msg);
	bool answered = false;
	if (kind == NAME_RELAY_PAIR) {
		rcode = answer_relay_pair(&c, msg, &info->relay);
		if (info->relay == DNS_RELAY_REFUSED)
			info->refused_access = true;
		if (rcode == DNS_RCODE_REFUSED || rcode == DNS_RCODE_SERVFAIL) {
			aa = false;
			goto done;
		}
		answered = c.w.an > 0 || c.w.out.full;
	} else if (kind == NAME_NONE) {
		rcode = DNS_RCODE_NXDOMAIN;
	} else {
		answered = answer_name(&c, kind);
	}
	if (!answered) {
		/* NXDOMAIN and NODATA carry the SOA for negative caching (RFC 2308). */
		if (!put_soa(&c, &c.w.ns))
			tc = true;
	}
	tc = tc || c.w.out.full;
done:
	c.w.out.full = false;
	if (opt) {
		c.w.out.cap += OPT_RR_LEN;
		put_opt(&c.w, env, &q, rcode);
	}
	put_header(&c.w, &q, aa, rcode);
	finish_header(&c.w, q.has_question ? 1 : 0, tc);
	info->rcode = rcode;
	info->truncated = tc;
	return c.w.out.len;
}
