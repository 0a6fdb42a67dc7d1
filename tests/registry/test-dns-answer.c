/* SPDX-License-Identifier: MIT */
/* DNS query parsing, zone snapshots and answers, checked by parsing every response with ldns. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "check.h"
#include "client-members.h"
#include "config.h"
#include "dns-answer.h"
#include "dns-pkt.h"
#include "dns-query.h"
#include "wg.h"
#include "zone.h"

#define NOW 1700000000

static uint8_t keys[8][WG_KEY_LEN];
static char b32[8][KEY_B32_LEN + 1];

/* Registry settings used by ask(); tests change them as needed. */
static struct dns_answer_env env = { .access = ACCESS_ANY, .ttl = 30, .edns_size = 1232, .now = NOW };
static union sockaddr_any src, local;
static struct dns_client client = { .src = &src, .local = &local, .ifindex = 7 };
static struct dns_answer_info info;

/* Query options for ask(). */
struct qopt {
	uint16_t edns;        /* 0: no EDNS */
	uint8_t edns_version;
	uint16_t qclass;      /* 0: IN */
	bool tcp;
};

/* Make a deterministic key from a seed. */
static void make_key(uint8_t key[WG_KEY_LEN], int seed)
{
	for (int i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed * 37 + i * 11 + 1);
	key[0] = (uint8_t)seed;
	key[1] = (uint8_t)(seed >> 8);
}

/* Set an address from text (with port). */
static void set_addr(union sockaddr_any *a, const char *text)
{
	if (addr_parse(text, 0, a) < 0)
		abort();
}

/* Add a peer with endpoint (or NULL) and comma-free list of allowed IPs. */
static struct wg_peer *add_peer(struct wg_device *dev, const uint8_t key[WG_KEY_LEN], const char *ep,
				const char *const *ips, int64_t handshake)
{
	struct wg_peer *p = wg_device_add_peer(dev);
	if (!p)
		abort();
	memcpy(p->public_key, key, WG_KEY_LEN);
	if (ep)
		set_addr(&p->endpoint, ep);
	p->last_handshake_sec = handshake;
	for (; ips && *ips; ips++) {
		struct cidr c;
		if (cidr_parse(*ips, false, &c) < 0 || wg_peer_add_allowed_ip(p, &c) < 0)
			abort();
	}
	return p;
}

/* The test device: IPv4 peer, IPv6 peer, peer without endpoint, peer that never handshaked. */
static struct wg_device *make_device(void)
{
	static const char *const ips0[] = { "10.0.0.1/32", NULL };
	static const char *const ips1[] = { "10.0.0.2/32", "fd00::2/128", NULL };
	static const char *const ips2[] = { "10.0.0.3/32", NULL };
	static const char *const ips3[] = { "10.1.0.0/24", "fd00:1::/64", NULL };
	struct wg_device *dev = wg_device_new();

	snprintf(dev->name, sizeof(dev->name), "wgtest0");
	dev->ifindex = 7;
	dev->listen_port = 51820;
	dev->has_public_key = true;
	memcpy(dev->public_key, keys[7], WG_KEY_LEN);
	add_peer(dev, keys[0], "192.0.2.1:51820", ips0, NOW - 42);
	add_peer(dev, keys[1], "[2001:db8::2]:51821", ips1, NOW - 5);
	add_peer(dev, keys[2], NULL, ips2, NOW - 1);
	add_peer(dev, keys[3], "198.51.100.3:4000", ips3, 0);
	return dev;
}

/* A zone section as config.c would produce it. */
static void make_zone_cfg(struct config_zone *cz, const char *name)
{
	memset(cz, 0, sizeof(*cz));
	snprintf(cz->name, sizeof(cz->name), "%s", name);
	snprintf(cz->device, sizeof(cz->device), "wgtest0");
	cz->refresh_ms = 1000;
}

/* The last response ask() received, as wire bytes. */
static uint8_t ans_wire[65536];
static size_t ans_len;

/* Send one query through dns_answer and parse the response; NULL when nothing was sent. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, const struct qopt *o)
{
	ldns_pkt *qp = NULL, *rp = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;

	if (ldns_pkt_query_new_frm_str(&qp, name, type, o && o->qclass ? o->qclass : LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_set_id(qp, 0x1234);
	if (o && o->edns) {
		ldns_pkt_set_edns_udp_size(qp, o->edns);
		ldns_pkt_set_edns_version(qp, o->edns_version);
		ldns_pkt_set_edns_do(qp, true);
	}
	if (ldns_pkt2wire(&wire, qp, &wlen) != LDNS_STATUS_OK)
		abort();
	client.tcp = o && o->tcp;
	size_t n = dns_answer(&env, &client, wire, wlen, ans_wire, sizeof(ans_wire), &info);
	ans_len = n;
	if (n) {
		CHECK(ldns_wire2pkt(&rp, ans_wire, n) == LDNS_STATUS_OK);
		if (rp)
			CHECK(ldns_pkt_id(rp) == 0x1234 && ldns_pkt_qr(rp) && ldns_pkt_rd(rp));
		if (!client.tcp && rp)
			CHECK(n <= (o && o->edns ? (o->edns < env.edns_size ? (o->edns < 512 ? 512 : o->edns) : env.edns_size) : 512));
	}
	free(wire);
	ldns_pkt_free(qp);
	return rp;
}

/* Presentation form of an rdf (caller frees). */
static char *rdf_str(const ldns_rdf *rdf)
{
	return ldns_rdf2str(rdf);
}

/* True when the rdf's text equals s. */
static bool rdf_is(const ldns_rdf *rdf, const char *s)
{
	char *t = rdf_str(rdf);
	bool ok = t && strcmp(t, s) == 0;
	if (!ok)
		fprintf(stderr, "  got \"%s\", want \"%s\"\n", t ? t : "(null)", s);
	free(t);
	return ok;
}

/* Number of records of a section. */
static size_t count(const ldns_rr_list *l)
{
	return l ? ldns_rr_list_rr_count(l) : 0;
}

/* Name of B.Z / B._wireguard._udp.Z for key i. */
static void names(int i, const char *zone, char *host, char *inst, size_t len)
{
	snprintf(host, len, "%s.%s", b32[i], zone);
	snprintf(inst, len, "%s._wireguard._udp.%s", b32[i], zone);
}

/* PTR listing: one per published entry, targets in upper case, self included. */
static void test_ptr(void)
{
	ldns_pkt *p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, NULL);
	int seen[8] = { 0 };

	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_aa(p) && !ldns_pkt_tc(p));
	CHECK(p && count(ldns_pkt_answer(p)) == 4);
	for (size_t i = 0; p && i < count(ldns_pkt_answer(p)); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
		char *t = rdf_str(ldns_rr_rdf(rr, 0));
		CHECK(ldns_rr_get_type(rr) == LDNS_RR_TYPE_PTR && ldns_rr_ttl(rr) == 30);
		for (int k = 0; k < 8; k++) {
			char want[300];
			snprintf(want, sizeof(want), "%.56s._wireguard._udp.example.com.", b32[k]);
			if (strcmp(t, want) == 0)
				seen[k]++;
		}
		free(t);
	}
	CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 0 && seen[3] == 1 && seen[7] == 1);
	ldns_pkt_free(p);
}

/* SRV with A/AAAA of B.Z and TXT of the instance in additional. */
static void test_srv(void)
{
	char host[256], inst[256], want[300];
	ldns_pkt *p;

	names(0, "example.com.", host, inst, sizeof(host));
	p = ask(inst, LDNS_RR_TYPE_SRV, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_aa(p));
	CHECK(p && count(ldns_pkt_answer(p)) == 1 && count(ldns_pkt_additional(p)) == 2);
	if (p && count(ldns_pkt_answer(p)) == 1 && count(ldns_pkt_additional(p)) == 2) {
		ldns_rr *srv = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		snprintf(want, sizeof(want), "%s", host);
		CHECK(ldns_rr_get_type(srv) == LDNS_RR_TYPE_SRV);
		CHECK(rdf_is(ldns_rr_rdf(srv, 0), "0") && rdf_is(ldns_rr_rdf(srv, 1), "0"));
		CHECK(rdf_is(ldns_rr_rdf(srv, 2), "51820") && rdf_is(ldns_rr_rdf(srv, 3), want));
		ldns_rr *a = ldns_rr_list_rr(ldns_pkt_additional(p), 0);
		ldns_rr *txt = ldns_rr_list_rr(ldns_pkt_additional(p), 1);
		CHECK(ldns_rr_get_type(a) == LDNS_RR_TYPE_A && rdf_is(ldns_rr_owner(a), host));
		CHECK(rdf_is(ldns_rr_rdf(a, 0), "192.0.2.1"));
		CHECK(ldns_rr_get_type(txt) == LDNS_RR_TYPE_TXT && rdf_is(ldns_rr_owner(txt), inst));
	}
	ldns_pkt_free(p);
	/* IPv6 endpoint: AAAA in additional. */
	names(1, "example.com.", host, inst, sizeof(host));
	p = ask(inst, LDNS_RR_TYPE_SRV, NULL);
	CHECK(p && count(ldns_pkt_additional(p)) == 2);
	if (p && count(ldns_pkt_additional(p)) == 2) {
		ldns_rr *a = ldns_rr_list_rr(ldns_pkt_additional(p), 0);
		CHECK(ldns_rr_get_type(a) == LDNS_RR_TYPE_AAAA && rdf_is(ldns_rr_rdf(a, 0), "2001:db8::2"));
		CHECK(rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 2), "51821"));
	}
	ldns_pkt_free(p);
}

