/* SPDX-License-Identifier: MIT */
/* Judge a DNS UPDATE that registers candidates, and answer it. Allocation-free, bounds-checked. */
#include <string.h>

#include "dns-answer.h"
#include "dns-query.h"
#include "registry-update.h"
#include "zone.h"
#include "wire.h"

#define OPT_RR_LEN 11
#define NAME_POINTERS_MAX 64
#define REL_LABELS_MAX 3

static const char *const why_names[RU_WHY_MAX] = {
	[RU_OK] = "ok",
	[RU_FORMERR] = "formerr",
	[RU_BADVERS] = "badvers",
	[RU_NOT_ZONE] = "not-zone",
	[RU_SERVFAIL] = "servfail",
	[RU_DISABLED] = "disabled",
	[RU_INTERFACE] = "interface",
	[RU_NOT_PEER] = "not-peer",
	[RU_PREREQ] = "prerequisite",
	[RU_OUTSIDE] = "outside-zone",
	[RU_FOREIGN] = "foreign-name",
	[RU_NOT_REPLACE] = "not-replace",
	[RU_UNSUPPORTED] = "unsupported",
	[RU_TOO_MANY] = "too-many",
	[RU_BAD_CANDIDATE] = "bad-candidate",
	[RU_ZONE_FULL] = "zone-full",
};

/* Short name of a verdict. */
const char *registry_update_why_name(enum registry_update_why w)
{
	return (unsigned int)w < RU_WHY_MAX ? why_names[w] : "?";
}

/* A name read from the message: lower-case wire form. */
struct name {
	uint8_t w[DNS_NAME_MAX_LEN];
	size_t len;
};

/*
 * Read a possibly compressed name at *pos into n (letters lowered) and move
 * *pos past it. Pointers must go strictly backwards (so the walk ends) and
 * at most NAME_POINTERS_MAX of them are followed. 0 or -1 when malformed.
 */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, struct name *n)
{
	size_t p = *pos, after = 0;
	unsigned int jumps = 0;

	n->len = 0;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 2 > len || ++jumps > NAME_POINTERS_MAX)
				return -1;
			size_t to = (size_t)(l & 0x3f) << 8 | msg[p + 1];
			if (!after)
				after = p + 2;
			if (to >= p)
				return -1;
			p = to;
			continue;
		}
		if (l & 0xc0)
			return -1;
		if (n->len + 1u + l > DNS_NAME_MAX_LEN || p + 1u + l > len)
			return -1;
		n->w[n->len++] = l;
		for (size_t i = 0; i < l; i++) {
			uint8_t ch = msg[p + 1 + i];
			n->w[n->len++] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch | 0x20) : ch;
		}
		p += 1u + l;
		if (l == 0)
			break;
	}
	*pos = after ? after : p;
	return 0;
}

/* The labels of a name below a zone apex: offsets into n->w of up to REL_LABELS_MAX labels. */
struct rel {
	size_t n;                     /* labels below the apex; REL_LABELS_MAX + 1 means more */
	size_t off[REL_LABELS_MAX];
};

/*
 * Split n against the apex (lower-case wire, apex_len bytes): -1 when n is
 * not at or below it, else 0 with the labels above the apex in r.
 */
static int name_rel(const struct name *n, const uint8_t *apex, size_t apex_len, struct rel *r)
{
	size_t pos = 0;

	r->n = 0;
	while (pos < n->len) {
		if (n->len - pos == apex_len)
			return memcmp(n->w + pos, apex, apex_len) == 0 ? 0 : -1;
		if (n->w[pos] == 0)
			return -1;
		if (r->n < REL_LABELS_MAX)
			r->off[r->n] = pos;
		r->n++;
		pos += 1u + n->w[pos];
	}
	return -1;
}

/* True when relative label i of n equals s. */
static bool rel_is(const struct name *n, const struct rel *r, size_t i, const char *s)
{
	size_t sl = strlen(s);

	return n->w[r->off[i]] == sl && memcmp(n->w + r->off[i] + 1, s, sl) == 0;
}

