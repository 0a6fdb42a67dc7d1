/* SPDX-License-Identifier: MIT */
/* WireGuard message classification and mac1 verification for the relay. */
#include <string.h>

#include <blake2.h>

#include "relay-wire.h"

static const char LABEL_MAC1[] = "mac1----";

/* Classify a datagram by its type byte, reserved bytes and length. */
enum relay_wire_msg relay_wire_classify(const uint8_t *pkt, size_t len)
{
	if (len < 4 || pkt[1] || pkt[2] || pkt[3])
		return RELAY_WIRE_INVALID;
	switch (pkt[0]) {
	case RELAY_WIRE_INITIATION:
		return len == RELAY_WIRE_INITIATION_LEN ? RELAY_WIRE_INITIATION : RELAY_WIRE_INVALID;
	case RELAY_WIRE_RESPONSE:
		return len == RELAY_WIRE_RESPONSE_LEN ? RELAY_WIRE_RESPONSE : RELAY_WIRE_INVALID;
	case RELAY_WIRE_COOKIE:
		return len == RELAY_WIRE_COOKIE_LEN ? RELAY_WIRE_COOKIE : RELAY_WIRE_INVALID;
	case RELAY_WIRE_DATA:
		return len >= RELAY_WIRE_DATA_MIN_LEN ? RELAY_WIRE_DATA : RELAY_WIRE_INVALID;
	default:
		return RELAY_WIRE_INVALID;
	}
}

/* HASH(LABEL_MAC1 || public_key), 32-byte BLAKE2s without a key. */
void relay_wire_mac1_key(const uint8_t public_key[WG_KEY_LEN], uint8_t out[RELAY_WIRE_MAC1_KEY_LEN])
{
	uint8_t in[sizeof(LABEL_MAC1) - 1 + WG_KEY_LEN];

	memcpy(in, LABEL_MAC1, sizeof(LABEL_MAC1) - 1);
	memcpy(in + sizeof(LABEL_MAC1) - 1, public_key, WG_KEY_LEN);
	blake2s(out, in, NULL, RELAY_WIRE_MAC1_KEY_LEN, sizeof(in), 0);
}

/* Compute the mac1 of the first len - 32 bytes of msg. */
static void mac1_compute(const uint8_t *msg, size_t len, const uint8_t key[RELAY_WIRE_MAC1_KEY_LEN],
			 uint8_t out[RELAY_WIRE_MAC_LEN])
{
	blake2s(out, msg, key, RELAY_WIRE_MAC_LEN, len - 2 * RELAY_WIRE_MAC_LEN, RELAY_WIRE_MAC1_KEY_LEN);
}

/* True when msg's mac1 is the one mac1_key gives. */
bool relay_wire_mac1_ok(const uint8_t *msg, size_t len, const uint8_t mac1_key[RELAY_WIRE_MAC1_KEY_LEN])
{
	uint8_t mac[RELAY_WIRE_MAC_LEN];
	uint8_t diff = 0;

	if (len != RELAY_WIRE_INITIATION_LEN && len != RELAY_WIRE_RESPONSE_LEN)
		return false;
	mac1_compute(msg, len, mac1_key, mac);
	/* No early exit: the time taken says nothing about how many bytes matched. */
	for (size_t i = 0; i < RELAY_WIRE_MAC_LEN; i++)
		diff |= (uint8_t)(mac[i] ^ msg[len - 2 * RELAY_WIRE_MAC_LEN + i]);
	return diff == 0;
}

/* Write msg's mac1. */
void relay_wire_mac1_set(uint8_t *msg, size_t len, const uint8_t mac1_key[RELAY_WIRE_MAC1_KEY_LEN])
{
	if (len < 2 * RELAY_WIRE_MAC_LEN)
		return;
	mac1_compute(msg, len, mac1_key, msg + len - 2 * RELAY_WIRE_MAC_LEN);
}

/* Read a little-endian 32-bit value. */
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sender index of an initiation or response. */
uint32_t relay_wire_sender(const uint8_t *msg)
{
	return le32(msg + 4);
}

/* Receiver index: after the sender index in a response, right after the type otherwise. */
uint32_t relay_wire_receiver(const uint8_t *msg, enum relay_wire_msg type)
{
	return le32(msg + (type == RELAY_WIRE_RESPONSE ? 8 : 4));
}
