/* SPDX-License-Identifier: MIT */
/* relay-alloc: what each datagram does to an allocation, and where it goes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "relay-alloc.h"

static uint8_t key_a[WG_KEY_LEN], key_b[WG_KEY_LEN], key_x[WG_KEY_LEN];
static uint8_t mk_a[32], mk_b[32], mk_x[32];
static union sockaddr_any A1, A2, B1, X;   /* alice's, bob's and a third party's addresses */
static union sockaddr_any to;

#define T0 1000

/* Set an address from text. */
static void set(union sockaddr_any *a, const char *text)
{
	if (addr_parse(text, -1, a) < 0)
		abort();
}

/* A handshake message of type t with sender (and for a response receiver) index, mac1 keyed with mk. */
static size_t hs(uint8_t *m, int t, uint32_t sender, uint32_t receiver, const uint8_t *mk)
{
	size_t len = t == 1 ? RELAY_WIRE_INITIATION_LEN : RELAY_WIRE_RESPONSE_LEN;

	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(i * 7 + sender);
	m[0] = (uint8_t)t;
	m[1] = m[2] = m[3] = 0;
	memcpy(m + 4, &sender, 4);   /* little-endian host */
	if (t == 2)
		memcpy(m + 8, &receiver, 4);
	memset(m + len - 16, 0, 16);
	relay_wire_mac1_set(m, len, mk);
	return len;
}

/* A transport data message of len bytes. */
static size_t data(uint8_t *m, size_t len)
{
	memset(m, 0xab, len);
	m[0] = 4;
	m[1] = m[2] = m[3] = 0;
	return len;
}

/* A cookie reply to index receiver. */
static size_t cookie(uint8_t *m, uint32_t receiver)
{
	memset(m, 0x5c, RELAY_WIRE_COOKIE_LEN);
	m[0] = 3;
	m[1] = m[2] = m[3] = 0;
	memcpy(m + 4, &receiver, 4);
	return RELAY_WIRE_COOKIE_LEN;
}

/* Feed a datagram from src at side's port at time t. */
static enum relay_verdict in(struct relay_alloc *a, unsigned int side, const union sockaddr_any *src,
			     const uint8_t *m, size_t len, uint64_t t)
{
	memset(&to, 0, sizeof(to));
	return relay_alloc_input(a, side, src, m, len, t, &to);
}

