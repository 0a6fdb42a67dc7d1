/* SPDX-License-Identifier: MIT */
/* Immutable per-zone snapshots: published entries, hash lookup, access set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <ldns/ldns.h>

#include "cand-store.h"
#include "clock.h"
#include "config.h"
#include "dns-query.h"
#include "wg.h"
#include "zone.h"

#define TXT_STRING_MAX 255
/* Room kept for the "seen=" string added at query time: its length byte, "seen=", 20 digits. */
#define TXT_SEEN_MAX 26
/*
 * Longest TXT rdata built for one entry, "seen=" included: with the longest
 * question, the record's header and an OPT record, the answer still fits one
 * 65535-byte TCP message. Allowed IPs beyond it (at least 3,000 IPv4 or
 * 1,200 IPv6 prefixes fit) are left out.
 */
#define TXT_RDATA_MAX (DNS_TCP_MAX_SIZE - DNS_HEADER_LEN - (DNS_NAME_MAX_LEN + 4) - 12 - 11)

/* Convert a presentation name to lower-case wire form with ldns. Returns the length or 0. */
static uint16_t name_to_wire(const char *text, uint8_t out[ZONE_WIRE_MAX], uint8_t *labels)
{
	ldns_rdf *rdf = NULL;
	uint16_t len = 0;

	if (ldns_str2rdf_dname(&rdf, text) != LDNS_STATUS_OK || !rdf)
		goto out;
	ldns_dname2canonical(rdf);
	size_t size = ldns_rdf_size(rdf);
	if (size == 0 || size > ZONE_WIRE_MAX)
		goto out;
	memcpy(out, ldns_rdf_data(rdf), size);
	if (labels)
		*labels = (uint8_t)ldns_dname_label_count(rdf);
	len = (uint16_t)size;
out:
	ldns_rdf_deep_free(rdf);
	return len;
}

/* True when wire name a (of alen) ends with b (of blen) at a label boundary. */
static bool name_is_below(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t pos = 0;

	while (pos < alen) {
		if (alen - pos == blen)
			return memcmp(a + pos, b, blen) == 0;
		if (a[pos] == 0)
			break;
		pos += 1u + a[pos];
	}
	return false;
}

/* Hash of a key: the key bytes are uniformly random already. */
static uint64_t key_hash(const uint8_t key[WG_KEY_LEN])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return h;
}

/* Find a published entry by key. */
const struct zone_entry *zone_lookup_key(const struct zone *z, const uint8_t key[WG_KEY_LEN])
{
	if (!z->table)
		return NULL;
	for (size_t i = (size_t)key_hash(key) & z->table_mask;; i = (i + 1) & z->table_mask) {
		uint32_t slot = z->table[i];
		if (slot == 0)
			return NULL;
		const struct zone_entry *e = &z->entries[slot - 1];
		if (memcmp(e->key, key, WG_KEY_LEN) == 0)
			return e;
	}
}

/* Find a published entry by its base32 label. */
const struct zone_entry *zone_lookup(const struct zone *z, const uint8_t *label, size_t len)
{
	uint8_t key[WG_KEY_LEN];

	if (key_from_base32((const char *)label, len, key) < 0)
		return NULL;
	return zone_lookup_key(z, key);
}

/* Final avalanche of a 64-bit value (MurmurHash3 fmix64): every input bit reaches the low bits. */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/*
 * Mix an ACL slot's identity into a hash. The table index takes the low
 * bits, so the high bytes of an address (an IPv4 address's last octets sit
 * in the upper half of a little-endian load) must reach them: without a full
 * avalanche, 10,000 /32s of one /16 collided into long probe runs.
 */
static uint64_t acl_hash(uint8_t family, uint8_t prefix, const uint8_t addr[16])
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	return mix64(a ^ mix64(b ^ ((uint64_t)family << 8 | prefix)));
}

/* Copy the first prefix bits of src into dst (16 bytes), zeroing the rest. */
static void mask_addr(uint8_t dst[16], const uint8_t *src, unsigned int alen, unsigned int prefix)
{
	unsigned int bytes = prefix / 8, bits = prefix % 8;

	memset(dst, 0, 16);
	memcpy(dst, src, bytes);
	if (bits && bytes < alen)
		dst[bytes] = (uint8_t)(src[bytes] & (0xff00 >> bits));
}

