/* SPDX-License-Identifier: MIT */
/* Reading a registry's zone from an AXFR stream: multi-message streams, the closing SOA, limits, foreign records. */
#include <errno.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include "check.h"
#include "client-axfr.h"

#define ZONE "example.com."
#define SOA_FMT ZONE " 60 IN SOA ns." ZONE " hostmaster." ZONE " %u 10 10 100 5"

static uint8_t keys[4][WG_KEY_LEN];
static char b32[4][KEY_B32_LEN + 1];
static char b64[4][KEY_B64_LEN + 1];

/* A transfer message (QR, NOERROR, the AXFR question when question is true). */
static ldns_pkt *msg_new(bool question)
{
	ldns_pkt *p = ldns_pkt_new();

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_id(p, 4242);
	if (question) {
		ldns_rr *q = NULL;

		ldns_rr_new_question_frm_str(&q, ZONE " IN AXFR", NULL, NULL);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	}
	return p;
}

/* Add one answer record in presentation form. */
static void add(ldns_pkt *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(ldns_pkt *p, const char *fmt, ...)
{
	char text[2048];
	ldns_rr *rr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
		fprintf(stderr, "bad test record: %s\n", text);
		abort();
	}
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
}

/* The records the registry publishes for peer i (port 5000 + i, 198.51.100.i, 10.0.0.i/32). */
static void add_peer(ldns_pkt *p, int i)
{
	add(p, "_wireguard._udp." ZONE " 0 IN PTR %s._wireguard._udp." ZONE, b32[i]);
	add(p, "%s._wireguard._udp." ZONE " 0 IN SRV 0 0 %d %s." ZONE, b32[i], 5000 + i, b32[i]);
	add(p, "%s." ZONE " 0 IN A 198.51.100.%d", b32[i], i + 1);
	add(p, "%s._wireguard._udp." ZONE " 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.0.0.%d/32\"",
	    b32[i], b64[i], i + 1);
}

/* Feed a message in wire form; returns what client_axfr_feed() does. */
static int feed(struct client_axfr *x, ldns_pkt *p)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	int r;

	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		abort();
	r = client_axfr_feed(x, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return r;
}

/* A zone split over three messages (question only in the first) gives every peer with its records. */
static void test_multi_message(void)
{
	struct client_axfr x;
	struct client_axfr_result r = { 0 };
	const struct client_axfr_peer *pp;
	ldns_pkt *p;
	char text[64];

	CHECK(client_axfr_init(&x, "example.com", 1000, 1 << 20) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 7u);
	add_peer(p, 0);
	CHECK(feed(&x, p) == 0);
	p = msg_new(false);
	add_peer(p, 1);
	add(p, "%s." ZONE " 0 IN AAAA 2001:db8::2", b32[1]);
	/* Two SRV records for peer 2: the zone does not say which, so it is asked directly. */
	add_peer(p, 2);
	add(p, "%s._wireguard._udp." ZONE " 0 IN SRV 0 0 6000 %s." ZONE, b32[2], b32[2]);
	CHECK(feed(&x, p) == 0);
	p = msg_new(false);
	add(p, SOA_FMT, 7u);
	CHECK(feed(&x, p) == 1);
	CHECK(client_axfr_finish(&x, &r) == 0);
	CHECK(r.serial == 7);
	CHECK(r.n_messages == 3);
	CHECK(r.n_peers == 3 && r.listing.n_keys == 3);
	CHECK(r.listing.status == CLIENT_LISTING_COMPLETE);
	CHECK(client_members_listing_complete(&r.listing));
	for (int i = 0; i < 3; i++)
		CHECK(client_members_listing_has(&r.listing, keys[i]));
	CHECK(!client_members_listing_has(&r.listing, keys[3]));
	CHECK(client_axfr_find(&r, keys[3]) == NULL);
	pp = client_axfr_find(&r, keys[0]);
	CHECK(pp && pp->port == 5000 && pp->n_addrs == 1 && pp->n_allowed == 1);
	if (pp) {
		CHECK_STR_CONTAINS(addr_format(&pp->addrs[0], text, sizeof(text)), "198.51.100.1:5000");
		CHECK(pp->allowed[0].family == AF_INET && pp->allowed[0].prefix == 32);
	}
	pp = client_axfr_find(&r, keys[1]);
	CHECK(pp && pp->port == 5001 && pp->n_addrs == 2);
	if (pp && pp->n_addrs == 2) {
		CHECK_STR_CONTAINS(addr_format(&pp->addrs[0], text, sizeof(text)), "198.51.100.2:5001");
		CHECK_STR_CONTAINS(addr_format(&pp->addrs[1], text, sizeof(text)), "[2001:db8::2]:5001");
	}
	pp = client_axfr_find(&r, keys[2]);
	CHECK(pp && pp->port == 0 && pp->n_addrs == 0 && pp->n_allowed == 1);
	/* Nothing after the end. */
	p = msg_new(false);
	add(p, SOA_FMT, 7u);
	CHECK(feed(&x, p) == -EBADMSG);
	client_axfr_result_clear(&r);
	client_axfr_free(&x);
}