/* alice (side 0) at A1 and bob (side 1) at B1 complete a handshake through the allocation. */
static void handshake(struct relay_alloc *a, uint64_t t)
{
	uint8_t m[200];

	/* Alice first: bob is not known yet, but alice becomes the candidate. */
	CHECK(in(a, 0, &A1, m, hs(m, 1, 0x111, 0, mk_b), t) == RELAY_DROP_NO_PEER);
	/* Bob's initiation reaches alice's candidate address. */
	CHECK(in(a, 1, &B1, m, hs(m, 1, 0x222, 0, mk_a), t) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	/* Alice answers bob's index: bob gets it at the initiation's source; both are confirmed. */
	CHECK(in(a, 0, &A1, m, hs(m, 2, 0x333, 0x222, mk_b), t) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	CHECK(addr_equal(&a->side[0].addr, &A1));
	CHECK(addr_equal(&a->side[1].addr, &B1));
}

/* The first handshake teaches both addresses; data then flows both ways, byte for byte counted. */
static void test_learn_and_forward(void)
{
	struct relay_alloc a;
	uint8_t m[2000];

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	/* Nothing is forwarded before a handshake: data from anyone is unverified. */
	CHECK(in(&a, 0, &A1, m, data(m, 32), T0) == RELAY_DROP_UNVERIFIED);
	CHECK(in(&a, 1, &B1, m, data(m, 32), T0) == RELAY_DROP_UNVERIFIED);
	handshake(&a, T0);
	CHECK(in(&a, 0, &A1, m, data(m, 1452), T0 + 1) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	CHECK(in(&a, 1, &B1, m, data(m, 32), T0 + 2) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	CHECK(a.side[0].packets == 2 && a.side[0].bytes == 92 + 1452);
	CHECK(a.side[1].packets == 2 && a.side[1].bytes == 148 + 32);
	CHECK(a.last_forward_ms == T0 + 2);
	/* Data to a side whose address is not confirmed yet: no peer. */
	relay_alloc_init(&a, key_a, key_b, 0, T0);
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 7, 0, mk_b), T0) == RELAY_DROP_NO_PEER);
	CHECK(a.dropped[RELAY_DROP_NO_PEER] == 1);
}

/* A third party cannot move the allocation: bad mac1, its own data, a mac1 keyed for the wrong side. */
static void test_no_hijack(void)
{
	struct relay_alloc a;
	uint8_t m[200];

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	/* Before learning: a scanner's packets teach nothing. */
	CHECK(in(&a, 0, &X, m, hs(m, 1, 9, 0, mk_x), T0) == RELAY_DROP_BAD_MAC1);
	CHECK(in(&a, 0, &X, m, hs(m, 1, 9, 0, mk_a), T0) == RELAY_DROP_BAD_MAC1);   /* keyed for the sender's side */
	CHECK(in(&a, 1, &X, m, hs(m, 2, 9, 0x111, mk_a), T0) == RELAY_DROP_UNSOLICITED);
	CHECK(a.side[0].cand.sa.sa_family == AF_UNSPEC && a.side[1].cand.sa.sa_family == AF_UNSPEC);
	handshake(&a, T0);
	/* After learning: every kind of packet from X leaves the addresses alone and goes nowhere. */
	CHECK(in(&a, 0, &X, m, data(m, 64), T0 + 1) == RELAY_DROP_UNVERIFIED);
	CHECK(in(&a, 1, &X, m, data(m, 64), T0 + 1) == RELAY_DROP_UNVERIFIED);
	CHECK(in(&a, 0, &X, m, hs(m, 1, 10, 0, mk_x), T0 + 1) == RELAY_DROP_BAD_MAC1);
	CHECK(in(&a, 0, &X, m, hs(m, 2, 10, 0x222, mk_b), T0 + 1) == RELAY_DROP_UNSOLICITED);  /* answered already */
	CHECK(in(&a, 1, &X, m, cookie(m, 0x5678), T0 + 1) == RELAY_DROP_UNVERIFIED);
	/* A cookie reply naming alice's pending index goes to alice, never to its sender. */
	CHECK(in(&a, 1, &X, m, cookie(m, 0x111), T0 + 1) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	m[0] = 0x55;
	CHECK(in(&a, 0, &X, m, 100, T0 + 1) == RELAY_DROP_NOT_WIREGUARD);
	CHECK(addr_equal(&a.side[0].addr, &A1));
	CHECK(addr_equal(&a.side[1].addr, &B1));
	CHECK(in(&a, 0, &A1, m, data(m, 48), T0 + 2) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	CHECK(in(&a, 1, &B1, m, data(m, 48), T0 + 2) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	CHECK(a.dropped[RELAY_DROP_BAD_MAC1] == 3);
}

/* A captured initiation replayed from another address is dropped while pending, and never confirms. */
static void test_replay(void)
{
	struct relay_alloc a;
	uint8_t m[200], r[200];
	size_t n;

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	handshake(&a, T0);
	n = hs(m, 1, 0x444, 0, mk_b);
	CHECK(in(&a, 0, &A1, m, n, T0 + 10) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	CHECK(in(&a, 0, &X, m, n, T0 + 20) == RELAY_DROP_REPLAY);
	/* The same bytes again from the same address (a duplicate datagram) still go through. */
	CHECK(in(&a, 0, &A1, m, n, T0 + 30) == RELAY_FORWARD);
	/* Long after: WireGuard rejects the stale timestamp and never answers, so X is never confirmed. */
	CHECK(in(&a, 0, &X, m, n, T0 + 10 + RELAY_PENDING_MS + 1) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	CHECK(addr_equal(&a.side[0].addr, &A1));
	CHECK(in(&a, 0, &X, m, data(m, 32), T0 + RELAY_PENDING_MS + 20) == RELAY_DROP_UNVERIFIED);
	/* A replayed response: its initiation was answered already. */
	n = hs(r, 2, 0x555, 0x444, mk_a);
	relay_alloc_init(&a, key_a, key_b, 0, T0);
	handshake(&a, T0);
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 0x444, 0, mk_b), T0 + 1) == RELAY_FORWARD);
	CHECK(in(&a, 1, &B1, r, n, T0 + 2) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	CHECK(in(&a, 1, &X, r, n, T0 + 3) == RELAY_DROP_UNSOLICITED);
	CHECK(addr_equal(&a.side[1].addr, &B1));
	/* A response after the initiation expired is unsolicited. */
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 0x666, 0, mk_b), T0 + 10) == RELAY_FORWARD);
	CHECK(in(&a, 1, &B1, r, hs(r, 2, 0x777, 0x666, mk_a), T0 + 10 + RELAY_PENDING_MS) == RELAY_DROP_UNSOLICITED);
}

/* A side that moves (NAT rebinding) is confirmed at its new address by its next handshake. */
static void test_roaming(void)
{
	struct relay_alloc a;
	uint8_t m[200];

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	handshake(&a, T0);
	/* Alice's data from the new mapping waits for her handshake. */
	CHECK(in(&a, 0, &A2, m, data(m, 32), T0 + 1) == RELAY_DROP_UNVERIFIED);
	CHECK(in(&a, 0, &A2, m, hs(m, 1, 0x888, 0, mk_b), T0 + 2) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	/* Bob's data still goes to the confirmed address until the handshake completes. */
	CHECK(in(&a, 1, &B1, m, data(m, 32), T0 + 3) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	CHECK(in(&a, 1, &B1, m, hs(m, 2, 0x999, 0x888, mk_a), T0 + 4) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A2));
	CHECK(addr_equal(&a.side[0].addr, &A2));
	CHECK(in(&a, 1, &B1, m, data(m, 32), T0 + 5) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A2));
	CHECK(in(&a, 0, &A1, m, data(m, 32), T0 + 6) == RELAY_DROP_UNVERIFIED);
}

/* An insider flooding initiations from other addresses cannot push alice's pending one out. */
static void test_pending_flood(void)
{
	struct relay_alloc a;
	uint8_t m[200];
	union sockaddr_any x[RELAY_ALLOC_PENDING * 2];
	char text[64];

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	handshake(&a, T0);
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 0xa11ce, 0, mk_b), T0 + 100) == RELAY_FORWARD);
	for (int i = 0; i < RELAY_ALLOC_PENDING * 2; i++) {
		snprintf(text, sizeof(text), "192.0.2.%d:999", 10 + i);
		set(&x[i], text);
		/* Valid mac1: the insider knows bob's public key. Forwarded like any initiation. */
		CHECK(in(&a, 0, &x[i], m, hs(m, 1, (uint32_t)(0x1000 + i), 0, mk_b), T0 + 200 + i * 60) == RELAY_FORWARD);
	}
	CHECK(in(&a, 1, &B1, m, hs(m, 2, 0xb0b, 0xa11ce, mk_a), T0 + 800) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
	CHECK(addr_equal(&a.side[0].addr, &A1));
	/* One source keeps one slot: its own flood replaces only its own entry. */
	relay_alloc_init(&a, key_a, key_b, 0, T0);
	handshake(&a, T0);
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 0xa11ce, 0, mk_b), T0 + 100) == RELAY_FORWARD);
	CHECK(in(&a, 0, &A2, m, hs(m, 1, 0xa2, 0, mk_b), T0 + 110) == RELAY_FORWARD);
	for (int i = 0; i < 15; i++)
		in(&a, 0, &X, m, hs(m, 1, (uint32_t)(0x2000 + i), 0, mk_b), T0 + 200 + i * 60);
	CHECK(in(&a, 1, &B1, m, hs(m, 2, 0xb0c, 0xa2, mk_a), T0 + 1200) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A2));
	CHECK(in(&a, 1, &B1, m, hs(m, 2, 0xb0d, 0xa11ce, mk_a), T0 + 1200) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &A1));
}