/* The slot of the longest allowed IP holding the address, or NULL. */
static const struct zone_acl_slot *acl_find(const struct zone *z, int family, const uint8_t *addr)
{
	uint8_t m[16];

	if (!z->acl)
		return NULL;
	for (size_t p = 0; p < z->n_acl_plens; p++) {
		const struct zone_acl_plen *pl = &z->acl_plens[p];
		if (pl->family != family)
			continue;
		mask_addr(m, addr, family == AF_INET ? 4 : 16, pl->prefix);
		for (size_t i = (size_t)acl_hash(pl->family, pl->prefix, m) & z->acl_mask;;
		     i = (i + 1) & z->acl_mask) {
			const struct zone_acl_slot *s = &z->acl[i];
			if (!s->used)
				break;
			if (s->family == pl->family && s->prefix == pl->prefix && memcmp(s->addr, m, 16) == 0)
				return s;
		}
	}
	return NULL;
}

/* True when the address is inside some peer's allowed IPs. */
bool zone_acl_contains(const struct zone *z, int family, const uint8_t *addr)
{
	return acl_find(z, family, addr) != NULL;
}

/* The peer WireGuard would accept a packet from this source address from. */
const uint8_t *zone_acl_owner(const struct zone *z, int family, const uint8_t *addr)
{
	const struct zone_acl_slot *s = acl_find(z, family, addr);

	return s ? z->acl_keys[s->owner] : NULL;
}

/* Smallest power of two >= 2n (at least 16). */
static size_t table_size(size_t n)
{
	size_t s = 16;

	while (s < 2 * n)
		s <<= 1;
	return s;
}

/* Insert one allowed IP of peer owner into the access set; records its prefix length. 0 or -ENOMEM. */
static int acl_insert(struct zone *z, const struct cidr *c, uint32_t owner)
{
	uint8_t m[16];
	unsigned int alen = c->family == AF_INET ? 4 : 16;

	if ((c->family != AF_INET && c->family != AF_INET6) || c->prefix > alen * 8)
		return 0;
	mask_addr(m, c->addr, alen, c->prefix);
	size_t i = (size_t)acl_hash(c->family, c->prefix, m) & z->acl_mask;
	for (;; i = (i + 1) & z->acl_mask) {
		struct zone_acl_slot *s = &z->acl[i];
		if (!s->used)
			break;
		if (s->family == c->family && s->prefix == c->prefix && memcmp(s->addr, m, 16) == 0)
			return 0;
	}
	z->acl[i].used = 1;
	z->acl[i].family = c->family;
	z->acl[i].prefix = c->prefix;
	z->acl[i].owner = owner;
	memcpy(z->acl[i].addr, m, 16);
	for (size_t p = 0; p < z->n_acl_plens; p++)
		if (z->acl_plens[p].family == c->family && z->acl_plens[p].prefix == c->prefix)
			return 0;
	/* At most 33 + 129 distinct lengths: the array was sized for that. */
	z->acl_plens[z->n_acl_plens].family = c->family;
	z->acl_plens[z->n_acl_plens].prefix = c->prefix;
	z->n_acl_plens++;
	return 0;
}

/* Order prefix lengths longest first (most specific match is found first). */
static int plen_cmp(const void *a, const void *b)
{
	const struct zone_acl_plen *x = a, *y = b;

	return (int)y->prefix - (int)x->prefix;
}

/* Size the access set for every allowed IP on the device. 0 or -ENOMEM. */
static int acl_alloc(struct zone *z, const struct wg_device *dev)
{
	size_t n = 0;

	for (size_t i = 0; i < dev->n_peers; i++)
		n += dev->peers[i].n_allowed_ips;
	if (n == 0)
		return 0;
	size_t size = table_size(n);
	z->acl = calloc(size, sizeof(*z->acl));
	z->acl_plens = calloc(33 + 129, sizeof(*z->acl_plens));
	z->acl_keys = calloc(dev->n_peers, sizeof(*z->acl_keys));
	if (!z->acl || !z->acl_plens || !z->acl_keys)
		return -ENOMEM;
	z->acl_mask = size - 1;
	return 0;
}