/* True when relative label i of n is the base32 of key. */
static bool rel_is_key(const struct name *n, const struct rel *r, size_t i, const uint8_t key[WG_KEY_LEN])
{
	uint8_t k[WG_KEY_LEN];
	const uint8_t *l = n->w + r->off[i];

	return key_from_base32((const char *)l + 1, l[0], k) == 0 && memcmp(k, key, WG_KEY_LEN) == 0;
}

/* What one of K's names is. */
enum own_name {
	OWN_NONE = 0,     /* not K's */
	OWN_INSTANCE,     /* B._wgcand._udp.Z */
	OWN_TARGET,       /* <label>.B.Z */
};

/* Classify a name (already known to be in the zone) against K's names. */
static enum own_name own_name(const struct name *n, const struct rel *r, const uint8_t key[WG_KEY_LEN])
{
	if (r->n == 3 && rel_is(n, r, 1, CAND_SERVICE_LABEL) && rel_is(n, r, 2, "_udp") && rel_is_key(n, r, 0, key))
		return OWN_INSTANCE;
	if (r->n == 2 && rel_is_key(n, r, 1, key))
		return OWN_TARGET;
	return OWN_NONE;
}

/* Set the verdict. */
static void verdict(struct registry_update *u, enum registry_update_why why, uint16_t rcode)
{
	u->why = why;
	u->rcode = rcode;
}

/* One record's fixed part, after its owner name. */
struct rr {
	struct name owner;
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata;                 /* offset of the rdata */
};

/* Read the record at *pos. 0 or -1 when malformed. */
static int read_rr(const uint8_t *msg, size_t len, size_t *pos, struct rr *rr)
{
	if (read_name(msg, len, pos, &rr->owner) < 0 || len - *pos < 10)
		return -1;
	rr->type = wire_get16(msg + *pos);
	rr->cls = wire_get16(msg + *pos + 2);
	rr->ttl = wire_get32(msg + *pos + 4);
	rr->rdlen = wire_get16(msg + *pos + 8);
	rr->rdata = *pos + 10;
	if (len - rr->rdata < rr->rdlen)
		return -1;
	*pos = rr->rdata + rr->rdlen;
	return 0;
}

/* The additional section: at most one OPT (owner root), nothing else. Sets EDNS and lease fields. */
static void read_additional(const uint8_t *msg, size_t len, size_t pos, unsigned int arcount,
			    struct registry_update *u, uint32_t *lease, bool *have_lease)
{
	bool seen_opt = false;

	for (unsigned int i = 0; i < arcount; i++) {
		struct rr rr;

		if (read_rr(msg, len, &pos, &rr) < 0) {
			verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
			return;
		}
		if (rr.type != DNS_TYPE_OPT) {
			/* TSIG, SIG(0): WireGuard authenticates, signatures are not read. */
			verdict(u, RU_UNSUPPORTED, DNS_RCODE_REFUSED);
			return;
		}
		if (seen_opt || rr.owner.len != 1) {
			verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
			return;
		}
		seen_opt = true;
		u->has_edns = true;
		if (((rr.ttl >> 16) & 0xff) != 0) {
			verdict(u, RU_BADVERS, DNS_RCODE_BADVERS);
			return;
		}
		for (size_t o = 0; o < rr.rdlen;) {
			if (rr.rdlen - o < 4) {
				verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
				return;
			}
			uint16_t code = wire_get16(msg + rr.rdata + o), olen = wire_get16(msg + rr.rdata + o + 2);
			if (rr.rdlen - o - 4 < olen) {
				verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
				return;
			}
			if (code == REGISTRY_UPDATE_LEASE_OPTION) {
				/* LEASE, optionally followed by KEY-LEASE (unused: no keys here). */
				if ((olen != 4 && olen != 8) || *have_lease) {
					verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
					return;
				}
				*lease = wire_get32(msg + rr.rdata + o + 4);
				*have_lease = true;
			}
			o += 4u + olen;
		}
	}
	if (pos != len)
		verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
}

