/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes through registry_transfer_answer(), the
 * path every query takes first (TSIG record search and check, transfer
 * requests, IXFR serials, who may transfer), with a zone that has an IXFR
 * history and a TSIG key. Every response, and every message of a transfer
 * stream (pulled to its end), must parse with ldns and fit its buffer.
 *
 * The first input byte chooses the client: bit 0 TCP, bits 1-2 the source
 * (an allow-transfer prefix with a key, one without, a mesh member on the
 * zone's interface, a stranger); the rest is the message. Some peers have
 * registered candidates, which change in the history too. Seeds in
 * tests/fuzz/corpus/xfr are AXFR and IXFR requests, signed and unsigned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "cand-store.h"
#include "config.h"
#include "dns-answer.h"
#include "log.h"
#include "registry-transfer.h"
#include "wg.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="

static struct registry_transfer *xfer;
static struct registry_transfer_zone *tzone;
static struct zone *snaps[2];
static struct registry_transfer_zone *tzones[2];
static struct config_zone cz;
static uint8_t out[65536];

/* A device with n peers; endpoint ports vary with port_base. */
static struct wg_device *device(int n, int port_base)
{
	struct wg_device *dev = wg_device_new();
	char ep[64], ip[64];

	dev->ifindex = 3;
	dev->listen_port = 51820;
	for (int i = 0; i < n; i++) {
		struct wg_peer *p = wg_device_add_peer(dev);
		struct cidr c;
		for (int j = 0; j < WG_KEY_LEN; j++)
			p->public_key[j] = (uint8_t)(i * 31 + j);
		snprintf(ep, sizeof(ep), i % 2 ? "192.0.2.%d:%d" : "[2001:db8::%x]:%d", i + 1, port_base + i);
		addr_parse(ep, 0, &p->endpoint);
		snprintf(ip, sizeof(ip), "10.0.%d.%d/32", i / 250, i % 250);
		cidr_parse(ip, false, &c);
		wg_peer_add_allowed_ip(p, &c);
	}
	return dev;
}

/* A snapshot of dev with the candidates of store. */
static struct zone *snapshot(struct wg_device *dev, const struct zone *prev, time_t now, const struct cand_store *store)
{
	struct zone_build *b = zone_build_new(&cz, dev, prev, now);

	if (!b)
		abort();
	zone_build_set_cands(b, store, 0);
	if (zone_build_step(b, SIZE_MAX) != 1)
		abort();
	return zone_build_finish(b);
}

/* Give peer i of dev n candidates (LAN IPv4 and global IPv6 in turn), their addresses from base. */
static void register_cands(struct cand_store *store, const struct wg_device *dev, size_t i, size_t n, int base)
{
	struct cand_rec c[CAND_PEER_MAX];
	union sockaddr_any a;
	char ep[64];

	for (size_t k = 0; k < n && k < CAND_PEER_MAX; k++) {
		memset(&c[k], 0, sizeof(c[k]));
		snprintf(ep, sizeof(ep), k % 2 ? "[2001:db8:%x::%zx]:%d" : "192.168.%d.%zu:%d", base, k + 1, 40000 + base);
		addr_parse(ep, 0, &a);
		cand_from_sockaddr(&c[k], &a);
		c[k].kind = k % 2 ? CAND_V6 : CAND_LAN;
		c[k].index = (uint8_t)(k / 2);
	}
	if (cand_store_set(store, dev->peers[i].public_key, c, n, UINT64_MAX) < 0)
		abort();
}

/* Zones and transfer state, once: example.com. with a history of one change, and other.test. */
static void setup(void)
{
	static struct config_xfr_acl acl[2];
	static struct config_key key = { .name = "xfr.example.", .secret = SECRET };
	struct event_base *base = event_base_new();

	log_init(LOG_LVL_ERROR, false);
	memset(&cz, 0, sizeof(cz));
	strcpy(cz.name, "example.com.");
	strcpy(cz.ns, "ns1.example.com.");
	cz.refresh_ms = 1000;
	cz.soa_refresh_s = 30;
	cz.soa_retry_s = 5;
	cz.soa_expire_s = 604800;
	cz.peer_transfers = true;
	cz.ixfr_history = 10;
	cidr_parse("192.0.2.0/24", false, &acl[0].prefix);
	strcpy(acl[0].key, "xfr.example.");
	cidr_parse("198.51.100.0/24", false, &acl[1].prefix);
	cz.allow_transfer = acl;
	cz.n_allow_transfer = 2;
	xfer = registry_transfer_new();
	registry_transfer_set_keys(xfer, &key, 1);
	tzone = registry_transfer_zone_new(xfer, base, &cz);
	struct wg_device *d0 = device(30, 1000), *d1 = device(30, 2000);
	struct cand_store *store = cand_store_new(CAND_PEER_MAX, 1000);
	register_cands(store, d0, 1, 2, 1);
	register_cands(store, d0, 2, CAND_PEER_MAX, 2);
	struct zone *z0 = snapshot(d0, NULL, 1700000000, store);
	register_cands(store, d0, 1, 3, 3);
	cand_store_set(store, d0->peers[2].public_key, NULL, 0, 0);
	register_cands(store, d0, 4, 1, 4);
	struct zone *z1 = snapshot(d1, z0, 1700000100, store);
	cand_store_free(store);
	/* The transfers and the diff carry candidate records (a full set of 16 among them). */
	if (!z0 || !z1 || z0->n_cands != 2 + CAND_PEER_MAX || z1->n_cands != 3 + 1)
		abort();
	registry_transfer_publish(tzone, NULL, z0, 30, 1700000000);
	registry_transfer_publish(tzone, z0, z1, 30, 1700000100);
	zone_free(z0);
	wg_device_free(d0);
	wg_device_free(d1);
	snaps[0] = z1;
	tzones[0] = tzone;
	struct config_zone other = cz;
	strcpy(other.name, "other.test.");
	strcpy(other.ns, "ns.other.test.");
	snaps[1] = zone_new(&other, NULL, NULL, 1700000000);   /* unreadable device: SERVFAIL */
	tzones[1] = tzone;
}

/* A response or transfer message must parse and fit. */
static void check_message(const uint8_t *m, size_t n, size_t cap)
{
	ldns_pkt *p = NULL;

	if (n > cap)
		abort();
	if (ldns_wire2pkt(&p, m, n) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sources[] = { "192.0.2.9:5353", "198.51.100.9:5353", "10.0.0.1:5353", "203.0.113.9:1" };
	union sockaddr_any src, local;
	struct dns_answer_info info;
	struct registry_stream *stream = NULL;
	const char *why = NULL;

	if (!xfer)
		setup();
	if (size < 1)
		return 0;
	addr_parse(sources[(data[0] >> 1) & 3], 0, &src);
	addr_parse("192.0.2.53:53", 0, &local);
	struct dns_client cl = { .src = &src, .local = &local, .ifindex = 3, .tcp = data[0] & 1 };
	struct dns_answer_env env = { .zones = snaps, .n_zones = 2, .access = data[0] & 8 ? ACCESS_PEERS : ACCESS_ANY,
				      .ttl = 30, .edns_size = 1232, .now = 1700000200 };
	struct registry_transfer_view view = { .snaps = snaps, .zones = tzones, .n = 2 };
	size_t cap = cl.tcp ? 65535 : 4096;
	size_t n = registry_transfer_answer(xfer, &view, &env, &cl, data + 1, size - 1, out, cap,
					    cl.tcp ? &stream : NULL, &info, &why);
	if (n)
		check_message(out, n, cap);
	if (stream) {
		int m, count = 0;
		while ((m = stream->next(stream, out, 65535)) > 0 && count++ < 100000)
			check_message(out, (size_t)m, 65535);
		stream->end(stream, m == 0);
	}
	return 0;
}
