/* SPDX-License-Identifier: MIT */
/*
 * libnatpmp builds and sends the requests and decodes the responses; the
 * loop owns the rest. Its socket is non-blocking and connected to the
 * gateway (initnatpmp with the gateway forced: no reading of /proc). Each
 * datagram is first looked at with MSG_PEEK: only a well-formed response
 * is left for readnatpmpresponseorretry() to read, anything else is
 * drained and counted as garbage. Retransmissions are ours (the same
 * doubling from 250 ms as RFC 6886 3.1) within the exchange's time limit,
 * not libnatpmp's nine tries over two minutes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <natpmp.h>

#include "clock.h"
#include "portmap-natpmp.h"

#define READ_BATCH 8

enum natpmp_step { STEP_IDLE = 0, STEP_ADDRESS, STEP_MAPPING };

struct portmap_natpmp {
	struct event_base *base;
	portmap_result_cb cb;
	void *arg;
	natpmp_t n;
	bool open;
	uint8_t gateway[4];
	union sockaddr_any local;
	struct event *ev_read;
	struct event *ev_timer;
	enum natpmp_step step;
	struct portmap_req req;
	struct portmap_result res;     /* filled as the answers come */
	unsigned int rto_ms;
	uint64_t deadline_ms;
	unsigned int garbage;
	bool mapped;                   /* a mapping of mapped_port exists */
	uint16_t mapped_port;
};

/* Is this a complete NAT-PMP response? */
bool portmap_natpmp_response_ok(const uint8_t *buf, size_t len)
{
	if (len < 8 || buf[0] != 0 || buf[1] < 128 || buf[1] > 130)
		return false;
	if (buf[2] != 0 || buf[3] != 0)
		return true;   /* an error: version, opcode, result and epoch are all it has */
	return len >= (buf[1] == 128 ? 12u : 16u);
}

/* Arm the timer for ms from now. */
static void arm(struct portmap_natpmp *c, unsigned int ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->ev_timer, &tv);
}

/* Text of a libnatpmp error. */
static const char *natpmp_error_text(int r)
{
	switch (r) {
	case NATPMP_ERR_NOTAUTHORIZED:
		return "the router refused: not authorized";
	case NATPMP_ERR_NETWORKFAILURE:
		return "the router refused: network failure (it has no public address?)";
	case NATPMP_ERR_OUTOFRESOURCES:
		return "the router refused: out of resources";
	case NATPMP_ERR_UNSUPPORTEDVERSION:
		return "the router answers another protocol version";
	case NATPMP_ERR_UNSUPPORTEDOPCODE:
		return "the router does not support this request";
	case NATPMP_ERR_NOGATEWAYSUPPORT:
		return "nothing answers NAT-PMP on the router (port unreachable)";
	case NATPMP_ERR_WRONGPACKETSOURCE:
		return "an answer from another address";
	default:
		return "the router answered with an error";
	}
}

/* errno value for a libnatpmp error. */
static int natpmp_errno(int r)
{
	switch (r) {
	case NATPMP_ERR_NOTAUTHORIZED:
		return -EACCES;
	case NATPMP_ERR_UNSUPPORTEDVERSION:
		return -EPROTONOSUPPORT;
	case NATPMP_ERR_NOGATEWAYSUPPORT:
		return -ECONNREFUSED;
	default:
		return -EREMOTEIO;
	}
}

/* End the exchange. */
static void finish(struct portmap_natpmp *c, int err, const char *detail)
{
	c->step = STEP_IDLE;
	evtimer_del(c->ev_timer);
	c->res.err = err;
	if (err) {
		memset(&c->res.internal, 0, sizeof(c->res.internal));
		memset(&c->res.external, 0, sizeof(c->res.external));
		snprintf(c->res.detail, sizeof(c->res.detail), "%s", detail);
	}
	inet_ntop(AF_INET, c->gateway, c->res.server, sizeof(c->res.server));
	c->cb(&c->res, c->arg);
}