/* TXT strings: txtvers, pub, allowed, seen (absent for never). */
static void test_txt(void)
{
	char host[256], inst[256], b64[KEY_B64_LEN + 1], want[300];
	ldns_pkt *p;

	names(1, "example.com.", host, inst, sizeof(host));
	p = ask(inst, LDNS_RR_TYPE_TXT, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1);
	if (p && count(ldns_pkt_answer(p)) == 1) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		key_to_base64(keys[1], b64);
		snprintf(want, sizeof(want), "\"pub=%s\"", b64);
		CHECK(ldns_rr_rd_count(rr) == 4);
		CHECK(rdf_is(ldns_rr_rdf(rr, 0), "\"txtvers=1\""));
		CHECK(rdf_is(ldns_rr_rdf(rr, 1), want));
		CHECK(rdf_is(ldns_rr_rdf(rr, 2), "\"allowed=10.0.0.2/32,fd00::2/128\""));
		CHECK(rdf_is(ldns_rr_rdf(rr, 3), "\"seen=5\""));
	}
	ldns_pkt_free(p);
	names(3, "example.com.", host, inst, sizeof(host));
	p = ask(inst, LDNS_RR_TYPE_TXT, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1);
	if (p && count(ldns_pkt_answer(p)) == 1) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		CHECK(ldns_rr_rd_count(rr) == 3);
		CHECK(rdf_is(ldns_rr_rdf(rr, 2), "\"allowed=10.1.0.0/24,fd00:1::/64\""));
	}
	ldns_pkt_free(p);
	/* Self: seen=0. */
	names(7, "example.com.", host, inst, sizeof(host));
	p = ask(inst, LDNS_RR_TYPE_TXT, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1);
	if (p && count(ldns_pkt_answer(p)) == 1) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		CHECK(ldns_rr_rd_count(rr) == 4 && rdf_is(ldns_rr_rdf(rr, 3), "\"seen=0\""));
		CHECK(rdf_is(ldns_rr_rdf(rr, 2), "\"allowed=10.0.0.254/32\""));
	}
	ldns_pkt_free(p);
}

/* Expect rcode with n answers and the SOA in authority when negative. */
static void expect(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, size_t n_answers,
		   bool soa, int line)
{
	ldns_pkt *p = ask(name, type, NULL);

	if (!p || ldns_pkt_get_rcode(p) != rcode || count(ldns_pkt_answer(p)) != n_answers ||
	    (count(ldns_pkt_authority(p)) == 1) != soa ||
	    (soa && ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)) != LDNS_RR_TYPE_SOA)) {
		check_failures++;
		fprintf(stderr, "line %d: %s type %d: rcode %d answers %zu authority %zu\n", line, name, type,
			p ? (int)ldns_pkt_get_rcode(p) : -1, p ? count(ldns_pkt_answer(p)) : 0,
			p ? count(ldns_pkt_authority(p)) : 0);
	}
	check_count++;
	ldns_pkt_free(p);
}

#define EXPECT(name, type, rcode, n, soa) expect(name, type, rcode, n, soa, __LINE__)

