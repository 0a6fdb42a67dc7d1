/* SPDX-License-Identifier: MIT */
/*
 * Bounded in-memory history of a zone's changes, for IXFR (RFC 1995): one
 * diff per new serial, the records it removed and added, computed from two
 * snapshots by comparing each changed entry's rendered records (zone-rr.h),
 * so an endpoint change is its SRV, A and AAAA records and nothing else.
 *
 * The history keeps at most max_diffs diffs and max_bytes of memory, oldest
 * dropped first; a diff larger than max_bytes on its own (most of the zone
 * changed) empties it, and so does a diff that does not start at the last
 * one's serial. A secondary whose serial is no longer found gets AXFR.
 *
 * Diffs are reference counted: an IXFR being sent keeps its diffs while the
 * history moves on.
 */
#ifndef WGSD_ZONE_HISTORY_H
#define WGSD_ZONE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "zone-rr.h"

/* What one serial changed. */
struct zone_diff {
	uint32_t from;
	uint32_t to;
	struct zone_rr *del;              /* records removed */
	size_t n_del;
	struct zone_rr *add;              /* records added */
	size_t n_add;
	uint8_t *arena;                   /* the records' names and rdata */
	size_t bytes;                     /* memory held */
	size_t wire_bytes;                /* the records uncompressed on the wire */
	unsigned int refs;                /* holders besides the history */
};

struct zone_history {
	struct zone_diff **diffs;         /* oldest first */
	size_t n;
	size_t cap;
	size_t max_diffs;
	size_t bytes;
	size_t max_bytes;
};

/*
 * The diff from snapshot old to snapshot new (both readable, serials from
 * theirs). 0 with *out set (NULL when no record changed), or -ENOMEM.
 */
int zone_diff_new(const struct zone *old, const struct zone *new, struct zone_diff **out);
/* Take a reference. */
struct zone_diff *zone_diff_ref(struct zone_diff *d);
/* Drop a reference (or free when none was taken); NULL is fine. */
void zone_diff_free(struct zone_diff *d);

/* An empty history with its bounds (max_diffs 0: nothing is kept, IXFR always falls back). */
void zone_history_init(struct zone_history *h, size_t max_diffs, size_t max_bytes);
/* Drop every diff. */
void zone_history_clear(struct zone_history *h);
/*
 * Append d (the history owns it afterwards, freed if it cannot be kept).
 * Returns 0 when kept, -E2BIG when d alone passes the bounds (history
 * emptied), -ENOMEM (history emptied).
 */
int zone_history_add(struct zone_history *h, struct zone_diff *d);
/*
 * The diffs that lead from serial from to serial to: 0 with *first and *n
 * (indexes into h->diffs), or -ENOENT when from is not in the history or the
 * chain does not end at to.
 */
int zone_history_find(const struct zone_history *h, uint32_t from, uint32_t to, size_t *first, size_t *n);

#endif
