/* SPDX-License-Identifier: MIT */
/*
 * relay-wire: message classification and mac1, checked against a handshake
 * captured between two real wireguard-go devices (tests/relay/wire-capture.sh
 * with RELAY_CAPTURE_PRINT=1 printed these arrays).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "key.h"
#include "relay-wire.h"

/* The initiator a and the responder b of the captured handshake. */
static const char key_a[] = "cORVJFJR8GTI70UXCKu0MYq0OXqC9NJ3/w0u0Pc/3Cg=";
static const char key_b[] = "Kju3lTMG1xpDxvgFEaKCWJ9VfkTsOczJhFl+VY1CmG8=";

/* a -> b: mac1 keyed with b's public key. */
static const uint8_t initiation[148] = {
	0x01, 0x00, 0x00, 0x00, 0xc6, 0x7e, 0xaf, 0x74, 0xa0, 0x8d, 0x51, 0x18,
	0xb0, 0x43, 0x5d, 0x12, 0x84, 0x60, 0x91, 0xc2, 0x92, 0x16, 0xab, 0x95,
	0x15, 0xd4, 0x08, 0xa7, 0x7f, 0x2d, 0x88, 0xc5, 0x59, 0x85, 0x87, 0x90,
	0x00, 0x71, 0xf6, 0x2e, 0x1e, 0xf5, 0x7f, 0x47, 0x53, 0x6d, 0xb2, 0xb1,
	0x22, 0x4a, 0x09, 0xe5, 0x8e, 0x16, 0x04, 0x15, 0xc8, 0xc8, 0xc3, 0x03,
	0x1f, 0x09, 0x45, 0x70, 0x4a, 0x27, 0x04, 0xca, 0xdb, 0x8d, 0x27, 0x35,
	0x6a, 0xd8, 0x86, 0xc7, 0xfc, 0x4b, 0xec, 0x86, 0xcd, 0xb2, 0xe7, 0x5b,
	0x7f, 0xd1, 0x16, 0x27, 0xbb, 0xed, 0x92, 0x8b, 0x08, 0x34, 0xfd, 0x79,
	0x31, 0x85, 0xf4, 0x8c, 0x8a, 0xd5, 0x32, 0xf3, 0xe5, 0x60, 0x0c, 0x19,
	0xb5, 0xe8, 0x5b, 0x7f, 0x52, 0x16, 0xc0, 0x87, 0x33, 0x8c, 0xac, 0x13,
	0x28, 0x7c, 0xd8, 0xde, 0x39, 0xbc, 0x9f, 0xe3, 0x1b, 0x5d, 0xb7, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};