/* Addresses at both layouts, NODATA for the other family, NXDOMAIN for unknown names. */
static void test_names(void)
{
	char host[256], inst[256], lower[256], unpadded[256];

	names(0, "example.com.", host, inst, sizeof(host));
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false);
	EXPECT(inst, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false);
	EXPECT(host, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 0, true);
	EXPECT(inst, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 0, true);
	EXPECT(host, LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, 0, true);
	EXPECT(host, LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR, 0, true);
	EXPECT(host, LDNS_RR_TYPE_ANY, LDNS_RCODE_NOERROR, 1, false);
	EXPECT(inst, LDNS_RR_TYPE_ANY, LDNS_RCODE_NOERROR, 1, false);
	EXPECT(inst, LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0, true);
	names(1, "example.com.", host, inst, sizeof(host));
	EXPECT(host, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 1, false);
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0, true);
	/* Lower case and unpadded labels. */
	for (size_t i = 0; host[i]; i++)
		lower[i + 1] = 0, lower[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] | 0x20 : host[i]);
	EXPECT(lower, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 1, false);
	snprintf(unpadded, sizeof(unpadded), "%.52s._wireguard._udp.example.com.", b32[1]);
	EXPECT(unpadded, LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR, 1, false);
	snprintf(unpadded, sizeof(unpadded), "%.52s.example.com.", b32[1]);
	EXPECT(unpadded, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 1, false);
	/* A label that is not canonical base32 (spare bits set) is not a key. */
	snprintf(unpadded, sizeof(unpadded), "%.51s7.example.com.", b32[1]);
	EXPECT(unpadded, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NXDOMAIN, 0, true);
	/* Peer without endpoint, unknown key, other names. */
	names(2, "example.com.", host, inst, sizeof(host));
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, true);
	EXPECT(inst, LDNS_RR_TYPE_SRV, LDNS_RCODE_NXDOMAIN, 0, true);
	names(5, "example.com.", host, inst, sizeof(host));
	EXPECT(inst, LDNS_RR_TYPE_SRV, LDNS_RCODE_NXDOMAIN, 0, true);
	EXPECT("nothing.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, true);
	EXPECT("a.b._wireguard._udp.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, true);
	EXPECT("ns1.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, true);
	EXPECT("_udp.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0, true);
	EXPECT("_wireguard._udp.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0, true);
	EXPECT("_wireguard._udp.example.com.", LDNS_RR_TYPE_ANY, LDNS_RCODE_NOERROR, 1, false);
	/* Apex. */
	EXPECT("example.com.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("example.com.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("example.com.", LDNS_RR_TYPE_ANY, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0, true);
	/* Outside every zone and zone transfers: REFUSED without AA. */
	EXPECT("example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0, false);
	EXPECT("com.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0, false);
	EXPECT("xexample.com.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0, false);
	EXPECT("example.com.", LDNS_RR_TYPE_AXFR, LDNS_RCODE_REFUSED, 0, false);
	EXPECT("example.com.", LDNS_RR_TYPE_IXFR, LDNS_RCODE_REFUSED, 0, false);
	struct qopt ch = { .qclass = LDNS_RR_CLASS_CH };
	ldns_pkt *p = ask("version.bind.", LDNS_RR_TYPE_TXT, &ch);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED && !ldns_pkt_aa(p));
	ldns_pkt_free(p);
}

/* Owner names keep the query's letter case; targets use upper-case B. */
static void test_case(void)
{
	char q[300];
	ldns_pkt *p;

	snprintf(q, sizeof(q), "%s._WireGuard._UDP.ExAmPle.CoM.", b32[0]);
	for (char *s = q; *s && s < q + 20; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s | 0x20);
	p = ask(q, LDNS_RR_TYPE_SRV, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1);
	if (p && count(ldns_pkt_answer(p)) == 1) {
		char host[300];
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		CHECK(rdf_is(ldns_rr_owner(rr), q));
		snprintf(host, sizeof(host), "%s.ExAmPle.CoM.", b32[0]);
		CHECK(rdf_is(ldns_rr_rdf(rr, 3), host));
		CHECK(rdf_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_additional(p), 1)), q));
	}
	ldns_pkt_free(p);
	p = ask("_WIREGUARD._udp.EXAMPLE.com.", LDNS_RR_TYPE_PTR, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 4);
	if (p && count(ldns_pkt_answer(p)) == 4) {
		char want[300];
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		CHECK(rdf_is(ldns_rr_owner(rr), "_WIREGUARD._udp.EXAMPLE.com."));
		snprintf(want, sizeof(want), "%s._WIREGUARD._udp.EXAMPLE.com.", b32[7]);
		CHECK(rdf_is(ldns_rr_rdf(rr, 0), want));
	}
	ldns_pkt_free(p);
	p = ask("NoSuch.Example.COM.", LDNS_RR_TYPE_A, NULL);
	CHECK(p && count(ldns_pkt_authority(p)) == 1);
	if (p && count(ldns_pkt_authority(p)) == 1)
		CHECK(rdf_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), "Example.COM."));
	ldns_pkt_free(p);
}

/* Build a raw query: header fields and a question for "example.com." A. */
static size_t raw_query(uint8_t *buf, uint8_t flags2, uint16_t qd, uint16_t an, uint16_t ar)
{
	static const uint8_t qname[] = "\x07" "example" "\x03" "com";
	size_t n = 0;

	buf[n++] = 0xab;
	buf[n++] = 0xcd;
	buf[n++] = flags2;
	buf[n++] = 0;
	buf[n++] = 0, buf[n++] = (uint8_t)qd;
	buf[n++] = 0, buf[n++] = (uint8_t)an;
	buf[n++] = 0, buf[n++] = 0;
	buf[n++] = 0, buf[n++] = (uint8_t)ar;
	memcpy(buf + n, qname, sizeof(qname));
	n += sizeof(qname);
	buf[n++] = 0, buf[n++] = 1, buf[n++] = 0, buf[n++] = 1;
	return n;
}

/* A query (header of raw_query(), ar additional records announced) whose name is 5 x 63-byte labels: 321 bytes. */
static size_t long_name_query(uint8_t *buf, uint16_t ar)
{
	size_t n = 12;

	raw_query(buf, 0x01, 1, 0, ar);
	for (int i = 0; i < 5; i++) {
		buf[n++] = 63;
		memset(buf + n, 'a', 63);
		n += 63;
	}
	buf[n++] = 0;
	buf[n++] = 0, buf[n++] = 1, buf[n++] = 0, buf[n++] = 1;
	return n;
}

/* Send raw bytes; returns the response length and its rcode (extended from OPT) in *rcode. */
static size_t raw(const uint8_t *q, size_t len, int *rcode, bool *has_opt)
{
	static uint8_t out[4096];
	ldns_pkt *p = NULL;
	size_t n;

	client.tcp = false;
	n = dns_answer(&env, &client, q, len, out, sizeof(out), &info);
	*rcode = -1;
	if (n) {
		CHECK(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
		if (p) {
			*rcode = ldns_pkt_get_rcode(p) | (ldns_pkt_edns_extended_rcode(p) << 4);
			if (has_opt)
				*has_opt = ldns_pkt_edns(p);
			CHECK(ldns_pkt_id(p) == 0xabcd && ldns_pkt_qr(p));
		}
		ldns_pkt_free(p);
	}
	return n;
}

/* Send q + extra (appended at n): true when the answer has this rcode and an OPT or not as wanted. */
static bool opt_as_expected(uint8_t *q, size_t n, const uint8_t *extra, size_t extra_len, int rcode, bool want_opt)
{
	bool opt = !want_opt;
	int rc;

	memcpy(q + n, extra, extra_len);
	return raw(q, n + extra_len, &rc, &opt) > 0 && rc == rcode && opt == want_opt;
}

/* RFC 6891 6.1.1/7: a FORMERR for a bad question still carries an OPT when the query has a well-formed one. */
static void test_formerr_opt(const uint8_t *opt0, size_t opt0_len, const uint8_t *bad, size_t bad_len)
{
	uint8_t q[600];
	size_t n;

	static const uint8_t zero = 0;
	bool opt = true;
	int rc;

	/* QDCOUNT 0: the OPT right after the header. */
	raw_query(q, 0x01, 0, 0, 1);
	CHECK(opt_as_expected(q, 12, opt0, opt0_len, LDNS_RCODE_FORMERR, true));
	CHECK(opt_as_expected(q, 12, bad, bad_len, LDNS_RCODE_FORMERR, true));
	/* QDCOUNT 2 with two questions. */
	n = raw_query(q, 0x01, 2, 0, 1);
	memcpy(q + n, q + 12, n - 12);
	CHECK(opt_as_expected(q, n + n - 12, opt0, opt0_len, LDNS_RCODE_FORMERR, true));
	/* QDCOUNT 2 with one question: the OPT is read as the second question, nothing is left. */
	n = raw_query(q, 0x01, 2, 0, 1);
	CHECK(opt_as_expected(q, n, opt0, opt0_len, LDNS_RCODE_FORMERR, false));
	/* Compression pointer in the question: skipped, never followed. */
	n = raw_query(q, 0x01, 1, 0, 1);
	q[12] = 0xc0, q[13] = 0x0c, q[14] = 0, q[15] = 1, q[16] = 0, q[17] = 1;
	CHECK(opt_as_expected(q, 18, opt0, opt0_len, LDNS_RCODE_FORMERR, true));
	/* Label type 0x40 in the question: the message cannot be walked, no OPT. */
	n = raw_query(q, 0x01, 1, 0, 1);
	q[12] = 0x47;
	CHECK(opt_as_expected(q, n, opt0, opt0_len, LDNS_RCODE_FORMERR, false));
	/* Name longer than 255 bytes: no OPT. */
	n = long_name_query(q, 1);
	CHECK(opt_as_expected(q, n, opt0, opt0_len, LDNS_RCODE_FORMERR, false));
	/* ANCOUNT 1 with an A record, OPT in additional: OPT; OPT as the answer record: none. */
	static const uint8_t a_rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1 };
	n = raw_query(q, 0x01, 1, 1, 1);
	memcpy(q + n, a_rr, sizeof(a_rr));
	CHECK(opt_as_expected(q, n + sizeof(a_rr), opt0, opt0_len, LDNS_RCODE_FORMERR, true));
	n = raw_query(q, 0x01, 1, 1, 0);
	CHECK(opt_as_expected(q, n, opt0, opt0_len, LDNS_RCODE_FORMERR, false));
	/* QDCOUNT 0 with a trailing byte after the OPT, or two OPTs: no OPT. */
	raw_query(q, 0x01, 0, 0, 1);
	memcpy(q + 12, opt0, opt0_len);
	CHECK(opt_as_expected(q, 12 + opt0_len, &zero, 1, LDNS_RCODE_FORMERR, false));
	raw_query(q, 0x01, 0, 0, 2);
	memcpy(q + 12, opt0, opt0_len);
	CHECK(opt_as_expected(q, 12 + opt0_len, opt0, opt0_len, LDNS_RCODE_FORMERR, false));
	/* Other opcodes without a readable question: NOTIMP echoes the OPT too. */
	raw_query(q, 2 << 3, 0, 0, 1);
	CHECK(opt_as_expected(q, 12, opt0, opt0_len, LDNS_RCODE_NOTIMPL, true));
	/* The header alone with ARCOUNT 1: FORMERR without OPT. */
	raw_query(q, 0x01, 0, 0, 1);
	CHECK(raw(q, 12, &rc, &opt) == 12 && rc == LDNS_RCODE_FORMERR && !opt);
}

/* Drop, FORMERR, NOTIMP and BADVERS rules. */
static void test_malformed(void)
{
	uint8_t q[600];
	size_t n;
	int rc;
	bool opt = false;

	n = raw_query(q, 0x01, 1, 0, 0);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_NOERROR);
	/* Responses and runts are dropped. */
	n = raw_query(q, 0x81, 1, 0, 0);
	CHECK(raw(q, n, &rc, NULL) == 0 && info.verdict == DNS_QUERY_DROP);
	CHECK(raw(q, 11, &rc, NULL) == 0);
	CHECK(raw(q, 0, &rc, NULL) == 0);
	/* Header only / bad counts / truncated question: FORMERR. */
	n = raw_query(q, 0x01, 1, 0, 0);
	CHECK(raw(q, 12, &rc, NULL) == 12 && rc == LDNS_RCODE_FORMERR);
	CHECK(raw(q, n - 1, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	n = raw_query(q, 0x01, 2, 0, 0);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	n = raw_query(q, 0x01, 0, 0, 0);
	CHECK(raw(q, 12, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	n = raw_query(q, 0x01, 1, 1, 0);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	/* Trailing garbage. */
	n = raw_query(q, 0x01, 1, 0, 0);
	q[n++] = 0x55;
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	/* Compression pointer in the question. */
	n = raw_query(q, 0x01, 1, 0, 0);
	q[12] = 0xc0;
	q[13] = 0x0c;
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	/* Name longer than 255 bytes. */
	n = long_name_query(q, 0);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	/* Other opcodes: NOTIMP (NOTIFY = 4, UPDATE = 5, STATUS = 2). */
	n = raw_query(q, 4 << 3, 1, 0, 0);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_NOTIMPL);
	n = raw_query(q, 5 << 3, 1, 1, 0);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_NOTIMPL);
	n = raw_query(q, 2 << 3, 0, 0, 0);
	CHECK(raw(q, 12, &rc, NULL) > 0 && rc == LDNS_RCODE_NOTIMPL);
	/* EDNS: OPT echoed; version 1 gets BADVERS; two OPTs or OPT not at root: FORMERR. */
	static const uint8_t opt0[] = { 0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0 };
	static const uint8_t opt1[] = { 0, 0, 41, 0x10, 0, 0, 1, 0, 0, 0, 0 };
	static const uint8_t opt_bad_option[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 3, 0, 10, 0 };
	n = raw_query(q, 0x01, 1, 0, 1);
	memcpy(q + n, opt0, sizeof(opt0));
	CHECK(raw(q, n + sizeof(opt0), &rc, &opt) > 0 && rc == LDNS_RCODE_NOERROR && opt);
	memcpy(q + n, opt1, sizeof(opt1));
	CHECK(raw(q, n + sizeof(opt1), &rc, &opt) > 0 && rc == DNS_RCODE_BADVERS && opt);
	memcpy(q + n, opt_bad_option, sizeof(opt_bad_option));
	opt = false;
	CHECK(raw(q, n + sizeof(opt_bad_option), &rc, &opt) > 0 && rc == LDNS_RCODE_FORMERR && opt);
	n = raw_query(q, 0x01, 1, 0, 2);
	memcpy(q + n, opt0, sizeof(opt0));
	memcpy(q + n + sizeof(opt0), opt0, sizeof(opt0));
	CHECK(raw(q, n + 2 * sizeof(opt0), &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	n = raw_query(q, 0x01, 1, 0, 1);
	q[n] = 0xc0, q[n + 1] = 0x0c;  /* owner compressed to example.com. instead of root */
	memcpy(q + n + 2, opt0 + 1, sizeof(opt0) - 1);
	CHECK(raw(q, n + sizeof(opt0) + 1, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	/* Additional count larger than present. */
	n = raw_query(q, 0x01, 1, 0, 1);
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	/* QTYPE OPT. */
	n = raw_query(q, 0x01, 1, 0, 0);
	q[n - 3] = 41;
	CHECK(raw(q, n, &rc, NULL) > 0 && rc == LDNS_RCODE_FORMERR);
	test_formerr_opt(opt0, sizeof(opt0), opt_bad_option, sizeof(opt_bad_option));
}

/* EDNS echo and size limits, TC with the part that fits, TCP sizes. */
static void test_sizes(struct zone *big)
{
	struct zone *saved = env.zones[0];
	struct zone *zs[1] = { big };
	struct dns_answer_env e0 = env;
	ldns_pkt *p;
	struct qopt o = { 0 };

	env.zones = zs;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, NULL);
	CHECK(p && ldns_pkt_tc(p) && !ldns_pkt_edns(p) && count(ldns_pkt_answer(p)) > 0 &&
	      count(ldns_pkt_answer(p)) < 300);
	ldns_pkt_free(p);
	o.edns = 4096;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, &o);
	CHECK(p && ldns_pkt_tc(p) && ldns_pkt_edns(p) && ldns_pkt_edns_udp_size(p) == 1232 && ldns_pkt_edns_do(p));
	CHECK(p && count(ldns_pkt_answer(p)) == (1232 - 12 - 33 - 11) / 71);
	ldns_pkt_free(p);
	o.edns = 100;  /* below 512 counts as 512 */
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, &o);
	CHECK(p && ldns_pkt_tc(p) && count(ldns_pkt_answer(p)) == (512 - 12 - 33 - 11) / 71);
	ldns_pkt_free(p);
	env.edns_size = 4096;
	o.edns = 4096;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, &o);
	CHECK(p && ldns_pkt_tc(p) && count(ldns_pkt_answer(p)) == (4096 - 12 - 33 - 11) / 71);
	CHECK(p && ldns_pkt_edns_udp_size(p) == 4096);
	ldns_pkt_free(p);
	env.edns_size = 1232;
	o.tcp = true;
	o.edns = 0;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, &o);
	CHECK(p && !ldns_pkt_tc(p) && count(ldns_pkt_answer(p)) == 301 && !info.truncated);
	ldns_pkt_free(p);
	/* Small answers are not truncated; SOA fits. */
	p = ask("example.com.", LDNS_RR_TYPE_SOA, NULL);
	CHECK(p && !ldns_pkt_tc(p) && count(ldns_pkt_answer(p)) == 1);
	ldns_pkt_free(p);
	env = e0;
	zs[0] = saved;
}

/* More entries than fit into 65535 bytes: TCP answers what fits with TC=1. */
static void test_tcp_overflow(const struct config_zone *cz)
{
	struct wg_device *dev = make_device();
	struct zone *z, *zs[1];
	struct dns_answer_env e0 = env;
	struct qopt o = { .tcp = true };
	ldns_pkt *p;

	for (int i = 0; i < 1000; i++) {
		uint8_t k[WG_KEY_LEN];
		make_key(k, 1000 + i);
		add_peer(dev, k, "192.0.2.9:1", NULL, 0);
	}
	z = zone_new(cz, dev, NULL, NOW);
	zs[0] = z;
	env.zones = zs;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, &o);
	CHECK(p && ldns_pkt_tc(p) && info.truncated && count(ldns_pkt_answer(p)) == (65535 - 12 - 33) / 71);
	ldns_pkt_free(p);
	env = e0;
	zone_free(z);
	wg_device_free(dev);
}

/* access = peers: arrival interface and peer allowed IPs; CIDR lists. */
static void test_access(void)
{
	struct dns_answer_env e0 = env;
	ldns_pkt *p;
	struct qopt tcp = { .tcp = true };
	static const struct {
		const char *src;
		uint32_t ifindex;
		bool tcp;
		bool ok;
	} cases[] = {
		{ "10.0.0.1:999", 7, false, true },
		{ "10.0.0.3:999", 7, false, true },       /* peer without endpoint is still a peer */
		{ "10.1.0.77:999", 7, false, true },      /* inside a /24 */
		{ "[fd00::2]:999", 7, false, true },
		{ "[fd00:1::abcd]:999", 7, false, true },
		{ "10.0.0.1:999", 8, false, false },      /* spoofed on another interface */
		{ "10.0.0.1:999", 0, false, false },
		{ "10.0.0.9:999", 7, false, false },
		{ "10.1.1.1:999", 7, false, false },
		{ "[fd00::3]:999", 7, false, false },
		{ "[::ffff:10.0.0.1]:999", 7, false, true },
		{ "10.0.0.1:999", 7, true, true },        /* TCP: the same rule */
		{ "10.0.0.1:999", 8, true, false },       /* TCP that arrived on another interface */
		{ "10.0.0.1:999", 0, true, false },
		{ "10.0.0.9:999", 7, true, false },
	};

	env.access = ACCESS_PEERS;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_addr(&src, cases[i].src);
		client.ifindex = cases[i].ifindex;
		p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, cases[i].tcp ? &tcp : NULL);
		bool ok = p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR;
		if (ok != cases[i].ok || info.refused_access == cases[i].ok) {
			check_failures++;
			fprintf(stderr, "access case %zu (%s) failed\n", i, cases[i].src);
		}
		check_count++;
		ldns_pkt_free(p);
	}
	struct cidr c[2];
	cidr_parse("192.0.2.0/24", false, &c[0]);
	cidr_parse("2001:db8::/32", false, &c[1]);
	env.access = ACCESS_CIDR;
	env.access_cidrs = c;
	env.n_access_cidrs = 2;
	set_addr(&src, "192.0.2.55:1");
	p = ask("example.com.", LDNS_RR_TYPE_SOA, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	set_addr(&src, "[2001:db8:1::1]:1");
	p = ask("example.com.", LDNS_RR_TYPE_SOA, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	set_addr(&src, "198.51.100.1:1");
	p = ask("example.com.", LDNS_RR_TYPE_SOA, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED && !ldns_pkt_aa(p) && info.refused_access);
	ldns_pkt_free(p);
	env = e0;
	client.ifindex = 7;
	set_addr(&src, "10.0.0.1:999");
}

/* SOA serial follows the published set; SERVFAIL for an unreadable device. */
static void test_serial_servfail(const struct config_zone *cz)
{
	struct wg_device *dev = make_device();
	struct zone *a = zone_new(cz, dev, NULL, NOW);
	struct zone *b = zone_new(cz, dev, a, NOW + 5);
	struct zone *f, *c, *zs[1];
	ldns_pkt *p;

	CHECK(a && b && a->serial == NOW && b->serial == a->serial);
	dev->peers[1].last_handshake_sec = NOW;   /* not part of the published set */
	c = zone_new(cz, dev, b, NOW + 6);
	CHECK(c && c->serial == a->serial);
	zone_free(c);
	/* Backends may list peers in another order each time: same set, same serial. */
	struct wg_peer tmp = dev->peers[0];
	dev->peers[0] = dev->peers[3];
	dev->peers[3] = tmp;
	c = zone_new(cz, dev, b, NOW + 6);
	CHECK(c && c->serial == a->serial);
	zone_free(c);
	set_addr(&dev->peers[0].endpoint, "192.0.2.100:1");
	/* A change takes the clock's seconds as serial, or the old one + 1 when the clock is not ahead. */
	c = zone_new(cz, dev, b, NOW);
	CHECK(c && c->serial == a->serial + 1);
	zone_free(c);
	c = zone_new(cz, dev, b, NOW + 7);
	CHECK(c && c->serial == NOW + 7);
	f = zone_new(cz, NULL, c, NOW + 8);
	CHECK(f && f->servfail && f->serial == c->serial);
	zs[0] = f;
	struct dns_answer_env e0 = env;
	env.zones = zs;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL && count(ldns_pkt_answer(p)) == 0);
	ldns_pkt_free(p);
	env.access = ACCESS_PEERS;
	p = ask("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);
	env = e0;
	zone_free(a);
	zone_free(b);
	zone_free(c);
	zone_free(f);
	wg_device_free(dev);
}

/* self = auto follows the arrival address; NS glue; nested zones. */
static void test_self_auto_ns_nested(void)
{
	struct config_zone cz, sub;
	struct wg_device *dev = make_device(), *dev2 = wg_device_new();
	union sockaddr_any glue[2];
	char host[256], inst[256];
	ldns_pkt *p;

	make_zone_cfg(&cz, "example.net.");
	cz.self = SELF_AUTO;
	snprintf(cz.ns, sizeof(cz.ns), "ns.example.net.");
	set_addr(&glue[0], "192.0.2.53:0");
	set_addr(&glue[1], "[2001:db8::53]:0");
	cz.ns_addrs = glue;
	cz.n_ns_addrs = 2;
	make_zone_cfg(&sub, "sub.example.net.");
	static const char *const ips[] = { "10.9.0.1/32", NULL };
	add_peer(dev2, keys[4], "192.0.2.44:44", ips, NOW - 1);
	struct zone *z1 = zone_new(&cz, dev, NULL, NOW), *z2 = zone_new(&sub, dev2, NULL, NOW);
	struct zone *zs[2] = { z1, z2 };
	struct dns_answer_env e0 = env;
	env.zones = zs;
	env.n_zones = 2;
	CHECK(z1 && z2);

	names(7, "example.net.", host, inst, sizeof(host));
	set_addr(&local, "198.51.100.7:53");
	p = ask(host, LDNS_RR_TYPE_A, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1 &&
	      rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0), "198.51.100.7"));
	ldns_pkt_free(p);
	p = ask(inst, LDNS_RR_TYPE_SRV, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1 && count(ldns_pkt_additional(p)) == 2 &&
	      rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 2), "51820"));
	ldns_pkt_free(p);
	set_addr(&local, "[2001:db8::7]:53");
	p = ask(host, LDNS_RR_TYPE_AAAA, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1 &&
	      rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0), "2001:db8::7"));
	ldns_pkt_free(p);
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0, true);
	/* NS with glue, and the NS name's addresses. */
	p = ask("example.net.", LDNS_RR_TYPE_NS, NULL);
	CHECK(p && count(ldns_pkt_answer(p)) == 1 && count(ldns_pkt_additional(p)) == 2);
	if (p && count(ldns_pkt_answer(p)) == 1)
		CHECK(rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0), "ns.example.net."));
	if (p && count(ldns_pkt_additional(p)) == 2)
		CHECK(rdf_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_additional(p), 0)), "ns.example.net."));
	ldns_pkt_free(p);
	EXPECT("ns.example.net.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("ns.example.net.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("ns.example.net.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, 0, true);
	p = ask("example.net.", LDNS_RR_TYPE_SOA, NULL);
	if (p && count(ldns_pkt_answer(p)) == 1) {
		ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		CHECK(rdf_is(ldns_rr_rdf(soa, 0), "ns.example.net."));
		CHECK(rdf_is(ldns_rr_rdf(soa, 1), "hostmaster.example.net."));
	} else {
		CHECK(!"SOA answer");
	}
	ldns_pkt_free(p);
	/* The longer zone wins for names below it. */
	names(4, "sub.example.net.", host, inst, sizeof(host));
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("_wireguard._udp.sub.example.net.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, 1, false);
	EXPECT("_wireguard._udp.example.net.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, 4, false);
	names(4, "example.net.", host, inst, sizeof(host));
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, true);
	env = e0;
	zone_free(z1);
	zone_free(z2);
	wg_device_free(dev);
	wg_device_free(dev2);
}

/* Wire bytes of the TXT rdata of rr (each string with its length byte); returns the length. */
static size_t txt_rdata(const ldns_rr *rr, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
		if (n + ldns_rdf_size(rdf) > cap)
			abort();
		memcpy(buf + n, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
		n += ldns_rdf_size(rdf);
	}
	return n;
}

/* True when no two strings of a TXT record have the same key (RFC 6763 6.4: only the first one counts). */
static bool txt_keys_unique(const ldns_rr *rr)
{
	char *k[300];
	size_t n = ldns_rr_rd_count(rr) < 300 ? ldns_rr_rd_count(rr) : 300;
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		k[i] = rdf_str(ldns_rr_rdf(rr, i));
		char *eq = strchr(k[i], '=');
		if (eq)
			*eq = '\0';
		for (size_t j = 0; j < i && ok; j++)
			if (strcasecmp(k[i], k[j]) == 0) {
				fprintf(stderr, "  TXT key %s repeated\n", k[i]);
				ok = false;
			}
	}
	for (size_t i = 0; i < n; i++)
		free(k[i]);
	return ok;
}

/* Number of allowed IPs client_members_allowed() reads from the TXT record of rr, or its error. */
static int txt_allowed_count(const ldns_rr *rr)
{
	static uint8_t rdata[65536];
	static struct cidr got[4000];

	return client_members_allowed(rdata, txt_rdata(rr, rdata, sizeof(rdata)), got, 4000);
}

/* True when the TXT record of rr carries the first want allowed IPs of p, in order, and no more. */
static bool txt_allowed_is(const ldns_rr *rr, const struct wg_peer *p, size_t want)
{
	static uint8_t rdata[65536];
	static struct cidr got[4000];
	size_t len = txt_rdata(rr, rdata, sizeof(rdata));
	int n = client_members_allowed(rdata, len, got, 4000);

	if (n != (int)want) {
		fprintf(stderr, "  client_members_allowed: %d prefixes, want %zu\n", n, want);
		return false;
	}
	for (int i = 0; i < n; i++)
		if (got[i].family != p->allowed_ips[i].family || got[i].prefix != p->allowed_ips[i].prefix ||
		    memcmp(got[i].addr, p->allowed_ips[i].addr, got[i].family == AF_INET ? 4 : 16) != 0) {
			fprintf(stderr, "  prefix %d differs\n", i);
			return false;
		}
	return true;
}

/*
 * Long allowed-IP lists: "allowed=" then "allowed2=", "allowed3=", ... (one
 * key per string), and the whole list readable back, also at 1,500 prefixes
 * (over 20 KB) over TCP.
 */
static void test_long_allowed(const struct config_zone *cz)
{
	struct wg_device *dev = wg_device_new();
	struct wg_peer *p = add_peer(dev, keys[5], "192.0.2.5:5", NULL, 0);
	struct wg_peer *big = add_peer(dev, keys[6], "192.0.2.6:6", NULL, NOW - 3);
	char host[256], inst[256];

	for (int i = 0; i < 40; i++) {
		char t[40];
		struct cidr c;
		snprintf(t, sizeof(t), "10.%d.%d.0/24", i, i);
		cidr_parse(t, false, &c);
		wg_peer_add_allowed_ip(p, &c);
	}
	for (int i = 0; i < 1500; i++) {
		char t[64];
		struct cidr c;
		if (i % 3 == 2)
			snprintf(t, sizeof(t), "fd00:%x::%x/128", i, i * 7);
		else
			snprintf(t, sizeof(t), "10.%d.%d.%d/32", 100 + i / 250, i % 250, i % 7);
		if (cidr_parse(t, false, &c) < 0 || wg_peer_add_allowed_ip(big, &c) < 0)
			abort();
	}
	struct zone *z = zone_new(cz, dev, NULL, NOW), *zs[1] = { z };
	struct dns_answer_env e0 = env;
	env.zones = zs;
	names(5, "example.com.", host, inst, sizeof(host));
	struct qopt o = { .edns = 4096 };
	ldns_pkt *r = ask(inst, LDNS_RR_TYPE_TXT, NULL);
	/* Over 512 bytes: truncated without EDNS, complete with it. */
	CHECK(r && ldns_pkt_tc(r) && count(ldns_pkt_answer(r)) == 0);
	ldns_pkt_free(r);
	r = ask(inst, LDNS_RR_TYPE_TXT, &o);
	CHECK(r && !ldns_pkt_tc(r) && count(ldns_pkt_answer(r)) == 1);
	if (r && count(ldns_pkt_answer(r)) == 1) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
		static const char *const keys_want[] = { "\"txtvers=1\"", "\"pub=", "\"allowed=", "\"allowed2=", "\"allowed3=" };
		CHECK(ldns_rr_rd_count(rr) == 5);   /* txtvers, pub, three allowed strings, no seen */
		for (size_t i = 0; i < ldns_rr_rd_count(rr) && i < 5; i++) {
			char *s = rdf_str(ldns_rr_rdf(rr, i));
			CHECK(strncmp(s, keys_want[i], strlen(keys_want[i])) == 0);
			CHECK(strlen(s) <= 255 + 2);
			free(s);
		}
		CHECK(txt_keys_unique(rr));
		CHECK(txt_allowed_is(rr, p, p->n_allowed_ips));
	}
	ldns_pkt_free(r);
	/* 1,500 prefixes: every one over TCP, "seen=" still last. */
	names(6, "example.com.", host, inst, sizeof(host));
	struct qopt tcp = { .tcp = true };
	r = ask(inst, LDNS_RR_TYPE_TXT, &tcp);
	CHECK(r && !ldns_pkt_tc(r) && count(ldns_pkt_answer(r)) == 1);
	if (r && count(ldns_pkt_answer(r)) == 1) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
		CHECK(rdf_is(ldns_rr_rdf(rr, 0), "\"txtvers=1\""));
		CHECK(rdf_is(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1), "\"seen=3\""));
		CHECK(txt_keys_unique(rr));
		CHECK(txt_allowed_is(rr, big, big->n_allowed_ips));
	}
	ldns_pkt_free(r);
	/* Its SRV over UDP still answers; the TXT that does not fit is left out of additional, without TC. */
	r = ask(inst, LDNS_RR_TYPE_SRV, &o);
	CHECK(r && !ldns_pkt_tc(r) && count(ldns_pkt_answer(r)) == 1 && count(ldns_pkt_additional(r)) == 1);
	ldns_pkt_free(r);
	env = e0;
	zone_free(z);
	wg_device_free(dev);

	/*
	 * 2,000 IPv6 prefixes of full length: the list is cut where the TXT
	 * would no longer fit one TCP message (some 280 strings, at least
	 * 1,200 prefixes), and all that is there reads back, in order.
	 */
	dev = wg_device_new();
	big = add_peer(dev, keys[6], "192.0.2.6:6", NULL, NOW - 3);
	for (int i = 0; i < 2000; i++) {
		char t[64];
		struct cidr c;
		snprintf(t, sizeof(t), "2001:db8:ffff:ffff:ffff:ffff:%x:%x/128", 0x1000 + i, 0xf000 + i);
		if (cidr_parse(t, false, &c) < 0 || wg_peer_add_allowed_ip(big, &c) < 0)
			abort();
	}
	z = zs[0] = zone_new(cz, dev, NULL, NOW);
	env.zones = zs;
	r = ask(inst, LDNS_RR_TYPE_TXT, &tcp);
	CHECK(r && !ldns_pkt_tc(r) && count(ldns_pkt_answer(r)) == 1);
	if (r && count(ldns_pkt_answer(r)) == 1) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
		int n = txt_allowed_count(rr);
		CHECK(n >= 1200 && n < 2000 && txt_allowed_is(rr, big, (size_t)n));
		CHECK(ldns_rr_rd_count(rr) > 256 + 3);
		CHECK(rdf_is(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1), "\"seen=3\""));
		CHECK(txt_keys_unique(rr));
		CHECK(ans_len <= 65535);
	}
	ldns_pkt_free(r);
	env = e0;
	zone_free(z);
	wg_device_free(dev);
}

