/* SPDX-License-Identifier: MIT */
/*
 * Candidate registration at the registry: UPDATE judgement (hostile senders
 * and messages), the bounded candidate table, and publication in the zone
 * snapshot (the new names, and the old names' answers unchanged byte for byte).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "cand-store.h"
#include "check.h"
#include "client-candidates.h"
#include "config.h"
#include "dns-answer.h"
#include "dns-query.h"
#include "registry-update.h"
#include "wg.h"
#include "zone.h"

#define NOW 1700000000
#define IFINDEX 7

static uint8_t keys[8][WG_KEY_LEN];
static char b32[8][KEY_B32_LEN + 1];
static struct zone *zones[1];
static struct registry_update_env uenv = { .zones = zones, .n_zones = 1, .per_peer = 8, .lease_max_s = 3600 };
static union sockaddr_any src, local;
static struct dns_client client = { .src = &src, .local = &local, .ifindex = IFINDEX };

/* Make a deterministic key from a seed. */
static void make_key(uint8_t key[WG_KEY_LEN], int seed)
{
	for (int i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed * 37 + i * 11 + 1);
	key[0] = (uint8_t)seed;
	key[1] = (uint8_t)(seed >> 8);
}

/* Set an address from text. */
static void set_addr(union sockaddr_any *a, const char *text)
{
	if (addr_parse(text, 0, a) < 0)
		abort();
}

/* Add a peer with an endpoint (or NULL) and allowed IPs. */
static void add_peer(struct wg_device *dev, const uint8_t key[WG_KEY_LEN], const char *ep, const char *const *ips)
{
	struct wg_peer *p = wg_device_add_peer(dev);
	if (!p)
		abort();
	memcpy(p->public_key, key, WG_KEY_LEN);
	if (ep)
		set_addr(&p->endpoint, ep);
	p->last_handshake_sec = NOW - 3;
	for (; ips && *ips; ips++) {
		struct cidr c;
		if (cidr_parse(*ips, false, &c) < 0 || wg_peer_add_allowed_ip(p, &c) < 0)
			abort();
	}
}

/* Peers 0..3 with tunnel addresses; peer 4 holds a /32 inside peer 3's /24. */
static struct wg_device *make_device(void)
{
	static const char *const ips0[] = { "10.0.0.1/32", "fd00::1/128", NULL };
	static const char *const ips1[] = { "10.0.0.2/32", NULL };
	static const char *const ips2[] = { "10.0.0.3/32", NULL };
	static const char *const ips3[] = { "10.1.0.0/24", NULL };
	static const char *const ips4[] = { "10.1.0.5/32", NULL };
	struct wg_device *dev = wg_device_new();

	snprintf(dev->name, sizeof(dev->name), "wgtest0");
	dev->ifindex = IFINDEX;
	dev->listen_port = 51820;
	/* The /24 first: the longest prefix must win whatever the order its peers are listed in. */
	add_peer(dev, keys[3], "198.51.100.3:40003", ips3);
	add_peer(dev, keys[0], "198.51.100.1:40001", ips0);
	add_peer(dev, keys[1], "198.51.100.2:40002", ips1);
	add_peer(dev, keys[2], NULL, ips2);
	add_peer(dev, keys[4], "198.51.100.4:40004", ips4);
	return dev;
}

/* A zone section. */
static void make_zone_cfg(struct config_zone *cz)
{
	memset(cz, 0, sizeof(*cz));
	snprintf(cz->name, sizeof(cz->name), "example.com.");
	snprintf(cz->device, sizeof(cz->device), "wgtest0");
	cz->refresh_ms = 1000;
}

/* A candidate from text. */
static struct cand_rec cand(enum cand_kind kind, uint8_t index, const char *ep)
{
	struct cand_rec c;
	union sockaddr_any a;

	memset(&c, 0, sizeof(c));
	set_addr(&a, ep);
	cand_from_sockaddr(&c, &a);
	c.kind = (uint8_t)kind;
	c.index = index;
	return c;
}

static uint8_t msg[8192];
static size_t msg_len;
static struct registry_update u;

/* Judge msg from src. */
static bool judge(void)
{
	return registry_update_parse(&uenv, &client, msg, msg_len, &u);
}

/* A valid registration of key k with cands (the client's own builder). */
static void build(int k, const struct cand_rec *c, size_t n, uint32_t lease)
{
	int r = client_candidates_update_msg(keys[k], "example.com.", c, n, lease, msg, sizeof(msg));
	CHECK(r > 0);
	msg_len = r > 0 ? (size_t)r : 0;
	msg[0] = 0xab;
	msg[1] = 0xcd;
}

