/* SPDX-License-Identifier: MIT */
/* Asynchronous DNS stub resolver: UDP with one retry, TCP after TC=1, bounded in-flight. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "clock.h"
#include "dns-pkt.h"
#include "resolver.h"

#define DNS_HEADER_LEN 12
#define DNS_MSG_MAX 65535
#define ID_POOL_LEN 128

enum query_state { QS_QUEUED, QS_UDP, QS_TCP_CONNECT, QS_TCP_WRITE, QS_TCP_READ, QS_DONE };

struct resolver_query {
	struct resolver *r;
	TAILQ_ENTRY(resolver_query) entry;   /* in r->queued or r->active */
	enum query_state state;
	union sockaddr_any server;
	ldns_rdf *qname;
	uint16_t qtype;
	uint16_t id;
	uint8_t *msg;                        /* a prebuilt message (UPDATE), NULL for a query */
	size_t msg_len;
	ldns_pkt_opcode opcode;              /* what the response must carry */
	int fd;
	struct event *ev_io;
	struct event *ev_timer;
	int pending_err;                     /* error to report from the timer (deferred) */
	unsigned int attempts;
	unsigned int ignored;
	uint64_t first_send_us;
	uint64_t last_send_us;
	/* TCP exchange: framed query out, framed response in. */
	uint8_t *tcp_out;
	size_t tcp_out_len;
	size_t tcp_out_done;
	uint8_t *tcp_in;
	size_t tcp_in_len;                   /* expected message length (after the 2-byte prefix) */
	size_t tcp_in_done;                  /* bytes received including the prefix */
	uint8_t tcp_prefix[2];
	/* Stream (resolver_stream()): TCP only, every message to msg_cb, ended by it or by the deadline. */
	resolver_msg_cb msg_cb;
	uint64_t deadline_us;
	resolver_cb cb;
	void *arg;
};

TAILQ_HEAD(query_list, resolver_query);

struct resolver {
	struct event_base *base;
	struct resolver_opts opts;
	struct query_list queued;
	struct query_list active;
	size_t n_queued;
	size_t n_active;
	struct resolver_stats stats;
	uint16_t id_pool[ID_POOL_LEN];
	size_t id_left;
	bool stopped;                        /* resolver_stop(): queued queries never start */
	uint8_t buf[DNS_MSG_MAX];            /* UDP receive buffer, shared by all queries */
};

static void query_start(struct resolver_query *q);
static void query_udp_send(struct resolver_query *q);

/* A fresh unpredictable query ID (RFC 5452): getrandom(), batched. */
static int next_id(struct resolver *r, uint16_t *out)
{
	if (r->id_left == 0) {
		/* GRND_NONBLOCK: never stall the loop before the kernel's pool is ready (early boot). */
		ssize_t n = getrandom(r->id_pool, sizeof(r->id_pool), GRND_NONBLOCK);
		if (n != (ssize_t)sizeof(r->id_pool))
			return n < 0 ? -errno : -EIO;
		r->id_left = ID_POOL_LEN;
	}
	*out = r->id_pool[--r->id_left];
	r->id_pool[r->id_left] = 0;
	return 0;
}

/* Create a resolver. */
struct resolver *resolver_new(struct event_base *base, const struct resolver_opts *opts)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	if (opts)
		r->opts = *opts;
	if (!r->opts.timeout_ms)
		r->opts.timeout_ms = RESOLVER_DEFAULT_TIMEOUT_MS;
	if (!r->opts.attempts)
		r->opts.attempts = RESOLVER_DEFAULT_ATTEMPTS;
	if (!r->opts.max_inflight)
		r->opts.max_inflight = RESOLVER_DEFAULT_MAX_INFLIGHT;
	if (!r->opts.edns_size)
		r->opts.edns_size = RESOLVER_DEFAULT_EDNS_SIZE;
	TAILQ_INIT(&r->queued);
	TAILQ_INIT(&r->active);
	return r;
}

/* Close the socket and drop the I/O event of a query. */
static void query_close_io(struct resolver_query *q)
{
	if (q->ev_io) {
		event_free(q->ev_io);
		q->ev_io = NULL;
	}
	if (q->fd >= 0) {
		close(q->fd);
		q->fd = -1;
	}
}

