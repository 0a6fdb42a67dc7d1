/* SPDX-License-Identifier: MIT */
/*
 * Immutable per-zone snapshot built from one reading of a WireGuard device:
 * everything a query needs, precomputed, so answering never allocates.
 *  - published entries (peers with an endpoint, plus the device itself with
 *    `self`), in device order for PTR listings, and an open-addressing hash
 *    table keyed by the 32 key bytes for O(1) lookup of a base32 label; an
 *    endpoint no one can use (addr_endpoint_check(): port 0, unspecified,
 *    loopback, multicast, broadcast, link-local) is not published, as if
 *    the peer had none, and counted;
 *  - per entry: the upper-case base32 label, the endpoint, and the TXT rdata
 *    without "seen=", which depends on the time of the query;
 *  - the SOA/NS data and a serial that changes when the published set changes
 *    (to the wall clock's seconds, or the old serial + 1 if that is not
 *    larger: secondaries see a serial that grows across restarts too);
 *  - the access set for `access = peers`: every peer's allowed IPs as hash
 *    sets of masked addresses, one per prefix length present, so a lookup
 *    costs one probe per distinct prefix length whatever the number of peers;
 *    each prefix remembers its peer, so the longest match names the one peer
 *    WireGuard accepts that source from (the relay's requester check, the
 *    sender of a candidate registration);
 *  - the candidates peers registered (cand-store.c), copied per published
 *    entry when the build has a store (zone_build_set_cands()).
 */
#ifndef WGSD_ZONE_H
#define WGSD_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "cand.h"
#include "key.h"

struct cand_store;
struct config_zone;
struct wg_device;

#define ZONE_WIRE_MAX 255

/* One published name B: a peer with an endpoint, or the device itself (self). */
struct zone_entry {
	uint8_t key[WG_KEY_LEN];
	char label[KEY_B32_LEN];      /* upper-case padded base32 of key (no NUL) */
	uint8_t family;               /* AF_INET, AF_INET6, or AF_UNSPEC for self = auto */
	bool self;                    /* the device itself: "seen=0" */
	bool self_auto;               /* endpoint = address the query arrived on */
	uint8_t addr[16];             /* network order; 4 bytes used for AF_INET */
	uint16_t port;                /* host order */
	int64_t last_handshake_sec;   /* 0: never (TXT has no "seen=") */
	uint16_t txt_len;             /* TXT rdata without the "seen=" string */
	uint8_t n_cands;              /* registered candidates, z->cands[cand_first...] */
	uint32_t cand_first;
	const uint8_t *txt;
};

/* Access set: allowed IPs of every peer on the device. */
struct zone_acl_plen {
	uint8_t family;
	uint8_t prefix;
};

struct zone_acl_slot {
	uint8_t used;
	uint8_t family;
	uint8_t prefix;
	uint8_t addr[16];             /* masked to prefix */
	uint32_t owner;               /* index into acl_keys: the peer with this allowed IP */
};

struct zone {
	/* From the configuration. */
	char name[256];               /* presentation, lower case, absolute */
	uint8_t apex[ZONE_WIRE_MAX];  /* wire, lower case */
	uint16_t apex_len;
	uint8_t apex_labels;
	uint8_t ns[ZONE_WIRE_MAX];    /* wire, lower case */
	uint16_t ns_len;
	bool ns_in_zone;              /* the NS name is below the apex: glue is served */
	uint8_t (*glue4)[4];
	size_t n_glue4;
	uint8_t (*glue6)[16];
	size_t n_glue6;
	uint32_t refresh_s;           /* SOA timers (soa-refresh, soa-retry, soa-expire) */
	uint32_t retry_s;
	uint32_t expire_s;
	unsigned int refs;            /* holders besides the owner (zone transfers): zone_ref() */

	/* From the device reading. */
	bool servfail;                /* device missing or unreadable: answer SERVFAIL */
	uint32_t ifindex;             /* arrival interface required by access = peers */
	uint16_t listen_port;
	size_t n_peers;               /* peers on the device, published or not */
	size_t n_unpublishable;       /* peers (and self) left out: an endpoint no one can use */
	uint8_t self_unpublishable;   /* enum addr_ep: why self is left out (ADDR_EP_OK: it is not) */
	uint32_t serial;
	uint64_t digest;              /* hash of the published set, to decide on a new serial */