/* Append one character-string to a TXT rdata buffer; false when it does not fit. */
static bool txt_put(uint8_t *buf, size_t *len, size_t cap, const char *s, size_t n)
{
	if (n > TXT_STRING_MAX || *len + 1 + n > cap)
		return false;
	buf[(*len)++] = (uint8_t)n;
	memcpy(buf + *len, s, n);
	*len += n;
	return true;
}

/* Write v (0..255) in decimal at s; returns the length. */
static size_t put_dec(char *s, unsigned int v)
{
	size_t n = 0;

	if (v >= 100)
		s[n++] = (char)('0' + v / 100);
	if (v >= 10)
		s[n++] = (char)('0' + v / 10 % 10);
	s[n++] = (char)('0' + v % 10);
	return n;
}

/* Write a dotted-quad IPv4 address at s; returns the length. */
static size_t put_ipv4(char *s, const uint8_t a[4])
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		if (i)
			s[n++] = '.';
		n += put_dec(s + n, a[i]);
	}
	return n;
}

/*
 * Write an IPv6 address at s as glibc's inet_ntop does (RFC 5952 form): the
 * first longest run of two or more zero groups becomes "::", groups in
 * lower-case hex without leading zeros, and ::a.b.c.d / ::ffff:a.b.c.d
 * end in a dotted quad. Returns the length.
 */
static size_t put_ipv6(char *s, const uint8_t a[16])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	size_t n = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			cur_len++;
			if (cur_len > best_len)
				best = cur, best_len = cur_len;
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				s[n++] = ':';
			continue;
		}
		if (i)
			s[n++] = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return n + put_ipv4(s + n, a + 12);
		bool started = false;
		for (int shift = 12; shift >= 0; shift -= 4) {
			unsigned int d = (w[i] >> shift) & 0xf;
			if (d || started || shift == 0) {
				s[n++] = hex[d];
				started = true;
			}
		}
	}
	if (best >= 0 && best + best_len == 8)
		s[n++] = ':';
	return n;
}

/*
 * An allowed IP as text, exactly as cidr_format() writes it (inet_ntop and
 * "/prefix"), without inet_ntop and snprintf: they cost most of a
 * 10,000-peer snapshot build.
 */
static size_t txt_cidr(const struct cidr *c, char *out)
{
	size_t n;

	if (c->family == AF_INET) {
		n = put_ipv4(out, c->addr);
	} else if (c->family == AF_INET6) {
		n = put_ipv6(out, c->addr);
	} else {
		cidr_format(c, out, CIDR_STRLEN);
		return strlen(out);
	}
	out[n++] = '/';
	n += put_dec(out + n, c->prefix);
	out[n] = '\0';
	return n;
}

/* Write the key of allowed-IP string number part (1: "allowed=", 2: "allowed2=", ...) at s; returns the length. */
static size_t allowed_key(char *s, unsigned int part)
{
	size_t n = 7;

	memcpy(s, "allowed", 7);
	if (part > 1) {
		char d[8];
		size_t nd = 0;
		for (unsigned int v = part; v; v /= 10)
			d[nd++] = (char)('0' + v % 10);
		while (nd)
			s[n++] = d[--nd];
	}
	s[n++] = '=';
	return n;
}

/*
 * Write the TXT rdata of an entry (without "seen="): txtvers, pub and the
 * allowed IPs. RFC 6763 6.4 lets a reader take only the first string with a
 * key, and a string holds at most 255 bytes, so a longer list continues in
 * "allowed2=", "allowed3=", ..., split between prefixes; readers join them
 * in key order (client_members_allowed). Returns the length (buf holds
 * TXT_RDATA_MAX bytes); prefixes that do not fit are left out.
 */