/* Release everything a query owns. */
static void query_free(struct resolver_query *q)
{
	query_close_io(q);
	if (q->ev_timer)
		event_free(q->ev_timer);
	ldns_rdf_deep_free(q->qname);
	free(q->msg);
	free(q->tcp_out);
	free(q->tcp_in);
	free(q);
}

/* Remove a query from whichever list holds it. */
static void query_unlink(struct resolver_query *q)
{
	struct resolver *r = q->r;

	if (q->state == QS_DONE)
		return;
	if (q->state == QS_QUEUED) {
		TAILQ_REMOVE(&r->queued, q, entry);
		r->n_queued--;
	} else {
		TAILQ_REMOVE(&r->active, q, entry);
		r->n_active--;
	}
	q->state = QS_DONE;
}

/* Start queued queries while there is room. */
static void resolver_pump(struct resolver *r)
{
	while (!r->stopped && r->n_active < r->opts.max_inflight && !TAILQ_EMPTY(&r->queued)) {
		struct resolver_query *q = TAILQ_FIRST(&r->queued);

		TAILQ_REMOVE(&r->queued, q, entry);
		r->n_queued--;
		query_start(q);
	}
}

/* End a query: detach it, report to the caller, free, and let a queued one start. */
static void query_finish(struct resolver_query *q, int err, ldns_pkt *pkt)
{
	struct resolver *r = q->r;
	uint64_t now = clock_monotonic_us();
	struct resolver_result res = {
		.err = err,
		.pkt = pkt,
		.tcp = q->state >= QS_TCP_CONNECT && q->state <= QS_TCP_READ,
		.attempts = q->attempts,
		.ignored = q->ignored,
		.rtt_us = q->last_send_us ? now - q->last_send_us : 0,
		.elapsed_us = q->first_send_us ? now - q->first_send_us : 0,
	};

	query_unlink(q);
	query_close_io(q);
	if (q->ev_timer)
		event_del(q->ev_timer);
	if (err == 0)
		r->stats.responses++;
	else if (err == -ETIMEDOUT)
		r->stats.timeouts++;
	else
		r->stats.errors++;
	q->cb(&res, q->arg);
	ldns_pkt_free(pkt);
	query_free(q);
	resolver_pump(r);
}

/* Report an error from the loop rather than from the caller's stack. */
static void query_defer_error(struct resolver_query *q, int err)
{
	struct timeval tv = { 0, 0 };

	query_close_io(q);
	q->pending_err = err;
	event_add(q->ev_timer, &tv);
}

/* Arm the per-attempt timer (for a stream: per message, and never past its deadline). */
static void query_arm_timer(struct resolver_query *q)
{
	uint64_t us = (uint64_t)q->r->opts.timeout_ms * 1000;
	struct timeval tv;

	if (q->msg_cb) {
		uint64_t now = clock_monotonic_us();
		uint64_t left = q->deadline_us > now ? q->deadline_us - now : 0;

		if (left < us)
			us = left;
	}
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	event_add(q->ev_timer, &tv);
}

/* Build the wire form of the query with the current ID. Caller frees *out. */
static int query_build(struct resolver_query *q, uint8_t **out, size_t *len)
{
	struct resolver *r = q->r;
	ldns_rdf *name = ldns_rdf_clone(q->qname);
	ldns_pkt *pkt;
	int ret = 0;

	if (q->msg) {
		ldns_rdf_deep_free(name);
		*out = malloc(q->msg_len);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, q->msg, q->msg_len);
		(*out)[0] = (uint8_t)(q->id >> 8);
		(*out)[1] = (uint8_t)q->id;
		*len = q->msg_len;
		return 0;
	}
	if (!name)
		return -ENOMEM;
	pkt = ldns_pkt_query_new(name, q->qtype, LDNS_RR_CLASS_IN,
				 r->opts.no_recursion_desired ? 0 : LDNS_RD);
	if (!pkt) {
		ldns_rdf_deep_free(name);
		return -ENOMEM;
	}
	ldns_pkt_set_id(pkt, q->id);
	if (r->opts.edns_size > 512)
		ldns_pkt_set_edns_udp_size(pkt, r->opts.edns_size);
	if (ldns_pkt2wire(out, pkt, len) != LDNS_STATUS_OK)
		ret = -ENOMEM;
	ldns_pkt_free(pkt);
	return ret;
}