/* Send the request of the current step; 0 or -errno. */
static int send_step(struct portmap_natpmp *c)
{
	int r;

	errno = 0;
	if (c->step == STEP_ADDRESS)
		r = sendpublicaddressrequest(&c->n);
	else
		r = sendnewportmappingrequest(&c->n, NATPMP_PROTOCOL_UDP, c->req.internal_port,
					      c->req.external_port, c->req.lifetime_s);
	return r >= 0 ? 0 : errno ? -errno : -EIO;
}

/* Go on to the next step of the exchange after a good answer; true when the exchange ended. */
static bool handle_answer(struct portmap_natpmp *c, const natpmpresp_t *resp)
{
	if (c->step == STEP_ADDRESS && resp->type == NATPMP_RESPTYPE_PUBLICADDRESS) {
		c->res.external.in.sin_family = AF_INET;
		c->res.external.in.sin_addr = resp->pnu.publicaddress.addr;
		c->res.has_epoch = true;
		c->res.epoch_s = resp->epoch;
		c->step = STEP_MAPPING;
	} else if (c->step == STEP_MAPPING && resp->type == NATPMP_RESPTYPE_UDPPORTMAPPING &&
		   resp->pnu.newportmapping.privateport == c->req.internal_port) {
		if (resp->pnu.newportmapping.mappedpublicport == 0 || resp->pnu.newportmapping.lifetime == 0) {
			finish(c, -EBADMSG, "the router granted no usable port or lifetime");
			return true;
		}
		c->res.external.in.sin_port = htons(resp->pnu.newportmapping.mappedpublicport);
		c->res.internal = c->local;
		c->res.internal.in.sin_port = htons(c->req.internal_port);
		c->res.lifetime_s = resp->pnu.newportmapping.lifetime;
		c->res.epoch_s = resp->epoch;
		c->mapped = true;
		c->mapped_port = c->req.internal_port;
		finish(c, 0, NULL);
		return true;
	} else {
		c->garbage++;   /* an answer to another (earlier) request: ask again */
	}
	/* libnatpmp forgets its pending request once it read an answer: send the current one. */
	if (send_step(c) < 0) {
		finish(c, -EIO, "cannot send to the router");
		return true;
	}
	c->rto_ms = PORTMAP_FIRST_RTO_MS;
	return false;
}

/* Datagrams arrived (or an ICMP error). */
static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap_natpmp *c = arg;

	(void)what;
	for (int i = 0; i < READ_BATCH; i++) {
		uint8_t buf[16];
		natpmpresp_t resp;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		int r;

		if (n < 0) {
			if (errno == ECONNREFUSED && c->step != STEP_IDLE)
				finish(c, -ECONNREFUSED, natpmp_error_text(NATPMP_ERR_NOGATEWAYSUPPORT));
			return;
		}
		if (c->step == STEP_IDLE || !portmap_natpmp_response_ok(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf))) {
			if (c->step != STEP_IDLE)
				c->garbage++;
			(void)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);   /* drain it */
			continue;
		}
		memset(&resp, 0, sizeof(resp));
		r = readnatpmpresponseorretry(&c->n, &resp);
		if (r == NATPMP_TRYAGAIN)
			continue;
		if (r < 0) {
			finish(c, natpmp_errno(r), natpmp_error_text(r));
			return;
		}
		if (handle_answer(c, &resp))
			return;   /* finished: the callback may have freed or restarted us */
	}
}

/* Retransmission timer, or the end of the wait. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap_natpmp *c = arg;
	uint64_t now = clock_monotonic_ms();

	(void)fd;
	(void)what;
	if (c->step == STEP_IDLE)
		return;
	if (now >= c->deadline_ms) {
		char detail[96];

		if (c->garbage) {
			snprintf(detail, sizeof(detail), "%u unusable answers, none to our request", c->garbage);
			finish(c, -EBADMSG, detail);
		} else {
			finish(c, -ETIMEDOUT, "no answer from the router");
		}
		return;
	}
	(void)send_step(c);
	c->rto_ms *= 2;
	arm(c, (unsigned int)(now + c->rto_ms < c->deadline_ms ? c->rto_ms : c->deadline_ms - now));
}

/* Close libnatpmp's socket. */
static void close_natpmp(struct portmap_natpmp *c)
{
	if (c->ev_read) {
		event_free(c->ev_read);
		c->ev_read = NULL;
	}
	if (c->open)
		closenatpmp(&c->n);
	c->open = false;
	c->mapped = false;
}

