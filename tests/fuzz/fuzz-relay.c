/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the relay. The first byte picks a mode:
 *   0: a sequence of datagrams through one allocation (relay-alloc.c and
 *      relay-wire.c). Each record is flags, source, time step, 16-bit
 *      length and the datagram; flags pick the side, and may give a
 *      handshake message its exact length and a valid mac1 so that the
 *      state machine is explored. Checked: a forwarded datagram goes only
 *      to an address that sent a handshake message with a valid mac1 (any
 *      other sender can never be a destination), the learnt addresses come
 *      from those too, and the bytes counted forwarded are the bytes
 *      received for forwarding;
 *   1: the rest as a DNS response to a relay query (client_relay_parse):
 *      an endpoint it returns is one another host can send to;
 *   2: the rest as a DNS query to a zone with a relay (dns_answer): every
 *      response parses, and an allocation is only made for a query that
 *      arrived on the zone's interface.
 */
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "client-relay.h"
#include "dns-pkt.h"
#include "config.h"
#include "dns-answer.h"
#include "relay-alloc.h"
#include "wg.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_SRC 6
#define IFINDEX 3

static union sockaddr_any srcs[N_SRC];
static uint8_t keys[2][WG_KEY_LEN];
static uint8_t mac1_keys[2][RELAY_WIRE_MAC1_KEY_LEN];
static struct zone *zone;
static int allocations;

/* The DNS allocation callback: count, and hand out a port. */
static int allocate_cb(void *arg, const uint8_t self[WG_KEY_LEN], const uint8_t peer[WG_KEY_LEN], uint16_t *port)
{
	allocations++;
	*port = (uint16_t)(50000 + self[0]);
	return self[1] & 1 ? -ENOSPC : 0;
}

static const uint8_t relay4[1][4] = { { 203, 0, 113, 4 } };
static struct dns_relay relay = { .addr4 = relay4, .n_addr4 = 1, .allocate = allocate_cb };

/* Addresses, keys and a zone whose peers hold 10.0.0.i/32 (and one a /24), built once. */
static void setup(void)
{
	static const char *const s[N_SRC] = { "198.51.100.1:30001", "198.51.100.1:30002", "192.0.2.66:1",
					      "[2001:db8::1]:40001", "[2001:db8::2]:40001", "[2001:db8::66]:1" };
	static struct wg_device dev;
	static struct wg_peer peers[8];
	static struct cidr cidrs[8];
	struct config_zone cz;

	for (int i = 0; i < N_SRC; i++)
		if (addr_parse(s[i], -1, &srcs[i]) < 0)
			abort();
	for (int k = 0; k < 2; k++) {
		for (int j = 0; j < WG_KEY_LEN; j++)
			keys[k][j] = (uint8_t)(k * 101 + j * 7 + 1);
		relay_wire_mac1_key(keys[k], mac1_keys[k]);
	}
	memset(&cz, 0, sizeof(cz));
	strcpy(cz.name, "example.com.");
	strcpy(cz.ns, "ns1.example.com.");
	cz.refresh_ms = 1000;
	dev.ifindex = IFINDEX;
	dev.peers = peers;
	dev.n_peers = dev.cap_peers = 8;
	for (int i = 0; i < 8; i++) {
		char t[32];
		for (int j = 0; j < WG_KEY_LEN; j++)
			peers[i].public_key[j] = (uint8_t)(i * 29 + j);
		if (i % 4 != 3)
			addr_parse("198.51.100.7:51820", 0, &peers[i].endpoint);
		snprintf(t, sizeof(t), i == 7 ? "10.1.0.0/24" : "10.0.0.%d/32", i + 1);
		cidr_parse(t, false, &cidrs[i]);
		peers[i].allowed_ips = &cidrs[i];
		peers[i].n_allowed_ips = peers[i].cap_allowed_ips = 1;
	}
	zone = zone_new(&cz, &dev, NULL, 1700000000);
	if (!zone)
		abort();
}

/* True when a is one of the n addresses in set. */
static bool in_set(const union sockaddr_any *a, const union sockaddr_any *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (addr_equal(a, &set[i]))
			return true;
	return false;
}

