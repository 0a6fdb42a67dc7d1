/* SPDX-License-Identifier: MIT */
/*
 * bench-portmap: how long the event loop is held while a port mapping is
 * made, for tests/bench/portmap.sh.
 *
 *   bench-portmap [-n ROUNDS] PROTOCOL GATEWAY PORT
 *   bench-portmap [-n ROUNDS] idle MS
 *       ROUNDS times (default 5): a fresh driver of PROTOCOL (pcp, natpmp,
 *       upnp) maps UDP PORT at GATEWAY on a libevent loop, as the daemon's
 *       portmap.c drives it, then deletes the mapping. A timer that fires on
 *       every loop turn runs meanwhile (the technique of bench-wg read): the
 *       longest gap between two of its runs is the longest anything else on
 *       the loop (a DNS query, a device read) could have waited, in this
 *       thread's CPU time (work without yielding) and in wall time (adds
 *       preemption). The exchange's own wall time is what a blocking call on
 *       the loop would have held it for. For UPnP the worker thread of each
 *       round is waited for before the next (its discovery is part of the
 *       exchange). "idle" runs the same loop for MS ms per round with
 *       nothing else on it: the machine's own noise (preemption, a
 *       hypervisor taking the CPU, which counts as this thread's CPU time).
 *       Prints one line of key=value pairs (times in ms), with the count of
 *       turns that took more than 1 ms of CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/event.h>

#include "portmap.h"
#include "portmap-natpmp.h"
#include "portmap-pcp-client.h"
#include "portmap-upnp.h"

#define MAX_ROUNDS 100

struct bench {
	struct event_base *base;
	struct event *tick;
	double last_tick_ms, last_tick_cpu_ms;
	double max_gap_ms, max_cpu_gap_ms;
	unsigned long turns;
	unsigned long turns_over_1ms;  /* CPU time */
	double start_ms;
	double exchange_ms[MAX_ROUNDS];
	int errors;
	char last_error[200];
	unsigned int n;
};

/* Monotonic time in milliseconds. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this thread in milliseconds. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Compare doubles for qsort. */
static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run the tick on the next loop turn. */
static void next_turn(struct event *ev)
{
	static const struct timeval zero = { 0, 0 };

	evtimer_add(ev, &zero);
}

/* The per-turn timer: the longest gap between two of its runs. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	double t = now_ms(), c = cpu_ms();

	(void)fd;
	(void)what;
	if (t - b->last_tick_ms > b->max_gap_ms)
		b->max_gap_ms = t - b->last_tick_ms;
	if (c - b->last_tick_cpu_ms > b->max_cpu_gap_ms)
		b->max_cpu_gap_ms = c - b->last_tick_cpu_ms;
	if (c - b->last_tick_cpu_ms > 1.0)
		b->turns_over_1ms++;
	b->last_tick_ms = t;
	b->last_tick_cpu_ms = c;
	b->turns++;
	next_turn(b->tick);
}

/* The idle round ended. */
static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd;
	(void)what;
	b->exchange_ms[b->n] = now_ms() - b->start_ms;
	event_base_loopbreak(b->base);
}

/* The exchange ended. */
static void result_cb(const struct portmap_result *r, void *arg)
{
	struct bench *b = arg;

	b->exchange_ms[b->n] = now_ms() - b->start_ms;
	if (r->err) {
		b->errors++;
		snprintf(b->last_error, sizeof(b->last_error), "%s", r->detail);
	}
	event_base_loopbreak(b->base);
}