/* Expect a negative answer (rcode, no answers) with the SOA of zone soa_owner in authority. */
static void expect_negative(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, const char *soa_owner,
			    int line)
{
	ldns_pkt *p = ask(name, type, NULL);
	bool ok = p && ldns_pkt_get_rcode(p) == rcode && ldns_pkt_aa(p) && count(ldns_pkt_answer(p)) == 0 &&
		  count(ldns_pkt_authority(p)) == 1 &&
		  ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)) == LDNS_RR_TYPE_SOA;

	if (ok) {
		char *o = rdf_str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_authority(p), 0)));
		ok = o && strcasecmp(o, soa_owner) == 0;
		free(o);
	}
	if (!ok) {
		check_failures++;
		fprintf(stderr, "line %d: %s type %d: rcode %d answers %zu authority %zu, want rcode %d and %s SOA\n",
			line, name, type, p ? (int)ldns_pkt_get_rcode(p) : -1, p ? count(ldns_pkt_answer(p)) : 0,
			p ? count(ldns_pkt_authority(p)) : 0, rcode, soa_owner);
	}
	check_count++;
	ldns_pkt_free(p);
}

#define NEGATIVE(name, type, rcode, soa) expect_negative(name, type, rcode, soa, __LINE__)

/*
 * A name without records but with names below it (an empty non-terminal)
 * is NODATA, a name with neither NXDOMAIN (RFC 8020: NXDOMAIN means nothing
 * below either), as NSD answers for the same data: the NS name's parent, the
 * name between a zone and another served zone below it, and _udp.Z (and
 * _wireguard._udp.Z) only while something is published under them.
 */
