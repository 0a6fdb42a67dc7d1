/* SPDX-License-Identifier: MIT */
/*
 * One MAP exchange at a time. The socket is connected to the gateway, so
 * the kernel drops datagrams from anyone else, and an ICMP port
 * unreachable (no PCP server) comes back as ECONNREFUSED. A response
 * counts only when it is well-formed and carries our nonce, protocol and
 * internal port; anything else is counted as garbage and the wait goes on,
 * so a router answering nonsense fails on the timeout like a silent one,
 * with the garbage named in the detail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "clock.h"
#include "portmap-pcp.h"
#include "portmap-pcp-client.h"

#define IPPROTO_UDP_NUMBER 17
#define READ_BATCH 8

struct portmap_pcp_client {
	struct event_base *base;
	portmap_result_cb cb;
	void *arg;
	int fd;
	uint8_t gateway[4];            /* what fd is connected to */
	union sockaddr_any local;      /* fd's own address */
	struct event *ev_read;
	struct event *ev_timer;
	uint8_t nonce[PORTMAP_PCP_NONCE_LEN];
	bool busy;
	struct portmap_pcp_map map;    /* the request in flight */
	uint8_t pkt[PORTMAP_PCP_MAP_LEN];
	unsigned int rto_ms;
	uint64_t deadline_ms;
	unsigned int garbage;          /* unusable datagrams in this exchange */
	int send_err;                  /* last send error in this exchange */
	bool mapped;                   /* map holds a mapping the router granted */
	struct portmap_pcp_map granted;
};

/* Fresh random nonce (the clock stands in only if the kernel has no randomness yet). */
static void new_nonce(uint8_t nonce[PORTMAP_PCP_NONCE_LEN])
{
	if (getrandom(nonce, PORTMAP_PCP_NONCE_LEN, GRND_NONBLOCK) != PORTMAP_PCP_NONCE_LEN) {
		uint64_t t = clock_monotonic_us() ^ ((uint64_t)getpid() << 40);

		for (int i = 0; i < PORTMAP_PCP_NONCE_LEN; i++, t = t * 6364136223846793005ULL + 1442695040888963407ULL)
			nonce[i] = (uint8_t)(t >> 56);
	}
}

/* Arm the timer for ms from now. */
static void arm(struct portmap_pcp_client *c, unsigned int ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->ev_timer, &tv);
}

/* End the exchange with a result. */
static void finish(struct portmap_pcp_client *c, struct portmap_result *r)
{
	char gw[ADDR_STRLEN];

	c->busy = false;
	evtimer_del(c->ev_timer);
	inet_ntop(AF_INET, c->gateway, gw, sizeof(gw));
	snprintf(r->server, sizeof(r->server), "%s", gw);
	c->cb(r, c->arg);
}

/* End the exchange with an error. */
static void fail(struct portmap_pcp_client *c, int err, const char *detail)
{
	struct portmap_result r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	snprintf(r.detail, sizeof(r.detail), "%s", detail);
	finish(c, &r);
}

/* A response that answers our request. */
static void handle_answer(struct portmap_pcp_client *c, const struct portmap_pcp_response *resp)
{
	struct portmap_result r;
	char name[32], detail[64];
	uint8_t v4[4];

	if (resp->result != PORTMAP_PCP_SUCCESS) {
		snprintf(detail, sizeof(detail), "the router refused: %s",
			 portmap_pcp_result_name(resp->result, name, sizeof(name)));
		fail(c, resp->result == PORTMAP_PCP_NOT_AUTHORIZED ? -EACCES : -EREMOTEIO, detail);
		return;
	}
	if (!portmap_pcp_addr_to_v4(resp->external, v4) || resp->external_port == 0 || resp->lifetime_s == 0) {
		fail(c, -EBADMSG, "the router granted no usable IPv4 address, port or lifetime");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.internal = c->local;
	r.internal.in.sin_port = htons(c->map.internal_port);
	r.external.in.sin_family = AF_INET;
	memcpy(&r.external.in.sin_addr, v4, 4);
	r.external.in.sin_port = htons(resp->external_port);
	r.lifetime_s = resp->lifetime_s;
	r.has_epoch = true;
	r.epoch_s = resp->epoch_s;
	c->granted = c->map;
	c->granted.external_port = resp->external_port;
	memcpy(c->granted.external, resp->external, 16);
	c->mapped = true;
	finish(c, &r);
}

/* Datagrams arrived (or an ICMP error). */
static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap_pcp_client *c = arg;
	uint8_t buf[PORTMAP_PCP_MAX_LEN + 4];

	(void)what;
	for (int i = 0; i < READ_BATCH; i++) {
		struct portmap_pcp_response resp;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int rc;

		if (n < 0) {
			if (errno == ECONNREFUSED && c->busy)
				fail(c, -ECONNREFUSED, "nothing answers PCP on the router (port unreachable)");
			return;
		}
		if (!c->busy)
			continue;   /* late or unsolicited: drained */
		rc = portmap_pcp_parse(buf, (size_t)n, &resp);
		if (rc == -EPROTONOSUPPORT) {
			fail(c, -EPROTONOSUPPORT, "the router answers another protocol version (NAT-PMP only?)");
			return;
		}
		if (rc < 0 || (resp.opcode == PORTMAP_PCP_OP_MAP && !portmap_pcp_matches(&resp, &c->map))) {
			c->garbage++;
			continue;
		}
		if (resp.opcode != PORTMAP_PCP_OP_MAP)
			continue;   /* ANNOUNCE: no answer to us */
		handle_answer(c, &resp);
		return;
	}
}