/*
 * Find a well-formed OPT (owned by the root) in the additional section by
 * walking every record after the zone section, so that an early refusal
 * still answers an EDNS request with an OPT (RFC 6891 6.1.1).
 */
static void find_edns(const uint8_t *msg, size_t len, size_t pos, unsigned int before, unsigned int arcount,
		      struct registry_update *u)
{
	for (unsigned int i = 0; i < before + arcount; i++) {
		struct rr rr;

		if (read_rr(msg, len, &pos, &rr) < 0)
			return;
		if (i >= before && rr.type == DNS_TYPE_OPT && rr.owner.len == 1) {
			u->has_edns = true;
			return;
		}
	}
}

/* One SRV read from the update section, before it is paired with its address. */
struct srv {
	enum cand_kind kind;
	uint8_t index;
	uint16_t port;
};

/* One address record of a target. */
struct target_addr {
	enum cand_kind kind;
	uint8_t index;
	uint8_t family;
	uint8_t addr[16];
};

/* Collected adds of the update section. */
struct adds {
	struct srv srv[CAND_PEER_MAX];
	size_t n_srv;
	struct target_addr addr[CAND_PEER_MAX];
	size_t n_addr;
	bool deleted_all;
	unsigned int records;
};

/* Read the target label of a name <label>.B.Z known to be K's. -1 when it is no candidate label. */
static int target_label(const struct name *n, const struct rel *r, enum cand_kind *kind, uint8_t *index)
{
	const uint8_t *l = n->w + r->off[0];

	return cand_label_parse(l + 1, l[0], kind, index);
}

/* Judge one update-section record of K. Returns false once a verdict is set. */
static bool update_rr(const uint8_t *msg, size_t len, const struct zone *z, const struct rr *rr,
		      struct adds *a, struct registry_update *u)
{
	struct rel r;
	enum own_name own;
	enum cand_kind kind;
	uint8_t index;

