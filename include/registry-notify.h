/* SPDX-License-Identifier: MIT */
/*
 * NOTIFY (RFC 1996) to a zone's configured secondaries, event-loop glue: on
 * every new serial each target gets a NOTIFY over UDP (TSIG-signed when its
 * line names a key), from a socket connected to it (so only its answers
 * arrive) and from an address the registry listens on (secondaries accept
 * NOTIFY from their primary's address): the kernel's choice when it is one,
 * else the first specific listen address of the family, resent after 1, 2, 4 and 8 s until it answers; a newer serial
 * replaces the one in flight. An answer other than NOERROR ends the attempt
 * as a failure; so does silence after the last try. Logs once per change
 * of a target's state.
 */
#ifndef WGSD_REGISTRY_NOTIFY_H
#define WGSD_REGISTRY_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "tsig.h"

#define NOTIFY_TRIES 5
#define NOTIFY_FIRST_TIMEOUT_MS 1000

struct event_base;
struct strbuf;
struct zone;
struct registry_notify;

/* The targets of one zone (copied). NULL on ENOMEM. */
struct registry_notify *registry_notify_new(struct event_base *base, const char *zone,
					    const struct config_notify *targets, size_t n);
/* Cancel everything and free (NULL is fine). */
void registry_notify_free(struct registry_notify *rn);
/*
 * Tell every target about z's serial (the SOA as transfers send it, with
 * minimum ttl). Keys are looked up by name in keys; a target whose key is
 * missing is counted as failed. listens are the registry's listen addresses.
 */
void registry_notify_serial(struct registry_notify *rn, const struct zone *z, uint32_t ttl,
			    const struct tsig_key *keys, size_t n_keys, const union sockaddr_any *listens,
			    size_t n_listens);
/* Index of the target with this address (port ignored), -1 if none. */
int registry_notify_find(const struct registry_notify *rn, const union sockaddr_any *addr);
/* Number of targets. */
size_t registry_notify_count(const struct registry_notify *rn);
/* Address of target i. */
const union sockaddr_any *registry_notify_addr(const struct registry_notify *rn, size_t i);
/* Append target i's state as a JSON object. */
void registry_notify_status_json(const struct registry_notify *rn, size_t i, struct strbuf *out);
/* Counters of target i: NOTIFYs sent (tries included), answered with NOERROR, failed attempts; last acknowledged serial. */
void registry_notify_counters(const struct registry_notify *rn, size_t i, uint64_t *sent, uint64_t *acked,
			      uint64_t *failures, uint32_t *acked_serial);

#endif