/* Send the request; remember the error for the final detail. */
static void transmit(struct portmap_pcp_client *c)
{
	if (send(c->fd, c->pkt, sizeof(c->pkt), MSG_DONTWAIT) < 0)
		c->send_err = errno;
}

/* Retransmission timer, or the end of the wait. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap_pcp_client *c = arg;
	uint64_t now = clock_monotonic_ms();
	char detail[96];

	(void)fd;
	(void)what;
	if (!c->busy)
		return;
	if (now >= c->deadline_ms) {
		if (c->garbage) {
			snprintf(detail, sizeof(detail), "%u unusable answers, none to our request", c->garbage);
			fail(c, -EBADMSG, detail);
		} else if (c->send_err) {
			snprintf(detail, sizeof(detail), "cannot send to the router: %s", strerror(c->send_err));
			fail(c, -c->send_err, detail);
		} else {
			fail(c, -ETIMEDOUT, "no answer from the router");
		}
		return;
	}
	transmit(c);
	c->rto_ms *= 2;
	arm(c, (unsigned int)(now + c->rto_ms < c->deadline_ms ? c->rto_ms : c->deadline_ms - now));
}

/* Open the socket towards gw unless it is open already. */
static int open_socket(struct portmap_pcp_client *c, const uint8_t gw[4])
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORTMAP_PCP_PORT) };
	socklen_t len = sizeof(c->local);
	int fd;

	if (c->fd >= 0 && memcmp(c->gateway, gw, 4) == 0)
		return 0;
	if (c->fd >= 0) {
		event_free(c->ev_read);
		c->ev_read = NULL;
		close(c->fd);
		c->fd = -1;
		c->mapped = false;
		new_nonce(c->nonce);   /* a new router gets a new nonce */
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(&sin.sin_addr, gw, 4);
	memset(&c->local, 0, sizeof(c->local));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, &c->local.sa, &len) < 0 || c->local.sa.sa_family != AF_INET) {
		int err = errno ? -errno : -EAFNOSUPPORT;

		close(fd);
		return err;
	}
	c->ev_read = event_new(c->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	if (!c->ev_read) {
		close(fd);
		return -ENOMEM;
	}
	event_add(c->ev_read, NULL);
	c->fd = fd;
	memcpy(c->gateway, gw, 4);
	return 0;
}

/* Create a client. */
struct portmap_pcp_client *portmap_pcp_client_new(struct event_base *base, portmap_result_cb cb, void *arg)
{
	struct portmap_pcp_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	new_nonce(c->nonce);
	c->ev_timer = evtimer_new(base, timer_cb, c);
	if (!c->ev_timer) {
		free(c);
		return NULL;
	}
	return c;
}

/* Start an exchange. */
int portmap_pcp_client_map(struct portmap_pcp_client *c, const struct portmap_req *req)
{
	int rc;

	portmap_pcp_client_cancel(c);
	rc = open_socket(c, req->gateway);
	if (rc < 0)
		return rc;
	memset(&c->map, 0, sizeof(c->map));
	memcpy(c->map.nonce, c->nonce, sizeof(c->nonce));
	c->map.protocol = IPPROTO_UDP_NUMBER;
	c->map.internal_port = req->internal_port;
	c->map.external_port = req->external_port;
	c->map.lifetime_s = req->lifetime_s;
	portmap_pcp_addr_from_v4(c->map.client, &c->local.in.sin_addr);
	/* On renewal, suggest the address we hold too (RFC 6887 11.1). */
	if (c->mapped && c->granted.internal_port == req->internal_port)
		memcpy(c->map.external, c->granted.external, 16);
	if (portmap_pcp_build_map(&c->map, c->pkt, sizeof(c->pkt)) < 0)
		return -EINVAL;
	c->garbage = 0;
	c->send_err = 0;
	if (send(c->fd, c->pkt, sizeof(c->pkt), MSG_DONTWAIT) < 0)
		return -errno;
	c->busy = true;
	c->rto_ms = PORTMAP_FIRST_RTO_MS;
	c->deadline_ms = clock_monotonic_ms() + req->timeout_ms;
	arm(c, c->rto_ms < req->timeout_ms ? c->rto_ms : req->timeout_ms);
	return 0;
}

/* Drop the exchange. */
void portmap_pcp_client_cancel(struct portmap_pcp_client *c)
{
	c->busy = false;
	evtimer_del(c->ev_timer);
}

/* Delete the granted mapping, and the one asked for if an answer is still due. */
void portmap_pcp_client_delete(struct portmap_pcp_client *c)
{
	struct portmap_pcp_map del;
	uint8_t pkt[PORTMAP_PCP_MAP_LEN];
	bool granted = c->mapped, asked = c->busy;

	portmap_pcp_client_cancel(c);
	c->mapped = false;
	if (c->fd < 0)
		return;
	if (granted) {
		del = c->granted;
		del.lifetime_s = 0;
		if (portmap_pcp_build_map(&del, pkt, sizeof(pkt)) > 0)
			(void)send(c->fd, pkt, sizeof(pkt), MSG_DONTWAIT);
	}
	if (asked && (!granted || c->map.internal_port != c->granted.internal_port)) {
		del = c->map;
		del.lifetime_s = 0;
		if (portmap_pcp_build_map(&del, pkt, sizeof(pkt)) > 0)
			(void)send(c->fd, pkt, sizeof(pkt), MSG_DONTWAIT);
	}
}

/* Free. */
void portmap_pcp_client_free(struct portmap_pcp_client *c)
{
	if (!c)
		return;
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_timer)
		event_free(c->ev_timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