	if (name_rel(&rr->owner, z->apex, z->apex_len, &r) < 0) {
		verdict(u, RU_OUTSIDE, DNS_RCODE_NOTZONE);
		return false;
	}
	own = own_name(&rr->owner, &r, u->key);
	if (own == OWN_NONE) {
		verdict(u, RU_FOREIGN, DNS_RCODE_REFUSED);
		return false;
	}
	a->records++;
	if (rr->cls == DNS_TYPE_ANY) {
		/* Delete an RRset or all RRsets at a name (RFC 2136 2.5.2, 2.5.3): TTL and RDLENGTH are zero. */
		if (rr->ttl != 0 || rr->rdlen != 0) {
			verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
			return false;
		}
		if (own == OWN_INSTANCE && (rr->type == DNS_TYPE_ANY || rr->type == DNS_TYPE_SRV)) {
			/* The replacement starts with the delete of the whole set. */
			if (a->records != 1) {
				verdict(u, RU_NOT_REPLACE, DNS_RCODE_REFUSED);
				return false;
			}
			a->deleted_all = true;
			return true;
		}
		if (own == OWN_TARGET && (rr->type == DNS_TYPE_ANY || rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA))
			return true;
		verdict(u, RU_UNSUPPORTED, DNS_RCODE_REFUSED);
		return false;
	}
	if (rr->cls == 254) {
		/* Class NONE deletes one record: only whole replacements are made. */
		verdict(u, RU_NOT_REPLACE, DNS_RCODE_REFUSED);
		return false;
	}
	if (rr->cls != DNS_CLASS_IN) {
		verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
		return false;
	}
	if (!a->deleted_all) {
		verdict(u, RU_NOT_REPLACE, DNS_RCODE_REFUSED);
		return false;
	}
	if (own == OWN_INSTANCE && rr->type == DNS_TYPE_SRV) {
		struct name t;
		struct rel tr;
		size_t p = rr->rdata + 6;

		if (rr->rdlen < 7 || read_name(msg, len, &p, &t) < 0 || p != rr->rdata + rr->rdlen) {
			verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
			return false;
		}
		if (name_rel(&t, z->apex, z->apex_len, &tr) < 0) {
			verdict(u, RU_OUTSIDE, DNS_RCODE_NOTZONE);
			return false;
		}
		if (own_name(&t, &tr, u->key) != OWN_TARGET) {
			verdict(u, RU_FOREIGN, DNS_RCODE_REFUSED);
			return false;
		}
		if (target_label(&t, &tr, &kind, &index) < 0) {
			verdict(u, RU_BAD_CANDIDATE, DNS_RCODE_REFUSED);
			return false;
		}
		if (a->n_srv == CAND_PEER_MAX) {
			verdict(u, RU_TOO_MANY, DNS_RCODE_REFUSED);
			return false;
		}
		for (size_t i = 0; i < a->n_srv; i++) {
			if (a->srv[i].kind == kind && a->srv[i].index == index) {
				verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
				return false;
			}
		}
		a->srv[a->n_srv].kind = kind;
		a->srv[a->n_srv].index = index;
		a->srv[a->n_srv].port = wire_get16(msg + rr->rdata + 4);
		a->n_srv++;
		return true;
	}
	if (own == OWN_TARGET && (rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA)) {
		uint8_t family = rr->type == DNS_TYPE_A ? AF_INET : AF_INET6;

		if (rr->rdlen != (family == AF_INET ? 4 : 16)) {
			verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
			return false;
		}
		if (target_label(&rr->owner, &r, &kind, &index) < 0) {
			verdict(u, RU_BAD_CANDIDATE, DNS_RCODE_REFUSED);
			return false;
		}
		if (a->n_addr == CAND_PEER_MAX) {
			verdict(u, RU_TOO_MANY, DNS_RCODE_REFUSED);
			return false;
		}
		for (size_t i = 0; i < a->n_addr; i++) {
			if (a->addr[i].kind == kind && a->addr[i].index == index) {
				verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
				return false;
			}
		}
		struct target_addr *t = &a->addr[a->n_addr++];
		t->kind = kind;
		t->index = index;
		t->family = family;
		memset(t->addr, 0, sizeof(t->addr));
		memcpy(t->addr, msg + rr->rdata, rr->rdlen);
		return true;
	}
	verdict(u, RU_UNSUPPORTED, DNS_RCODE_REFUSED);
	return false;
}

/* Pair SRVs with their addresses into u->cands and check each candidate. */
static void pair(const struct registry_update_env *env, const struct adds *a, struct registry_update *u)
{
	if (a->n_srv > env->per_peer) {
		verdict(u, RU_TOO_MANY, DNS_RCODE_REFUSED);
		return;
	}
	if (a->n_addr != a->n_srv) {
		verdict(u, RU_BAD_CANDIDATE, DNS_RCODE_REFUSED);
		return;
	}
	for (size_t i = 0; i < a->n_srv; i++) {
		const struct target_addr *t = NULL;
		struct cand_rec *c = &u->cands[i];
		union sockaddr_any sa;

		for (size_t j = 0; j < a->n_addr && !t; j++)
			if (a->addr[j].kind == a->srv[i].kind && a->addr[j].index == a->srv[i].index)
				t = &a->addr[j];
		if (!t) {
			verdict(u, RU_BAD_CANDIDATE, DNS_RCODE_REFUSED);
			return;
		}
		memset(c, 0, sizeof(*c));
		c->kind = (uint8_t)t->kind;
		c->index = t->index;
		c->family = t->family;
		c->port = a->srv[i].port;
		memcpy(c->addr, t->addr, 16);
		for (size_t j = 0; j < i; j++) {
			if (cand_same_endpoint(&u->cands[j], c)) {
				/* One endpoint, one candidate: two names for it would be tried twice. */
				verdict(u, RU_BAD_CANDIDATE, DNS_RCODE_REFUSED);
				return;
			}
		}
		cand_to_sockaddr(c, &sa);
		/* Only unicast endpoints others can send to; a global IPv6 candidate is IPv6. */
		if (addr_endpoint_check(&sa) != ADDR_EP_OK || (c->kind == CAND_V6 && c->family != AF_INET6)) {
			verdict(u, RU_BAD_CANDIDATE, DNS_RCODE_REFUSED);
			return;
		}
	}
	u->n = a->n_srv;
}