/* Hand-written messages for the hostile cases. */
struct raw {
	uint8_t *b;
	size_t len;
};

/* Append bytes. */
static void raw_put(struct raw *r, const void *p, size_t n)
{
	if (n == 0)
		return;   /* an empty rdata may come as NULL: memcpy must not see it */
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

/* Append a 16-bit value. */
static void raw16(struct raw *r, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	raw_put(r, b, 2);
}

/* Append a presentation-form name in wire form (no compression). */
static void raw_name(struct raw *r, const char *text)
{
	ldns_rdf *d = NULL;
	if (ldns_str2rdf_dname(&d, text) != LDNS_STATUS_OK)
		abort();
	raw_put(r, ldns_rdf_data(d), ldns_rdf_size(d));
	ldns_rdf_deep_free(d);
}

/* Start a message: header with opcode and counts, then the zone section. */
static struct raw raw_start(uint8_t opcode, uint16_t zo, uint16_t pr, uint16_t up, uint16_t ad, const char *zone)
{
	struct raw r = { msg, 0 };
	raw16(&r, 0x4242);
	raw16(&r, (uint16_t)(opcode << 11));
	raw16(&r, zo);
	raw16(&r, pr);
	raw16(&r, up);
	raw16(&r, ad);
	if (zone) {
		raw_name(&r, zone);
		raw16(&r, DNS_TYPE_SOA);
		raw16(&r, DNS_CLASS_IN);
	}
	return r;
}

/* Append a record. */
static void raw_rr(struct raw *r, const char *owner, uint16_t type, uint16_t cls, uint32_t ttl, const void *rd,
		   uint16_t rdlen)
{
	raw_name(r, owner);
	raw16(r, type);
	raw16(r, cls);
	raw16(r, (uint16_t)(ttl >> 16));
	raw16(r, (uint16_t)ttl);
	raw16(r, rdlen);
	raw_put(r, rd, rdlen);
}

/* SRV rdata with an uncompressed target. */
static uint16_t srv_rdata(uint8_t *out, uint16_t port, const char *target)
{
	struct raw r = { out, 0 };
	raw16(&r, 0);
	raw16(&r, 0);
	raw16(&r, port);
	raw_name(&r, target);
	return (uint16_t)r.len;
}

/* Names of key i. */
static void inst_name(int i, char *out, size_t len)
{
	snprintf(out, len, "%s._wgcand._udp.example.com.", b32[i]);
}

/* Target name of key i. */
static void target_name(int i, const char *label, char *out, size_t len)
{
	snprintf(out, len, "%s.%s.example.com.", label, b32[i]);
}

/* Delete-all + one SRV + its address, for key i at target label, from hand: the "replace" form. */
static struct raw raw_replace(int i, const char *label, const char *addr4, uint16_t port, uint16_t extra_up)
{
	char inst[300], tgt[300];
	uint8_t rd[300], a[4];
	struct raw r = raw_start(DNS_OPCODE_UPDATE, 1, 0, (uint16_t)(3 + extra_up), 0, "example.com.");

	inst_name(i, inst, sizeof(inst));
	target_name(i, label, tgt, sizeof(tgt));
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	raw_rr(&r, inst, DNS_TYPE_SRV, DNS_CLASS_IN, 60, rd, srv_rdata(rd, port, tgt));
	inet_pton(AF_INET, addr4, a);
	raw_rr(&r, tgt, DNS_TYPE_A, DNS_CLASS_IN, 60, a, 4);
	return r;
}

/* A registration from the peer's own tunnel address is accepted, with the lease capped and echoed. */
static void test_accepted(void)
{
	struct cand_rec c[3] = { cand(CAND_LAN, 0, "192.168.1.2:51820"), cand(CAND_V6, 0, "[2001:db8:1::2]:51820"),
				 cand(CAND_MAPPED, 0, "198.51.100.1:5000") };
	uint8_t out[512];
	ldns_pkt *p = NULL;

	set_addr(&src, "10.0.0.1:4000");
	build(0, c, 3, 7200);
	CHECK(judge());
	CHECK(u.rcode == DNS_RCODE_NOERROR && u.why == RU_OK && u.has_key && memcmp(u.key, keys[0], WG_KEY_LEN) == 0);
	CHECK(u.n == 3 && u.lease_s == 3600 && u.zone == 0);
	CHECK(u.n == 3 && cand_same_endpoint(&u.cands[1], &c[1]) && u.cands[1].kind == CAND_V6);
	size_t n = registry_update_reply(msg, msg_len, &u, out, sizeof(out));
	CHECK(n > 12 && ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
	if (p) {
		CHECK(ldns_pkt_id(p) == 0xabcd && ldns_pkt_qr(p) && ldns_pkt_get_opcode(p) == LDNS_PACKET_UPDATE);
		CHECK(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && client_candidates_granted_lease(p) == 3600);
		CHECK(ldns_rr_list_rr_count(ldns_pkt_question(p)) == 1);
		ldns_pkt_free(p);
	}
	/* From its IPv6 tunnel address too; a short lease is raised to the minimum. */
	set_addr(&src, "[fd00::1]:4000");
	build(0, c, 1, 5);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && u.lease_s == REGISTRY_UPDATE_LEASE_MIN_S);
	/* v4-mapped source, as a dual-stack socket reports it. */
	set_addr(&src, "[::ffff:10.0.0.1]:4000");
	build(0, c, 1, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && memcmp(u.key, keys[0], WG_KEY_LEN) == 0);
	/* Lease 0 deregisters; an empty set too. */
	build(0, c, 2, 0);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && u.n == 0);
	build(0, NULL, 0, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && u.n == 0 && u.lease_s == 0);
}

