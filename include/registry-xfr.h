/* SPDX-License-Identifier: MIT */
/*
 * Zone transfers, the pure part: who may transfer a zone, what an IXFR
 * request asks for, and the messages of a transfer, built one at a time from
 * a snapshot (AXFR, RFC 5936) or from the history's diffs (IXFR, RFC 1995),
 * so a 10,000-peer zone is never held as one response in memory. The
 * records are those of zone-rr.h; messages carry the question, owner names
 * (and PTR, NS, SOA names) compressed, the SRV target whole.
 *
 * Transfers hold a reference to their snapshot (zone_ref()) and to their
 * diffs, released by registry_xfr_free().
 */
#ifndef WGSD_REGISTRY_XFR_H
#define WGSD_REGISTRY_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns-answer.h"
#include "dns-query.h"
#include "zone-history.h"

/* Messages are filled up to this size (a record larger than what is left goes in a message of its own). */
#define XFR_MSG_TARGET 16384
#define DNS_RCODE_NOTAUTH 9

/* What a transfer sends. */
enum xfr_kind {
	XFR_AXFR = 0,         /* the whole zone (RFC 5936) */
	XFR_IXFR,             /* the differences since the client's serial (RFC 1995) */
	XFR_IXFR_FULL,        /* an IXFR answered with the whole zone: the serial is no longer in the history */
	XFR_IXFR_UPTODATE,    /* an IXFR answered with the current SOA only: the client has it or a newer one */
};

/* Why a transfer may go ahead. */
enum xfr_allow {
	XFR_DENIED = 0,
	XFR_BY_ACL,           /* an allow-transfer line (address and, when it names one, key) */
	XFR_BY_PEERS,         /* a member of the mesh through the tunnel (peer-transfers) */
};

struct xfr_stream;

/* Name of a kind: "AXFR", "IXFR", "IXFR-AXFR", "IXFR-SOA". */
const char *registry_xfr_kind_name(enum xfr_kind k);
/* Index of the zone whose apex is exactly the query name, -1 if none. */
int registry_xfr_find_zone(struct zone *const *zones, size_t n, const uint8_t *msg, const struct dns_query *q);
/*
 * May cl transfer z (configured by cz)? key is the name of the request's
 * verified TSIG key, NULL without one. An allow-transfer line matches when
 * the source lies in its prefix (or it says any) and, if it names a key, the
 * request was signed with that key; members are those access = peers
 * answers: arrival on the zone's interface from a peer's allowed IPs.
 */
enum xfr_allow registry_xfr_allowed(const struct config_zone *cz, const struct zone *z, const struct dns_client *cl,
				    const char *key);
/* The serial of the SOA in an IXFR request's authority section: 0 or -EBADMSG (FORMERR). */
int registry_xfr_client_serial(const uint8_t *msg, size_t len, const struct dns_query *q, uint32_t *serial);
/* A response with no records: header with rcode, the question copied when it was read. Its length or 0. */
size_t registry_xfr_error(const uint8_t *query, const struct dns_query *q, uint16_t rcode, uint8_t *out, size_t cap);

/*
 * A NOTIFY (RFC 1996 3.7) for z: opcode NOTIFY, AA, the question apex SOA IN
 * and the SOA with serial in the answer section. Its length, 0 when cap is
 * too small.
 */
size_t registry_xfr_notify(const struct zone *z, uint32_t serial, uint32_t ttl, uint16_t id, uint8_t *out, size_t cap);
/*
 * Read a reply to our NOTIFY with id for the zone apex (wire, any case):
 * its rcode, or -EBADMSG when it is not such a reply (another ID, not a
 * response, another opcode or question).
 */
int registry_xfr_notify_reply(const uint8_t *msg, size_t len, uint16_t id, const uint8_t *apex, size_t apex_len);

/* AXFR of z, or the full-zone answer to an IXFR (kind by q->qtype). NULL on ENOMEM. */
struct xfr_stream *registry_xfr_axfr(struct zone *z, const uint8_t *query, const struct dns_query *q, uint32_t ttl);
/* IXFR of z from diffs[0..n) (each gets a reference); n = 0: the current SOA alone. NULL on ENOMEM. */
struct xfr_stream *registry_xfr_ixfr(struct zone *z, struct zone_diff *const *diffs, size_t n, const uint8_t *query,
				     const struct dns_query *q, uint32_t ttl);
/*
 * Write the next message into out (cap bytes), leaving reserve bytes free at
 * the end (a TSIG record). Returns its length, 0 when the transfer is
 * complete, -EMSGSIZE when a record does not fit even a message of its own
 * (the transfer cannot go on).
 */
int registry_xfr_next(struct xfr_stream *s, uint8_t *out, size_t cap, size_t reserve);
/* Kind, and messages, records and bytes written so far. */
enum xfr_kind registry_xfr_kind(const struct xfr_stream *s);
void registry_xfr_progress(const struct xfr_stream *s, size_t *messages, size_t *records, size_t *bytes);
/* The serial being sent. */
uint32_t registry_xfr_serial(const struct xfr_stream *s);
/* Release the snapshot and diffs and free (NULL is fine). */
void registry_xfr_free(struct xfr_stream *s);

#endif
