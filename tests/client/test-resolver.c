/* SPDX-License-Identifier: MIT */
/*
 * Resolver against a rogue responder on loopback (a thread in this test):
 * wrong ID, wrong question, wrong source address or port, TC=1 then TCP,
 * silence (one retry, no more), refused, bounded in-flight, cancel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "resolver.h"

enum mode {
	M_OK,               /* answer A 192.0.2.1 */
	M_UPPER,            /* answer with the question in upper case */
	M_WRONG_ID_FIRST,   /* a response with a wrong ID, then the right one */
	M_WRONG_Q_FIRST,    /* wrong name, then wrong type, then the right one */
	M_WRONG_ID_ONLY,
	M_WRONG_SRC_FIRST,  /* a matching response from another port and another address, then the right one */
	M_WRONG_SRC_ONLY,
	M_SILENT,
	M_TC,               /* TC=1 over UDP, A 192.0.2.2 over TCP */
	M_TC_CLOSE,         /* TC=1 over UDP, TCP connection closed without an answer */
	M_GARBAGE_FIRST,    /* unparsable bytes, then the right one */
	M_TSIG3_FIRST,      /* a matching response with three TSIG records (ldns leaks two), then the right one */
	M_STREAM,           /* TCP: three messages (a zone transfer), then wait for the client to close */
	M_STREAM_STALL,     /* TCP: one message, then nothing for a second, connection open */
	M_STREAM_CLOSE,     /* TCP: one message, then the connection closed */
	M_STREAM_WRONG_ID,  /* TCP: one message, then one with another ID */
};

struct responder {
	int family;
	int udp_fd, tcp_fd, other_port_fd, other_addr_fd;
	int stop_pipe[2];
	union sockaddr_any addr;
	_Atomic int mode;
	_Atomic unsigned int udp_queries, tcp_queries;
	_Atomic uint16_t ids[64];
	_Atomic uint16_t ports[64];
	pthread_t thread;
};

static const char *QNAME = "b._wireguard._udp.example.com.";

/* Build a response to query q: rdata address, optional name/type/id overrides, TC flag. */
static size_t build_response(const ldns_pkt *q, const char *addr, const char *name, uint16_t type,
			     int id_delta, bool tc, uint8_t *out, size_t cap)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr *question = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0));
	uint8_t *wire = NULL;
	size_t len = 0;

	if (name) {
		ldns_rdf *n = NULL;
		ldns_str2rdf_dname(&n, name);
		ldns_rdf_deep_free(ldns_rr_owner(question));
		ldns_rr_set_owner(question, n);
	}
	if (type)
		ldns_rr_set_type(question, type);
	ldns_pkt_set_id(r, (uint16_t)(ldns_pkt_id(q) + id_delta));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_aa(r, true);
	ldns_pkt_set_tc(r, tc);
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, question);
	if (addr && !tc) {
		char text[512], *owner = ldns_rdf2str(ldns_rr_owner(question));
		ldns_rr *rr = NULL;
		snprintf(text, sizeof(text), "%s 0 IN A %s", owner, addr);
		free(owner);
		if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) == LDNS_STATUS_OK)
			ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
	}
	ldns_pkt2wire(&wire, r, &len);
	ldns_pkt_free(r);
	if (len > cap)
		len = 0;
	memcpy(out, wire, len);
	free(wire);
	return len;
}

/* Upper-case a name in presentation form (static buffer). */
static const char *upper_name(const ldns_pkt *q)
{
	static char buf[300];
	char *s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	buf[i] = '\0';
	free(s);
	return buf;
}

/* A TSIG record without a MAC (owner the root, algorithm hmac-sha256). */
static const uint8_t tsig_rr[] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 29,
				   11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0,
				   0, 0, 0x65, 0x43, 0x21, 0x00, 1, 0x2c, 0, 0, 0x12, 0x34, 0, 0, 0, 0 };