/* b -> a: mac1 keyed with a's public key; its receiver index is the initiation's sender index. */
static const uint8_t response[92] = {
	0x02, 0x00, 0x00, 0x00, 0xe9, 0x52, 0x7c, 0x3a, 0xc6, 0x7e, 0xaf, 0x74,
	0xff, 0x3c, 0xda, 0x84, 0x1c, 0x38, 0xe3, 0x40, 0xe5, 0x8d, 0xe7, 0xb0,
	0xc0, 0x85, 0x13, 0x96, 0x2a, 0xb7, 0x16, 0x6b, 0x8f, 0x4b, 0x81, 0x5c,
	0xeb, 0x88, 0xc3, 0xf2, 0xc9, 0x83, 0x96, 0x1f, 0xff, 0x1a, 0xd4, 0x82,
	0x39, 0x7b, 0x0f, 0xb6, 0x9e, 0x8a, 0xc0, 0xc7, 0xc5, 0x8a, 0x22, 0x07,
	0x89, 0xb5, 0x2f, 0x7e, 0xd9, 0x83, 0x2b, 0xee, 0x82, 0x25, 0x96, 0x33,
	0x2a, 0x2b, 0x7b, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static uint8_t mk_a[RELAY_WIRE_MAC1_KEY_LEN], mk_b[RELAY_WIRE_MAC1_KEY_LEN];

/* Each message type at its exact or minimum length, and nothing else. */
static void test_classify_lengths(void)
{
	uint8_t buf[2000];

	memset(buf, 0, sizeof(buf));
	CHECK(relay_wire_classify(initiation, sizeof(initiation)) == RELAY_WIRE_INITIATION);
	CHECK(relay_wire_classify(response, sizeof(response)) == RELAY_WIRE_RESPONSE);
	buf[0] = 1;
	CHECK(relay_wire_classify(buf, 147) == RELAY_WIRE_INVALID);
	CHECK(relay_wire_classify(buf, 149) == RELAY_WIRE_INVALID);
	CHECK(relay_wire_classify(buf, 148) == RELAY_WIRE_INITIATION);
	buf[0] = 2;
	CHECK(relay_wire_classify(buf, 91) == RELAY_WIRE_INVALID);
	CHECK(relay_wire_classify(buf, 93) == RELAY_WIRE_INVALID);
	CHECK(relay_wire_classify(buf, 92) == RELAY_WIRE_RESPONSE);
	buf[0] = 3;
	CHECK(relay_wire_classify(buf, 64) == RELAY_WIRE_COOKIE);
	CHECK(relay_wire_classify(buf, 63) == RELAY_WIRE_INVALID);
	CHECK(relay_wire_classify(buf, 65) == RELAY_WIRE_INVALID);
	buf[0] = 4;
	CHECK(relay_wire_classify(buf, 31) == RELAY_WIRE_INVALID);
	CHECK(relay_wire_classify(buf, 32) == RELAY_WIRE_DATA);     /* a keepalive */
	CHECK(relay_wire_classify(buf, 1452) == RELAY_WIRE_DATA);   /* near the MTU: not a multiple of 16 */
	CHECK(relay_wire_classify(buf, sizeof(buf)) == RELAY_WIRE_DATA);
	for (int t = 0; t < 256; t++) {
		if (t >= 1 && t <= 4)
			continue;
		buf[0] = (uint8_t)t;
		CHECK(relay_wire_classify(buf, 148) == RELAY_WIRE_INVALID);
		CHECK(relay_wire_classify(buf, 64) == RELAY_WIRE_INVALID);
	}
	for (size_t n = 0; n < 4; n++)
		CHECK(relay_wire_classify(initiation, n) == RELAY_WIRE_INVALID);
}

/* A non-zero reserved byte makes any type invalid (WireGuard's type is a 32-bit little-endian word). */
static void test_classify_reserved(void)
{
	uint8_t m[sizeof(initiation)];

	for (int i = 1; i < 4; i++) {
		memcpy(m, initiation, sizeof(m));
		m[i] = 1;
		CHECK(relay_wire_classify(m, sizeof(m)) == RELAY_WIRE_INVALID);
	}
}

/* The captured mac1s verify with the receiver's key only. */
static void test_mac1_captured(void)
{
	CHECK(relay_wire_mac1_ok(initiation, sizeof(initiation), mk_b));
	CHECK(!relay_wire_mac1_ok(initiation, sizeof(initiation), mk_a));
	CHECK(relay_wire_mac1_ok(response, sizeof(response), mk_a));
	CHECK(!relay_wire_mac1_ok(response, sizeof(response), mk_b));
	/* Only handshake lengths are checked at all. */
	CHECK(!relay_wire_mac1_ok(initiation, sizeof(initiation) - 1, mk_b));
	CHECK(!relay_wire_mac1_ok(initiation, 64, mk_b));
}

/* Any changed bit before mac2 breaks mac1; mac2 itself is not covered. */
static void test_mac1_covers_message(void)
{
	uint8_t m[sizeof(initiation)];
	size_t mac2 = sizeof(initiation) - RELAY_WIRE_MAC_LEN;

	for (size_t i = 0; i < sizeof(m); i++) {
		memcpy(m, initiation, sizeof(m));
		m[i] ^= 0x40;
		CHECK(relay_wire_mac1_ok(m, sizeof(m), mk_b) == (i >= mac2));
	}
	uint8_t r[sizeof(response)];
	for (size_t i = 0; i < sizeof(r); i++) {
		memcpy(r, response, sizeof(r));
		r[i] ^= 0x01;
		CHECK(relay_wire_mac1_ok(r, sizeof(r), mk_a) == (i >= sizeof(response) - RELAY_WIRE_MAC_LEN));
	}
}

/* relay_wire_mac1_set writes the mac1 WireGuard writes. */
static void test_mac1_set(void)
{
	uint8_t m[sizeof(initiation)];

	memcpy(m, initiation, sizeof(m));
	memset(m + sizeof(m) - 32, 0, 16);
	CHECK(!relay_wire_mac1_ok(m, sizeof(m), mk_b));
	relay_wire_mac1_set(m, sizeof(m), mk_b);
	CHECK(memcmp(m, initiation, sizeof(m)) == 0);
}

/* Indices: the response answers the initiation's sender index. */
static void test_indices(void)
{
	uint8_t d[32] = { 4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12 };

	CHECK(relay_wire_sender(initiation) == 0x74af7ec6u);
	CHECK(relay_wire_sender(response) == 0x3a7c52e9u);
	CHECK(relay_wire_receiver(response, RELAY_WIRE_RESPONSE) == relay_wire_sender(initiation));
	CHECK(relay_wire_receiver(d, RELAY_WIRE_DATA) == 0x12345678u);
	CHECK(relay_wire_receiver(d, RELAY_WIRE_COOKIE) == 0x12345678u);
}

int main(void)
{
	uint8_t ka[WG_KEY_LEN], kb[WG_KEY_LEN];

	if (key_from_base64(key_a, ka) < 0 || key_from_base64(key_b, kb) < 0)
		abort();
	relay_wire_mac1_key(ka, mk_a);
	relay_wire_mac1_key(kb, mk_b);
	test_classify_lengths();
	test_classify_reserved();
	test_mac1_captured();
	test_mac1_covers_message();
	test_mac1_set();
	test_indices();
	return CHECK_DONE();
}
