/* SPDX-License-Identifier: MIT */
/*
 * The relay's DNS interface in dns-answer: "SRV <peer>.<self>._relay.Z"
 * answered only to <self> (arrival interface and the longest allowed-IP
 * match of the source), NXDOMAIN for unpublished peers, SERVFAIL when no
 * allocation can be made, the SRV target _relay.Z with the relay's
 * addresses, and none of it without a relay. Responses parsed with ldns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "check.h"
#include "config.h"
#include "dns-answer.h"
#include "wg.h"
#include "zone.h"

#define NOW 1700000000
#define IFINDEX 7

enum { ALICE, BOB, CAROL, DAVE, EVE, SELF, N_KEYS };
static uint8_t keys[N_KEYS][WG_KEY_LEN];
static char b32[N_KEYS][KEY_B32_LEN + 1];

static const uint8_t relay4[1][4] = { { 203, 0, 113, 4 } };
static const uint8_t relay6[1][16] = { { 0x20, 0x01, 0x0d, 0xb8, [15] = 4 } };

/* What the allocation callback saw and does. */
static struct {
	int calls;
	uint8_t self[WG_KEY_LEN], peer[WG_KEY_LEN];
	int fail;          /* -errno to return */
} alloc;

/* The test's allocation: port 50000 + the first byte of self's key. */
static int allocate_cb(void *arg, const uint8_t self[WG_KEY_LEN], const uint8_t peer[WG_KEY_LEN], uint16_t *port)
{
	alloc.calls++;
	memcpy(alloc.self, self, WG_KEY_LEN);
	memcpy(alloc.peer, peer, WG_KEY_LEN);
	if (alloc.fail)
		return alloc.fail;
	*port = (uint16_t)(50000 + self[0]);
	return 0;
}

static struct dns_relay relay = {
	.addr4 = relay4, .n_addr4 = 1, .addr6 = relay6, .n_addr6 = 1, .allocate = allocate_cb,
};
static struct dns_answer_env env = { .access = ACCESS_PEERS, .ttl = 0, .edns_size = 1232, .now = NOW, .relay = &relay };
static union sockaddr_any src, local;
static struct dns_client client = { .src = &src, .local = &local, .ifindex = IFINDEX };
static struct dns_answer_info info;

/* Set an address from text. */
static void set_addr(union sockaddr_any *a, const char *text)
{
	if (addr_parse(text, 0, a) < 0)
		abort();
}

/* Add a peer with an endpoint (or NULL) and allowed IPs. */
static void add_peer(struct wg_device *dev, int k, const char *ep, const char *const *ips)
{
	struct wg_peer *p = wg_device_add_peer(dev);

	if (!p)
		abort();
	memcpy(p->public_key, keys[k], WG_KEY_LEN);
	if (ep)
		set_addr(&p->endpoint, ep);
	p->last_handshake_sec = NOW - 3;
	for (; *ips; ips++) {
		struct cidr c;
		if (cidr_parse(*ips, false, &c) < 0 || wg_peer_add_allowed_ip(p, &c) < 0)
			abort();
	}
}

/* alice, bob (IPv4 and IPv6 tunnel addresses), carol (no endpoint), dave (a /24) and eve (a /32 in it). */
static struct wg_device *make_device(void)
{
	static const char *const a[] = { "10.0.0.1/32", NULL };
	static const char *const b[] = { "10.0.0.2/32", "fd00::2/128", NULL };
	static const char *const c[] = { "10.0.0.3/32", NULL };
	static const char *const d[] = { "10.1.0.0/24", NULL };
	static const char *const e[] = { "10.1.0.5/32", NULL };
	struct wg_device *dev = wg_device_new();

	dev->ifindex = IFINDEX;
	dev->listen_port = 51820;
	dev->has_public_key = true;
	memcpy(dev->public_key, keys[SELF], WG_KEY_LEN);
	add_peer(dev, ALICE, "198.51.100.1:30001", a);
	add_peer(dev, BOB, "[2001:db8::2]:40002", b);
	add_peer(dev, CAROL, NULL, c);
	add_peer(dev, DAVE, "198.51.100.4:1000", d);
	add_peer(dev, EVE, "198.51.100.5:1000", e);
	return dev;
}