/* Handle one UDP query according to the mode. */
static void responder_udp(struct responder *rs)
{
	uint8_t in[4096], out[4096];
	union sockaddr_any from;
	socklen_t fl = sizeof(from);
	ldns_pkt *q = NULL;
	ssize_t n = recvfrom(rs->udp_fd, in, sizeof(in), 0, &from.sa, &fl);
	size_t len;
	unsigned int k;

	if (n <= 0 || ldns_wire2pkt(&q, in, (size_t)n) != LDNS_STATUS_OK)
		return;
	k = atomic_fetch_add(&rs->udp_queries, 1);
	if (k < 64) {
		rs->ids[k] = ldns_pkt_id(q);
		rs->ports[k] = addr_port(&from);
	}
	switch (atomic_load(&rs->mode)) {
	case M_SILENT:
		break;
	case M_WRONG_ID_ONLY:
		len = build_response(q, "192.0.2.66", NULL, 0, 1, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_WRONG_SRC_ONLY:
	case M_WRONG_SRC_FIRST:
		len = build_response(q, "192.0.2.66", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->other_port_fd, out, len, 0, &from.sa, fl);
		if (rs->other_addr_fd >= 0)
			sendto(rs->other_addr_fd, out, len, 0, &from.sa, fl);
		if (rs->mode == M_WRONG_SRC_ONLY)
			break;
		usleep(20000);  /* let the rogue datagrams arrive first */
		len = build_response(q, "192.0.2.1", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_WRONG_ID_FIRST:
		len = build_response(q, "192.0.2.66", NULL, 0, 1, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		len = build_response(q, "192.0.2.1", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_WRONG_Q_FIRST:
		len = build_response(q, "192.0.2.66", "other.example.com.", 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		len = build_response(q, "192.0.2.67", NULL, LDNS_RR_TYPE_AAAA, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		len = build_response(q, "192.0.2.1", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_GARBAGE_FIRST:
		memcpy(out, in, 2);
		memset(out + 2, 0xff, 40);
		sendto(rs->udp_fd, out, 42, 0, &from.sa, fl);
		len = build_response(q, "192.0.2.1", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_TSIG3_FIRST:
		len = build_response(q, "192.0.2.66", NULL, 0, 0, false, out, sizeof(out));
		for (int i = 0; i < 3 && len + sizeof(tsig_rr) <= sizeof(out); i++) {
			memcpy(out + len, tsig_rr, sizeof(tsig_rr));
			len += sizeof(tsig_rr);
		}
		out[10] = 0;
		out[11] = 3;
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		len = build_response(q, "192.0.2.1", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_UPPER:
		len = build_response(q, "192.0.2.1", upper_name(q), 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	case M_TC:
	case M_TC_CLOSE:
		len = build_response(q, NULL, NULL, 0, 0, true, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	default:
		len = build_response(q, "192.0.2.1", NULL, 0, 0, false, out, sizeof(out));
		sendto(rs->udp_fd, out, len, 0, &from.sa, fl);
		break;
	}
	ldns_pkt_free(q);
}

/* Read exactly n bytes from a blocking socket. */
static bool read_full(int fd, uint8_t *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, buf + done, n - done);
		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

/* Handle one TCP connection: framed query in, framed answer out (in two writes). */
static void responder_tcp(struct responder *rs)
{
	uint8_t in[4096], out[4098];
	ldns_pkt *q = NULL;
	size_t len;
	int fd = accept(rs->tcp_fd, NULL, NULL);

	if (fd < 0)
		return;
	atomic_fetch_add(&rs->tcp_queries, 1);
	if (rs->mode == M_TC_CLOSE || !read_full(fd, in, 2))
		goto out;
	len = (size_t)in[0] << 8 | in[1];
	if (len > sizeof(in) || !read_full(fd, in, len) || ldns_wire2pkt(&q, in, len) != LDNS_STATUS_OK)
		goto out;
	if (rs->mode >= M_STREAM) {
		int n = rs->mode == M_STREAM ? 3 : rs->mode == M_STREAM_WRONG_ID ? 2 : 1;

		for (int i = 0; i < n; i++) {
			len = build_response(q, "192.0.2.2", NULL, 0, rs->mode == M_STREAM_WRONG_ID && i == 1,
					     false, out + 2, sizeof(out) - 2);
			out[0] = (uint8_t)(len >> 8);
			out[1] = (uint8_t)len;
			if (write(fd, out, len + 2) < 0)
				goto out;
		}
		if (rs->mode == M_STREAM_STALL || rs->mode == M_STREAM)
			(void)read(fd, in, 1);   /* until the client closes (after its timeout when stalled) */
		goto out;
	}
	len = build_response(q, "192.0.2.2", NULL, 0, 0, false, out + 2, sizeof(out) - 2);
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	/* Split the frame to exercise partial reads. */
	if (write(fd, out, 1) != 1)
		goto out;
	usleep(10000);
	if (write(fd, out + 1, len + 1) < 0)
		goto out;
	usleep(10000);
out:
	ldns_pkt_free(q);
	close(fd);
}

/* Responder thread: poll the sockets until told to stop. */
static void *responder_main(void *arg)
{
	struct responder *rs = arg;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = rs->udp_fd, .events = POLLIN },
			{ .fd = rs->tcp_fd, .events = POLLIN },
			{ .fd = rs->stop_pipe[0], .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[2].revents)
			return NULL;
		if (p[0].revents)
			responder_udp(rs);
		if (p[1].revents)
			responder_tcp(rs);
	}
}

/* Bind a socket of type to addr (port 0 = any). */
static int bind_socket(int family, int type, const char *ip, uint16_t port, union sockaddr_any *out)
{
	union sockaddr_any a;
	socklen_t len;
	int one = 1;
	int fd = socket(family, type, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sa.sa_family = (sa_family_t)family;
	if (family == AF_INET) {
		inet_pton(AF_INET, ip, &a.in.sin_addr);
		a.in.sin_port = htons(port);
	} else {
		inet_pton(AF_INET6, ip, &a.in6.sin6_addr);
		a.in6.sin6_port = htons(port);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a.sa, addr_len(&a)) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof(a);
	getsockname(fd, &a.sa, &len);
	if (out)
		*out = a;
	return fd;
}

/* Start a responder on loopback of family; false when that family is unavailable. */
static bool responder_start(struct responder *rs, int family)
{
	const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
	union sockaddr_any tcp_addr;

	memset(rs, 0, sizeof(*rs));
	rs->family = family;
	/*
	 * TCP on the same port number as UDP, as a DNS server would. The UDP
	 * port is the kernel's pick, and another process may hold that TCP
	 * port (a busy machine): pick again.
	 */
	for (int tries = 0; tries < 50; tries++) {
		rs->udp_fd = bind_socket(family, SOCK_DGRAM, ip, 0, &rs->addr);
		if (rs->udp_fd < 0)
			return false;
		rs->tcp_fd = bind_socket(family, SOCK_STREAM, ip, addr_port(&rs->addr), &tcp_addr);
		if (rs->tcp_fd >= 0)
			break;
		close(rs->udp_fd);
	}
	if (rs->tcp_fd < 0 || listen(rs->tcp_fd, 16) < 0)
		return false;
	rs->other_port_fd = bind_socket(family, SOCK_DGRAM, ip, 0, NULL);
	/* Same port, another address (IPv4 only: 127.0.0.2 is loopback too). */
	rs->other_addr_fd = family == AF_INET ?
		bind_socket(family, SOCK_DGRAM, "127.0.0.2", addr_port(&rs->addr), NULL) : -1;
	if (pipe(rs->stop_pipe) < 0)
		return false;
	return pthread_create(&rs->thread, NULL, responder_main, rs) == 0;
}

/* Stop the responder thread and close its sockets. */
static void responder_stop(struct responder *rs)
{
	if (write(rs->stop_pipe[1], "x", 1) != 1)
		abort();
	pthread_join(rs->thread, NULL);
	close(rs->udp_fd);
	close(rs->tcp_fd);
	close(rs->other_port_fd);
	if (rs->other_addr_fd >= 0)
		close(rs->other_addr_fd);
	close(rs->stop_pipe[0]);
	close(rs->stop_pipe[1]);
}

/* What a callback saw. */
struct outcome {
	int calls;
	int err;
	bool tcp;
	unsigned int attempts;
	unsigned int ignored;
	char addr[64];
	struct resolver *r;
	size_t max_inflight_seen;
};

/* Record a result. */
static void record_cb(const struct resolver_result *res, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->err = res->err;
	o->tcp = res->tcp;
	o->attempts = res->attempts;
	o->ignored = res->ignored;
	o->addr[0] = '\0';
	if (res->pkt && ldns_rr_list_rr_count(ldns_pkt_answer(res->pkt)) > 0) {
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(res->pkt), 0), 0));
		snprintf(o->addr, sizeof(o->addr), "%s", s);
		free(s);
	}
	if (o->r && resolver_inflight(o->r) > o->max_inflight_seen)
		o->max_inflight_seen = resolver_inflight(o->r);
}

/* Run one query against the responder in mode and return the outcome. */
static struct outcome run_one(struct responder *rs, enum mode mode, const char *qname)
{
	struct event_base *base = event_base_new();
	struct resolver_opts opts = { .timeout_ms = 300 };
	struct resolver *r = resolver_new(base, &opts);
	struct outcome o;

	memset(&o, 0, sizeof(o));
	rs->mode = mode;
	rs->udp_queries = 0;
	rs->tcp_queries = 0;
	CHECK(resolver_query(r, &rs->addr, qname, LDNS_RR_TYPE_A, record_cb, &o) != NULL);
	event_base_dispatch(base);
	resolver_free(r);
	event_base_free(base);
	return o;
}

/* The rogue cases over one address family. */
static void test_rogue(int family)
{
	struct responder rs;
	struct outcome o;

	if (!responder_start(&rs, family)) {
		fprintf(stderr, "family %d unavailable on loopback, skipped\n", family);
		return;
	}

	o = run_one(&rs, M_OK, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0);
	CHECK(o.attempts == 1 && o.ignored == 0 && !o.tcp && rs.udp_queries == 1);

	/* A question echoed in another letter case is the same question. */
	o = run_one(&rs, M_UPPER, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0);

	o = run_one(&rs, M_WRONG_ID_FIRST, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0 && o.ignored == 1);

	o = run_one(&rs, M_WRONG_Q_FIRST, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0 && o.ignored == 2);

	o = run_one(&rs, M_GARBAGE_FIRST, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0 && o.ignored == 1);

	/* More than one TSIG record: ignored before ldns reads it (ldns would leak all but one). */
	o = run_one(&rs, M_TSIG3_FIRST, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0 && o.ignored == 1);

	/* Matching responses from another port or address never count. */
	o = run_one(&rs, M_WRONG_SRC_FIRST, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && strcmp(o.addr, "192.0.2.1") == 0);
	o = run_one(&rs, M_WRONG_SRC_ONLY, QNAME);
	CHECK(o.calls == 1 && o.err == -ETIMEDOUT && o.attempts == 2);

	/* Wrong ID only: timeout after exactly one retry. */
	o = run_one(&rs, M_WRONG_ID_ONLY, QNAME);
	CHECK(o.calls == 1 && o.err == -ETIMEDOUT && o.attempts == 2 && o.ignored == 2);
	CHECK(rs.udp_queries == 2);

	/* Silence: one retry, no more. */
	o = run_one(&rs, M_SILENT, QNAME);
	CHECK(o.calls == 1 && o.err == -ETIMEDOUT && o.attempts == 2);
	usleep(400000);
	CHECK(rs.udp_queries == 2);

	/* Truncated: asked again over TCP; the TCP answer is used. */
	o = run_one(&rs, M_TC, QNAME);
	CHECK(o.calls == 1 && o.err == 0 && o.tcp && strcmp(o.addr, "192.0.2.2") == 0);
	CHECK(rs.udp_queries == 1 && rs.tcp_queries == 1);

	/* TCP closed without an answer: an error, not a hang. */
	o = run_one(&rs, M_TC_CLOSE, QNAME);
	CHECK(o.calls == 1 && o.err != 0 && o.err != -ETIMEDOUT);

	responder_stop(&rs);
}

/* IDs and source ports change from query to query. */
static void test_randomness(void)
{
	struct responder rs;
	struct event_base *base = event_base_new();
	struct resolver *r = resolver_new(base, NULL);
	struct outcome o[16];
	bool ids_differ = false, ports_differ = false;

	CHECK(responder_start(&rs, AF_INET));
	rs.mode = M_OK;
	memset(o, 0, sizeof(o));
	for (int i = 0; i < 16; i++)
		CHECK(resolver_query(r, &rs.addr, QNAME, LDNS_RR_TYPE_A, record_cb, &o[i]) != NULL);
	event_base_dispatch(base);
	CHECK(rs.udp_queries == 16);
	for (int i = 1; i < 16; i++) {
		ids_differ |= rs.ids[i] != rs.ids[0];
		ports_differ |= rs.ports[i] != rs.ports[0];
		CHECK(o[i].calls == 1 && o[i].err == 0);
	}
	CHECK(ids_differ && ports_differ);
	/* IDs are not a counter. */
	bool sequential = true;
	for (int i = 1; i < 16; i++)
		sequential &= rs.ids[i] == (uint16_t)(rs.ids[i - 1] + 1);
	CHECK(!sequential);
	resolver_free(r);
	event_base_free(base);
	responder_stop(&rs);
}

/* Bounded in-flight with a FIFO queue; cancel; free with queries pending. */
static void test_inflight_cancel(void)
{
	struct responder rs;
	struct event_base *base = event_base_new();
	struct resolver_opts opts = { .timeout_ms = 300, .max_inflight = 2 };
	struct resolver *r = resolver_new(base, &opts);
	struct outcome o[10], cancelled;
	struct resolver_query *q;

	CHECK(responder_start(&rs, AF_INET));
	rs.mode = M_OK;
	memset(o, 0, sizeof(o));
	memset(&cancelled, 0, sizeof(cancelled));
	for (int i = 0; i < 10; i++) {
		o[i].r = r;
		CHECK(resolver_query(r, &rs.addr, QNAME, LDNS_RR_TYPE_A, record_cb, &o[i]) != NULL);
	}
	CHECK(resolver_inflight(r) == 2 && resolver_queued(r) == 8);
	/* Cancel one on the wire and one in the queue. */
	q = resolver_query(r, &rs.addr, QNAME, LDNS_RR_TYPE_A, record_cb, &cancelled);
	CHECK(q && resolver_queued(r) == 9);
	resolver_cancel(q);
	CHECK(resolver_queued(r) == 8);
	event_base_dispatch(base);
	for (int i = 0; i < 10; i++)
		CHECK(o[i].calls == 1 && o[i].err == 0 && o[i].max_inflight_seen <= 2);
	CHECK(cancelled.calls == 0);
	CHECK(resolver_get_stats(r)->cancelled == 1 && resolver_get_stats(r)->responses == 10);
	CHECK(rs.udp_queries == 10);

	/* Freeing with queries in flight and queued calls nothing. */
	rs.mode = M_SILENT;
	for (int i = 0; i < 5; i++)
		CHECK(resolver_query(r, &rs.addr, QNAME, LDNS_RR_TYPE_A, record_cb, &cancelled) != NULL);
	resolver_free(r);
	event_base_dispatch(base);
	CHECK(cancelled.calls == 0);
	event_base_free(base);
	responder_stop(&rs);
}

/* A closed port answers with ICMP: the query fails without waiting for the timeout. */
static void test_refused_and_invalid(void)
{
	struct event_base *base = event_base_new();
	struct resolver_opts opts = { .timeout_ms = 5000 };
	struct resolver *r = resolver_new(base, &opts);
	union sockaddr_any closed, none;
	struct outcome o;
	int fd = bind_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, &closed);

	close(fd);   /* the port is now (very likely) closed */
	memset(&o, 0, sizeof(o));
	CHECK(resolver_query(r, &closed, QNAME, LDNS_RR_TYPE_A, record_cb, &o) != NULL);
	event_base_dispatch(base);
	CHECK(o.calls == 1 && o.err == -ECONNREFUSED && o.attempts == 2);

	memset(&none, 0, sizeof(none));
	errno = 0;
	CHECK(resolver_query(r, &none, QNAME, LDNS_RR_TYPE_A, record_cb, &o) == NULL && errno == EINVAL);
	closed.in.sin_port = 0;
	CHECK(resolver_query(r, &closed, QNAME, LDNS_RR_TYPE_A, record_cb, &o) == NULL && errno == EINVAL);
	resolver_free(r);
	event_base_free(base);
}

/* Messages a stream saw; complete after want of them. */
struct stream_seen {
	int messages;
	int want;
};

/* Count a stream message, complete at the wanted one. */
static int stream_msg_cb(const uint8_t *wire, size_t len, void *arg)
{
	struct stream_seen *ss = arg;

	(void)wire;
	(void)len;
	ss->messages++;
	return ss->messages == ss->want ? 1 : 0;
}

/* End-of-stream outcome of a stream. */
struct stream_outcome {
	struct stream_seen seen;
	struct outcome o;
};

/* Record a stream's end. */
static void stream_end_cb(const struct resolver_result *res, void *arg)
{
	struct stream_outcome *so = arg;

	so->o.calls++;
	so->o.err = res->err;
	so->o.tcp = res->tcp;
	so->o.attempts = res->attempts;
	CHECK(res->pkt == NULL);
}

/* A stream callback wrapper that sees the outcome struct. */
static int stream_outcome_msg_cb(const uint8_t *wire, size_t len, void *arg)
{
	return stream_msg_cb(wire, len, &((struct stream_outcome *)arg)->seen);
}

/* Run one stream against the responder in mode. */
static struct stream_outcome run_stream(struct responder *rs, enum mode mode, int want, unsigned int total_ms)
{
	struct event_base *base = event_base_new();
	struct resolver_opts opts = { .timeout_ms = 300 };
	struct resolver *r = resolver_new(base, &opts);
	struct stream_outcome so;

	memset(&so, 0, sizeof(so));
	so.seen.want = want;
	rs->mode = mode;
	rs->udp_queries = 0;
	rs->tcp_queries = 0;
	CHECK(resolver_stream(r, &rs->addr, "example.com.", LDNS_RR_TYPE_AXFR, total_ms, stream_outcome_msg_cb,
			      stream_end_cb, &so) != NULL);
	event_base_dispatch(base);
	resolver_free(r);
	event_base_free(base);
	return so;
}

/* A multi-message TCP exchange: every message to the callback, ended by it, by silence, by a close, by a wrong ID. */
static void test_stream(void)
{
	struct responder rs;
	struct stream_outcome so;

	if (!responder_start(&rs, AF_INET)) {
		CHECK(!"responder");
		return;
	}
	so = run_stream(&rs, M_STREAM, 3, 5000);
	CHECK(so.o.calls == 1 && so.o.err == 0 && so.seen.messages == 3 && so.o.tcp);
	CHECK(rs.udp_queries == 0 && rs.tcp_queries == 1);
	/* A server that stops sending: the per-message timeout ends it. */
	so = run_stream(&rs, M_STREAM_STALL, 3, 5000);
	CHECK(so.o.calls == 1 && so.o.err == -ETIMEDOUT && so.seen.messages == 1);
	/* The whole-exchange limit holds even when it is shorter. */
	so = run_stream(&rs, M_STREAM_STALL, 3, 100);
	CHECK(so.o.calls == 1 && so.o.err == -ETIMEDOUT);
	so = run_stream(&rs, M_STREAM_CLOSE, 3, 5000);
	CHECK(so.o.calls == 1 && so.o.err == -ECONNRESET && so.seen.messages == 1);
	so = run_stream(&rs, M_STREAM_WRONG_ID, 3, 5000);
	CHECK(so.o.calls == 1 && so.o.err == -EBADMSG && so.seen.messages == 1);
	responder_stop(&rs);
}

/* The matching rules on raw messages. */
static void test_match(void)
{
	ldns_rdf *qname = NULL;
	ldns_pkt *q, *out = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	uint8_t junk[12] = { 0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0 };

	ldns_str2rdf_dname(&qname, QNAME);
	q = ldns_pkt_query_new(ldns_rdf_clone(qname), LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(q, 0x1234);
	ldns_pkt2wire(&wire, q, &len);
	/* A query (QR=0) is not a response. */
	CHECK(resolver_match(wire, len, 0x1234, qname, LDNS_RR_TYPE_SRV, &out) == -ENOMSG);
	wire[2] |= 0x80;
	CHECK(resolver_match(wire, len, 0x1234, qname, LDNS_RR_TYPE_SRV, &out) == 0 && out);
	ldns_pkt_free(out);
	CHECK(resolver_match(wire, len, 0x1235, qname, LDNS_RR_TYPE_SRV, &out) == -ENOMSG);
	CHECK(resolver_match(wire, len, 0x1234, qname, LDNS_RR_TYPE_A, &out) == -ENOMSG);
	CHECK(resolver_match(wire, 11, 0x1234, qname, LDNS_RR_TYPE_SRV, &out) == -EBADMSG);
	CHECK(resolver_match(wire, len - 1, 0x1234, qname, LDNS_RR_TYPE_SRV, &out) == -EBADMSG);
	CHECK(resolver_match(junk, sizeof(junk), 0x1234, qname, LDNS_RR_TYPE_SRV, &out) == -EBADMSG);
	/* Class other than IN. */
	wire[len - 1] = 3;
	CHECK(resolver_match(wire, len, 0x1234, qname, LDNS_RR_TYPE_SRV, &out) == -ENOMSG);
	free(wire);
	ldns_pkt_free(q);
	ldns_rdf_deep_free(qname);
}

int main(void)
{
	test_match();
	test_rogue(AF_INET);
	test_rogue(AF_INET6);
	test_randomness();
	test_inflight_cancel();
	test_refused_and_invalid();
	test_stream();
	return CHECK_DONE();
}