/* Find the served zone whose apex is exactly name n. */
static int find_zone(const struct registry_update_env *env, const struct name *n)
{
	for (size_t i = 0; i < env->n_zones; i++) {
		const struct zone *z = env->zones[i];
		if (z && z->apex_len == n->len && memcmp(z->apex, n->w, n->len) == 0)
			return (int)i;
	}
	return -1;
}

/* The sender's key: arrival on the zone's interface, source inside a peer's allowed IPs. */
static void authenticate(const struct zone *z, const struct dns_client *cl, struct registry_update *u)
{
	union sockaddr_any src = *cl->src;
	const uint8_t *key = NULL;

	if (z->ifindex == 0 || cl->ifindex != z->ifindex) {
		verdict(u, RU_INTERFACE, DNS_RCODE_REFUSED);
		return;
	}
	addr_unmap_v4(&src);
	if (src.sa.sa_family == AF_INET)
		key = zone_acl_owner(z, AF_INET, (const uint8_t *)&src.in.sin_addr);
	else if (src.sa.sa_family == AF_INET6)
		key = zone_acl_owner(z, AF_INET6, (const uint8_t *)&src.in6.sin6_addr);
	if (!key) {
		verdict(u, RU_NOT_PEER, DNS_RCODE_REFUSED);
		return;
	}
	memcpy(u->key, key, WG_KEY_LEN);
	u->has_key = true;
}

/* Judge an UPDATE. */
bool registry_update_parse(const struct registry_update_env *env, const struct dns_client *cl,
			   const uint8_t *msg, size_t len, struct registry_update *u)
{
	struct name zname;
	struct adds a;
	uint32_t lease = 0;
	bool have_lease = false;
	size_t pos = DNS_HEADER_LEN;

	memset(u, 0, sizeof(*u));
	u->zone = -1;
	if (len < DNS_HEADER_LEN || (msg[2] & 0x80) || ((msg[2] >> 3) & 0x0f) != DNS_OPCODE_UPDATE)
		return false;
	u->id = wire_get16(msg);
	uint16_t zocount = wire_get16(msg + 4), prcount = wire_get16(msg + 6);
	uint16_t upcount = wire_get16(msg + 8), adcount = wire_get16(msg + 10);

	/* Zone section: exactly one "ZONE SOA IN" (RFC 2136 3.1.1). */
	/* The zone name is written out: its bytes are echoed in the response. */
	if (zocount != 1 || read_name(msg, len, &pos, &zname) < 0 || pos - DNS_HEADER_LEN != zname.len || len - pos < 4 ||
	    wire_get16(msg + pos) != DNS_TYPE_SOA || wire_get16(msg + pos + 2) != DNS_CLASS_IN) {
		verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
		return true;
	}
	pos += 4;
	u->zone_end = pos;
	find_edns(msg, len, pos, (unsigned int)prcount + upcount, adcount, u);
	u->zone = find_zone(env, &zname);
	if (u->zone < 0) {
		verdict(u, RU_NOT_ZONE, DNS_RCODE_NOTAUTH);
		return true;
	}
	const struct zone *z = env->zones[u->zone];
	if (z->servfail) {
		verdict(u, RU_SERVFAIL, DNS_RCODE_SERVFAIL);
		return true;
	}
	if (env->per_peer == 0) {
		verdict(u, RU_DISABLED, DNS_RCODE_REFUSED);
		return true;
	}
	/* Who sent it, before reading anything else: a refusal costs little. */
	authenticate(z, cl, u);
	if (u->rcode)
		return true;
	if (prcount != 0) {
		verdict(u, RU_PREREQ, DNS_RCODE_REFUSED);
		return true;
	}
	if (upcount > REGISTRY_UPDATE_RECORDS_MAX) {
		verdict(u, RU_TOO_MANY, DNS_RCODE_REFUSED);
		return true;
	}
	memset(&a, 0, sizeof(a));
	/* Judge the whole section first: RFC 2136 3.4.1, nothing is applied unless all of it is. */
	for (unsigned int i = 0; i < upcount; i++) {
		struct rr rr;

		if (read_rr(msg, len, &pos, &rr) < 0) {
			verdict(u, RU_FORMERR, DNS_RCODE_FORMERR);
			return true;
		}
		if (!update_rr(msg, len, z, &rr, &a, u))
			return true;
	}
	read_additional(msg, len, pos, adcount, u, &lease, &have_lease);
	if (u->rcode)
		return true;
	if (!a.deleted_all) {
		verdict(u, RU_NOT_REPLACE, DNS_RCODE_REFUSED);
		return true;
	}
	u->has_lease_option = have_lease;
	if (have_lease && lease == 0) {
		/* Lease 0: the registration ends now (RFC 9664 4.2 for SRP). */
		u->n = 0;
		return true;
	}
	pair(env, &a, u);
	if (u->rcode)
		return true;
	if (!have_lease)
		lease = REGISTRY_UPDATE_LEASE_DEFAULT_S;
	if (lease > env->lease_max_s)
		lease = env->lease_max_s;
	if (lease < REGISTRY_UPDATE_LEASE_MIN_S)
		lease = REGISTRY_UPDATE_LEASE_MIN_S;
	u->lease_s = u->n ? lease : 0;
	return true;
}

