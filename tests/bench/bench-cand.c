/* SPDX-License-Identifier: MIT */
/*
 * Candidate registration at the registry, in-process (no sockets, one core):
 *  - updates absorbed per second: registry_update_parse() + cand_store_set()
 *    for well-formed UPDATEs of N different peers, as registry.c does them;
 *  - memory per registered candidate: the table (cand_store_bytes(), and the
 *    process's RSS growth) and the snapshot's copy;
 *  - the snapshot build with and without candidates;
 *  - query throughput of dns_answer() at the old names (SRV of random peers)
 *    without candidates, with candidates published, while updates are
 *    interleaved (one per 100 and per 10 queries), and at the candidate names.
 * Prints "key=value" lines; tests/bench/candidates.sh makes the table.
 *
 * Usage: bench-cand [PEERS] [CANDIDATES_PER_PEER] [SECONDS_PER_RUN]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "cand-store.h"
#include "client-candidates.h"
#include "config.h"
#include "dns-answer.h"
#include "registry-update.h"
#include "wg.h"
#include "zone.h"

#define IFINDEX 5

/* Monotonic seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size in bytes. */
static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

/* A random 32-bit number (xorshift). */
static uint32_t rnd(void)
{
	static uint32_t x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

struct query {
	uint8_t wire[300];
	size_t len;
};

/* Wire form of "SRV name". */
static void make_query(struct query *q, const char *name)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;

	if (ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK ||
	    ldns_pkt2wire(&w, p, &q->len) != LDNS_STATUS_OK || q->len > sizeof(q->wire))
		abort();
	memcpy(q->wire, w, q->len);
	free(w);
	ldns_pkt_free(p);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t per = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
	double secs = argc > 3 ? strtod(argv[3], NULL) : 2.0;
	struct config_zone cz;
	struct wg_device *dev = wg_device_new();
	static uint8_t out[65536];

	if (per > CAND_PEER_MAX)
		per = CAND_PEER_MAX;
	memset(&cz, 0, sizeof(cz));
	strcpy(cz.name, "bench.test.");
	strcpy(cz.ns, "ns1.bench.test.");
	cz.refresh_ms = 1000;
	dev->ifindex = IFINDEX;
	dev->listen_port = 51820;
	for (size_t i = 0; i < n; i++) {
		struct wg_peer *p = wg_device_add_peer(dev);
		struct cidr c = { .family = AF_INET, .prefix = 32, .addr = { 10, (uint8_t)(64 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i } };
		for (int j = 0; j < WG_KEY_LEN; j += 4) {
			uint32_t r = rnd();
			memcpy(p->public_key + j, &r, 4);
		}
		addr_parse("198.51.100.7:40000", 0, &p->endpoint);
		p->last_handshake_sec = 1700000000;
		wg_peer_add_allowed_ip(p, &c);
	}

	/* One UPDATE per peer, from its own tunnel address. */
	uint8_t (*msgs)[1500] = calloc(n, sizeof(*msgs));
	size_t *lens = calloc(n, sizeof(*lens));
	union sockaddr_any *srcs = calloc(n, sizeof(*srcs));
	if (!msgs || !lens || !srcs)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct cand_rec c[CAND_PEER_MAX];
		char ep[64];
		for (size_t k = 0; k < per; k++) {
			memset(&c[k], 0, sizeof(c[k]));
			union sockaddr_any a;
			snprintf(ep, sizeof(ep), "192.168.%zu.%zu:51820", k, 2 + i % 250);
			addr_parse(ep, 0, &a);
			cand_from_sockaddr(&c[k], &a);
			c[k].kind = CAND_LAN;
			c[k].index = (uint8_t)k;
		}
		int len = client_candidates_update_msg(dev->peers[i].public_key, "bench.test.", c, per, 600, msgs[i],
						       sizeof(msgs[i]));
		if (len < 0)
			abort();
		lens[i] = (size_t)len;
		srcs[i].in.sin_family = AF_INET;
		memcpy(&srcs[i].in.sin_addr, dev->peers[i].allowed_ips[0].addr, 4);
		srcs[i].in.sin_port = htons(5353);
	}

	double t0 = now_s();
	struct zone *plain = zone_new(&cz, dev, NULL, 1700000000);
	double build_plain = now_s() - t0;
	struct zone *zones[1] = { plain };
	struct registry_update_env uenv = { .zones = zones, .n_zones = 1, .per_peer = CAND_PEER_MAX, .lease_max_s = 3600 };
	struct cand_store *store = cand_store_new(CAND_PEER_MAX, n * CAND_PEER_MAX);
	struct registry_update u;
	long rss0 = rss_bytes();

	/* Fill the table once (memory), then absorb updates for secs (rate). */
	for (size_t i = 0; i < n; i++) {
		struct dns_client cl = { .src = &srcs[i], .ifindex = IFINDEX };
		if (!registry_update_parse(&uenv, &cl, msgs[i], lens[i], &u) || u.rcode != 0 ||
		    cand_store_set(store, u.key, u.cands, u.n, 1000000000) < 0)
			abort();
	}
	long rss1 = rss_bytes();
	size_t count = cand_store_count(store), bytes = cand_store_bytes(store);
	size_t done = 0;
	t0 = now_s();
	while (now_s() - t0 < secs) {
		for (int b = 0; b < 1000; b++, done++) {
			size_t i = rnd() % n;
			struct dns_client cl = { .src = &srcs[i], .ifindex = IFINDEX };
			uint8_t reply[600];
			registry_update_parse(&uenv, &cl, msgs[i], lens[i], &u);
			cand_store_set(store, u.key, u.cands, u.n, 1000000000);
			registry_update_reply(msgs[i], lens[i], &u, reply, sizeof(reply));
		}
	}
	double ups = (double)done / (now_s() - t0);

	t0 = now_s();
	struct zone_build *b = zone_build_new(&cz, dev, plain, 1700000000);
	zone_build_set_cands(b, store, 0);
	zone_build_step(b, SIZE_MAX);
	struct zone *with = zone_build_finish(b);
	double build_with = now_s() - t0;

	/* Queries: SRV at random peers' old names, and at their candidate names. */
	size_t nq = 4096;
	struct query *old = calloc(nq, sizeof(*old)), *cand = calloc(nq, sizeof(*cand));
	for (size_t i = 0; i < nq; i++) {
		char name[DNAME_STRLEN + 80];
		size_t k = rnd() % n;
		client_answer_qname(dev->peers[k].public_key, "bench.test.", name, sizeof(name));
		make_query(&old[i], name);
		client_candidates_qname(dev->peers[k].public_key, "bench.test.", name, sizeof(name));
		make_query(&cand[i], name);
	}
	union sockaddr_any qsrc;
	addr_parse("10.64.0.1:5353", 0, &qsrc);
	struct dns_client qcl = { .src = &qsrc, .ifindex = IFINDEX };
	double qps[5];
	struct zone *qz[5] = { plain, with, with, with, with };
	struct query *qs[5] = { old, old, old, old, cand };
	unsigned int every[5] = { 0, 0, 100, 10, 0 };
	for (int r = 0; r < 5; r++) {
		struct zone *zs[1] = { qz[r] };
		struct dns_answer_env env = { .zones = zs, .n_zones = 1, .access = ACCESS_PEERS, .edns_size = 1232,
					      .now = 1700000005 };
		struct dns_answer_info info;
		size_t q = 0;
		t0 = now_s();
		while (now_s() - t0 < secs) {
			for (int k = 0; k < 1000; k++, q++) {
				if (!dns_answer(&env, &qcl, qs[r][q % nq].wire, qs[r][q % nq].len, out, sizeof(out), &info))
					abort();
				if (every[r] && q % every[r] == 0) {
					size_t i = rnd() % n;
					struct dns_client cl = { .src = &srcs[i], .ifindex = IFINDEX };
					registry_update_parse(&uenv, &cl, msgs[i], lens[i], &u);
					cand_store_set(store, u.key, u.cands, u.n, 1000000000);
				}
			}
		}
		qps[r] = (double)q / (now_s() - t0);
	}

	printf("peers=%zu candidates_per_peer=%zu seconds=%.1f\n", n, per, secs);
	printf("update_bytes=%zu updates_per_s=%.0f us_per_update=%.2f\n", lens[0], ups, 1e6 / ups);
	printf("stored=%zu table_bytes=%zu table_bytes_per_candidate=%.1f rss_growth_per_candidate=%.1f\n", count, bytes,
	       (double)bytes / (double)count, (double)(rss1 - rss0) / (double)count);
	printf("snapshot_candidates=%zu snapshot_bytes_per_candidate=%zu\n", with->n_cands, sizeof(struct cand_rec));
	printf("build_ms_without=%.2f build_ms_with=%.2f\n", build_plain * 1e3, build_with * 1e3);
	printf("qps_old_names_without=%.0f qps_old_names_with=%.0f qps_with_1pct_updates=%.0f qps_with_10pct_updates=%.0f "
	       "qps_candidate_names=%.0f\n", qps[0], qps[1], qps[2], qps[3], qps[4]);
	zone_free(with);
	zone_free(plain);
	cand_store_free(store);
	free(old);
	free(cand);
	free(msgs);
	free(lens);
	free(srcs);
	wg_device_free(dev);
	return 0;
}