/* Check a message against what was sent, with the opcode the response must have. */
static int match_opcode(const uint8_t *wire, size_t len, uint16_t id, const ldns_rdf *qname,
			uint16_t qtype, ldns_pkt_opcode opcode, ldns_pkt **out)
{
	ldns_pkt *pkt = NULL;
	ldns_rr *question;
	int ret = -ENOMSG;

	*out = NULL;
	if (len < DNS_HEADER_LEN)
		return -EBADMSG;
	/* Cheap header checks before any parsing: ID, QR, QDCOUNT. */
	if (((uint16_t)wire[0] << 8 | wire[1]) != id || !(wire[2] & 0x80))
		return -ENOMSG;
	if (wire[4] != 0 || wire[5] != 1)
		return -ENOMSG;
	if (dns_pkt_from_wire(&pkt, wire, len) != LDNS_STATUS_OK)
		return -EBADMSG;
	if (ldns_pkt_get_opcode(pkt) != opcode)
		goto out;
	if (ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1)
		goto out;
	question = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	if (ldns_rr_get_type(question) != qtype || ldns_rr_get_class(question) != LDNS_RR_CLASS_IN)
		goto out;
	/* ldns_dname_compare() ignores letter case. */
	if (!ldns_rr_owner(question) || ldns_dname_compare(ldns_rr_owner(question), qname) != 0)
		goto out;
	*out = pkt;
	pkt = NULL;
	ret = 0;
out:
	ldns_pkt_free(pkt);
	return ret;
}

/* Check a message against the query (see resolver.h). */
int resolver_match(const uint8_t *wire, size_t len, uint16_t id, const ldns_rdf *qname,
		   uint16_t qtype, ldns_pkt **out)
{
	return match_opcode(wire, len, id, qname, qtype, LDNS_PACKET_QUERY, out);
}

/* Check a message against a query in flight. */
static int query_match(const struct resolver_query *q, const uint8_t *wire, size_t len, ldns_pkt **out)
{
	return match_opcode(wire, len, q->id, q->qname, q->qtype, q->opcode, out);
}

/* Make a non-blocking, close-on-exec socket connected to the server. */
static int query_socket(struct resolver_query *q, int type)
{
	int fd = socket(q->server.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* UDP: connect() picks a random ephemeral source port and makes the kernel
	 * drop datagrams from any other source. TCP: may return EINPROGRESS. */
	if (connect(fd, &q->server.sa, addr_len(&q->server)) < 0 && errno != EINPROGRESS) {
		int err = -errno;
		close(fd);
		return err;
	}
	q->fd = fd;
	return 0;
}

/* Handle a matched response: done, or switch to TCP when truncated. */
static void query_got_response(struct resolver_query *q, ldns_pkt *pkt);

/* Readable UDP socket: drain it, ignoring anything that does not match. */
static void query_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	struct resolver *r = q->r;

	/* Bounded batch per wakeup so a flood cannot starve the loop. */
	for (int i = 0; i < 64; i++) {
		union sockaddr_any from;
		socklen_t fromlen = sizeof(from);
		ldns_pkt *pkt = NULL;
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, r->buf, sizeof(r->buf), 0, &from.sa, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ICMP unreachable on the connected socket: this attempt failed. */
			int err = -errno;
			query_close_io(q);
			event_del(q->ev_timer);
			if (q->attempts < r->opts.attempts) {
				r->stats.retries++;
				query_udp_send(q);
			} else {
				query_finish(q, err, NULL);
			}
			return;
		}
		/* Belt and braces next to connect(): the source must be the server. */
		if (!addr_equal(&from, &q->server) ||
		    query_match(q, r->buf, (size_t)n, &pkt) != 0) {
			q->ignored++;
			r->stats.ignored++;
			continue;
		}
		query_got_response(q, pkt);
		return;
	}
}

