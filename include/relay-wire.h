/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's own messages as the relay sees them, without any key but the
 * peers' public ones: which message a datagram is, and whether a handshake
 * message's mac1 verifies against a peer's public key. Pure: no I/O.
 *
 * Message layouts (WireGuard whitepaper, section 5.4; all indices are
 * little-endian 32-bit values; the first byte is the type, the next three
 * are zero):
 *   1 handshake initiation  148 bytes: type, sender, ephemeral(32),
 *                           static(48), timestamp(28), mac1(16), mac2(16)
 *   2 handshake response     92 bytes: type, sender, receiver,
 *                           ephemeral(32), empty(16), mac1(16), mac2(16)
 *   3 cookie reply           64 bytes: type, receiver, nonce(24), cookie(32)
 *   4 transport data     >= 32 bytes: type, receiver, counter(8),
 *                           ciphertext with its 16-byte tag (a keepalive is 32)
 *
 * mac1 (section 5.4.4) = BLAKE2s keyed with HASH("mac1----" || the
 * receiver's static public key), 16 bytes of output, over the message up to
 * mac1; HASH is 32-byte BLAKE2s. A valid mac1 proves only that the sender
 * knows the receiver's public key, not who the sender is.
 */
#ifndef WGSD_RELAY_WIRE_H
#define WGSD_RELAY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"

#define RELAY_WIRE_INITIATION_LEN 148
#define RELAY_WIRE_RESPONSE_LEN 92
#define RELAY_WIRE_COOKIE_LEN 64
#define RELAY_WIRE_DATA_MIN_LEN 32
#define RELAY_WIRE_MAC_LEN 16
#define RELAY_WIRE_MAC1_KEY_LEN 32

enum relay_wire_msg {
	RELAY_WIRE_INVALID = 0,    /* not a WireGuard message: wrong type, reserved bytes or length */
	RELAY_WIRE_INITIATION = 1,
	RELAY_WIRE_RESPONSE = 2,
	RELAY_WIRE_COOKIE = 3,
	RELAY_WIRE_DATA = 4,
};

/* What a datagram of len bytes is: its exact length for types 1-3, at least 32 bytes for type 4. */
enum relay_wire_msg relay_wire_classify(const uint8_t *pkt, size_t len);
/* The mac1 key of messages sent to the holder of public_key: HASH("mac1----" || public_key). */
void relay_wire_mac1_key(const uint8_t public_key[WG_KEY_LEN], uint8_t out[RELAY_WIRE_MAC1_KEY_LEN]);
/* True when msg (an initiation or response of len bytes) carries the mac1 of mac1_key; constant time. */
bool relay_wire_mac1_ok(const uint8_t *msg, size_t len, const uint8_t mac1_key[RELAY_WIRE_MAC1_KEY_LEN]);
/* Write the mac1 of msg with mac1_key into msg (tests build messages with it). */
void relay_wire_mac1_set(uint8_t *msg, size_t len, const uint8_t mac1_key[RELAY_WIRE_MAC1_KEY_LEN]);
/* The sender index of an initiation or response (bytes 4-7). */
uint32_t relay_wire_sender(const uint8_t *msg);
/* The receiver index of a response (bytes 8-11), cookie reply or data message (bytes 4-7). */
uint32_t relay_wire_receiver(const uint8_t *msg, enum relay_wire_msg type);

#endif