/* Wrong interface, no peer's source, another peer's names, spoofed sources: REFUSED. */
static void test_who(void)
{
	struct cand_rec c[1] = { cand(CAND_LAN, 0, "192.168.1.2:51820") };

	set_addr(&src, "10.0.0.1:4000");
	build(0, c, 1, 100);
	client.ifindex = IFINDEX + 1;   /* arrived on the LAN, not through the tunnel */
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_INTERFACE);
	/* Refused before its records are read, an EDNS request still gets an OPT back (RFC 6891 6.1.1). */
	{
		uint8_t out[512];
		ldns_pkt *p = NULL;
		size_t n = registry_update_reply(msg, msg_len, &u, out, sizeof(out));
		CHECK(u.has_edns && n > 0 && ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
		CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED && ldns_pkt_edns(p) &&
		      client_candidates_granted_lease(p) == 0);
		ldns_pkt_free(p);
	}
	client.ifindex = 0;             /* unknown interface (loopback over TCP and the like) */
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_INTERFACE);
	client.ifindex = IFINDEX;
	set_addr(&src, "10.9.9.9:4000");   /* on the interface, but no peer's address */
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_NOT_PEER);
	set_addr(&src, "127.0.0.1:4000");
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_NOT_PEER);
	/* Peer 1 asks to register peer 0's candidates. */
	set_addr(&src, "10.0.0.2:4000");
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_FOREIGN && memcmp(u.key, keys[1], WG_KEY_LEN) == 0);
	/* The source decides the key, by the longest prefix as WireGuard routes: 10.1.0.5 is peer 4's, not 3's. */
	set_addr(&src, "10.1.0.5:4000");
	build(3, c, 1, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_FOREIGN);
	build(4, c, 1, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && memcmp(u.key, keys[4], WG_KEY_LEN) == 0);
	set_addr(&src, "10.1.0.6:4000");
	build(3, c, 1, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && memcmp(u.key, keys[3], WG_KEY_LEN) == 0);
	/* Deletes of another peer's names, or of names that are nobody's. */
	char inst[300];
	set_addr(&src, "10.0.0.1:4000");
	struct raw r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1, 0, "example.com.");
	inst_name(1, inst, sizeof(inst));
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_FOREIGN);
	const char *others[] = { "example.com.", "_wireguard._udp.example.com.", "x.example.com.", NULL };
	char own_wg[300];
	snprintf(own_wg, sizeof(own_wg), "%s._wireguard._udp.example.com.", b32[0]);
	for (int i = 0; i <= 3; i++) {
		r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1, 0, "example.com.");
		raw_rr(&r, i < 3 ? others[i] : own_wg, DNS_TYPE_ANY, 255, 0, NULL, 0);
		msg_len = r.len;
		CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_FOREIGN);
	}
	/* An SRV of one's own instance pointing at another peer's target. */
	char tgt[300];
	uint8_t rd[300];
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 2, 0, "example.com.");
	inst_name(0, inst, sizeof(inst));
	target_name(1, "lan-0", tgt, sizeof(tgt));
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	raw_rr(&r, inst, DNS_TYPE_SRV, DNS_CLASS_IN, 60, rd, srv_rdata(rd, 51820, tgt));
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_FOREIGN);
}