/* A cookie reply reaches the source of the initiation it answers, before the responder is known. */
static void test_cookie(void)
{
	struct relay_alloc a;
	uint8_t m[200];

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	CHECK(in(&a, 1, &B1, m, hs(m, 1, 0x123, 0, mk_a), T0) == RELAY_DROP_NO_PEER);
	CHECK(in(&a, 0, &A1, m, cookie(m, 0x123), T0 + 1) == RELAY_FORWARD);
	CHECK(addr_equal(&to, &B1));
	CHECK(in(&a, 0, &A1, m, cookie(m, 0x124), T0 + 1) == RELAY_DROP_UNVERIFIED);
	CHECK(in(&a, 0, &A1, m, cookie(m, 0x123), T0 + RELAY_PENDING_MS) == RELAY_DROP_UNVERIFIED);
}

/* Lengths and bytes that are not WireGuard messages are never forwarded. */
static void test_not_wireguard(void)
{
	struct relay_alloc a;
	uint8_t m[200];

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	handshake(&a, T0);
	size_t n = hs(m, 1, 5, 0, mk_b);
	CHECK(in(&a, 0, &A1, m, n - 1, T0) == RELAY_DROP_NOT_WIREGUARD);
	CHECK(in(&a, 0, &A1, m, data(m, 31), T0) == RELAY_DROP_NOT_WIREGUARD);
	CHECK(in(&a, 0, &A1, m, 0, T0) == RELAY_DROP_NOT_WIREGUARD);
	data(m, 64);
	m[2] = 1;
	CHECK(in(&a, 0, &A1, m, 64, T0) == RELAY_DROP_NOT_WIREGUARD);
	union sockaddr_any none = { .sa.sa_family = AF_UNSPEC };
	CHECK(in(&a, 0, &none, m, data(m, 64), T0) == RELAY_DROP_NOT_WIREGUARD);
	CHECK(a.dropped[RELAY_DROP_NOT_WIREGUARD] == 5);
}

