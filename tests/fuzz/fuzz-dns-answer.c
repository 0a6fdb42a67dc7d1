/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes through dns_answer(); every non-empty
 * response must parse with ldns and respect the size limit, and every TXT
 * record in it must give its allowed IPs to client_members_allowed().
 *
 * Build and run by hand (from the source tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz-dns-answer.c src/dns-answer.c src/dns-query.c src/zone.c \
 *     src/addr.c src/key.c src/client-answer.c src/clock.c -lldns -o fuzz-dns-answer
 *   ./fuzz-dns-answer -max_total_time=60
 * The first input byte selects the transport and access mode, the rest is the query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "client-members.h"
#include "config.h"
#include "dns-answer.h"
#include "wg.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_ZONES 3
#define LONG_LIST 300

static struct zone *zones[N_ZONES];
static struct cidr access_cidr;

/*
 * Build the zones once: example.com. with peers (self = auto; some with
 * endpoints no one can use, one with a long allowed-IP list), b32. and
 * a.b.example.com. (a served zone below example.com.) answering SERVFAIL.
 */
static void setup(void)
{
	struct config_zone cz;
	/* The device is filled by hand so that the target needs no backend code. */
	static struct wg_device device;
	static struct wg_peer peers[40];
	static struct cidr cidrs[40], long_list[LONG_LIST];
	struct wg_device *dev = &device;
	union sockaddr_any ns;

	memset(&cz, 0, sizeof(cz));
	strcpy(cz.name, "example.com.");
	strcpy(cz.ns, "ns1.example.com.");
	cz.self = SELF_AUTO;
	cz.refresh_ms = 1000;
	addr_parse("192.0.2.53:0", 0, &ns);
	cz.ns_addrs = &ns;
	cz.n_ns_addrs = 1;
	dev->has_public_key = true;
	dev->ifindex = 3;
	dev->listen_port = 51820;
	dev->peers = peers;
	dev->n_peers = dev->cap_peers = 40;
	for (int i = 0; i < 40; i++) {
		struct wg_peer *p = &peers[i];
		for (int j = 0; j < WG_KEY_LEN; j++)
			p->public_key[j] = (uint8_t)(i * 31 + j);
		if (i % 3 == 0)
			addr_parse("192.0.2.1:51820", 0, &p->endpoint);
		else if (i % 3 == 1)
			addr_parse("[2001:db8::1]:51820", 0, &p->endpoint);
		p->last_handshake_sec = i % 2 ? 1700000000 - i : 0;
		if (i % 9 == 4)
			addr_parse(i % 2 ? "127.0.0.1:51820" : "[fe80::1]:51820", 0, &p->endpoint);
		cidr_parse(i % 2 ? "10.0.0.1/32" : "fd00::/64", false, &cidrs[i]);
		p->allowed_ips = &cidrs[i];
		p->n_allowed_ips = p->cap_allowed_ips = 1;
	}
	for (int i = 0; i < LONG_LIST; i++) {
		char t[48];
		if (i % 2)
			snprintf(t, sizeof(t), "10.%d.%d.0/24", i % 250, i / 250);
		else
			snprintf(t, sizeof(t), "fd00:%x:%x::/48", i, i % 7);
		if (cidr_parse(t, false, &long_list[i]) < 0)
			abort();
	}
	peers[3].allowed_ips = long_list;
	peers[3].n_allowed_ips = peers[3].cap_allowed_ips = LONG_LIST;
	zones[0] = zone_new(&cz, dev, NULL, 1700000000);
	strcpy(cz.name, "b32.");
	strcpy(cz.ns, "");
	zones[1] = zone_new(&cz, NULL, NULL, 1700000000);
	strcpy(cz.name, "a.b.example.com.");
	zones[2] = zone_new(&cz, NULL, NULL, 1700000000);
	cidr_parse("10.0.0.0/8", false, &access_cidr);
	for (int i = 0; i < N_ZONES; i++)
		if (!zones[i])
			abort();
}

/* Every TXT record of a section must parse with client_members_allowed() (the registry writes no other). */
static void check_txt(const ldns_rr_list *list)
{
	static uint8_t rdata[65536];
	struct cidr out[LONG_LIST];

	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		size_t len = 0;
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
			const ldns_rdf *rdf = ldns_rr_rdf(rr, j);
			if (len + ldns_rdf_size(rdf) > sizeof(rdata))
				abort();
			memcpy(rdata + len, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
			len += ldns_rdf_size(rdf);
		}
		/* Peers have one prefix, one has LONG_LIST, self none. */
		int n = client_members_allowed(rdata, len, out, LONG_LIST);
		if (n != 0 && n != 1 && n != LONG_LIST)
			abort();
	}
}

/* One input: mode byte, then the query. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536];
	union sockaddr_any src, local;
	struct dns_answer_info info;
	ldns_pkt *pkt = NULL;

	if (!zones[0])
		setup();
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	struct dns_answer_env env = {
		.zones = zones, .n_zones = N_ZONES,
		.access = (enum access_mode)(mode % 3),
		.access_cidrs = &access_cidr, .n_access_cidrs = 1,
		.ttl = 5, .edns_size = (mode & 8) ? 4096 : 1232, .now = 1700000000,
	};
	addr_parse((mode & 16) ? "10.0.0.1:5353" : "[2001:db8::9]:5353", 0, &src);
	addr_parse((mode & 32) ? "[2001:db8::53]:53" : "192.0.2.53:53", 0, &local);
	struct dns_client cl = { .src = &src, .local = &local, .ifindex = (mode & 64) ? 3 : 4, .tcp = (mode & 4) != 0 };
	size_t cap = (mode & 128) ? sizeof(out) : 600;
	size_t n = dns_answer(&env, &cl, data + 1, size - 1, out, cap, &info);
	if (n == 0)
		return 0;
	size_t limit = cl.tcp ? 65535 : (mode & 8) ? 4096 : 1232;
	if (n > cap || n > limit)
		abort();
	if (ldns_wire2pkt(&pkt, out, n) != LDNS_STATUS_OK)
		abort();
	check_txt(ldns_pkt_answer(pkt));
	check_txt(ldns_pkt_additional(pkt));
	ldns_pkt_free(pkt);
	return 0;
}