/* Zone section, prerequisites, names outside the zone, signatures, the replace form. */
static void test_form(void)
{
	struct raw r;
	char inst[300];

	set_addr(&src, "10.0.0.1:4000");
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 0, 0, "example.org.");
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_NOTAUTH && u.why == RU_NOT_ZONE);
	r = raw_start(DNS_OPCODE_UPDATE, 2, 0, 0, 0, "example.com.");
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	r = raw_start(DNS_OPCODE_UPDATE, 0, 0, 0, 0, NULL);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR && u.zone_end == 0);
	/* A zone section that is not SOA IN. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 0, 0, NULL);
	raw_name(&r, "example.com.");
	raw16(&r, DNS_TYPE_A);
	raw16(&r, DNS_CLASS_IN);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	/* Prerequisite section. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 1, 0, 0, "example.com.");
	inst_name(0, inst, sizeof(inst));
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_PREREQ);
	/* A name outside the zone. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1, 0, "example.com.");
	raw_rr(&r, "www.example.org.", DNS_TYPE_ANY, 255, 0, NULL, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_NOTZONE && u.why == RU_OUTSIDE);
	/* Nothing to do: not a replacement. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 0, 0, "example.com.");
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_NOT_REPLACE);
	/* Adds before the delete of the whole set, and single-record deletes. */
	r = raw_replace(0, "lan-0", "192.168.1.2", 51820, 0);
	/* Swap: put the delete last by rebuilding without it first. */
	{
		char tgt[300];
		uint8_t rd[300], a[4] = { 192, 168, 1, 2 };
		r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 3, 0, "example.com.");
		target_name(0, "lan-0", tgt, sizeof(tgt));
		raw_rr(&r, inst, DNS_TYPE_SRV, DNS_CLASS_IN, 60, rd, srv_rdata(rd, 51820, tgt));
		raw_rr(&r, tgt, DNS_TYPE_A, DNS_CLASS_IN, 60, a, 4);
		raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
		msg_len = r.len;
		CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_NOT_REPLACE);
		r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 2, 0, "example.com.");
		raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
		raw_rr(&r, tgt, DNS_TYPE_A, 254, 0, a, 4);
		msg_len = r.len;
		CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_NOT_REPLACE);
	}
	/* A TSIG-like record in additional: signatures are not read. */
	r = raw_replace(0, "lan-0", "192.168.1.2", 51820, 0);
	msg[11] = 1;
	raw_rr(&r, "key.example.com.", 250, 255, 0, "\0\0\0\0", 4);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_UNSUPPORTED);
	/* EDNS version 1. */
	r = raw_replace(0, "lan-0", "192.168.1.2", 51820, 0);
	msg[11] = 1;
	raw_put(&r, "\0\0\x29\x04\xd0\0\x01\0\0\0\0", 11);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_BADVERS && u.why == RU_BADVERS);
	/* Responses and other opcodes are not UPDATEs. */
	r = raw_replace(0, "lan-0", "192.168.1.2", 51820, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR);
	msg[2] |= 0x80;
	CHECK(!judge());
	msg[2] = 0;
	CHECK(!judge());
	msg[2] = 4 << 3;   /* NOTIFY */
	CHECK(!judge());
}

/* Oversized updates and too many candidates; disabled registrations; a zone that answers SERVFAIL. */
static void test_limits(void)
{
	struct cand_rec c[CAND_PEER_MAX];
	struct raw r;

	set_addr(&src, "10.0.0.1:4000");
	for (int i = 0; i < CAND_PEER_MAX; i++) {
		char ep[64];
		snprintf(ep, sizeof(ep), "192.168.%d.2:51820", i);
		c[i] = cand(CAND_LAN, (uint8_t)i, ep);
	}
	build(0, c, 9, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_TOO_MANY);
	build(0, c, 8, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && u.n == 8);
	uenv.per_peer = 2;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_TOO_MANY);
	uenv.per_peer = 0;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_DISABLED);
	uenv.per_peer = CAND_PEER_MAX;
	build(0, c, CAND_PEER_MAX, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_NOERROR && u.n == CAND_PEER_MAX);
	uenv.per_peer = 8;
	/* More records than are read at all: refused from the header. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, REGISTRY_UPDATE_RECORDS_MAX + 1, 0, "example.com.");
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_TOO_MANY);
	/* 17 address records of distinct targets: more than a peer may have. */
	{
		char inst[300], tgt[300], label[16];
		uint8_t a[4] = { 192, 168, 0, 1 };
		r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1 + CAND_PEER_MAX + 1, 0, "example.com.");
		inst_name(0, inst, sizeof(inst));
		raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
		for (int i = 0; i <= CAND_PEER_MAX; i++) {
			snprintf(label, sizeof(label), "lan-%d", i % CAND_PEER_MAX);
			snprintf(tgt, sizeof(tgt), "%s.%s.example.com.", i == CAND_PEER_MAX ? "v6-0" : label, b32[0]);
			raw_rr(&r, tgt, DNS_TYPE_A, DNS_CLASS_IN, 60, a, 4);
		}
		msg_len = r.len;
		CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_TOO_MANY);
	}
	/* The zone's device cannot be read. */
	zones[0]->servfail = true;
	build(0, c, 1, 100);
	CHECK(judge() && u.rcode == DNS_RCODE_SERVFAIL && u.why == RU_SERVFAIL);
	zones[0]->servfail = false;
}