/* Ask name/type (over TCP when tcp) and parse the response; NULL when nothing was sent. */
static ldns_pkt *ask_tcp(const char *name, ldns_rr_type type, bool tcp)
{
	ldns_pkt *qp = NULL, *rp = NULL;
	uint8_t *wire = NULL, out[65536];
	size_t wlen = 0;

	if (ldns_pkt_query_new_frm_str(&qp, name, type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		abort();
	if (ldns_pkt2wire(&wire, qp, &wlen) != LDNS_STATUS_OK)
		abort();
	client.tcp = tcp;
	size_t n = dns_answer(&env, &client, wire, wlen, out, sizeof(out), &info);
	if (n)
		CHECK(ldns_wire2pkt(&rp, out, n) == LDNS_STATUS_OK);
	free(wire);
	ldns_pkt_free(qp);
	return rp;
}

/* Ask over UDP. */
static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	return ask_tcp(name, type, false);
}

/* The pair name <peer>.<self>._relay.example.com. */
static const char *pair(int peer, int self)
{
	static char name[300];

	snprintf(name, sizeof(name), "%s.%s._relay.example.com.", b32[peer], b32[self]);
	return name;
}

/* True when the rdf's text equals s. */
static bool rdf_is(const ldns_rdf *rdf, const char *s)
{
	char *t = ldns_rdf2str(rdf);
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

/* The rcode of a query from address from on interface ifindex (the response is dropped). */
static int rcode_from(const char *name, ldns_rr_type type, const char *from, uint32_t ifindex)
{
	ldns_pkt *p;
	int rc;

	set_addr(&src, from);
	client.ifindex = ifindex;
	p = ask(name, type);
	rc = p ? (int)ldns_pkt_get_rcode(p) : -1;
	ldns_pkt_free(p);
	set_addr(&src, "10.0.0.1:999");
	client.ifindex = IFINDEX;
	return rc;
}

/* Alice asks for a relay to bob: SRV to _relay.Z on her port, the relay's A and AAAA as additional data. */
static void test_granted(void)
{
	ldns_pkt *p;

	alloc.calls = 0;
	p = ask(pair(BOB, ALICE), LDNS_RR_TYPE_SRV);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_aa(p) && !ldns_pkt_tc(p));
	CHECK(info.relay == DNS_RELAY_GRANTED && !info.refused_access);
	CHECK(alloc.calls == 1 && memcmp(alloc.self, keys[ALICE], WG_KEY_LEN) == 0 &&
	      memcmp(alloc.peer, keys[BOB], WG_KEY_LEN) == 0);
	CHECK(p && count(ldns_pkt_answer(p)) == 1 && count(ldns_pkt_additional(p)) == 2);
	if (p && count(ldns_pkt_answer(p)) == 1 && count(ldns_pkt_additional(p)) == 2) {
		ldns_rr *srv = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		ldns_rr *a = ldns_rr_list_rr(ldns_pkt_additional(p), 0);
		ldns_rr *aaaa = ldns_rr_list_rr(ldns_pkt_additional(p), 1);
		char port[8];
		snprintf(port, sizeof(port), "%u", 50000u + keys[ALICE][0]);
		CHECK(ldns_rr_get_type(srv) == LDNS_RR_TYPE_SRV && ldns_rr_ttl(srv) == 0);
		CHECK(rdf_is(ldns_rr_owner(srv), pair(BOB, ALICE)));
		CHECK(rdf_is(ldns_rr_rdf(srv, 0), "0") && rdf_is(ldns_rr_rdf(srv, 1), "0"));
		CHECK(rdf_is(ldns_rr_rdf(srv, 2), port));
		CHECK(rdf_is(ldns_rr_rdf(srv, 3), "_relay.example.com."));
		CHECK(ldns_rr_get_type(a) == LDNS_RR_TYPE_A && rdf_is(ldns_rr_owner(a), "_relay.example.com."));
		CHECK(rdf_is(ldns_rr_rdf(a, 0), "203.0.113.4"));
		CHECK(ldns_rr_get_type(aaaa) == LDNS_RR_TYPE_AAAA && rdf_is(ldns_rr_rdf(aaaa, 0), "2001:db8::4"));
	}
	ldns_pkt_free(p);
	/* Bob asks for the same pair from his IPv6 tunnel address, over TCP. */
	set_addr(&src, "[fd00::2]:999");
	p = ask_tcp(pair(ALICE, BOB), LDNS_RR_TYPE_SRV, true);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && count(ldns_pkt_answer(p)) == 1);
	CHECK(alloc.calls == 2 && memcmp(alloc.self, keys[BOB], WG_KEY_LEN) == 0);
	ldns_pkt_free(p);
	set_addr(&src, "10.0.0.1:999");
	/* Lower case and unpadded labels name the same keys. */
	char name[300], lower[KEY_B32_LEN + 1];
	for (int i = 0; i < KEY_B32_LEN; i++)
		lower[i] = (char)(b32[BOB][i] >= 'A' && b32[BOB][i] <= 'Z' ? b32[BOB][i] | 0x20 : b32[BOB][i]);
	snprintf(name, sizeof(name), "%.52s.%.52s._RELAY.Example.COM.", lower, b32[ALICE]);
	p = ask(name, LDNS_RR_TYPE_SRV);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && count(ldns_pkt_answer(p)) == 1);
	CHECK(alloc.calls == 3 && memcmp(alloc.peer, keys[BOB], WG_KEY_LEN) == 0);
	ldns_pkt_free(p);
}