/* Mode 0: datagrams through one allocation. */
static void fuzz_alloc(const uint8_t *data, size_t size)
{
	struct relay_alloc a;
	union sockaddr_any verified[N_SRC], to;
	size_t n_verified = 0;
	uint64_t now = 1, forwarded_bytes = 0;
	uint8_t pkt[2048];

	relay_alloc_init(&a, keys[0], keys[1], size && (data[0] & 0x80) ? 5000 : 0, now);
	while (size >= 5) {
		unsigned int flags = data[0], side = flags & 1;
		const union sockaddr_any *src = &srcs[data[1] % N_SRC];
		size_t len = (size_t)data[3] | (size_t)data[4] << 8;
		now += data[2] * 17u;
		data += 5;
		size -= 5;
		if (len > size)
			len = size;
		if (len > sizeof(pkt))
			len = sizeof(pkt);
		memcpy(pkt, data, len);
		data += len;
		size -= len;
		if (flags & 2) {
			/* A handshake message of the right length, type and reserved bytes. */
			static const size_t lens[4] = { RELAY_WIRE_INITIATION_LEN, RELAY_WIRE_RESPONSE_LEN,
							RELAY_WIRE_COOKIE_LEN, RELAY_WIRE_DATA_MIN_LEN };
			unsigned int t = (flags >> 3) & 3;
			if (len < lens[t])
				memset(pkt + len, 0, lens[t] - len);
			len = t == 3 && len > lens[t] ? len : lens[t];
			pkt[0] = (uint8_t)(t + 1);
			pkt[1] = pkt[2] = pkt[3] = 0;
			if ((flags & 4) && t < 2)
				relay_wire_mac1_set(pkt, len, mac1_keys[!side]);
		}
		enum relay_wire_msg type = relay_wire_classify(pkt, len);
		if ((type == RELAY_WIRE_INITIATION || type == RELAY_WIRE_RESPONSE) &&
		    relay_wire_mac1_ok(pkt, len, mac1_keys[!side]) && !in_set(src, verified, n_verified))
			verified[n_verified++] = *src;
		memset(&to, 0, sizeof(to));
		enum relay_verdict v = relay_alloc_input(&a, side, src, pkt, len, now, &to);
		if ((unsigned int)v >= RELAY_VERDICT_MAX)
			abort();
		if (v == RELAY_FORWARD) {
			forwarded_bytes += len;
			if (!in_set(&to, verified, n_verified))
				abort();   /* sent somewhere no verified handshake came from */
		}
		for (int s = 0; s < 2; s++)
			if (a.side[s].addr.sa.sa_family != AF_UNSPEC && !in_set(&a.side[s].addr, verified, n_verified))
				abort();
	}
	if (a.side[0].bytes + a.side[1].bytes != forwarded_bytes)
		abort();
}

/* Mode 1: a response to a relay query. */
static void fuzz_parse(const uint8_t *data, size_t size)
{
	char qname[400];
	ldns_pkt *pkt = NULL;
	union sockaddr_any ep;

	if (client_relay_qname(keys[0], keys[1], "example.com.", qname, sizeof(qname)) < 0)
		abort();
	if (dns_pkt_from_wire(&pkt, data, size) != LDNS_STATUS_OK)
		return;
	for (int fam = 0; fam < 3; fam++) {
		int pref = fam == 0 ? AF_UNSPEC : fam == 1 ? AF_INET : AF_INET6;
		if (client_relay_parse(pkt, qname, "example.com.", pref, &ep) == 0 && addr_endpoint_check(&ep) != ADDR_EP_OK)
			abort();
	}
	ldns_pkt_free(pkt);
}

/* Mode 2: a query to a zone with a relay. */
static void fuzz_answer(const uint8_t *data, size_t size)
{
	static uint8_t out[65536];
	struct zone *zones[1] = { zone };
	struct dns_answer_env env = { .zones = zones, .n_zones = 1, .access = ACCESS_PEERS, .edns_size = 1232,
				      .now = 1700000000, .relay = &relay };
	union sockaddr_any src;
	struct dns_client cl = { .src = &src };
	struct dns_answer_info info;
	char text[32];

	if (size < 1)
		return;
	snprintf(text, sizeof(text), "10.%u.0.%u:5353", (data[0] >> 7) & 1, (data[0] & 7) + 1);
	addr_parse(text, -1, &src);
	cl.ifindex = data[0] & 0x40 ? IFINDEX : IFINDEX + 1;
	cl.tcp = (data[0] & 0x20) != 0;
	allocations = 0;
	size_t n = dns_answer(&env, &cl, data + 1, size - 1, out, sizeof(out), &info);
	if (allocations && cl.ifindex != IFINDEX)
		abort();
	if (allocations && info.relay != DNS_RELAY_GRANTED && info.relay != DNS_RELAY_FAILED)
		abort();
	if (n) {
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, out, n) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_free(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_alloc(data + 1, size - 1);
		break;
	case 1:
		fuzz_parse(data + 1, size - 1);
		break;
	default:
		fuzz_answer(data + 1, size - 1);
		break;
	}
	return 0;
}
