/* SPDX-License-Identifier: MIT */
/*
 * The route socket: dumps answering our requests and notifications share
 * it, told apart by sequence number and port id (a notification carries
 * those of the request that caused it, another process's). A burst of
 * route changes is read once, after ROUTE_SETTLE_MS of quiet; a dump that
 * the kernel marks interrupted, or one started while a change arrived, is
 * taken again. Reading never blocks: the socket is non-blocking and at
 * most READ_BATCH datagrams are read per loop turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>

#include "clock.h"
#include "gateway-watch.h"
#include "wg-nl.h"

#define ROUTE_SETTLE_MS 100
#define ROUTE_RETRY_MS 5000
#define READ_BATCH 4
#define RECV_BUF_LEN 32768

struct gateway_watch {
	struct event_base *base;
	gateway_watch_cb cb;
	void *arg;
	struct mnl_socket *nl;
	uint32_t portid;
	struct event *ev_read;
	struct event *ev_timer;
	uint32_t seq;
	bool dumping;
	bool dirty;                    /* a change arrived during the dump */
	struct gateway_scan scan;
	bool have;
	struct gateway cur;
	int err;
	bool reported;                 /* cb was called at least once */
	_Alignas(struct nlmsghdr) uint8_t buf[RECV_BUF_LEN];   /* messages are read in place */
};

/* Arm the timer that starts the next dump. */
static void watch_later(struct gateway_watch *w, unsigned int ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(w->ev_timer, &tv);
}

/*
 * Tell the owner when the gateway, or the ability to read it, changed. A
 * failed reading keeps the gateway known before it (reported with err).
 */
static void watch_publish(struct gateway_watch *w, bool have, const struct gateway *gw, int err)
{
	bool changed;

	if (err) {
		changed = err != w->err;
	} else {
		changed = !w->reported || w->err || have != w->have || (have && !gateway_equal(gw, &w->cur));
		w->have = have;
		if (have)
			w->cur = *gw;
	}
	w->err = err;
	if (changed) {
		w->reported = true;
		w->cb(w->have ? &w->cur : NULL, err, w->arg);
	}
}

/* Send a dump request. */
static void watch_dump(struct gateway_watch *w)
{
	uint8_t req[GATEWAY_REQ_BUF_LEN];
	int len;

	w->seq++;
	if (w->seq == 0)
		w->seq = 1;
	len = gateway_build_dump(req, sizeof(req), w->seq);
	gateway_scan_init(&w->scan, w->seq);
	w->dirty = false;
	if (len < 0 || mnl_socket_sendto(w->nl, req, (size_t)len) < 0) {
		int err = len < 0 ? len : -errno;

		w->dumping = false;
		watch_publish(w, false, NULL, err);
		watch_later(w, ROUTE_RETRY_MS);
		return;
	}
	w->dumping = true;
}

/* Timer: dump now. */
static void watch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway_watch *w = arg;

	(void)fd;
	(void)what;
	if (w->dumping)
		w->dirty = true;
	else
		watch_dump(w);
}

/* A dump message arrived; false when the dump has ended. */
static bool watch_dump_msg(struct gateway_watch *w, const struct nlmsghdr *nlh)
{
	int rc = gateway_scan_feed(&w->scan, nlh);

	if (rc == 0)
		return true;
	w->dumping = false;
	if (rc == 1 && !w->dirty)
		watch_publish(w, w->scan.found, &w->scan.best, 0);
	else if (rc == 1 || rc == -EINTR)
		watch_later(w, 0);
	else {
		watch_publish(w, false, NULL, rc);
		watch_later(w, ROUTE_RETRY_MS);
	}
	return false;
}

/* The socket is readable: dump replies and route notifications. */
static void watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway_watch *w = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < READ_BATCH; i++) {
		ssize_t n = recv(mnl_socket_get_fd(w->nl), w->buf, sizeof(w->buf), MSG_DONTWAIT);
		struct nlmsghdr *nlh;
		size_t off = 0;
		bool change = false;

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Notifications were lost: read the table again. */
				watch_later(w, ROUTE_SETTLE_MS);
				continue;
			}
			return;   /* EAGAIN, or nothing to do about it until the next datagram */
		}
		while (wg_nl_msg_next(w->buf, (size_t)n, &off, &nlh) == 1) {
			if (w->dumping && nlh->nlmsg_seq == w->seq && nlh->nlmsg_pid == w->portid) {
				if (!watch_dump_msg(w, nlh))
					break;
			} else if (gateway_is_default_change(nlh)) {
				change = true;
			}
		}
		if (change) {
			if (w->dumping)
				w->dirty = true;
			watch_later(w, ROUTE_SETTLE_MS);
		}
	}
}

/* Open the watch. */
int gateway_watch_new(struct event_base *base, gateway_watch_cb cb, void *arg, struct gateway_watch **out)
{
	struct gateway_watch *w = calloc(1, sizeof(*w));
	int ret = -ENOMEM;

	if (!w)
		return -ENOMEM;
	w->base = base;
	w->cb = cb;
	w->arg = arg;
	w->seq = (uint32_t)clock_monotonic_ms();
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl || mnl_socket_bind(w->nl, RTMGRP_IPV4_ROUTE, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	w->portid = mnl_socket_get_portid(w->nl);
	w->ev_read = event_new(base, mnl_socket_get_fd(w->nl), EV_READ | EV_PERSIST, watch_read_cb, w);
	w->ev_timer = evtimer_new(base, watch_timer_cb, w);
	if (!w->ev_read || !w->ev_timer)
		goto fail;
	event_add(w->ev_read, NULL);
	watch_later(w, 0);   /* the first reading, and its callback, on the next loop turn */
	*out = w;
	return 0;
fail:
	gateway_watch_free(w);
	return ret;
}

/* Close. */
void gateway_watch_free(struct gateway_watch *w)
{
	if (!w)
		return;
	if (w->ev_read)
		event_free(w->ev_read);
	if (w->ev_timer)
		event_free(w->ev_timer);
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w);
}

/* The current gateway. */
const struct gateway *gateway_watch_get(const struct gateway_watch *w, int *err)
{
	if (err)
		*err = w->err;
	return w->have ? &w->cur : NULL;
}
