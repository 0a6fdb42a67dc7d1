/* SPDX-License-Identifier: MIT */
/*
 * Checks relay-wire against datagrams captured between two wireguard-go
 * devices (udp-tap.py): every datagram classifies as a WireGuard message,
 * every handshake message's mac1 verifies with the receiver's public key
 * and not with the sender's. Usage: relay-wire-check KEY_A KEY_B FILE [-c]
 * (-c also prints the first initiation and response as C arrays).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "relay-wire.h"

/* Decode hex text into out (at most cap bytes); returns the length or -1. */
static long unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), i;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)i;
}

/* Print a message as a C array. */
static void print_array(const char *name, const uint8_t *m, size_t len)
{
	printf("static const uint8_t %s[%zu] = {", name, len);
	for (size_t i = 0; i < len; i++)
		printf("%s0x%02x,", i % 12 ? " " : "\n\t", m[i]);
	printf("\n};\n");
}

int main(int argc, char **argv)
{
	uint8_t ka[WG_KEY_LEN], kb[WG_KEY_LEN], mka[32], mkb[32], pkt[65536];
	char line[140000], dir[8];
	unsigned long counts[5] = { 0 };
	int bad = 0, printed_init = 0, printed_resp = 0;
	FILE *f;

	if (argc < 4 || key_from_base64(argv[1], ka) < 0 || key_from_base64(argv[2], kb) < 0) {
		fprintf(stderr, "usage: relay-wire-check KEY_A KEY_B FILE [-c]\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	if (!f) {
		perror(argv[3]);
		return 2;
	}
	relay_wire_mac1_key(ka, mka);
	relay_wire_mac1_key(kb, mkb);
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		long len;

		if (!sp || sp - line >= (long)sizeof(dir))
			continue;
		memcpy(dir, line, (size_t)(sp - line));
		dir[sp - line] = '\0';
		len = unhex(sp + 1, pkt, sizeof(pkt));
		if (len < 0)
			continue;
		enum relay_wire_msg t = relay_wire_classify(pkt, (size_t)len);
		counts[t]++;
		if (t == RELAY_WIRE_INVALID) {
			fprintf(stderr, "%s: %ld-byte datagram is not a WireGuard message\n", dir, len);
			bad = 1;
			continue;
		}
		if (t != RELAY_WIRE_INITIATION && t != RELAY_WIRE_RESPONSE)
			continue;
		bool a2b = strcmp(dir, "a2b") == 0;
		const uint8_t *to = a2b ? mkb : mka, *from = a2b ? mka : mkb;
		if (!relay_wire_mac1_ok(pkt, (size_t)len, to)) {
			fprintf(stderr, "%s: type %d: mac1 does not verify with the receiver's key\n", dir, t);
			bad = 1;
		}
		if (relay_wire_mac1_ok(pkt, (size_t)len, from)) {
			fprintf(stderr, "%s: type %d: mac1 verifies with the sender's key too\n", dir, t);
			bad = 1;
		}
		if (argc > 4 && strcmp(argv[4], "-c") == 0) {
			if (t == RELAY_WIRE_INITIATION && !printed_init++) {
				printf("/* %s */\n", dir);
				print_array("initiation", pkt, (size_t)len);
			}
			if (t == RELAY_WIRE_RESPONSE && !printed_resp++) {
				printf("/* %s */\n", dir);
				print_array("response", pkt, (size_t)len);
			}
		}
	}
	fclose(f);
	printf("captured: %lu initiations, %lu responses, %lu cookie replies, %lu data, %lu not WireGuard\n",
	       counts[1], counts[2], counts[3], counts[4], counts[0]);
	if (counts[1] == 0 || counts[2] == 0 || counts[4] == 0) {
		fprintf(stderr, "the capture lacks an initiation, a response or data\n");
		bad = 1;
	}
	return bad;
}