/* Run the loop alone for ms, rounds times. */
static int bench_idle(struct bench *b, unsigned int rounds, unsigned int ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	struct event *end;

	b->base = event_base_new();
	b->tick = b->base ? evtimer_new(b->base, tick_cb, b) : NULL;
	end = b->base ? evtimer_new(b->base, idle_cb, b) : NULL;
	if (!b->tick || !end || ms == 0)
		return 1;
	for (b->n = 0; b->n < rounds; b->n++) {
		b->start_ms = b->last_tick_ms = now_ms();
		b->last_tick_cpu_ms = cpu_ms();
		next_turn(b->tick);
		evtimer_add(end, &tv);
		event_base_dispatch(b->base);
		evtimer_del(b->tick);
	}
	printf("portmap proto=idle rounds=%u errors=0 exchange_ms_median=%.2f exchange_ms_max=%.2f loop_turns=%lu "
	       "max_turn_cpu_ms=%.3f max_turn_wall_ms=%.3f turns_over_1ms=%lu last_error=\"\"\n",
	       rounds, (double)ms, (double)ms, b->turns, b->max_cpu_gap_ms, b->max_gap_ms, b->turns_over_1ms);
	event_free(end);
	event_free(b->tick);
	event_base_free(b->base);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	struct portmap_req req;
	unsigned int rounds = 5;
	const char *proto;
	int opt;

	memset(&b, 0, sizeof(b));
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		rounds = (unsigned int)strtoul(optarg, NULL, 10);
		if (rounds == 0 || rounds > MAX_ROUNDS)
			goto usage;
	}
	if (argc - optind == 2 && strcmp(argv[optind], "idle") == 0)
		return bench_idle(&b, rounds, (unsigned int)strtoul(argv[optind + 1], NULL, 10));
	if (argc - optind != 3)
		goto usage;
	proto = argv[optind];
	memset(&req, 0, sizeof(req));
	if (inet_pton(AF_INET, argv[optind + 1], req.gateway) != 1)
		goto usage;
	req.internal_port = (uint16_t)strtoul(argv[optind + 2], NULL, 10);
	req.external_port = req.internal_port;
	req.lifetime_s = 60;
	req.timeout_ms = PORTMAP_REQUEST_TIMEOUT_MS;
	snprintf(req.desc, sizeof(req.desc), "wgsd bench");
	b.base = event_base_new();
	b.tick = evtimer_new(b.base, tick_cb, &b);
	if (!b.base || !b.tick)
		return 1;
	for (b.n = 0; b.n < rounds; b.n++) {
		struct portmap_pcp_client *pcp = NULL;
		struct portmap_natpmp *natpmp = NULL;
		struct portmap_upnp *upnp = NULL;
		int rc;

		b.start_ms = b.last_tick_ms = now_ms();
		b.last_tick_cpu_ms = cpu_ms();
		next_turn(b.tick);
		if (strcmp(proto, "pcp") == 0) {
			pcp = portmap_pcp_client_new(b.base, result_cb, &b);
			rc = pcp ? portmap_pcp_client_map(pcp, &req) : -ENOMEM;
		} else if (strcmp(proto, "natpmp") == 0) {
			natpmp = portmap_natpmp_new(b.base, result_cb, &b);
			rc = natpmp ? portmap_natpmp_map(natpmp, &req) : -ENOMEM;
		} else if (strcmp(proto, "upnp") == 0) {
			upnp = portmap_upnp_new(b.base, result_cb, &b);
			rc = upnp ? portmap_upnp_map(upnp, &req) : -ENOMEM;
		} else {
			goto usage;
		}
		if (rc < 0) {
			fprintf(stderr, "bench-portmap: %s: %s\n", proto, strerror(-rc));
			return 1;
		}
		event_base_dispatch(b.base);
		evtimer_del(b.tick);
		/* Delete, then wait outside the measurement (UPnP: for the worker's deletion). */
		if (pcp) {
			portmap_pcp_client_delete(pcp);
			portmap_pcp_client_free(pcp);
		} else if (natpmp) {
			portmap_natpmp_delete(natpmp);
			portmap_natpmp_free(natpmp);
		} else {
			portmap_upnp_delete(upnp);
			portmap_upnp_free(upnp);
			portmap_upnp_wait_all(10000);
		}
		usleep(100000);
	}
	double sorted[MAX_ROUNDS];
	memcpy(sorted, b.exchange_ms, sizeof(double) * rounds);
	qsort(sorted, rounds, sizeof(double), dbl_cmp);
	printf("portmap proto=%s rounds=%u errors=%d exchange_ms_median=%.2f exchange_ms_max=%.2f loop_turns=%lu "
	       "max_turn_cpu_ms=%.3f max_turn_wall_ms=%.3f turns_over_1ms=%lu last_error=\"%s\"\n",
	       proto, rounds, b.errors, sorted[rounds / 2], sorted[rounds - 1], b.turns, b.max_cpu_gap_ms,
	       b.max_gap_ms, b.turns_over_1ms, b.last_error);
	event_free(b.tick);
	event_base_free(b.base);
	return 0;
usage:
	fprintf(stderr, "usage: bench-portmap [-n ROUNDS] pcp|natpmp|upnp GATEWAY PORT | idle MS\n");
	return 2;
}