/* Malformed messages and records: never a crash, never accepted. */
static void test_malformed(void)
{
	struct cand_rec c[2] = { cand(CAND_LAN, 0, "192.168.1.2:51820"), cand(CAND_V6, 0, "[2001:db8::2]:51820") };
	uint8_t full[8192];
	size_t full_len;
	struct raw r;
	char inst[300], tgt[300];
	uint8_t rd[300];

	set_addr(&src, "10.0.0.1:4000");
	build(0, c, 2, 100);
	memcpy(full, msg, msg_len);
	full_len = msg_len;
	/* Every truncation of a valid UPDATE. */
	for (size_t n = 0; n < full_len; n++) {
		memcpy(msg, full, full_len);
		msg_len = n;
		bool is_update = judge();
		CHECK(n >= 12 ? is_update && u.rcode != DNS_RCODE_NOERROR : !is_update);
	}
	/* Every single-byte corruption: judged without crashing (under the sanitizers). */
	for (size_t i = 12; i < full_len; i++) {
		memcpy(msg, full, full_len);
		msg_len = full_len;
		msg[i] ^= 0xff;
		judge();
	}
	/* A compression loop and a forward pointer in the first update name. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1, 0, "example.com.");
	raw16(&r, (uint16_t)(0xc000 | r.len));
	raw_put(&r, "\0\xff\0\xff\0\0\0\0\0\0", 10);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1, 0, "example.com.");
	raw16(&r, (uint16_t)(0xc000 | (r.len + 20)));
	raw_put(&r, "\0\xff\0\xff\0\0\0\0\0\0", 10);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	/* A compressed zone name. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 0, 0, NULL);
	raw16(&r, 0xc000 | 2);
	raw16(&r, DNS_TYPE_SOA);
	raw16(&r, DNS_CLASS_IN);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	/* SRV whose target has no address; address without SRV; A of 5 bytes; a bad label; duplicate targets. */
	inst_name(0, inst, sizeof(inst));
	target_name(0, "lan-0", tgt, sizeof(tgt));
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 2, 0, "example.com.");
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	raw_rr(&r, inst, DNS_TYPE_SRV, DNS_CLASS_IN, 60, rd, srv_rdata(rd, 51820, tgt));
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 2, 0, "example.com.");
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	raw_rr(&r, tgt, DNS_TYPE_A, DNS_CLASS_IN, 60, "\xc0\xa8\x01\x02", 4);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 3, 0, "example.com.");
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	raw_rr(&r, inst, DNS_TYPE_SRV, DNS_CLASS_IN, 60, rd, srv_rdata(rd, 51820, tgt));
	raw_rr(&r, tgt, DNS_TYPE_A, DNS_CLASS_IN, 60, "\xc0\xa8\x01\x02\x00", 5);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	r = raw_replace(0, "lan-007", "192.168.1.2", 51820, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	r = raw_replace(0, "relay-0", "192.168.1.2", 51820, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	r = raw_replace(0, "lan-0", "192.168.1.2", 51820, 1);
	raw_rr(&r, inst, DNS_TYPE_SRV, DNS_CLASS_IN, 60, rd, srv_rdata(rd, 51821, tgt));
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	/* Two names for one endpoint. */
	{
		struct cand_rec twice[2] = { cand(CAND_LAN, 0, "192.168.1.2:51820"), cand(CAND_STATIC, 0, "192.168.1.2:51820") };
		build(0, twice, 2, 100);
		CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	}
	/* Endpoints no one can send to: loopback, port 0, multicast; an IPv4 "v6" candidate. */
	const char *bad[] = { "127.0.0.1", "224.0.0.1", "0.0.0.0", "255.255.255.255", NULL };
	for (int i = 0; bad[i]; i++) {
		r = raw_replace(0, "lan-0", bad[i], 51820, 0);
		msg_len = r.len;
		CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	}
	r = raw_replace(0, "lan-0", "192.168.1.2", 0, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	r = raw_replace(0, "v6-0", "192.168.1.2", 51820, 0);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_BAD_CANDIDATE);
	/* Another record type at one's own names, and a delete with data. */
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 2, 0, "example.com.");
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, NULL, 0);
	raw_rr(&r, inst, DNS_TYPE_TXT, DNS_CLASS_IN, 60, "\x03" "a=b", 4);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_REFUSED && u.why == RU_UNSUPPORTED);
	r = raw_start(DNS_OPCODE_UPDATE, 1, 0, 1, 0, "example.com.");
	raw_rr(&r, inst, DNS_TYPE_ANY, 255, 0, "\0", 1);
	msg_len = r.len;
	CHECK(judge() && u.rcode == DNS_RCODE_FORMERR);
	/* The reply to anything fits a small buffer, or nothing is written. */
	uint8_t out[16];
	CHECK(registry_update_reply(msg, msg_len, &u, out, sizeof(out)) == 0);
}