static size_t build_txt(uint8_t *buf, const uint8_t key[WG_KEY_LEN], const struct cidr *ips, size_t n_ips)
{
	char b64[KEY_B64_LEN + 1], s[TXT_STRING_MAX + 1];
	size_t len = 0, slen, start;
	unsigned int part = 1;

	txt_put(buf, &len, TXT_RDATA_MAX, "txtvers=1", 9);
	key_to_base64(key, b64);
	memcpy(s, "pub=", 4);
	memcpy(s + 4, b64, KEY_B64_LEN);
	txt_put(buf, &len, TXT_RDATA_MAX, s, 4 + KEY_B64_LEN);
	slen = start = allowed_key(s, part);
	for (size_t i = 0; i < n_ips; i++) {
		char c[CIDR_STRLEN];
		size_t clen = txt_cidr(&ips[i], c);
		size_t need = clen + (slen > start ? 1 : 0);
		if (slen + need > TXT_STRING_MAX) {
			if (!txt_put(buf, &len, TXT_RDATA_MAX - TXT_SEEN_MAX, s, slen))
				return len;
			slen = start = allowed_key(s, ++part);
			need = clen;
		}
		if (slen > start)
			s[slen++] = ',';
		memcpy(s + slen, c, clen);
		slen += clen;
	}
	txt_put(buf, &len, TXT_RDATA_MAX - TXT_SEEN_MAX, s, slen);
	return len;
}

/* Fold bytes into h eight at a time (the tail with its length). */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = mix64(h ^ w);
	}
	if (n) {
		w = 0;
		memcpy(&w, p, n);
		h = mix64(h ^ w ^ ((uint64_t)n << 56));
	}
	return h;
}

/* Fill the published-entry fields of e from a key and endpoint. */
static void entry_set(struct zone_entry *e, const uint8_t key[WG_KEY_LEN], const union sockaddr_any *ep)
{
	char b32[KEY_B32_LEN + 1];

	memcpy(e->key, key, WG_KEY_LEN);
	key_to_base32(key, b32);
	memcpy(e->label, b32, KEY_B32_LEN);
	if (!ep || ep->sa.sa_family == AF_UNSPEC) {
		e->family = AF_UNSPEC;
		return;
	}
	union sockaddr_any a = *ep;
	addr_unmap_v4(&a);
	e->family = (uint8_t)a.sa.sa_family;
	if (a.sa.sa_family == AF_INET)
		memcpy(e->addr, &a.in.sin_addr, 4);
	else
		memcpy(e->addr, &a.in6.sin6_addr, 16);
	e->port = addr_port(&a);
}

/* Copy the configuration part (names, glue, timers) into z. 0 or -EINVAL/-ENOMEM. */
static int zone_set_config(struct zone *z, const struct config_zone *cz)
{
	char ns[DNAME_STRLEN + 8];

	snprintf(z->name, sizeof(z->name), "%s", cz->name);
	z->apex_len = name_to_wire(cz->name, z->apex, &z->apex_labels);
	if (z->apex_len == 0)
		return -EINVAL;
	if (cz->ns[0])
		snprintf(ns, sizeof(ns), "%s", cz->ns);
	else
		snprintf(ns, sizeof(ns), "ns1.%s", strcmp(cz->name, ".") == 0 ? "" : cz->name);
	z->ns_len = name_to_wire(ns, z->ns, NULL);
	if (z->ns_len == 0)
		return -EINVAL;
	z->ns_in_zone = z->ns_len > z->apex_len && name_is_below(z->ns, z->ns_len, z->apex, z->apex_len);
	if (cz->n_ns_addrs) {
		z->glue4 = calloc(cz->n_ns_addrs, sizeof(*z->glue4));
		z->glue6 = calloc(cz->n_ns_addrs, sizeof(*z->glue6));
		if (!z->glue4 || !z->glue6)
			return -ENOMEM;
	}
	for (size_t i = 0; i < cz->n_ns_addrs; i++) {
		union sockaddr_any a = cz->ns_addrs[i];
		addr_unmap_v4(&a);
		if (a.sa.sa_family == AF_INET)
			memcpy(z->glue4[z->n_glue4++], &a.in.sin_addr, 4);
		else if (a.sa.sa_family == AF_INET6)
			memcpy(z->glue6[z->n_glue6++], &a.in6.sin6_addr, 16);
	}
	z->refresh_s = cz->soa_refresh_s ? cz->soa_refresh_s : DEFAULT_SOA_REFRESH_S;
	z->retry_s = cz->soa_retry_s ? cz->soa_retry_s : DEFAULT_SOA_RETRY_S;
	z->expire_s = cz->soa_expire_s ? cz->soa_expire_s : DEFAULT_SOA_EXPIRE_S;
	return 0;
}

