/* SPDX-License-Identifier: MIT */
/* What the registry's UDP and TCP listeners share: counters and the answer callback. */
#ifndef WGSD_REGISTRY_LISTENER_H
#define WGSD_REGISTRY_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dns_client;

/* Query types counted one by one; everything else is "other". */
enum registry_qtype {
	REG_QTYPE_A = 0, REG_QTYPE_AAAA, REG_QTYPE_SRV, REG_QTYPE_TXT, REG_QTYPE_PTR,
	REG_QTYPE_SOA, REG_QTYPE_NS, REG_QTYPE_ANY, REG_QTYPE_OTHER, REG_QTYPE_MAX,
};

/* Response codes counted; "dropped" = no response sent. */
enum registry_rcode {
	REG_RCODE_NOERROR = 0, REG_RCODE_FORMERR, REG_RCODE_SERVFAIL, REG_RCODE_NXDOMAIN,
	REG_RCODE_NOTIMP, REG_RCODE_REFUSED, REG_RCODE_BADVERS, REG_RCODE_DROPPED, REG_RCODE_MAX,
};

/* Counters of one listener and transport. */
struct registry_stats {
	uint64_t queries[REG_QTYPE_MAX];
	uint64_t rcodes[REG_RCODE_MAX];
	uint64_t refused;             /* by the access rule */
	uint64_t truncated;           /* TC=1 sent */
	uint64_t send_errors;         /* UDP responses that could not be sent */
	uint64_t tcp_accepted;
	uint64_t tcp_closed_idle;     /* closed after the idle timeout */
	uint64_t tcp_dropped_stalled; /* reset: output stuck because the client does not read */
	uint64_t tcp_rejected_full;   /* reset at once: the connection cap was reached */
	uint64_t tcp_paused;          /* times accept was paused briefly for lack of descriptors or memory */
};

/*
 * A response of many messages (a zone transfer), pulled one message at a
 * time by the TCP listener while the connection's output is below its limit.
 */
struct registry_stream {
	/* Write the next message into out (cap bytes): its length, 0 when complete, < 0 to abort. */
	int (*next)(struct registry_stream *s, uint8_t *out, size_t cap);
	/* The connection is done with it (freed here): complete when every message reached the kernel. */
	void (*end)(struct registry_stream *s, bool complete);
};

/*
 * Answer one query (implemented by registry.c): counts it in stats, writes
 * the response to out and returns its length (0: send nothing). Over TCP
 * (stream not NULL) it may instead set *stream and return 0: the listener
 * then sends the stream's messages and answers nothing else on that
 * connection until the stream ends.
 */
typedef size_t (*registry_answer_cb)(void *arg, struct registry_stats *stats, const struct dns_client *cl,
				     const uint8_t *query, size_t qlen, uint8_t *out, size_t cap,
				     struct registry_stream **stream);

/* Names used in status and metrics ("?" when out of range). */
const char *registry_listener_qtype_name(enum registry_qtype t);
const char *registry_listener_rcode_name(enum registry_rcode r);

#endif