/* The table: per-peer and zone bounds, replacement, leases, removal with probe runs. */
static void test_store(void)
{
	struct cand_rec c[4] = { cand(CAND_LAN, 0, "192.168.1.2:1"), cand(CAND_LAN, 1, "192.168.1.3:1"),
				 cand(CAND_V6, 0, "[2001:db8::1]:1"), cand(CAND_STATIC, 0, "203.0.113.1:1") };
	struct cand_store *s = cand_store_new(3, 10);
	uint8_t k[WG_KEY_LEN];
	size_t n;

	CHECK(s);
	CHECK(cand_store_set(s, keys[0], c, 4, 1000) == -E2BIG && cand_store_count(s) == 0);
	CHECK(cand_store_set(s, keys[0], c, 3, 1000) == 0 && cand_store_count(s) == 3);
	CHECK(cand_store_set(s, keys[1], c, 3, 2000) == 0);
	CHECK(cand_store_set(s, keys[2], c, 3, 3000) == 0 && cand_store_count(s) == 9);
	/* The zone is full for a newcomer, not for a peer that replaces its own set. */
	CHECK(cand_store_set(s, keys[3], c, 2, 3000) == -ENOSPC && cand_store_peers(s) == 3);
	CHECK(cand_store_set(s, keys[2], c, 1, 3000) == 0 && cand_store_set(s, keys[3], c, 2, 3000) == 0);
	/* A flood from one peer only ever replaces its own set. */
	size_t bytes = cand_store_bytes(s);
	int fails = 0;
	for (int i = 0; i < 100000; i++)
		fails += cand_store_set(s, keys[1], &c[i % 2], 2, 2000 + (uint64_t)i) != 0;
	CHECK(fails == 0);
	CHECK(cand_store_count(s) == 3 + 2 + 1 + 2 && cand_store_bytes(s) <= bytes);
	CHECK(cand_store_get(s, keys[0], 999, &n) && n == 3);
	CHECK(!cand_store_get(s, keys[0], 1000, &n) && n == 0);
	CHECK(cand_store_expire(s, 1000) == 1 && cand_store_peers(s) == 3);
	CHECK(cand_store_get(s, keys[3], 1000, &n) && n == 2);
	CHECK(cand_store_set(s, keys[3], NULL, 0, 0) == 0 && !cand_store_get(s, keys[3], 0, &n));
	cand_store_free(s);
	/* Many keys with colliding home slots, removed in a scattered order: every other one stays findable. */
	s = cand_store_new(1, 100000);
	for (int i = 0; i < 5000; i++) {
		make_key(k, 1000 + i);
		memset(k, 0, 8);   /* few home slots: long probe runs */
		k[0] = (uint8_t)(i % 3);
		memcpy(k + 8, &i, sizeof(i));
		fails += cand_store_set(s, k, c, 1, 10 + (uint64_t)(i % 2)) != 0;
	}
	CHECK(fails == 0);
	CHECK(cand_store_expire(s, 10) == 2500 && cand_store_peers(s) == 2500);
	bool all = true;
	for (int i = 0; i < 5000; i++) {
		make_key(k, 1000 + i);
		memset(k, 0, 8);
		k[0] = (uint8_t)(i % 3);
		memcpy(k + 8, &i, sizeof(i));
		all = all && (cand_store_get(s, k, 0, &n) != NULL) == (i % 2 == 1);
	}
	CHECK(all);
	cand_store_free(s);
}

static uint8_t ans[65536];
static size_t ans_len;
static struct dns_answer_env aenv = { .access = ACCESS_ANY, .ttl = 0, .edns_size = 1232, .now = NOW };