/*
 * A snapshot under construction: zone_build_step() adds peers a batch at a
 * time, so the registry can interleave the build with answering queries.
 * The TXT arena grows by realloc, so entries hold arena offsets until
 * zone_build_finish() turns them into pointers.
 */
struct zone_build {
	struct zone *z;
	const struct wg_device *dev;  /* the reading; the caller keeps it until finish or free */
	size_t next;                  /* index of the next peer to add */
	uint8_t *scratch;             /* one entry's TXT rdata */
	size_t arena_used;
	size_t arena_cap;
	uint64_t sum;                 /* sum of per-entry hashes: the digest of the published set */
	bool have_prev;
	uint32_t prev_serial;
	uint64_t prev_digest;
	time_t now;
	const struct cand_store *store;   /* candidates to publish, NULL: none */
	uint64_t store_now_ms;
	size_t cands_cap;
};

/* Hash of what a query can see of an entry (its TXT rdata and candidates are passed separately). */
static uint64_t entry_hash(const struct zone_entry *e, const uint8_t *txt, size_t txt_len,
			   const struct cand_rec *cands, size_t n_cands)
{
	uint64_t h = hash_bytes(0, e->key, WG_KEY_LEN);

	h = hash_bytes(h, e->addr, 16);
	h = mix64(h ^ ((uint64_t)e->family << 32 | (uint64_t)e->port << 8 | e->self_auto));
	h = hash_bytes(h, txt, txt_len);
	/* Without candidates the hash is what it was before they existed. */
	for (size_t i = 0; i < n_cands; i++) {
		const struct cand_rec *c = &cands[i];
		h = hash_bytes(h, c->addr, 16);
		h = mix64(h ^ ((uint64_t)c->kind << 40 | (uint64_t)c->index << 32 | (uint64_t)c->family << 16 | c->port));
	}
	return h;
}

