/* SPDX-License-Identifier: MIT */
/* Bounded history of zone changes for IXFR: diffs of rendered records between snapshots. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "zone-history.h"

/* A diff being built: records with arena offsets in place of pointers until the arena stops moving. */
struct diff_build {
	struct zone_diff *d;
	size_t cap_del, cap_add, arena_cap, arena_len;
	size_t records;
};

/* True when two candidates publish the same records (compared by field: the struct has padding). */
static bool cand_same(const struct cand_rec *a, const struct cand_rec *b)
{
	return a->kind == b->kind && a->index == b->index && a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/*
 * True when entry a of za and entry b of zb (successive snapshots) publish
 * the same thing. Compared byte for byte (fields added later count too)
 * except the handshake time, which transfers leave out, and the TXT and
 * candidate positions, whose contents are compared instead. A false
 * "changed" only costs a comparison of rendered records.
 */
static bool entry_same(const struct zone *za, const struct zone_entry *a, const struct zone *zb,
		       const struct zone_entry *b)
{
	struct zone_entry x, y;

	if (a->txt_len != b->txt_len || memcmp(a->txt, b->txt, a->txt_len) != 0 || a->n_cands != b->n_cands)
		return false;
	for (size_t i = 0; i < a->n_cands; i++)
		if (!cand_same(&za->cands[a->cand_first + i], &zb->cands[b->cand_first + i]))
			return false;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	x.txt = y.txt = NULL;
	x.last_handshake_sec = y.last_handshake_sec = 0;
	x.cand_first = y.cand_first = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* Copy bytes into the arena; returns the offset or SIZE_MAX on ENOMEM. */
static size_t arena_put(struct diff_build *b, const void *p, size_t n)
{
	if (b->arena_len + n > b->arena_cap) {
		size_t cap = (b->arena_cap + n) * 2;
		uint8_t *a = realloc(b->d->arena, cap);
		if (!a)
			return SIZE_MAX;
		b->d->arena = a;
		b->arena_cap = cap;
	}
	size_t off = b->arena_len;
	memcpy(b->d->arena + off, p, n);
	b->arena_len += n;
	return off;
}

/* Append a copy of rr to the deleted or added records. 0 or -ENOMEM. */
static int keep(struct diff_build *b, const struct zone_rr *rr, bool added)
{
	struct zone_rr **list = added ? &b->d->add : &b->d->del;
	size_t *n = added ? &b->d->n_add : &b->d->n_del;
	size_t *cap = added ? &b->cap_add : &b->cap_del;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct zone_rr *l = realloc(*list, ncap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*list = l;
		*cap = ncap;
	}
	size_t owner = arena_put(b, rr->owner, rr->owner_len);
	size_t rdata = owner == SIZE_MAX ? SIZE_MAX : arena_put(b, rr->rdata, rr->rdlen);
	if (rdata == SIZE_MAX)
		return -ENOMEM;
	struct zone_rr *c = &(*list)[(*n)++];
	*c = *rr;
	c->owner = (const uint8_t *)(uintptr_t)owner;
	c->rdata = (const uint8_t *)(uintptr_t)rdata;
	b->d->wire_bytes += zone_rr_wire_size(rr);
	return 0;
}

/* Keep the records of a that b lacks (as deleted, or as added). 0 or -ENOMEM. */
static int keep_missing(struct diff_build *bd, const struct zone_rr *a, int na, const struct zone_rr *b, int nb,
			bool added)
{
	for (int i = 0; i < na; i++) {
		bool found = false;
		for (int j = 0; j < nb && !found; j++)
			found = zone_rr_equal(&a[i], &b[j]);
		if (!found && keep(bd, &a[i], added) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Turn arena offsets into pointers. */
static void fix_pointers(struct zone_diff *d)
{
	for (size_t i = 0; i < d->n_del + d->n_add; i++) {
		struct zone_rr *rr = i < d->n_del ? &d->del[i] : &d->add[i - d->n_del];
		rr->owner = d->arena + (size_t)(uintptr_t)rr->owner;
		rr->rdata = d->arena + (size_t)(uintptr_t)rr->rdata;
	}
}

/* Compute a diff between two snapshots. */
int zone_diff_new(const struct zone *old, const struct zone *new, struct zone_diff **out)
{
	struct diff_build b = { 0 };
	struct zone_rr_scratch so, sn;
	struct zone_rr ro[ZONE_RR_ENTRY_MAX], rn[ZONE_RR_ENTRY_MAX];

	*out = NULL;
	b.d = calloc(1, sizeof(*b.d));
	if (!b.d)
		return -ENOMEM;
	b.d->from = old->serial;
	b.d->to = new->serial;
	for (size_t i = 0; i < new->n_entries; i++) {
		const struct zone_entry *e = &new->entries[i];
		const struct zone_entry *o = zone_lookup_key(old, e->key);
		if (o && entry_same(old, o, new, e))
			continue;
		int nn = zone_rr_entry(new, e, &sn, rn);
		int no = o ? zone_rr_entry(old, o, &so, ro) : 0;
		if (keep_missing(&b, ro, no, rn, nn, false) < 0 || keep_missing(&b, rn, nn, ro, no, true) < 0)
			goto fail;
	}
	for (size_t i = 0; i < old->n_entries; i++) {
		const struct zone_entry *o = &old->entries[i];
		if (zone_lookup_key(new, o->key))
			continue;
		int no = zone_rr_entry(old, o, &so, ro);
		if (keep_missing(&b, ro, no, NULL, 0, false) < 0)
			goto fail;
	}
	if (b.d->n_del + b.d->n_add == 0) {
		zone_diff_free(b.d);
		return 0;
	}
	fix_pointers(b.d);
	b.d->bytes = sizeof(*b.d) + b.arena_cap + (b.cap_del + b.cap_add) * sizeof(struct zone_rr);
	*out = b.d;
	return 0;
fail:
	b.d->n_del = b.d->n_add = 0;
	zone_diff_free(b.d);
	return -ENOMEM;
}

/* Take a reference. */
struct zone_diff *zone_diff_ref(struct zone_diff *d)
{
	d->refs++;
	return d;
}

/* Drop a reference or free. */
void zone_diff_free(struct zone_diff *d)
{
	if (!d)
		return;
	if (d->refs) {
		d->refs--;
		return;
	}
	free(d->del);
	free(d->add);
	free(d->arena);
	free(d);
}

/* Empty history. */
void zone_history_init(struct zone_history *h, size_t max_diffs, size_t max_bytes)
{
	memset(h, 0, sizeof(*h));
	h->max_diffs = max_diffs;
	h->max_bytes = max_bytes;
}

/* Drop every diff. */
void zone_history_clear(struct zone_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		zone_diff_free(h->diffs[i]);
	free(h->diffs);
	h->diffs = NULL;
	h->n = 0;
	h->cap = 0;
	h->bytes = 0;
}

/* Drop the oldest diff. */
static void drop_oldest(struct zone_history *h)
{
	h->bytes -= h->diffs[0]->bytes;
	zone_diff_free(h->diffs[0]);
	memmove(h->diffs, h->diffs + 1, (h->n - 1) * sizeof(*h->diffs));
	h->n--;
}

/* Append a diff within the bounds. */
int zone_history_add(struct zone_history *h, struct zone_diff *d)
{
	if (h->n && h->diffs[h->n - 1]->to != d->from)
		zone_history_clear(h);
	if (h->max_diffs == 0 || d->bytes > h->max_bytes) {
		zone_history_clear(h);
		zone_diff_free(d);
		return -E2BIG;
	}
	while (h->n && (h->n >= h->max_diffs || h->bytes + d->bytes > h->max_bytes))
		drop_oldest(h);
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		if (cap > h->max_diffs)
			cap = h->max_diffs;
		struct zone_diff **a = realloc(h->diffs, cap * sizeof(*a));
		if (!a) {
			zone_history_clear(h);
			zone_diff_free(d);
			return -ENOMEM;
		}
		h->diffs = a;
		h->cap = cap;
	}
	h->diffs[h->n++] = d;
	h->bytes += d->bytes;
	return 0;
}

/* Find the chain of diffs from one serial to another. */
int zone_history_find(const struct zone_history *h, uint32_t from, uint32_t to, size_t *first, size_t *n)
{
	for (size_t i = 0; i < h->n; i++) {
		if (h->diffs[i]->from != from)
			continue;
		/* Diffs follow each other (zone_history_add checks it): the chain runs to the newest. */
		if (h->diffs[h->n - 1]->to != to)
			return -ENOENT;
		*first = i;
		*n = h->n - i;
		return 0;
	}
	return -ENOENT;
}