/* At most RELAY_HANDSHAKE_BURST verified handshake messages at once per side, then RELAY_HANDSHAKES_PER_S. */
static void test_handshake_rate(void)
{
	struct relay_alloc a;
	uint8_t m[200];
	int ok = 0;

	relay_alloc_init(&a, key_a, key_b, 0, T0);
	/* A flood with bad mac1s is dropped as such and leaves the side's handshakes alone. */
	for (int i = 0; i < 10 * RELAY_HANDSHAKE_BURST; i++)
		CHECK(in(&a, 0, &X, m, hs(m, 1, (uint32_t)i, 0, mk_x), T0) == RELAY_DROP_BAD_MAC1);
	CHECK(a.dropped[RELAY_DROP_HANDSHAKE_RATE] == 0);
	for (int i = 0; i < RELAY_HANDSHAKE_BURST + 5; i++)
		ok += in(&a, 0, &A1, m, hs(m, 1, (uint32_t)(0x100 + i), 0, mk_b), T0) == RELAY_DROP_NO_PEER;
	CHECK(ok == RELAY_HANDSHAKE_BURST);
	CHECK(a.dropped[RELAY_DROP_HANDSHAKE_RATE] == 5);
	/* The other side has its own bucket. */
	CHECK(in(&a, 1, &B1, m, hs(m, 1, 1, 0, mk_a), T0) == RELAY_FORWARD);
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 2, 0, mk_b), T0) == RELAY_DROP_HANDSHAKE_RATE);
	CHECK(in(&a, 0, &A1, m, hs(m, 1, 2, 0, mk_b), T0 + 1000 / RELAY_HANDSHAKES_PER_S) == RELAY_FORWARD);
}

/* A byte rate limit drops what exceeds it and recovers with time. */
static void test_byte_rate(void)
{
	struct relay_alloc a;
	uint8_t m[1500];
	uint64_t sent = 0;
	int dropped = 0;

	relay_alloc_init(&a, key_a, key_b, 10000, T0);
	handshake(&a, T0);
	for (int i = 0; i < 100; i++) {
		if (in(&a, 0, &A1, m, data(m, 1452), T0) == RELAY_FORWARD)
			sent += 1452;
		else
			dropped++;
	}
	CHECK(dropped > 0);
	CHECK(sent + 92 <= 10000 + RELAY_RATE_BURST_EXTRA);
	CHECK(in(&a, 1, &B1, m, data(m, 1452), T0) == RELAY_DROP_RATE);   /* both directions share it */
	CHECK(in(&a, 1, &B1, m, data(m, 1452), T0 + 1000) == RELAY_FORWARD);
	/* Without a limit nothing is dropped. */
	relay_alloc_set_rate(&a, 0, T0 + 1000);
	for (int i = 0; i < 1000; i++)
		CHECK(in(&a, 0, &A1, m, data(m, 1452), T0 + 1000) == RELAY_FORWARD);
}

int main(void)
{
	for (int i = 0; i < WG_KEY_LEN; i++) {
		key_a[i] = (uint8_t)(i + 1);
		key_b[i] = (uint8_t)(i * 3 + 2);
		key_x[i] = (uint8_t)(i * 5 + 7);
	}
	relay_wire_mac1_key(key_a, mk_a);
	relay_wire_mac1_key(key_b, mk_b);
	relay_wire_mac1_key(key_x, mk_x);
	set(&A1, "198.51.100.1:30001");
	set(&A2, "198.51.100.1:30777");
	set(&B1, "[2001:db8::2]:40002");
	set(&X, "192.0.2.66:30001");
	test_learn_and_forward();
	test_no_hijack();
	test_replay();
	test_roaming();
	test_pending_flood();
	test_cookie();
	test_not_wireguard();
	test_handshake_rate();
	test_byte_rate();
	return CHECK_DONE();
}