/* Send one UDP attempt from a fresh socket with a fresh ID. */
static void query_udp_send(struct resolver_query *q)
{
	struct resolver *r = q->r;
	uint8_t *wire = NULL;
	size_t len = 0;
	int err;

	q->state = QS_UDP;
	q->attempts++;
	err = next_id(r, &q->id);
	if (err)
		goto fail;
	err = query_build(q, &wire, &len);
	if (err)
		goto fail;
	err = query_socket(q, SOCK_DGRAM);
	if (err)
		goto fail;
	q->ev_io = event_new(r->base, q->fd, EV_READ | EV_PERSIST, query_udp_read_cb, q);
	if (!q->ev_io) {
		err = -ENOMEM;
		goto fail;
	}
	q->last_send_us = clock_monotonic_us();
	if (!q->first_send_us)
		q->first_send_us = q->last_send_us;
	if (send(q->fd, wire, len, 0) < 0) {
		err = -errno;
		goto fail;
	}
	r->stats.sent_udp++;
	event_add(q->ev_io, NULL);
	query_arm_timer(q);
	free(wire);
	return;
fail:
	free(wire);
	query_defer_error(q, err);
}

/*
 * A whole message of a stream arrived: check it is a response to our query
 * (ID, QR; the caller checks the rest), hand it over, and get ready for the
 * next one. 0 for more, 1 when msg_cb said the stream is complete, or -errno.
 */
static int query_stream_message(struct resolver_query *q)
{
	int ret;

	if (((uint16_t)q->tcp_in[0] << 8 | q->tcp_in[1]) != q->id || !(q->tcp_in[2] & 0x80)) {
		q->ignored++;
		q->r->stats.ignored++;
		return -EBADMSG;
	}
	ret = q->msg_cb(q->tcp_in, q->tcp_in_len, q->arg);
	if (ret != 0)
		return ret < 0 ? ret : 1;
	if (clock_monotonic_us() >= q->deadline_us)
		return -ETIMEDOUT;
	free(q->tcp_in);
	q->tcp_in = NULL;
	q->tcp_in_len = 0;
	q->tcp_in_done = 0;
	q->last_send_us = clock_monotonic_us();
	event_del(q->ev_timer);
	query_arm_timer(q);
	return 0;
}

/* TCP socket event: finish connecting, write the framed query, read the framed response. */
static void query_tcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	struct resolver *r = q->r;
	ldns_pkt *pkt = NULL;
	ssize_t n;
	int err;

	if (q->state == QS_TCP_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			err = -soerr;
			goto fail;
		}
		q->state = QS_TCP_WRITE;
	}
	if (q->state == QS_TCP_WRITE) {
		n = send(fd, q->tcp_out + q->tcp_out_done, q->tcp_out_len - q->tcp_out_done, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			err = -errno;
			goto fail;
		}
		q->tcp_out_done += (size_t)n;
		if (q->tcp_out_done < q->tcp_out_len)
			return;
		q->state = QS_TCP_READ;
		event_del(q->ev_io);
		event_free(q->ev_io);
		q->ev_io = event_new(r->base, fd, EV_READ | EV_PERSIST, query_tcp_cb, q);
		if (!q->ev_io) {
			err = -ENOMEM;
			goto fail;
		}
		event_add(q->ev_io, NULL);
		return;
	}
	/* QS_TCP_READ: two length bytes, then the message. A stream must also end in time. */
	if (q->msg_cb && clock_monotonic_us() >= q->deadline_us) {
		err = -ETIMEDOUT;
		goto fail;
	}
	for (;;) {
		size_t want = q->tcp_in_done < 2 ? 2 - q->tcp_in_done
						 : q->tcp_in_len + 2 - q->tcp_in_done;
		uint8_t *dst = q->tcp_in_done < 2 ? q->tcp_prefix + q->tcp_in_done
						  : q->tcp_in + (q->tcp_in_done - 2);

		n = recv(fd, dst, want, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			err = -errno;
			goto fail;
		}
		if (n == 0) {
			err = -ECONNRESET;
			goto fail;
		}
		q->tcp_in_done += (size_t)n;
		if (q->tcp_in_done == 2 && !q->tcp_in) {
			q->tcp_in_len = (size_t)q->tcp_prefix[0] << 8 | q->tcp_prefix[1];
			if (q->tcp_in_len < DNS_HEADER_LEN) {
				err = -EBADMSG;
				goto fail;
			}
			q->tcp_in = malloc(q->tcp_in_len);
			if (!q->tcp_in) {
				err = -ENOMEM;
				goto fail;
			}
		}
		if (q->tcp_in && q->tcp_in_done == q->tcp_in_len + 2) {
			if (!q->msg_cb)
				break;
			err = query_stream_message(q);
			if (err < 0)
				goto fail;
			if (err == 1) {
				query_finish(q, 0, NULL);
				return;
			}
		}
	}
	err = query_match(q, q->tcp_in, q->tcp_in_len, &pkt);
	if (err) {
		q->ignored++;
		r->stats.ignored++;
		err = -EBADMSG;
		goto fail;
	}
	query_finish(q, 0, pkt);
	return;