	struct zone_entry *entries;   /* published, device order (self first) */
	size_t n_entries;
	uint32_t *table;              /* entry index + 1, 0 = empty */
	size_t table_mask;
	uint8_t *txt_arena;

	struct zone_acl_plen *acl_plens;   /* distinct (family, prefix), longest first */
	size_t n_acl_plens;
	struct zone_acl_slot *acl;
	size_t acl_mask;
	uint8_t (*acl_keys)[WG_KEY_LEN];   /* every peer's key, device order */

	struct cand_rec *cands;       /* candidates of published entries, grouped per entry */
	size_t n_cands;
	size_t n_cand_entries;        /* published entries with candidates */
};

/*
 * Build a snapshot of cz from dev (NULL: the device could not be read, the
 * snapshot answers SERVFAIL). prev (may be NULL) carries the serial forward:
 * it changes only when the published set changes. now is the wall clock.
 * Returns NULL on ENOMEM or on a zone/ns name that is not a valid domain name.
 */
struct zone *zone_new(const struct config_zone *cz, const struct wg_device *dev,
		      const struct zone *prev, time_t now);
/*
 * The same build in steps, so a large device does not hold the event loop:
 * zone_build_new() (dev must not be NULL) does the fixed part: names, table
 * allocation (sized by one pass over the peers' allowed-IP counts), self;
 * each zone_build_step() adds up to max_peers peers (at least one) and
 * returns 1 once all are in (0: more remain, -ENOMEM);
 * zone_build_finish() then returns the snapshot and frees the build. dev
 * must stay alive and unchanged until finish or zone_build_free(); prev is
 * read only by zone_build_new() (its serial and digest are copied). The
 * result is the same as zone_new()'s whatever the step sizes.
 */
struct zone_build;
struct zone_build *zone_build_new(const struct config_zone *cz, const struct wg_device *dev,
				  const struct zone *prev, time_t now);
int zone_build_step(struct zone_build *b, size_t max_peers);
/*
 * Publish the candidates of store (live at now_ms, monotonic) with the
 * peers: call right after zone_build_new(); store must stay unchanged until
 * the build is finished or freed. Entries without candidates are built and
 * hashed as without a store, so the serial moves only when candidates do.
 */
void zone_build_set_cands(struct zone_build *b, const struct cand_store *store, uint64_t now_ms);
struct zone *zone_build_finish(struct zone_build *b);
/*
 * One slice of a build for an event loop: steps of ZONE_BUILD_BATCH peers
 * until budget_us microseconds have passed or every peer is in; returns as
 * zone_build_step(). At 10,000 peers a whole build takes about 4 ms on a
 * 2020s server core, so ZONE_BUILD_SLICE_US cuts it into some 16 turns, with
 * queries answered in between.
 */
#define ZONE_BUILD_BATCH 64
#define ZONE_BUILD_SLICE_US 250
int zone_build_run(struct zone_build *b, unsigned int budget_us);
/* Abandon a build (NULL is fine). */
void zone_build_free(struct zone_build *b);
/* Free a snapshot (NULL is fine); with references taken, drop one instead. */
void zone_free(struct zone *z);
/* Take a reference (a transfer streaming the snapshot); each holder calls zone_free() once. */
struct zone *zone_ref(struct zone *z);
/*
 * The serial after prev: the wall clock's seconds when that is larger in
 * serial arithmetic (RFC 1982), prev + 1 otherwise. A restart starts from the
 * clock, so secondaries see it grow as long as changes averaged no more than
 * one per second.
 */
uint32_t zone_serial_next(uint32_t prev, time_t now);
/* Find the entry for a base32 label of len bytes (52 or 56, any case); NULL if not published. */
const struct zone_entry *zone_lookup(const struct zone *z, const uint8_t *label, size_t len);
/* Find the entry for a raw key; NULL if not published. */
const struct zone_entry *zone_lookup_key(const struct zone *z, const uint8_t key[WG_KEY_LEN]);
/* True when addr (family AF_INET/AF_INET6, raw bytes) lies in some peer's allowed IPs. */
bool zone_acl_contains(const struct zone *z, int family, const uint8_t *addr);
/* The key of the peer whose allowed IPs hold addr with the longest prefix (as WireGuard routes), or NULL. */
const uint8_t *zone_acl_owner(const struct zone *z, int family, const uint8_t *addr);

#endif
