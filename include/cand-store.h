/* SPDX-License-Identifier: MIT */
/*
 * The registry's candidate table for one zone: per peer key, the
 * candidates it registered and when their lease ends. In memory only,
 * bounded: at most per_peer candidates per key and max_total per zone.
 * Updates allocate; lookups (done by the snapshot build) do not. No I/O.
 */
#ifndef WGSD_CAND_STORE_H
#define WGSD_CAND_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cand.h"
#include "key.h"

struct cand_store;

/* Create an empty table. NULL on ENOMEM. */
struct cand_store *cand_store_new(unsigned int per_peer, size_t max_total);
/* Free (NULL is fine). */
void cand_store_free(struct cand_store *s);
/* Change the limits; entries already stored stay until they are replaced or expire. */
void cand_store_set_limits(struct cand_store *s, unsigned int per_peer, size_t max_total);
/*
 * Replace key's candidates with cands (n = 0 removes them), valid until
 * expires_ms (monotonic). 0, -E2BIG (more than per_peer), -ENOSPC (the
 * zone would hold more than max_total), -ENOMEM. On error nothing changes.
 */
int cand_store_set(struct cand_store *s, const uint8_t key[WG_KEY_LEN], const struct cand_rec *cands, size_t n,
		   uint64_t expires_ms);
/* Drop every entry whose lease ended at now_ms; returns how many keys were dropped. */
size_t cand_store_expire(struct cand_store *s, uint64_t now_ms);
/* key's candidates while their lease runs at now_ms (*n = 0 and NULL otherwise). */
const struct cand_rec *cand_store_get(const struct cand_store *s, const uint8_t key[WG_KEY_LEN], uint64_t now_ms,
				      size_t *n);
/* Keys with candidates. */
size_t cand_store_peers(const struct cand_store *s);
/* Candidates stored. */
size_t cand_store_count(const struct cand_store *s);
/* Bytes the table holds (table and candidate arrays, without allocator overhead). */
size_t cand_store_bytes(const struct cand_store *s);

#endif