fail:
	query_finish(q, err, NULL);
}

/* Switch to TCP (RFC 7766): non-blocking connect, 2-byte length framing. */
static void query_tcp_start(struct resolver_query *q)
{
	struct resolver *r = q->r;
	uint8_t *wire = NULL;
	size_t len = 0;
	int err;

	q->state = QS_TCP_CONNECT;
	if (!q->msg_cb)
		r->stats.tcp++;
	err = next_id(r, &q->id);
	if (err)
		goto fail;
	err = query_build(q, &wire, &len);
	if (err)
		goto fail;
	q->tcp_out = malloc(len + 2);
	if (!q->tcp_out) {
		err = -ENOMEM;
		goto fail;
	}
	q->tcp_out[0] = (uint8_t)(len >> 8);
	q->tcp_out[1] = (uint8_t)len;
	memcpy(q->tcp_out + 2, wire, len);
	q->tcp_out_len = len + 2;
	err = query_socket(q, SOCK_STREAM);
	if (err)
		goto fail;
	q->ev_io = event_new(r->base, q->fd, EV_WRITE | EV_PERSIST, query_tcp_cb, q);
	if (!q->ev_io) {
		err = -ENOMEM;
		goto fail;
	}
	q->last_send_us = clock_monotonic_us();
	event_add(q->ev_io, NULL);
	query_arm_timer(q);
	free(wire);
	return;
fail:
	free(wire);
	query_finish(q, err, NULL);
}

/* A matched UDP response: truncated ones are asked again over TCP. */
static void query_got_response(struct resolver_query *q, ldns_pkt *pkt)
{
	if (ldns_pkt_tc(pkt)) {
		ldns_pkt_free(pkt);
		query_close_io(q);
		event_del(q->ev_timer);
		query_tcp_start(q);
		return;
	}
	query_finish(q, 0, pkt);
}

/* Per-attempt timer: retry UDP once, else give up; also delivers deferred errors. */
static void query_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	struct resolver *r = q->r;

	if (q->pending_err) {
		query_finish(q, q->pending_err, NULL);
		return;
	}
	query_close_io(q);
	if (q->state == QS_UDP && q->attempts < r->opts.attempts) {
		r->stats.retries++;
		query_udp_send(q);
		return;
	}
	query_finish(q, -ETIMEDOUT, NULL);
}

/* Move a query onto the wire. */
static void query_start(struct resolver_query *q)
{
	struct resolver *r = q->r;

	TAILQ_INSERT_TAIL(&r->active, q, entry);
	r->n_active++;
	if (q->msg_cb) {
		/* The deadline counts from the start on the wire, not from the queue. */
		q->deadline_us = clock_monotonic_us() + q->deadline_us;
		q->first_send_us = clock_monotonic_us();
		query_tcp_start(q);
		return;
	}
	query_udp_send(q);
}

/* Create a query for server (a stream when msg_cb is set); put it on the wire or in the queue with
 * query_submit(). NULL with errno set. */
static struct resolver_query *query_new(struct resolver *r, const union sockaddr_any *server, const char *qname,
					uint16_t qtype, ldns_pkt_opcode opcode, resolver_msg_cb msg_cb,
					uint64_t total_us, resolver_cb cb, void *arg)
{
	struct resolver_query *q;
	ldns_rdf *name = NULL;

	if (!server || (server->sa.sa_family != AF_INET && server->sa.sa_family != AF_INET6) ||
	    addr_port(server) == 0 || !qname || !*qname || !cb) {
		errno = EINVAL;
		return NULL;
	}
	if (ldns_str2rdf_dname(&name, qname) != LDNS_STATUS_OK || !name) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		ldns_rdf_deep_free(name);
		errno = ENOMEM;
		return NULL;
	}
	q->r = r;
	q->fd = -1;
	q->server = *server;
	q->qname = name;
	q->qtype = qtype;
	q->opcode = opcode;
	q->cb = cb;
	q->arg = arg;
	q->msg_cb = msg_cb;
	q->deadline_us = total_us;    /* made absolute when it starts */
	q->ev_timer = evtimer_new(r->base, query_timer_cb, q);
	if (!q->ev_timer) {
		ldns_rdf_deep_free(name);
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	return q;
}