/* Open libnatpmp's socket towards gw unless it is open already. */
static int open_natpmp(struct portmap_natpmp *c, const uint8_t gw[4])
{
	in_addr_t a;
	socklen_t len = sizeof(c->local);

	if (c->open && memcmp(c->gateway, gw, 4) == 0)
		return 0;
	close_natpmp(c);
	memcpy(&a, gw, 4);
	errno = 0;
	if (initnatpmp(&c->n, 1, a) < 0) {
		int err = errno ? -errno : -EIO;

		if (c->n.s >= 0)
			closenatpmp(&c->n);
		return err;
	}
	c->open = true;
	memset(&c->local, 0, sizeof(c->local));
	if (getsockname(c->n.s, &c->local.sa, &len) < 0 || c->local.sa.sa_family != AF_INET) {
		close_natpmp(c);
		return -EAFNOSUPPORT;
	}
	c->ev_read = event_new(c->base, c->n.s, EV_READ | EV_PERSIST, read_cb, c);
	if (!c->ev_read) {
		close_natpmp(c);
		return -ENOMEM;
	}
	event_add(c->ev_read, NULL);
	memcpy(c->gateway, gw, 4);
	return 0;
}

/* Create a client. */
struct portmap_natpmp *portmap_natpmp_new(struct event_base *base, portmap_result_cb cb, void *arg)
{
	struct portmap_natpmp *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->ev_timer = evtimer_new(base, timer_cb, c);
	if (!c->ev_timer) {
		free(c);
		return NULL;
	}
	return c;
}

/* Start an exchange. */
int portmap_natpmp_map(struct portmap_natpmp *c, const struct portmap_req *req)
{
	uint8_t buf[16];
	int rc;

	portmap_natpmp_cancel(c);
	rc = open_natpmp(c, req->gateway);
	if (rc < 0)
		return rc;
	/* Answers to earlier exchanges must not be read as answers to this one. */
	while (recv(c->n.s, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	c->req = *req;
	memset(&c->res, 0, sizeof(c->res));
	c->garbage = 0;
	c->step = STEP_ADDRESS;
	rc = send_step(c);
	if (rc < 0) {
		c->step = STEP_IDLE;
		return rc;
	}
	c->rto_ms = PORTMAP_FIRST_RTO_MS;
	c->deadline_ms = clock_monotonic_ms() + req->timeout_ms;
	arm(c, c->rto_ms < req->timeout_ms ? c->rto_ms : req->timeout_ms);
	return 0;
}

/* Drop the exchange. */
void portmap_natpmp_cancel(struct portmap_natpmp *c)
{
	c->step = STEP_IDLE;
	evtimer_del(c->ev_timer);
}

/*
 * Delete the mapping, and the one asked for if an answer is still due:
 * lifetime 0 and public port 0 (RFC 6886 3.4).
 */
void portmap_natpmp_delete(struct portmap_natpmp *c)
{
	bool asked = c->step == STEP_MAPPING;

	portmap_natpmp_cancel(c);
	if (!c->open)
		return;
	if (c->mapped)
		(void)sendnewportmappingrequest(&c->n, NATPMP_PROTOCOL_UDP, c->mapped_port, 0, 0);
	if (asked && (!c->mapped || c->mapped_port != c->req.internal_port))
		(void)sendnewportmappingrequest(&c->n, NATPMP_PROTOCOL_UDP, c->req.internal_port, 0, 0);
	c->mapped = false;
}

/* Free. */
void portmap_natpmp_free(struct portmap_natpmp *c)
{
	if (!c)
		return;
	close_natpmp(c);
	if (c->ev_timer)
		event_free(c->ev_timer);
	free(c);
}