/* Write the response. */
size_t registry_update_reply(const uint8_t *msg, size_t len, const struct registry_update *u, uint8_t *out,
			     size_t cap)
{
	size_t zlen = u->zone_end > DNS_HEADER_LEN && u->zone_end <= len ? u->zone_end - DNS_HEADER_LEN : 0;
	size_t need = DNS_HEADER_LEN + zlen + (u->has_edns ? OPT_RR_LEN + 8 : 0);
	size_t n = DNS_HEADER_LEN;

	if (len < DNS_HEADER_LEN || cap < need)
		return 0;
	memset(out, 0, DNS_HEADER_LEN);
	out[0] = (uint8_t)(u->id >> 8);
	out[1] = (uint8_t)u->id;
	out[2] = (uint8_t)(0x80 | DNS_OPCODE_UPDATE << 3);
	out[3] = (uint8_t)(u->rcode & 0x0f);
	if (zlen) {
		/* An uncompressed name (checked when read): it means the same in the response. */
		memcpy(out + n, msg + DNS_HEADER_LEN, zlen);
		n += zlen;
		out[5] = 1;
	}
	if (u->has_edns) {
		bool lease = u->has_lease_option && u->rcode == DNS_RCODE_NOERROR;
		uint16_t rdlen = lease ? 8 : 0;
		uint8_t opt[OPT_RR_LEN] = { 0, 0, DNS_TYPE_OPT, 0x04, 0xd0 };   /* root, OPT, 1232 bytes */

		opt[5] = (uint8_t)(u->rcode >> 4);
		opt[9] = (uint8_t)(rdlen >> 8);
		opt[10] = (uint8_t)rdlen;
		memcpy(out + n, opt, sizeof(opt));
		n += sizeof(opt);
		if (lease) {
			uint8_t o[8] = { 0, REGISTRY_UPDATE_LEASE_OPTION, 0, 4,
					 (uint8_t)(u->lease_s >> 24), (uint8_t)(u->lease_s >> 16),
					 (uint8_t)(u->lease_s >> 8), (uint8_t)u->lease_s };
			memcpy(out + n, o, sizeof(o));
			n += sizeof(o);
		}
		out[11] = 1;
	}
	return n;
}