/* A stream cut off before the closing SOA never finishes; an SOA of another serial is an error. */
static void test_end_of_stream(void)
{
	struct client_axfr x;
	struct client_axfr_result r = { 0 };
	ldns_pkt *p;

	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 7u);
	add_peer(p, 0);
	CHECK(feed(&x, p) == 0);
	CHECK(client_axfr_finish(&x, &r) == -EINVAL);
	CHECK(r.listing.n_keys == 0 && r.listing.status == CLIENT_LISTING_NONE);
	p = msg_new(false);
	add(p, SOA_FMT, 8u);
	CHECK(feed(&x, p) == -EBADMSG);
	client_axfr_free(&x);

	/* The first record must be the zone's SOA. */
	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	add_peer(p, 0);
	add(p, SOA_FMT, 7u);
	CHECK(feed(&x, p) == -EBADMSG);
	client_axfr_free(&x);

	/* Records after the closing SOA in the same message. */
	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 7u);
	add(p, SOA_FMT, 7u);
	add_peer(p, 0);
	CHECK(feed(&x, p) == -EBADMSG);
	client_axfr_free(&x);

	/* An empty zone: SOA, SOA. */
	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 9u);
	add(p, SOA_FMT, 9u);
	CHECK(feed(&x, p) == 1);
	CHECK(client_axfr_finish(&x, &r) == 0);
	CHECK(r.n_peers == 0 && r.listing.status == CLIENT_LISTING_COMPLETE);
	client_axfr_result_clear(&r);
	client_axfr_free(&x);
}

/* An error rcode (REFUSED: peer-transfers = no), TC, or another question end the transfer. */
static void test_refused_and_foreign(void)
{
	struct client_axfr x;
	ldns_pkt *p;
	ldns_rr *q = NULL;

	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
	CHECK(feed(&x, p) == -EREMOTEIO);
	CHECK(x.rcode == LDNS_RCODE_REFUSED);
	client_axfr_free(&x);

	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	ldns_pkt_set_tc(p, true);
	add(p, SOA_FMT, 7u);
	CHECK(feed(&x, p) == -EBADMSG);
	client_axfr_free(&x);

	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(false);
	ldns_rr_new_question_frm_str(&q, "example.org. IN AXFR", NULL, NULL);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	add(p, SOA_FMT, 7u);
	CHECK(feed(&x, p) == -EBADMSG);
	client_axfr_free(&x);

	/* Garbage. */
	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	CHECK(client_axfr_feed(&x, (const uint8_t *)"\x10\x92\x84\x00", 4) == -EBADMSG);
	CHECK(client_axfr_feed(&x, (const uint8_t *)"\x10\x92\x84\x00\x00\x01\x00\x05\x00\x00\x00\x00\x01", 13) == -EBADMSG);
	client_axfr_free(&x);
}

/* More records or bytes than allowed: -EFBIG, whatever was read so far. */
static void test_oversize(void)
{
	struct client_axfr x;
	ldns_pkt *p;

	/* SOA + 4 records of one peer = 5: a limit of 4 stops it. */
	CHECK(client_axfr_init(&x, ZONE, 4, 1 << 20) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 7u);
	add_peer(p, 0);
	CHECK(feed(&x, p) == -EFBIG);
	client_axfr_free(&x);

	CHECK(client_axfr_init(&x, ZONE, 1000, 600) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 7u);
	add_peer(p, 0);
	CHECK(feed(&x, p) == 0);
	p = msg_new(false);
	add_peer(p, 1);
	CHECK(feed(&x, p) == -EFBIG);
	client_axfr_free(&x);
}