/* Ask a query through dns_answer; the response in ans. Returns the parsed packet (caller frees). */
static ldns_pkt *ask(struct zone *z, const char *name, ldns_rr_type type, bool tcp, uint16_t edns)
{
	ldns_pkt *qp = NULL, *rp = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	struct dns_answer_info info;
	struct zone *zs[1] = { z };

	if (ldns_pkt_query_new_frm_str(&qp, name, type, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_set_id(qp, 7);
	if (edns)
		ldns_pkt_set_edns_udp_size(qp, edns);
	if (ldns_pkt2wire(&wire, qp, &wlen) != LDNS_STATUS_OK)
		abort();
	aenv.zones = zs;
	aenv.n_zones = 1;
	client.tcp = tcp;
	ans_len = dns_answer(&aenv, &client, wire, wlen, ans, sizeof(ans), &info);
	client.tcp = false;
	if (ans_len)
		CHECK(ldns_wire2pkt(&rp, ans, ans_len) == LDNS_STATUS_OK);
	free(wire);
	ldns_pkt_free(qp);
	return rp;
}

/* Publication: the new names answer, the old ones are byte-for-byte what they were. */
static void test_publish(const struct config_zone *cz, struct wg_device *dev)
{
	struct cand_rec c[3] = { cand(CAND_LAN, 0, "192.168.1.2:51820"), cand(CAND_V6, 0, "[2001:db8:1::2]:51820"),
				 cand(CAND_STATIC, 0, "203.0.113.9:4000") };
	struct cand_store *s = cand_store_new(CAND_PEER_MAX, 100);
	struct zone *plain = zone_new(cz, dev, NULL, NOW), *empty, *with;
	struct zone_build *b;

	/* A store without candidates changes nothing, not even the serial. */
	b = zone_build_new(cz, dev, NULL, NOW);
	zone_build_set_cands(b, s, 0);
	CHECK(zone_build_step(b, SIZE_MAX) == 1);
	empty = zone_build_finish(b);
	CHECK(empty->serial == plain->serial && empty->digest == plain->digest && empty->n_cand_entries == 0);
	CHECK(cand_store_set(s, keys[0], c, 3, 5000) == 0);
	CHECK(cand_store_set(s, keys[1], c, 1, 10) == 0);   /* expired at build time: not published */
	CHECK(cand_store_set(s, keys[2], c, 1, 5000) == 0); /* not published: no endpoint */
	b = zone_build_new(cz, dev, plain, NOW);
	zone_build_set_cands(b, s, 100);
	CHECK(zone_build_step(b, SIZE_MAX) == 1);
	with = zone_build_finish(b);
	CHECK(with->n_cands == 3 && with->n_cand_entries == 1 && with->serial == plain->serial + 1);

	/* Old names: identical answers with and without candidates (the SOA serial aside). */
	const char *old[] = { "_wireguard._udp.example.com.", "_udp.example.com.", "x._wireguard._udp.example.com.",
			      "example.com.", NULL };
	ldns_rr_type types[] = { LDNS_RR_TYPE_PTR, LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A,
				 LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_ANY };
	char names_[6][300];
	int nn = 0;
	for (int k = 0; k < 3; k++) {
		snprintf(names_[nn++], 300, "%.56s._wireguard._udp.example.com.", b32[k]);
		snprintf(names_[nn++], 300, "%.56s.example.com.", b32[k]);
	}
	for (int i = 0; i < nn + 4; i++) {
		const char *name = i < nn ? names_[i] : old[i - nn];
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			uint8_t a1[65536];
			size_t l1;
			ldns_pkt_free(ask(plain, name, types[t], false, 1232));
			memcpy(a1, ans, ans_len);
			l1 = ans_len;
			ldns_pkt *p2 = ask(with, name, types[t], false, 1232);
			/* The SOA's serial moved with the zone's content (negative answers carry it too). */
			bool negative = p2 && (ldns_rr_list_rr_count(ldns_pkt_authority(p2)) > 0 ||
					       ldns_rr_list_type(ldns_pkt_answer(p2)) == LDNS_RR_TYPE_SOA);
			ldns_pkt_free(p2);
			if (!negative && (l1 != ans_len || memcmp(a1, ans, l1) != 0)) {
				fprintf(stderr, "answer changed: %s type %d\n", name, types[t]);
				CHECK(0);
			}
			if (negative)
				CHECK(l1 == ans_len);
		}
	}
	/* The PTR listing of _wgcand._udp: the one peer with candidates. */
	char want[300];
	ldns_pkt *p = ask(with, "_wgcand._udp.example.com.", LDNS_RR_TYPE_PTR, false, 0);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 1);
	if (p && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 1) {
		char *t = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
		snprintf(want, sizeof(want), "%s._wgcand._udp.example.com.", b32[0]);
		CHECK(t && strcmp(t, want) == 0);
		free(t);
	}
	ldns_pkt_free(p);
	/* The candidates: what the client reads back is what was registered. */
	snprintf(want, sizeof(want), "%s._wgcand._udp.example.com.", b32[0]);
	p = ask(with, want, LDNS_RR_TYPE_SRV, false, 0);
	CHECK(p && !ldns_pkt_tc(p) && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 3 &&
	      ldns_rr_list_rr_count(ldns_pkt_additional(p)) == 3);
	struct cand_rec got[CAND_PEER_MAX];
	int n = p ? client_candidates_parse(p, keys[0], "example.com.", got, CAND_PEER_MAX) : -1;
	CHECK(n == 3);
	for (int i = 0; i < 3 && n == 3; i++)
		CHECK(cand_same_endpoint(&got[i], &c[i]) && got[i].kind == c[i].kind && got[i].index == c[i].index);
	ldns_pkt_free(p);
	/* Another key's candidates are not read as this key's. */
	p = ask(with, want, LDNS_RR_TYPE_SRV, false, 0);
	CHECK(p && client_candidates_parse(p, keys[1], "example.com.", got, CAND_PEER_MAX) == 0);
	ldns_pkt_free(p);
	/* A candidate's own name, and names that do not exist. */
	snprintf(want, sizeof(want), "v6-0.%s.example.com.", b32[0]);
	p = ask(with, want, LDNS_RR_TYPE_AAAA, false, 0);
	CHECK(p && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 1);
	ldns_pkt_free(p);
	p = ask(with, want, LDNS_RR_TYPE_A, false, 0);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 0);
	ldns_pkt_free(p);
	const char *none[] = { "lan-1.", "mapped-0.", "x.lan-0.", NULL };
	for (int i = 0; none[i]; i++) {
		snprintf(want, sizeof(want), "%s%s.example.com.", none[i], b32[0]);
		p = ask(with, want, LDNS_RR_TYPE_A, false, 0);
		CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN);
		ldns_pkt_free(p);
	}
	snprintf(want, sizeof(want), "%s._wgcand._udp.example.com.", b32[1]);
	p = ask(with, want, LDNS_RR_TYPE_SRV, false, 0);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	zone_free(with);

	/* 16 candidates do not fit 512 bytes with their addresses: TC over UDP, complete over TCP. */
	struct cand_rec many[CAND_PEER_MAX];
	for (int i = 0; i < CAND_PEER_MAX; i++) {
		char ep[64];
		snprintf(ep, sizeof(ep), "[2001:db8:%x::2]:51820", i + 1);
		many[i] = cand(CAND_V6, (uint8_t)i, ep);
	}
	CHECK(cand_store_set(s, keys[0], many, CAND_PEER_MAX, 5000) == 0);
	b = zone_build_new(cz, dev, NULL, NOW);
	zone_build_set_cands(b, s, 100);
	zone_build_step(b, SIZE_MAX);
	with = zone_build_finish(b);
	snprintf(want, sizeof(want), "%s._wgcand._udp.example.com.", b32[0]);
	p = ask(with, want, LDNS_RR_TYPE_SRV, false, 0);
	CHECK(p && ldns_pkt_tc(p) && ans_len <= 512);
	ldns_pkt_free(p);
	p = ask(with, want, LDNS_RR_TYPE_SRV, true, 0);
	CHECK(p && !ldns_pkt_tc(p) && client_candidates_parse(p, keys[0], "example.com.", got, CAND_PEER_MAX) == CAND_PEER_MAX);
	ldns_pkt_free(p);
	zone_free(with);
	zone_free(empty);
	zone_free(plain);
	cand_store_free(s);
}

int main(void)
{
	struct config_zone cz;

	for (int i = 0; i < 8; i++) {
		make_key(keys[i], i);
		key_to_base32(keys[i], b32[i]);
	}
	make_zone_cfg(&cz);
	struct wg_device *dev = make_device();
	zones[0] = zone_new(&cz, dev, NULL, NOW);
	CHECK(zones[0] && zones[0]->ifindex == IFINDEX);
	set_addr(&local, "10.0.0.254:53");

	test_accepted();
	test_who();
	test_form();
	test_limits();
	test_malformed();
	test_store();
	test_publish(&cz, dev);

	zone_free(zones[0]);
	wg_device_free(dev);
	return CHECK_DONE();
}
