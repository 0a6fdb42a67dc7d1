/* SPDX-License-Identifier: MIT */
/*
 * wg-async-read DEV PEERS: read a (big) device through wg_get_device on a
 * libevent loop while a 10 ms timer keeps firing, and check that the timer
 * fired before the read completed (the loop was not blocked by the read).
 * Also: concurrent reads on one context, cancel (no callback, context still
 * usable), and freeing the context with a read in flight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "check.h"
#include "wg.h"

#define TICK_MS 10
#define READ_TIMEOUT_MS 60000

struct state {
	struct event_base *base;
	struct wg_ctx *ctx;
	const char *ifname;
	size_t want_peers;
	unsigned int ticks;
	unsigned int pending;          /* reads still running */
	unsigned int ticks_at_first;   /* ticks when the first read completed */
	unsigned int ticks_in_flight;  /* ticks that fired while a read was running */
	bool first_done;
	unsigned int completed;
	unsigned int failed;
	bool cancelled_called;
};

/* The 10 ms tick. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct state *s = arg;

	s->ticks++;
	if (s->pending)
		s->ticks_in_flight++;
}

/* A read finished. */
static void read_cb(int err, struct wg_device *dev, void *arg)
{
	struct state *s = arg;

	if (err || !dev || dev->n_peers != s->want_peers) {
		fprintf(stderr, "read: %s, %zu peers (want %zu)\n", wg_strerror(err), dev ? dev->n_peers : 0,
			s->want_peers);
		s->failed++;
	} else {
		s->completed++;
	}
	if (!s->first_done) {
		s->first_done = true;
		s->ticks_at_first = s->ticks;
	}
	wg_device_free(dev);
	if (--s->pending == 0)
		event_base_loopbreak(s->base);
}

/* Must never run: its op was cancelled. */
static void cancelled_cb(int err, struct wg_device *dev, void *arg)
{
	struct state *s = arg;

	s->cancelled_called = true;
	wg_device_free(dev);
}

/* Start n reads and run the loop until they all finish. */
static void run_reads(struct state *s, unsigned int n)
{
	s->pending = n;
	s->first_done = false;
	s->ticks = 0;
	for (unsigned int i = 0; i < n; i++)
		CHECK(wg_get_device(s->ctx, s->ifname, WG_BACKEND_AUTO, read_cb, s) != NULL);
	event_base_dispatch(s->base);
}

/* Entry point. */
int main(int argc, char **argv)
{
	struct state s = { 0 };
	struct timeval tv = { 0, TICK_MS * 1000 };
	struct event *tick;

	if (argc != 3) {
		fprintf(stderr, "usage: wg-async-read DEV PEERS\n");
		return 2;
	}
	s.ifname = argv[1];
	s.want_peers = strtoul(argv[2], NULL, 10);
	s.base = event_base_new();
	s.ctx = wg_ctx_new(s.base);
	wg_ctx_set_timeout(s.ctx, READ_TIMEOUT_MS);
	tick = event_new(s.base, -1, EV_PERSIST, tick_cb, &s);
	event_add(tick, &tv);

	/*
	 * One read at a time: the timer must get its turns while a read is in
	 * progress. A blocking read would leave no tick inside a read at all;
	 * up to five reads in a row keep a fast machine from finishing one
	 * read inside a single 10 ms period by chance.
	 */
	for (int i = 0; i < 5 && s.ticks_in_flight == 0; i++) {
		run_reads(&s, 1);
		fprintf(stderr, "read %d: %u ticks before completion\n", i + 1, s.ticks_at_first);
	}
	CHECK(s.failed == 0 && s.completed > 0);
	CHECK(s.ticks_in_flight > 0);

	/* Three reads at once on one context. */
	s.completed = s.failed = 0;
	run_reads(&s, 3);
	CHECK(s.completed == 3 && s.failed == 0);

	/* A read cancelled after it started never calls back; the context keeps working. */
	struct wg_op *op = wg_get_device(s.ctx, s.ifname, WG_BACKEND_AUTO, cancelled_cb, &s);
	CHECK(op != NULL);
	event_base_loop(s.base, EVLOOP_ONCE);
	wg_op_cancel(op);
	s.completed = s.failed = 0;
	run_reads(&s, 1);
	CHECK(!s.cancelled_called);
	CHECK(s.completed == 1);

	/* Freeing the context with a read in flight: no callback, no crash. */
	CHECK(wg_get_device(s.ctx, s.ifname, WG_BACKEND_AUTO, cancelled_cb, &s) != NULL);
	event_base_loop(s.base, EVLOOP_ONCE);
	wg_ctx_free(s.ctx);
	event_base_loop(s.base, EVLOOP_NONBLOCK);
	CHECK(!s.cancelled_called);

	event_free(tick);
	event_base_free(s.base);
	return CHECK_DONE();
}