/* Only <self> may ask: other peers, other interfaces, strangers and bad labels are REFUSED, whatever access says. */
static void test_refused(void)
{
	alloc.calls = 0;
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.2:999", IFINDEX) == LDNS_RCODE_REFUSED);
	CHECK(info.refused_access && info.relay == DNS_RELAY_REFUSED);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX + 1) == LDNS_RCODE_REFUSED);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.1:999", 0) == LDNS_RCODE_REFUSED);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.9:999", IFINDEX) == LDNS_RCODE_REFUSED);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "[fd00::2]:999", IFINDEX) == LDNS_RCODE_REFUSED);
	/* Carol has no endpoint but is a peer: she may not ask in alice's name either. */
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.3:999", IFINDEX) == LDNS_RCODE_REFUSED);
	/* The longest allowed-IP match decides: 10.1.0.5 is eve's, not dave's (whose /24 holds it). */
	CHECK(rcode_from(pair(BOB, DAVE), LDNS_RR_TYPE_SRV, "10.1.0.5:999", IFINDEX) == LDNS_RCODE_REFUSED);
	CHECK(rcode_from(pair(BOB, EVE), LDNS_RR_TYPE_SRV, "10.1.0.5:999", IFINDEX) == LDNS_RCODE_NOERROR);
	CHECK(rcode_from(pair(BOB, DAVE), LDNS_RR_TYPE_SRV, "10.1.0.6:999", IFINDEX) == LDNS_RCODE_NOERROR);
	CHECK(alloc.calls == 2);
	/* A self label that is no key. */
	CHECK(rcode_from("AAAA.BBBB._relay.example.com.", LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_REFUSED);
	/* access = any opens the zone, not someone else's relay. */
	env.access = ACCESS_ANY;
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.2:999", IFINDEX) == LDNS_RCODE_REFUSED);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "192.0.2.1:999", IFINDEX) == LDNS_RCODE_REFUSED);
	env.access = ACCESS_PEERS;
	CHECK(alloc.calls == 2);
}