/* Records outside the zone are ignored (counted); duplicate keys list once; a bad TXT is reported per peer. */
static void test_outside_and_duplicates(void)
{
	struct client_axfr x;
	struct client_axfr_result r = { 0 };
	const struct client_axfr_peer *pp;
	ldns_pkt *p;
	char lower[KEY_B32_LEN + 1];

	CHECK(client_axfr_init(&x, ZONE, 1000, 1 << 20) == 0);
	p = msg_new(true);
	add(p, SOA_FMT, 3u);
	add_peer(p, 0);
	/* The same key again, lower case and unpadded: one peer. */
	for (size_t i = 0; i <= KEY_B32_LEN; i++)
		lower[i] = (char)tolower((unsigned char)b32[0][i]);
	lower[KEY_B32_UNPADDED_LEN] = '\0';
	add(p, "_wireguard._udp." ZONE " 0 IN PTR %s._wireguard._udp." ZONE, lower);
	/* Outside the zone: a listing and an address for peer 3's target. */
	add(p, "_wireguard._udp.example.org. 0 IN PTR %s._wireguard._udp.example.org.", b32[3]);
	add(p, "%s.example.org. 0 IN A 192.0.2.99", b32[3]);
	/* Peer 3 listed here but its SRV target's address is outside the zone: no address. */
	add(p, "_wireguard._udp." ZONE " 0 IN PTR %s._wireguard._udp." ZONE, b32[3]);
	add(p, "%s._wireguard._udp." ZONE " 0 IN SRV 0 0 7000 %s.example.org.", b32[3], b32[3]);
	/* Peer 1: TXT whose pub= names another key; peer 2: two TXT records, no SRV. */
	add(p, "_wireguard._udp." ZONE " 0 IN PTR %s._wireguard._udp." ZONE, b32[1]);
	add(p, "%s._wireguard._udp." ZONE " 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.0.0.9/32\"", b32[1], b64[0]);
	add(p, "_wireguard._udp." ZONE " 0 IN PTR %s._wireguard._udp." ZONE, b32[2]);
	add(p, "%s._wireguard._udp." ZONE " 0 IN TXT \"allowed=10.0.0.3/32\"", b32[2]);
	add(p, "%s._wireguard._udp." ZONE " 0 IN TXT \"allowed=10.0.0.4/32\"", b32[2]);
	/* An unreadable PTR target. */
	add(p, "_wireguard._udp." ZONE " 0 IN PTR nonsense._wireguard._udp." ZONE);
	add(p, SOA_FMT, 3u);
	CHECK(feed(&x, p) == 1);
	CHECK(client_axfr_finish(&x, &r) == 0);
	CHECK(r.n_outside == 2);
	CHECK(r.n_peers == 4);
	CHECK(r.listing.n_unreadable == 1 && r.listing.status == CLIENT_LISTING_PARTIAL);
	CHECK(!client_members_listing_complete(&r.listing));
	pp = client_axfr_find(&r, keys[3]);
	CHECK(pp && pp->port == 7000 && pp->n_addrs == 0 && pp->n_allowed == -ENODATA);
	pp = client_axfr_find(&r, keys[1]);
	CHECK(pp && pp->port == 0 && pp->n_allowed == -EBADMSG);
	pp = client_axfr_find(&r, keys[2]);
	CHECK(pp && pp->n_allowed == -EBADMSG);
	client_axfr_result_clear(&r);
	client_axfr_free(&x);
}

/* A zone with 2,000 peers, 16 KiB messages as the registry sends them: all listed and described. */
static void test_large(void)
{
	enum { N = 2000 };
	struct client_axfr x;
	struct client_axfr_result r = { 0 };
	ldns_pkt *p = msg_new(true);
	size_t described = 0;
	int ret = 0;

	CHECK(client_axfr_init(&x, ZONE, 4 * N + 100, 4u << 20) == 0);
	add(p, SOA_FMT, 11u);
	for (int i = 0; i < N; i++) {
		uint8_t k[WG_KEY_LEN] = { 0 };
		char kb32[KEY_B32_LEN + 1], kb64[KEY_B64_LEN + 1];

		k[0] = (uint8_t)(i >> 8);
		k[1] = (uint8_t)i;
		k[31] = 0x40;
		key_to_base32(k, kb32);
		key_to_base64(k, kb64);
		add(p, "_wireguard._udp." ZONE " 0 IN PTR %s._wireguard._udp." ZONE, kb32);
		add(p, "%s._wireguard._udp." ZONE " 0 IN SRV 0 0 %d %s." ZONE, kb32, 10000 + i, kb32);
		add(p, "%s." ZONE " 0 IN A 198.51.100.%d", kb32, 1 + i % 250);
		add(p, "%s._wireguard._udp." ZONE " 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.100.%d.%d/32\"",
		    kb32, kb64, i / 256, i % 256);
		if (i % 40 == 39) {
			ret = feed(&x, p);
			CHECK(ret == 0);
			p = msg_new(false);
		}
	}
	add(p, SOA_FMT, 11u);
	ret = feed(&x, p);
	CHECK(ret == 1);
	CHECK(client_axfr_finish(&x, &r) == 0);
	CHECK(r.n_peers == N && r.listing.n_keys == N && r.listing.status == CLIENT_LISTING_COMPLETE);
	for (size_t i = 0; i < r.n_peers; i++)
		described += r.peers[i].port && r.peers[i].n_addrs == 1 && r.peers[i].n_allowed == 1;
	CHECK(described == N);
	client_axfr_result_clear(&r);
	client_axfr_free(&x);
}

int main(void)
{
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < WG_KEY_LEN; j++)
			keys[i][j] = (uint8_t)(i * 37 + j * 11 + 1);
		key_to_base32(keys[i], b32[i]);
		key_to_base64(keys[i], b64[i]);
	}
	test_multi_message();
	test_end_of_stream();
	test_refused_and_foreign();
	test_oversize();
	test_outside_and_duplicates();
	test_large();
	return CHECK_DONE();
}