/* Put a new query on the wire, or in the queue when the in-flight limit is reached. */
static void query_submit(struct resolver_query *q)
{
	struct resolver *r = q->r;

	r->stats.queries++;
	q->state = QS_QUEUED;
	if (r->n_active < r->opts.max_inflight && TAILQ_EMPTY(&r->queued)) {
		query_start(q);
	} else {
		TAILQ_INSERT_TAIL(&r->queued, q, entry);
		r->n_queued++;
	}
}

/* Start or queue a query. */
struct resolver_query *resolver_query(struct resolver *r, const union sockaddr_any *server,
				      const char *qname, uint16_t qtype, resolver_cb cb, void *arg)
{
	struct resolver_query *q = query_new(r, server, qname, qtype, LDNS_PACKET_QUERY, NULL, 0, cb, arg);

	if (q)
		query_submit(q);
	return q;
}

/* Start or queue an UPDATE. */
struct resolver_query *resolver_update(struct resolver *r, const union sockaddr_any *server, const char *zone,
				       const uint8_t *msg, size_t len, resolver_cb cb, void *arg)
{
	struct resolver_query *q;

	if (!msg || len < DNS_HEADER_LEN || len > DNS_MSG_MAX) {
		errno = EINVAL;
		return NULL;
	}
	q = query_new(r, server, zone, LDNS_RR_TYPE_SOA, LDNS_PACKET_UPDATE, NULL, 0, cb, arg);
	if (!q)
		return NULL;
	q->msg = malloc(len);
	if (!q->msg) {
		query_free(q);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(q->msg, msg, len);
	q->msg_len = len;
	query_submit(q);
	return q;
}

/* Start or queue a multi-message exchange over TCP. */
struct resolver_query *resolver_stream(struct resolver *r, const union sockaddr_any *server,
				       const char *qname, uint16_t qtype, unsigned int total_ms,
				       resolver_msg_cb msg_cb, resolver_cb cb, void *arg)
{
	if (!msg_cb || !total_ms) {
		errno = EINVAL;
		return NULL;
	}
	struct resolver_query *q = query_new(r, server, qname, qtype, LDNS_PACKET_QUERY, msg_cb,
					     (uint64_t)total_ms * 1000, cb, arg);

	if (q)
		query_submit(q);
	return q;
}

/* Cancel without a callback. */
void resolver_cancel(struct resolver_query *q)
{
	struct resolver *r;

	if (!q || q->state == QS_DONE)
		return;
	r = q->r;
	query_unlink(q);
	r->stats.cancelled++;
	query_free(q);
	resolver_pump(r);
}

/* Start nothing more: cancelling active queries no longer starts queued ones. */
void resolver_stop(struct resolver *r)
{
	if (r)
		r->stopped = true;
}

/* Free everything, no callbacks. */
void resolver_free(struct resolver *r)
{
	struct resolver_query *q;

	if (!r)
		return;
	/* Drop the queue first so cancelling active queries starts nothing. */
	while ((q = TAILQ_FIRST(&r->queued))) {
		query_unlink(q);
		query_free(q);
	}
	while ((q = TAILQ_FIRST(&r->active))) {
		query_unlink(q);
		query_free(q);
	}
	explicit_bzero(r->id_pool, sizeof(r->id_pool));
	free(r);
}

/* Queries on the wire. */
size_t resolver_inflight(const struct resolver *r)
{
	return r->n_active;
}

/* Queries waiting. */
size_t resolver_queued(const struct resolver *r)
{
	return r->n_queued;
}

/* Counters. */
const struct resolver_stats *resolver_get_stats(const struct resolver *r)
{
	return &r->stats;
}