/* Peers that are not published, the device itself, the asker and labels that are no key: NXDOMAIN. */
static void test_unknown_peer(void)
{
	ldns_pkt *p;

	alloc.calls = 0;
	p = ask(pair(CAROL, ALICE), LDNS_RR_TYPE_SRV);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN && ldns_pkt_aa(p));
	CHECK(p && count(ldns_pkt_authority(p)) == 1 && info.relay == DNS_RELAY_UNKNOWN);
	ldns_pkt_free(p);
	CHECK(rcode_from(pair(SELF, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	CHECK(rcode_from(pair(ALICE, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	char name[300];
	snprintf(name, sizeof(name), "nokey.%s._relay.example.com.", b32[ALICE]);
	CHECK(rcode_from(name, LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	uint8_t k[WG_KEY_LEN];
	char kb[KEY_B32_LEN + 1];
	memset(k, 0x42, sizeof(k));
	key_to_base32(k, kb);
	snprintf(name, sizeof(name), "%s.%s._relay.example.com.", kb, b32[ALICE]);
	CHECK(rcode_from(name, LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	CHECK(alloc.calls == 0);
}

/* Other types at the pair name are NODATA and allocate nothing; a failed allocation is SERVFAIL. */
static void test_nodata_and_failure(void)
{
	ldns_pkt *p;

	alloc.calls = 0;
	p = ask(pair(BOB, ALICE), LDNS_RR_TYPE_TXT);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && count(ldns_pkt_answer(p)) == 0);
	CHECK(p && count(ldns_pkt_authority(p)) == 1);
	ldns_pkt_free(p);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_ANY, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NOERROR);
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_A, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NOERROR);
	CHECK(alloc.calls == 0);
	alloc.fail = -ENOSPC;
	p = ask(pair(BOB, ALICE), LDNS_RR_TYPE_SRV);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL && !ldns_pkt_aa(p) && count(ldns_pkt_answer(p)) == 0);
	CHECK(info.relay == DNS_RELAY_FAILED && alloc.calls == 1);
	ldns_pkt_free(p);
	alloc.fail = 0;
}

/* _relay.Z has the relay's addresses; <key>._relay.Z exists without records; nothing else below. */
static void test_relay_names(void)
{
	ldns_pkt *p;

	p = ask("_relay.example.com.", LDNS_RR_TYPE_A);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && count(ldns_pkt_answer(p)) == 1);
	if (p && count(ldns_pkt_answer(p)) == 1)
		CHECK(rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0), "203.0.113.4"));
	ldns_pkt_free(p);
	p = ask("_relay.example.com.", LDNS_RR_TYPE_AAAA);
	CHECK(p && count(ldns_pkt_answer(p)) == 1);
	ldns_pkt_free(p);
	p = ask("_relay.example.com.", LDNS_RR_TYPE_TXT);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && count(ldns_pkt_answer(p)) == 0);
	ldns_pkt_free(p);
	char name[300];
	snprintf(name, sizeof(name), "%s._relay.example.com.", b32[ALICE]);
	CHECK(rcode_from(name, LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NOERROR);
	CHECK(rcode_from("nokey._relay.example.com.", LDNS_RR_TYPE_A, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	snprintf(name, sizeof(name), "x.%s.%s._relay.example.com.", b32[BOB], b32[ALICE]);
	CHECK(rcode_from(name, LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
}

/* Without a relay, no _relay name exists and nothing is allocated. */
static void test_no_relay(void)
{
	alloc.calls = 0;
	env.relay = NULL;
	CHECK(rcode_from(pair(BOB, ALICE), LDNS_RR_TYPE_SRV, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	CHECK(info.relay == DNS_RELAY_NONE);
	CHECK(rcode_from("_relay.example.com.", LDNS_RR_TYPE_A, "10.0.0.1:999", IFINDEX) == LDNS_RCODE_NXDOMAIN);
	CHECK(alloc.calls == 0);
	env.relay = &relay;
}

/*
 * The longest zone name a pair name fits: two 56-byte labels and "_relay"
 * take 121 bytes of the 255, so a zone of at most 134 bytes in wire form
 * (133 characters with the final dot).
 */
static void test_name_length(struct wg_device *dev)
{
	struct config_zone cz;
	char zname[DNAME_STRLEN], name[400];
	size_t n = 0;

	/* Labels of 63 bytes and one to reach exactly 134 bytes of wire form: 64 + 64 + 5 + 1. */
	memset(&cz, 0, sizeof(cz));
	n += (size_t)snprintf(zname + n, sizeof(zname) - n, "%.63s.", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	n += (size_t)snprintf(zname + n, sizeof(zname) - n, "%.63s.", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	snprintf(zname + n, sizeof(zname) - n, "cccc.");
	snprintf(cz.name, sizeof(cz.name), "%s", zname);
	cz.refresh_ms = 1000;
	struct zone *z = zone_new(&cz, dev, NULL, NOW);
	CHECK(z && z->apex_len == 134);
	struct zone *const *saved = env.zones;
	struct zone *zones[1] = { z };
	env.zones = zones;
	snprintf(name, sizeof(name), "%s.%s._relay.%s", b32[BOB], b32[ALICE], zname);
	CHECK(strlen(name) == 254);
	ldns_pkt *p = ask(name, LDNS_RR_TYPE_SRV);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && count(ldns_pkt_answer(p)) == 1);
	ldns_pkt_free(p);
	env.zones = saved;
	zone_free(z);
}

int main(void)
{
	struct config_zone cz;

	for (int i = 0; i < N_KEYS; i++) {
		for (int j = 0; j < WG_KEY_LEN; j++)
			keys[i][j] = (uint8_t)(i * 41 + j * 13 + 5);
		keys[i][0] = (uint8_t)(i + 1);
		key_to_base32(keys[i], b32[i]);
	}
	memset(&cz, 0, sizeof(cz));
	snprintf(cz.name, sizeof(cz.name), "example.com.");
	cz.refresh_ms = 1000;
	cz.self = SELF_FIXED;
	set_addr(&cz.self_endpoint, "203.0.113.4:51820");
	struct wg_device *dev = make_device();
	struct zone *z = zone_new(&cz, dev, NULL, NOW);
	CHECK(z && z->n_entries == 5);
	struct zone *zones[1] = { z };
	env.zones = zones;
	env.n_zones = 1;
	set_addr(&src, "10.0.0.1:999");
	set_addr(&local, "10.0.0.254:53");

	test_granted();
	test_refused();
	test_unknown_peer();
	test_nodata_and_failure();
	test_relay_names();
	test_no_relay();
	test_name_length(dev);

	zone_free(z);
	wg_device_free(dev);
	return CHECK_DONE();
}
