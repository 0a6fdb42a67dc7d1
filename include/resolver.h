/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous DNS stub resolver on a libevent loop, for the client role.
 *
 * Each query goes to one given server over UDP from a fresh connect()ed
 * socket (kernel-chosen random source port) with a random 16-bit ID; a
 * response is accepted only when its source address and port, ID and
 * question (name case-insensitively, type, class) match. One retry after a
 * timeout; TC=1 switches to TCP. At most max_inflight queries are on the
 * wire, the rest wait in a FIFO queue. Never logs.
 */
#ifndef WGSD_RESOLVER_H
#define WGSD_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "addr.h"

struct event_base;
struct resolver;
struct resolver_query;

#define RESOLVER_DEFAULT_TIMEOUT_MS 2000
#define RESOLVER_DEFAULT_ATTEMPTS 2        /* the first send and one retry */
#define RESOLVER_DEFAULT_MAX_INFLIGHT 256
#define RESOLVER_DEFAULT_EDNS_SIZE 1232

struct resolver_opts {
	unsigned int timeout_ms;     /* per attempt (UDP send or TCP exchange); 0 = default */
	unsigned int attempts;       /* UDP sends per query; 0 = default */
	unsigned int max_inflight;   /* queries on the wire at once; 0 = default */
	uint16_t edns_size;          /* advertised UDP size; 0 = default, 512 = no EDNS */
	bool no_recursion_desired;   /* clear RD (default: RD set, harmless to authoritative servers) */
};

/* Outcome of one query, valid only during the callback. */
struct resolver_result {
	int err;                /* 0: pkt holds the matching response; else -ETIMEDOUT, -ECONNREFUSED, -EBADMSG, ... */
	ldns_pkt *pkt;          /* response (any rcode); NULL on error; freed after the callback */
	bool tcp;               /* the response came over TCP (after TC=1) */
	unsigned int attempts;  /* UDP sends made */
	unsigned int ignored;   /* packets dropped because they did not match */
	uint64_t rtt_us;        /* from the last send to the response */
	uint64_t elapsed_us;    /* from the first send to the end */
};

/* Called exactly once per query unless it was cancelled. The query handle is invalid from then on.
 * The callback may start and cancel other queries but must not free the resolver. */
typedef void (*resolver_cb)(const struct resolver_result *res, void *arg);

/*
 * Called for each whole message of a stream (resolver_stream()) whose ID and
 * QR bit match; the rest is the caller's to check. Return 0 to read the
 * next message, 1 when the stream is complete, or -errno to end it with that
 * error. It must not cancel the stream nor free the resolver.
 */
typedef int (*resolver_msg_cb)(const uint8_t *wire, size_t len, void *arg);

struct resolver_stats {
	uint64_t queries;        /* resolver_query() calls accepted */
	uint64_t sent_udp;       /* UDP datagrams sent (retries included) */
	uint64_t retries;
	uint64_t tcp;            /* TCP fallbacks after TC=1 */
	uint64_t responses;
	uint64_t timeouts;
	uint64_t errors;         /* other failures */
	uint64_t ignored;        /* unmatched packets (wrong source, ID or question, garbage) */
	uint64_t cancelled;
};

/* Create a resolver on base; NULL with errno set on failure. opts may be NULL (defaults). */
struct resolver *resolver_new(struct event_base *base, const struct resolver_opts *opts);
/* Cancel every query (no callbacks) and free. NULL is fine. */
void resolver_free(struct resolver *r);
/* Start no more queued queries (before tearing down, so cancels do not start new ones). */
void resolver_stop(struct resolver *r);

/*
 * Ask server for qname/qtype (class IN). qname is a presentation-form name
 * (a missing trailing dot is added). Returns the query, or NULL with errno
 * set (EINVAL bad name or server, ENOMEM). Failures after the call (socket,
 * send) are reported through the callback, never from inside this call.
 */
struct resolver_query *resolver_query(struct resolver *r, const union sockaddr_any *server,
				      const char *qname, uint16_t qtype, resolver_cb cb, void *arg);
/*
 * A multi-message exchange (a zone transfer, RFC 5936) with server over TCP
 * from the start: the query qname/qtype, then every response message to
 * msg_cb until it returns non-zero. cb is called once at the end, with
 * err 0 (msg_cb returned 1) or the error and never a packet: msg_cb's
 * error, -ETIMEDOUT when a message takes longer than the timeout or the
 * whole exchange longer than total_ms, -ECONNRESET when the server closes
 * first. Queued like any query; cancelled with resolver_cancel().
 */
struct resolver_query *resolver_stream(struct resolver *r, const union sockaddr_any *server,
				       const char *qname, uint16_t qtype, unsigned int total_ms,
				       resolver_msg_cb msg_cb, resolver_cb cb, void *arg);
/*
 * Send a prebuilt message (a DNS UPDATE, RFC 2136, for zone) to server: the
 * same transport, ID, retry and TCP fallback as a query; the response must
 * match the ID, be an UPDATE response and carry the zone section "zone SOA
 * IN". msg is copied (its ID is replaced at each send).
 */
struct resolver_query *resolver_update(struct resolver *r, const union sockaddr_any *server, const char *zone,
				       const uint8_t *msg, size_t len, resolver_cb cb, void *arg);
/* Cancel a query that has not completed; its callback is not called. */
void resolver_cancel(struct resolver_query *q);

/* Queries on the wire now. */
size_t resolver_inflight(const struct resolver *r);
/* Queries waiting for a free slot. */
size_t resolver_queued(const struct resolver *r);
/* Counters since creation. */
const struct resolver_stats *resolver_get_stats(const struct resolver *r);

/*
 * Check a received message against what was sent: QR set, opcode QUERY,
 * the same ID, exactly one question equal to qname (case-insensitively),
 * qtype and class IN. Returns 0 and the parsed packet in *out, -EBADMSG
 * for a malformed message, or -ENOMSG for a well-formed one that does not
 * match. Exposed for tests and fuzzing.
 */
int resolver_match(const uint8_t *wire, size_t len, uint16_t id, const ldns_rdf *qname,
		   uint16_t qtype, ldns_pkt **out);

#endif