static void test_empty_non_terminals(const struct config_zone *main_cz)
{
	static const char *const ips[] = { "10.7.0.1/32", NULL };
	struct config_zone ns_cz, bare_cz, empty_cz, child_cz;
	struct wg_device *dev = make_device(), *nobody = wg_device_new();
	union sockaddr_any glue;
	char host[256], inst[256];

	make_zone_cfg(&ns_cz, "example.org.");
	snprintf(ns_cz.ns, sizeof(ns_cz.ns), "ns1.dns.example.org.");
	set_addr(&glue, "192.0.2.53:0");
	ns_cz.ns_addrs = &glue;
	ns_cz.n_ns_addrs = 1;
	make_zone_cfg(&bare_cz, "example.net.");
	snprintf(bare_cz.ns, sizeof(bare_cz.ns), "ns1.dns.example.net.");
	make_zone_cfg(&empty_cz, "empty.test.");
	add_peer(nobody, keys[6], NULL, ips, NOW);
	make_zone_cfg(&child_cz, "a.b.example.com.");
	struct zone *zs[5] = { zone_new(main_cz, dev, NULL, NOW), zone_new(&ns_cz, dev, NULL, NOW),
			       zone_new(&bare_cz, dev, NULL, NOW), zone_new(&empty_cz, nobody, NULL, NOW),
			       zone_new(&child_cz, NULL, NULL, NOW) };
	struct dns_answer_env e0 = env;
	env.zones = zs;
	env.n_zones = 5;
	for (int i = 0; i < 5; i++)
		CHECK(zs[i] != NULL);

	/* ns = ns1.dns.example.org. with glue: dns.example.org. exists, empty. */
	EXPECT("ns1.dns.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false);
	NEGATIVE("dns.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "example.org.");
	NEGATIVE("DNS.Example.ORG.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, "example.org.");
	NEGATIVE("dns.example.org.", LDNS_RR_TYPE_ANY, LDNS_RCODE_NOERROR, "example.org.");
	NEGATIVE("x.dns.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.org.");
	NEGATIVE("x.ns1.dns.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.org.");
	NEGATIVE("ns1.x.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.org.");
	/* The same NS name without glue has no records: neither it nor its parent exists. */
	NEGATIVE("ns1.dns.example.net.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.net.");
	NEGATIVE("dns.example.net.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.net.");
	/* Peers published: _udp.Z has _wireguard._udp.Z below it. */
	NEGATIVE("_udp.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "example.com.");
	NEGATIVE("_UDP.example.com.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, "example.com.");
	NEGATIVE("_udp.example.com.", LDNS_RR_TYPE_ANY, LDNS_RCODE_NOERROR, "example.com.");
	NEGATIVE("x._udp.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.com.");
	/* Nothing published: neither _udp.Z nor _wireguard._udp.Z exists. */
	NEGATIVE("_udp.empty.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "empty.test.");
	NEGATIVE("_wireguard._udp.empty.test.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NXDOMAIN, "empty.test.");
	NEGATIVE("_wireguard._udp.empty.test.", LDNS_RR_TYPE_ANY, LDNS_RCODE_NXDOMAIN, "empty.test.");
	names(6, "empty.test.", host, inst, sizeof(host));
	NEGATIVE(inst, LDNS_RR_TYPE_SRV, LDNS_RCODE_NXDOMAIN, "empty.test.");
	EXPECT("empty.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, 1, false);
	/* Zones example.com. and a.b.example.com. served, no delegation: b.example.com. exists in example.com. */
	NEGATIVE("b.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "example.com.");
	NEGATIVE("B.EXAMPLE.COM.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, "example.com.");
	NEGATIVE("x.b.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.com.");
	NEGATIVE("a.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.com.");
	ldns_pkt *p = ask("a.b.example.com.", LDNS_RR_TYPE_SOA, NULL);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL && info.zone == 4);
	ldns_pkt_free(p);
	EXPECT("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, 4, false);
	env = e0;
	for (int i = 0; i < 5; i++)
		zone_free(zs[i]);
	wg_device_free(dev);
	wg_device_free(nobody);
}

/* Offset just past the (possibly compressed) name at off; 0 when it runs off the message. */
static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		if (m[off] == 0)
			return off + 1;
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		off += 1u + m[off];
	}
	return 0;
}

/*
 * The SRV target is a full name in the rdata (RFC 2782; RFC 3597 4 forbids
 * compression in the rdata of types newer than RFC 1035), as NSD writes it:
 * B in upper case and the zone as the query spelled it.
 */
static void test_srv_target_uncompressed(void)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_ANY };
	char q[300], target[300];

	snprintf(q, sizeof(q), "%s._wireguard._udp.ExAmPle.CoM.", b32[0]);
	snprintf(target, sizeof(target), "%s.ExAmPle.CoM.", b32[0]);
	ldns_rdf *want = ldns_dname_new_frm_str(target);
	if (!want)
		abort();
	for (int t = 0; t < 2; t++) {
		for (int tcp = 0; tcp < 2; tcp++) {
			struct qopt o = { .tcp = tcp != 0 };
			ldns_pkt *p = ask(q, types[t], &o);
			CHECK(p && count(ldns_pkt_answer(p)) == 1);
			ldns_pkt_free(p);
			size_t off = skip_name(ans_wire, ans_len, DNS_HEADER_LEN);
			off = off ? skip_name(ans_wire, ans_len, off + 4) : 0;
			if (!off || off + 10 > ans_len) {
				CHECK(!"answer record readable");
				continue;
			}
			unsigned int type = (unsigned int)ans_wire[off] << 8 | ans_wire[off + 1];
			size_t rdlen = (size_t)ans_wire[off + 8] << 8 | ans_wire[off + 9];
			CHECK(type == LDNS_RR_TYPE_SRV && off + 10 + rdlen <= ans_len && rdlen > 6);
			if (type != LDNS_RR_TYPE_SRV || off + 10 + rdlen > ans_len || rdlen <= 6)
				continue;
			const uint8_t *tw = ans_wire + off + 10 + 6;
			if (rdlen - 6 != ldns_rdf_size(want) || memcmp(tw, ldns_rdf_data(want), rdlen - 6) != 0) {
				check_failures++;
				fprintf(stderr, "SRV target (type %d, tcp %d) is not the full name %s (%zu bytes, want %zu)\n",
					types[t], tcp, target, rdlen - 6, ldns_rdf_size(want));
			}
			check_count++;
		}
	}
	ldns_rdf_deep_free(want);
}

/*
 * Endpoints no one can use (unspecified, loopback, multicast, broadcast or
 * reserved, link-local, port 0; v4-mapped too) are not published: no PTR,
 * SRV, A, AAAA or TXT, as if the peer had none; the snapshot counts them.
 * The same for a fixed self endpoint, and for self = auto when the query
 * arrived on such an address (no SRV, A or AAAA for that query).
 */
static void test_unpublishable(const struct config_zone *main_cz)
{
	static const char *const bad[] = {
		"0.0.0.0:51820", "[::]:51820", "127.0.0.1:51820", "[::1]:51820", "224.0.0.1:51820",
		"[ff02::1]:51820", "255.255.255.255:51820", "240.0.0.1:51820", "[fe80::1]:51820",
		"192.0.2.9:0", "[2001:db8::9]:0", "[::ffff:127.0.0.1]:51820",
	};
	const size_t n_bad = sizeof(bad) / sizeof(bad[0]);
	struct wg_device *dev = wg_device_new();
	struct config_zone cz = *main_cz;
	char host[256], inst[256];
	uint8_t k[WG_KEY_LEN];

	dev->ifindex = 7;
	dev->listen_port = 51820;
	dev->has_public_key = true;
	memcpy(dev->public_key, keys[7], WG_KEY_LEN);
	add_peer(dev, keys[0], "192.0.2.1:51820", NULL, NOW);
	for (size_t i = 0; i < n_bad; i++) {
		make_key(k, 500 + (int)i);
		add_peer(dev, k, bad[i], NULL, NOW);
	}
	set_addr(&cz.self_endpoint, "127.0.0.1:51820");
	struct zone *z = zone_new(&cz, dev, NULL, NOW), *zs[1] = { z };
	struct dns_answer_env e0 = env;
	env.zones = zs;
	CHECK(z && z->n_entries == 1 && z->n_unpublishable == n_bad + 1 && z->self_unpublishable == ADDR_EP_LOOPBACK);
	EXPECT("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, 1, false);
	for (size_t i = 0; i <= n_bad; i++) {
		char b[KEY_B32_LEN + 1];
		make_key(k, 500 + (int)i);
		key_to_base32(i < n_bad ? k : keys[7], b);
		snprintf(host, sizeof(host), "%s.example.com.", b);
		snprintf(inst, sizeof(inst), "%s._wireguard._udp.example.com.", b);
		NEGATIVE(inst, LDNS_RR_TYPE_SRV, LDNS_RCODE_NXDOMAIN, "example.com.");
		NEGATIVE(inst, LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN, "example.com.");
		NEGATIVE(host, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.com.");
		NEGATIVE(host, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NXDOMAIN, "example.com.");
	}
	zone_free(z);

	/* self = auto: published, but its address records only for a usable arrival address. */
	cz.self = SELF_AUTO;
	z = zs[0] = zone_new(&cz, dev, NULL, NOW);
	CHECK(z && z->n_entries == 2 && z->n_unpublishable == n_bad && z->self_unpublishable == ADDR_EP_OK);
	names(7, "example.com.", host, inst, sizeof(host));
	static const char *const bad_local[] = { "127.0.0.1:53", "[::1]:53", "[fe80::1]:53", "[::ffff:127.0.0.1]:53" };
	for (size_t i = 0; i < sizeof(bad_local) / sizeof(bad_local[0]); i++) {
		set_addr(&local, bad_local[i]);
		NEGATIVE(host, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "example.com.");
		NEGATIVE(host, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, "example.com.");
		NEGATIVE(inst, LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR, "example.com.");
		EXPECT(inst, LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, 1, false);
		EXPECT("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, 2, false);
	}
	set_addr(&local, "192.0.2.53:53");
	EXPECT(host, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false);
	EXPECT(inst, LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR, 1, false);
	zone_free(z);
	/* A device without a listen port cannot be reached either. */
	dev->listen_port = 0;
	z = zs[0] = zone_new(&cz, dev, NULL, NOW);
	CHECK(z && z->n_entries == 1 && z->n_unpublishable == n_bad + 1 && z->self_unpublishable == ADDR_EP_PORT_ZERO);
	NEGATIVE(host, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "example.com.");
	zone_free(z);
	set_addr(&local, "10.0.0.254:53");
	env = e0;
	wg_device_free(dev);
}

/* True when two snapshots hold the same entries, tables, access set, serial and digest. */
static bool zone_same(const struct zone *a, const struct zone *b)
{
	if (a->n_entries != b->n_entries || a->serial != b->serial || a->digest != b->digest ||
	    a->n_peers != b->n_peers || a->table_mask != b->table_mask || a->acl_mask != b->acl_mask ||
	    a->n_acl_plens != b->n_acl_plens)
		return false;
	for (size_t i = 0; i < a->n_entries; i++) {
		struct zone_entry x = a->entries[i], y = b->entries[i];
		if (x.txt_len != y.txt_len || memcmp(x.txt, y.txt, x.txt_len) != 0)
			return false;
		x.txt = y.txt = NULL;
		if (memcmp(&x, &y, sizeof(x)) != 0)
			return false;
	}
	return memcmp(a->table, b->table, (a->table_mask + 1) * sizeof(*a->table)) == 0 &&
	       (!a->acl || memcmp(a->acl, b->acl, (a->acl_mask + 1) * sizeof(*a->acl)) == 0) &&
	       (!a->n_acl_plens || memcmp(a->acl_plens, b->acl_plens, a->n_acl_plens * sizeof(*a->acl_plens)) == 0);
}

/* A build in steps of any size gives the snapshot zone_new() gives; an abandoned build frees cleanly. */
static void test_build_steps(const struct config_zone *cz)
{
	static const char *const v4[] = { "10.2.0.0/16", NULL };
	struct wg_device *dev = make_device();
	char ep[64], ip[64];

	for (int i = 0; i < 700; i++) {
		uint8_t k[WG_KEY_LEN];
		const char *ips[3] = { ip, i % 5 == 0 ? "fd00:9::/48" : NULL, NULL };
		make_key(k, 2000 + i);
		if (i % 3 == 0)
			snprintf(ep, sizeof(ep), "[2001:db8::%x]:%d", i, 1000 + i);
		else
			snprintf(ep, sizeof(ep), "198.51.100.%d:%d", i % 250, 1000 + i);
		snprintf(ip, sizeof(ip), "10.3.%d.%d/32", i / 250, i % 250);
		add_peer(dev, k, i % 7 == 0 ? NULL : ep, ips, i % 2 ? NOW - i : 0);
	}
	add_peer(dev, keys[0], "192.0.2.77:9", v4, NOW);   /* a repeated key: the first one wins */
	struct zone *prev = zone_new(cz, dev, NULL, NOW - 100);
	set_addr(&dev->peers[10].endpoint, "192.0.2.10:10");
	struct zone *whole = zone_new(cz, dev, prev, NOW);
	CHECK(prev && whole && whole->serial == NOW);
	CHECK(whole && whole->n_entries == 1 + 3 + 700 - 100 && whole->n_peers == 705);
	static const size_t steps[] = { 1, 2, 7, 64, 256, 704, 705, 706, 100000 };
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct zone_build *b = zone_build_new(cz, dev, prev, NOW);
		int r = 0, n = 0;
		while (b && (r = zone_build_step(b, steps[s])) == 0)
			n++;
		CHECK(b && r == 1 && (size_t)n == (705 + steps[s] - 1) / steps[s] - 1);
		struct zone *z = b && r == 1 ? zone_build_finish(b) : NULL;
		if (!z || !zone_same(whole, z)) {
			check_failures++;
			fprintf(stderr, "build in steps of %zu differs from zone_new\n", steps[s]);
		}
		check_count++;
		zone_free(z);
	}
	/* The event-loop slice: at least one batch per call, however small the budget. */
	struct zone_build *b = zone_build_new(cz, dev, prev, NOW);
	int r = 0, calls = 0;
	while (b && (r = zone_build_run(b, 0)) == 0)
		calls++;
	CHECK(b && r == 1 && calls + 1 == (705 + ZONE_BUILD_BATCH - 1) / ZONE_BUILD_BATCH);
	struct zone *z = b && r == 1 ? zone_build_finish(b) : NULL;
	CHECK(z && zone_same(whole, z));
	zone_free(z);
	b = zone_build_new(cz, dev, prev, NOW);
	CHECK(b && zone_build_run(b, 60u * 1000 * 1000) == 1);
	z = b ? zone_build_finish(b) : NULL;
	CHECK(z && zone_same(whole, z));
	zone_free(z);
	/* A step of 0 peers still adds one. */
	b = zone_build_new(cz, dev, prev, NOW);
	calls = 0;
	while (b && (r = zone_build_step(b, 0)) == 0)
		calls++;
	CHECK(b && r == 1 && calls == 704);
	zone_free(b && r == 1 ? zone_build_finish(b) : NULL);
	/* Abandoned before any step, and halfway. */
	zone_build_free(zone_build_new(cz, dev, prev, NOW));
	struct zone_build *half = zone_build_new(cz, dev, NULL, NOW);
	CHECK(half && zone_build_step(half, 300) == 0);
	zone_build_free(half);
	zone_build_free(NULL);
	zone_free(prev);
	zone_free(whole);
	wg_device_free(dev);
}

/* Build the test zone and run every group of checks. */
/*
 * Messages from outside reach ldns_wire2pkt() only when ldns's own walk meets
 * at most one TSIG: ldns leaks all but the last of several, and it may meet
 * one hidden in another record's rdata, since it reads rdata field by field.
 */
static void test_pkt_from_wire(void)
{
	/* A response to "example.com. SOA" with a TSIG record (no MAC) appended n times. */
	uint8_t m[512];
	static const uint8_t head[] = { 0x12, 0x34, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 6, 0, 1 };
	static const uint8_t tsig[] = { 0xc0, 12, 0, 250, 0, 255, 0, 0, 0, 0, 0, 29,
					11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0,
					0, 0, 0x65, 0x43, 0x21, 0x00, 1, 0x2c, 0, 0, 0x12, 0x34, 0, 0, 0, 0 };
	/*
	 * An A record whose rdata length also covers a TSIG record with a one-byte
	 * rdata (the root name): ldns reads the address, then that TSIG as the next
	 * record, then a real TSIG (a walk by rdata length sees one TSIG). Two A
	 * records after them make up the count of four additional records.
	 */
	static const uint8_t hidden[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 15, 192, 0, 2, 1,
					  0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t short_tsig[] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t a[] = { 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 2 };
	size_t len = sizeof(head);
	ldns_pkt *pkt = NULL;

	memcpy(m, head, sizeof(head));
	CHECK(dns_pkt_from_wire(&pkt, m, len) == LDNS_STATUS_OK && pkt && !ldns_pkt_tsig(pkt));
	ldns_pkt_free(pkt);
	/*
	 * ldns stops one record early for each TSIG it takes out: of two, it reads
	 * the first and never the second; of three, it reads and leaks the first.
	 */
	for (int n = 1; n <= 3; n++) {
		memcpy(m + len, tsig, sizeof(tsig));
		len += sizeof(tsig);
		m[11] = (uint8_t)n;
		pkt = NULL;
		CHECK((dns_pkt_from_wire(&pkt, m, len) == LDNS_STATUS_OK) == (n <= 2));
		CHECK((pkt != NULL) == (n <= 2));
		CHECK(n > 2 || ldns_pkt_tsig(pkt));
		ldns_pkt_free(pkt);
	}
	/* The hidden TSIG. */
	len = sizeof(head);
	memcpy(m + len, hidden, sizeof(hidden));
	len += sizeof(hidden);
	memcpy(m + len, short_tsig, sizeof(short_tsig));
	len += sizeof(short_tsig);
	memcpy(m + len, a, sizeof(a));
	len += sizeof(a);
	memcpy(m + len, a, sizeof(a));
	len += sizeof(a);
	m[11] = 4;
	CHECK(dns_pkt_from_wire(&pkt, m, len) == LDNS_STATUS_ERR && !pkt);
	/* With the second TSIG made a TXT record (one empty string), ldns meets one TSIG (the hidden one). */
	m[sizeof(head) + sizeof(hidden) + 2] = 0;
	m[sizeof(head) + sizeof(hidden) + 3] = 16;
	CHECK(dns_pkt_from_wire(&pkt, m, len) == LDNS_STATUS_OK && pkt && ldns_pkt_tsig(pkt));
	ldns_pkt_free(pkt);
	/* Records past the end, a count larger than the records, a name running off: refused as ldns refuses them. */
	memcpy(m + sizeof(head), tsig, sizeof(tsig));
	m[11] = 1;
	CHECK(dns_pkt_from_wire(&pkt, m, sizeof(head) + sizeof(tsig) - 1) != LDNS_STATUS_OK && !pkt);
	m[9] = 1;
	CHECK(dns_pkt_from_wire(&pkt, m, sizeof(head) + sizeof(tsig)) != LDNS_STATUS_OK && !pkt);
	m[9] = 0;
	m[11] = 0;
	CHECK(dns_pkt_from_wire(&pkt, m, 20) != LDNS_STATUS_OK && !pkt);
	CHECK(dns_pkt_from_wire(&pkt, m, 11) != LDNS_STATUS_OK && !pkt);
}

int main(void)
{
	struct config_zone cz;
	struct cidr self_ip;

	for (int i = 0; i < 8; i++) {
		make_key(keys[i], i);
		key_to_base32(keys[i], b32[i]);
	}
	make_zone_cfg(&cz, "example.com.");
	cz.self = SELF_FIXED;
	set_addr(&cz.self_endpoint, "203.0.113.4:51820");
	cidr_parse("10.0.0.254/32", false, &self_ip);
	cz.self_allowed_ips = &self_ip;
	cz.n_self_allowed_ips = 1;

	struct wg_device *dev = make_device();
	struct zone *z = zone_new(&cz, dev, NULL, NOW);
	CHECK(z && z->n_entries == 4 && z->apex_labels == 2);
	struct zone *zones[1] = { z };
	env.zones = zones;
	env.n_zones = 1;
	set_addr(&src, "10.0.0.1:999");
	set_addr(&local, "10.0.0.254:53");

	/* 300 peers for the size tests. */
	for (int i = 0; i < 297; i++) {
		uint8_t k[WG_KEY_LEN];
		make_key(k, 100 + i);
		add_peer(dev, k, "192.0.2.9:1", NULL, 0);
	}
	struct zone *big = zone_new(&cz, dev, NULL, NOW);
	CHECK(big && big->n_entries == 301);

	test_ptr();
	test_srv();
	test_txt();
	test_names();
	test_case();
	test_malformed();
	test_sizes(big);
	test_tcp_overflow(&cz);
	test_access();
	test_serial_servfail(&cz);
	test_self_auto_ns_nested();
	test_long_allowed(&cz);
	test_build_steps(&cz);
	test_empty_non_terminals(&cz);
	test_srv_target_uncompressed();
	test_unpublishable(&cz);
	test_pkt_from_wire();

	zone_free(z);
	zone_free(big);
	wg_device_free(dev);
	return CHECK_DONE();
}