/* Append an entry's candidates to the snapshot. 0 or -ENOMEM. */
static int add_cands(struct zone_build *b, struct zone_entry *e, const struct cand_rec *cands, size_t n)
{
	struct zone *z = b->z;

	if (n == 0)
		return 0;
	if (z->n_cands + n > b->cands_cap) {
		size_t ncap = (b->cands_cap + n) * 2;
		struct cand_rec *nc = realloc(z->cands, ncap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		z->cands = nc;
		b->cands_cap = ncap;
	}
	memcpy(z->cands + z->n_cands, cands, n * sizeof(*cands));
	e->cand_first = (uint32_t)z->n_cands;
	e->n_cands = (uint8_t)n;
	z->n_cands += n;
	z->n_cand_entries++;
	return 0;
}

/* Add a published entry with its TXT data and candidates; duplicates of a key are skipped. 0 or -ENOMEM. */
static int add_entry(struct zone_build *b, struct zone_entry *e, const struct cidr *ips, size_t n_ips,
		     const struct cand_rec *cands, size_t n_cands)
{
	struct zone *z = b->z;

	if (zone_lookup_key(z, e->key))
		return 0;
	if (n_cands > CAND_PEER_MAX)
		n_cands = CAND_PEER_MAX;
	if (add_cands(b, e, cands, n_cands) < 0)
		return -ENOMEM;
	size_t tlen = build_txt(b->scratch, e->key, ips, n_ips);
	if (b->arena_used + tlen > b->arena_cap) {
		size_t ncap = (b->arena_cap + tlen) * 2;
		uint8_t *n = realloc(z->txt_arena, ncap);
		if (!n)
			return -ENOMEM;
		z->txt_arena = n;
		b->arena_cap = ncap;
	}
	memcpy(z->txt_arena + b->arena_used, b->scratch, tlen);
	e->txt = (const uint8_t *)(uintptr_t)b->arena_used;
	e->txt_len = (uint16_t)tlen;
	b->arena_used += tlen;
	/* Backends list peers in any order (wireguard-go: map order): the digest is a sum. */
	b->sum += entry_hash(e, b->scratch, tlen, cands, n_cands);
	z->entries[z->n_entries] = *e;
	size_t i = (size_t)key_hash(e->key) & z->table_mask;
	while (z->table[i])
		i = (i + 1) & z->table_mask;
	z->table[i] = (uint32_t)(z->n_entries + 1);
	z->n_entries++;
	return 0;
}

/* Free a snapshot, or drop one reference. */
void zone_free(struct zone *z)
{
	if (!z)
		return;
	if (z->refs) {
		z->refs--;
		return;
	}
	free(z->glue4);
	free(z->glue6);
	free(z->entries);
	free(z->table);
	free(z->txt_arena);
	free(z->acl_plens);
	free(z->acl);
	free(z->acl_keys);
	free(z->cands);
	free(z);
}

/* Publish the device itself when self is configured and the key is known. 0 or -ENOMEM. */
static int add_self(struct zone_build *b, const struct config_zone *cz)
{
	const struct wg_device *dev = b->dev;
	struct zone_entry e = { 0 };

	if (cz->self == SELF_NONE || !dev->has_public_key)
		return 0;
	/* An endpoint no one can use is not published (auto: checked per query, with the arrival address). */
	enum addr_ep why = cz->self == SELF_FIXED ? addr_endpoint_check(&cz->self_endpoint) :
			   dev->listen_port == 0 ? ADDR_EP_PORT_ZERO : ADDR_EP_OK;
	if (why != ADDR_EP_OK) {
		b->z->self_unpublishable = (uint8_t)why;
		b->z->n_unpublishable++;
		return 0;
	}
	if (cz->self == SELF_FIXED) {
		entry_set(&e, dev->public_key, &cz->self_endpoint);
	} else {
		entry_set(&e, dev->public_key, NULL);
		e.self_auto = true;
		e.port = dev->listen_port;
	}
	e.self = true;
	return add_entry(b, &e, cz->self_allowed_ips, cz->n_self_allowed_ips, NULL, 0);
}

/* Free a build and its partial snapshot. */
void zone_build_free(struct zone_build *b)
{
	if (!b)
		return;
	zone_free(b->z);
	free(b->scratch);
	free(b);
}

/* Start a build: the configuration part, the tables sized for every peer, and self. */
struct zone_build *zone_build_new(const struct config_zone *cz, const struct wg_device *dev,
				  const struct zone *prev, time_t now)
{
	struct zone_build *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->dev = dev;
	b->now = now;
	if (prev) {
		b->have_prev = true;
		b->prev_serial = prev->serial;
		b->prev_digest = prev->digest;
	}
	struct zone *z = b->z = calloc(1, sizeof(*z));
	if (!z || zone_set_config(z, cz) < 0)
		goto fail;
	z->ifindex = dev->ifindex;
	z->listen_port = dev->listen_port;
	z->n_peers = dev->n_peers;
	size_t max_entries = dev->n_peers + 1;
	z->entries = calloc(max_entries, sizeof(*z->entries));
	z->table = calloc(table_size(max_entries), sizeof(*z->table));
	b->scratch = malloc(TXT_RDATA_MAX);
	if (!z->entries || !z->table || !b->scratch)
		goto fail;
	z->table_mask = table_size(max_entries) - 1;
	if (acl_alloc(z, dev) < 0 || add_self(b, cz) < 0)
		goto fail;
	return b;
fail:
	zone_build_free(b);
	return NULL;
}

/* Add up to max_peers more peers. 1 when every peer is in, 0 when some remain, -ENOMEM. */
int zone_build_step(struct zone_build *b, size_t max_peers)
{
	const struct wg_device *dev = b->dev;

	if (max_peers == 0)
		max_peers = 1;   /* always progress */
	size_t end = dev->n_peers - b->next > max_peers ? b->next + max_peers : dev->n_peers;

	for (; b->next < end; b->next++) {
		const struct wg_peer *p = &dev->peers[b->next];
		const struct cand_rec *cands = NULL;
		size_t n_cands = 0;
		if (b->z->acl) {
			memcpy(b->z->acl_keys[b->next], p->public_key, WG_KEY_LEN);
			for (size_t j = 0; j < p->n_allowed_ips; j++)
				acl_insert(b->z, &p->allowed_ips[j], (uint32_t)b->next);
		}
		if (p->endpoint.sa.sa_family != AF_INET && p->endpoint.sa.sa_family != AF_INET6)
			continue;
		/* Port 0, unspecified, loopback, multicast, broadcast, link-local: as if it had none. */
		if (addr_endpoint_check(&p->endpoint) != ADDR_EP_OK) {
			b->z->n_unpublishable++;
			continue;
		}
		struct zone_entry e = { 0 };
		entry_set(&e, p->public_key, &p->endpoint);
		e.last_handshake_sec = p->last_handshake_sec;
		if (b->store)
			cands = cand_store_get(b->store, p->public_key, b->store_now_ms, &n_cands);
		if (add_entry(b, &e, p->allowed_ips, p->n_allowed_ips, cands, n_cands) < 0)
			return -ENOMEM;
	}
	return b->next == dev->n_peers;
}

/* Publish a store's candidates with this build. */
void zone_build_set_cands(struct zone_build *b, const struct cand_store *store, uint64_t now_ms)
{
	b->store = store;
	b->store_now_ms = now_ms;
	/* Room for every stored candidate at once: no growth while the peers are added. */
	size_t n = store ? cand_store_count(store) : 0;
	if (n && !b->z->cands) {
		b->z->cands = malloc(n * sizeof(*b->z->cands));
		if (b->z->cands)
			b->cands_cap = n;
	}
}

/* Steps until the budget is used up. */
int zone_build_run(struct zone_build *b, unsigned int budget_us)
{
	uint64_t start = clock_monotonic_us();
	int r;

	do
		r = zone_build_step(b, ZONE_BUILD_BATCH);
	while (r == 0 && clock_monotonic_us() - start < budget_us);
	return r;
}

/* The serial after prev (see zone.h). */
uint32_t zone_serial_next(uint32_t prev, time_t now)
{
	uint32_t next = prev + 1;

	return (int32_t)((uint32_t)now - next) > 0 ? (uint32_t)now : next;
}

/* Complete a build whose steps are done: pointers, serial, prefix order. */
struct zone *zone_build_finish(struct zone_build *b)
{
	struct zone *z = b->z;

	for (size_t i = 0; i < z->n_entries; i++)
		z->entries[i].txt = z->txt_arena + (size_t)(uintptr_t)z->entries[i].txt;
	z->digest = b->sum;
	if (!b->have_prev)
		z->serial = (uint32_t)b->now;
	else if (b->prev_digest != b->sum)
		z->serial = zone_serial_next(b->prev_serial, b->now);
	else
		z->serial = b->prev_serial;
	if (z->n_acl_plens)
		qsort(z->acl_plens, z->n_acl_plens, sizeof(*z->acl_plens), plen_cmp);
	b->z = NULL;
	zone_build_free(b);
	return z;
}

/* Build a snapshot in one go. */
struct zone *zone_new(const struct config_zone *cz, const struct wg_device *dev,
		      const struct zone *prev, time_t now)
{
	if (dev) {
		struct zone_build *b = zone_build_new(cz, dev, prev, now);
		if (!b)
			return NULL;
		if (zone_build_step(b, SIZE_MAX) < 0) {
			zone_build_free(b);
			return NULL;
		}
		return zone_build_finish(b);
	}
	struct zone *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	if (zone_set_config(z, cz) < 0) {
		zone_free(z);
		return NULL;
	}
	z->servfail = true;
	z->serial = prev ? prev->serial : (uint32_t)now;
	z->digest = prev ? prev->digest : 0;
	return z;
}

/* Take a reference. */
struct zone *zone_ref(struct zone *z)
{
	z->refs++;
	return z;
}
