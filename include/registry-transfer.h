/* SPDX-License-Identifier: MIT */
/*
 * Zone transfers, event-loop glue between the listeners and the pure
 * modules (tsig.c, registry-xfr.c, zone-history.c, registry-notify.c):
 *  - every query passes here first: a TSIG record is checked (NOTAUTH with
 *    BADKEY, BADSIG or BADTIME when it fails) and the answer to a verified
 *    request is signed;
 *  - AXFR and IXFR requests: REFUSED unless an allow-transfer line or
 *    peer-transfers allows them, NOTAUTH for a name that is not a served
 *    zone's apex, SERVFAIL while the zone's device is unreadable or too many
 *    transfers run; over TCP a stream the listener sends message by message;
 *    over UDP an IXFR gets the current SOA (RFC 1995 2), an AXFR NOTIMP;
 *  - an SOA query (or any query signed with a key) at a zone's apex from a
 *    client allow-transfer admits is answered whatever `access` says: that
 *    is how secondaries check the serial;
 *  - per zone: the IXFR history, the serial kept moving when the
 *    transferred data changes without the published set changing (a reload
 *    that restarts the zone, a new ttl), NOTIFY on every new serial, and the
 *    status of each secondary.
 */
#ifndef WGSD_REGISTRY_TRANSFER_H
#define WGSD_REGISTRY_TRANSFER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "dns-answer.h"
#include "registry-listener.h"

/* Transfers running at once, registry-wide; more are answered SERVFAIL (secondaries retry). */
#define XFR_ACTIVE_MAX 32
/* Secondaries whose transfers are listed one by one per zone (addresses beyond are summed up). */
#define XFR_SECONDARIES_MAX 64
/* Memory the IXFR history of one zone may hold. */
#define XFR_HISTORY_MAX_BYTES (4u << 20)

struct event_base;
struct strbuf;
struct zone;
struct registry_transfer;
struct registry_transfer_zone;

/* The zones as the answer path sees them: snapshots and transfer state, index for index. */
struct registry_transfer_view {
	struct zone *const *snaps;
	struct registry_transfer_zone *const *zones;
	size_t n;
};

/* Registry-wide state: keys, TSIG counters, running transfers. NULL on ENOMEM. */
struct registry_transfer *registry_transfer_new(void);
/* Free (NULL is fine); zones must be freed first. */
void registry_transfer_free(struct registry_transfer *t);
/* Replace the keys (copied). 0 or -ENOMEM (the old ones stay). */
int registry_transfer_set_keys(struct registry_transfer *t, const struct config_key *keys, size_t n);
/* The registry's listen addresses (copied): NOTIFY leaves from one of them. 0 or -ENOMEM. */
int registry_transfer_set_listens(struct registry_transfer *t, const union sockaddr_any *listens, size_t n);

/* Transfer state of one zone; cz must stay valid while it lives. NULL on ENOMEM. */
struct registry_transfer_zone *registry_transfer_zone_new(struct registry_transfer *t, struct event_base *base,
							  const struct config_zone *cz);
/* Free; transfers still running finish from their own snapshot (NULL is fine). */
void registry_transfer_zone_free(struct registry_transfer_zone *tz);
/*
 * snap is about to replace old (the zone's current snapshot, NULL for none):
 * give snap a new serial if the transferred data changed without the
 * published set changing, record the IXFR diff, and notify the secondaries
 * of a new serial. ttl is the registry's (records and SOA minimum).
 */
void registry_transfer_publish(struct registry_transfer_zone *tz, const struct zone *old, struct zone *snap,
			       uint32_t ttl, time_t now);
/*
 * Answer one query as dns_answer() does, plus TSIG and zone transfers (see
 * above). *stream (TCP only, may be NULL for UDP) receives a transfer.
 * *why is set to a short reason when the request was refused or failed its
 * TSIG check (for the log), NULL otherwise.
 */
size_t registry_transfer_answer(struct registry_transfer *t, const struct registry_transfer_view *v,
				const struct dns_answer_env *env, const struct dns_client *cl, const uint8_t *query,
				size_t qlen, uint8_t *out, size_t cap, struct registry_stream **stream,
				struct dns_answer_info *info, const char **why);
/* Append the zone's transfer status as a JSON object. */
void registry_transfer_zone_status_json(const struct registry_transfer_zone *tz, struct strbuf *out);
/* Append the metric descriptions (HELP and TYPE lines). */
void registry_transfer_metrics_help(struct strbuf *out);
/* Append the zone's transfer metrics. */
void registry_transfer_zone_metrics(const struct registry_transfer_zone *tz, const char *zone, struct strbuf *out);
/* Append the registry-wide transfer metrics (TSIG errors, running transfers). */
void registry_transfer_metrics(const struct registry_transfer *t, struct strbuf *out);

#endif
