/* SPDX-License-Identifier: MIT */
/* The registry's bounded candidate table: open addressing by key, leases. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cand-store.h"

#define MIN_SLOTS 16

/* One key's registration. */
struct slot {
	bool used;
	uint8_t n;
	uint8_t key[WG_KEY_LEN];
	uint64_t expires_ms;
	struct cand_rec *cands;
};

struct cand_store {
	struct slot *slots;
	size_t mask;                  /* slots - 1; 0 while nothing was ever stored */
	size_t used;                  /* keys stored */
	size_t count;                 /* candidates stored */
	unsigned int per_peer;
	size_t max_total;
};

/* Create a table. */
struct cand_store *cand_store_new(unsigned int per_peer, size_t max_total)
{
	struct cand_store *s = calloc(1, sizeof(*s));

	if (s)
		cand_store_set_limits(s, per_peer, max_total);
	return s;
}

/* Free a table. */
void cand_store_free(struct cand_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->slots && i <= s->mask; i++)
		free(s->slots[i].cands);
	free(s->slots);
	free(s);
}

/* Change the limits. */
void cand_store_set_limits(struct cand_store *s, unsigned int per_peer, size_t max_total)
{
	s->per_peer = per_peer > CAND_PEER_MAX ? CAND_PEER_MAX : per_peer;
	s->max_total = max_total;
}

/* Home slot of a key: WireGuard keys are uniformly random, only peers of the zone's device register. */
static size_t key_home(const struct cand_store *s, const uint8_t key[WG_KEY_LEN])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & s->mask;
}

/* Slot index of key, or SIZE_MAX. */
static size_t find(const struct cand_store *s, const uint8_t key[WG_KEY_LEN])
{
	if (!s->slots)
		return SIZE_MAX;
	for (size_t i = key_home(s, key);; i = (i + 1) & s->mask) {
		if (!s->slots[i].used)
			return SIZE_MAX;
		if (memcmp(s->slots[i].key, key, WG_KEY_LEN) == 0)
			return i;
	}
}

/* Put a slot's content at its probe position in the current table (it must not be there). */
static void place(struct cand_store *s, const struct slot *src)
{
	size_t i = key_home(s, src->key);

	while (s->slots[i].used)
		i = (i + 1) & s->mask;
	s->slots[i] = *src;
}

/* Keep the load at most one half: double the table when one more key would exceed it. 0 or -ENOMEM. */
static int grow(struct cand_store *s)
{
	size_t size = s->slots ? s->mask + 1 : 0, nsize;
	struct slot *old = s->slots, *n;

	if (size && 2 * (s->used + 1) <= size)
		return 0;
	nsize = size ? size * 2 : MIN_SLOTS;
	n = calloc(nsize, sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->slots = n;
	s->mask = nsize - 1;
	for (size_t i = 0; i < size; i++)
		if (old[i].used)
			place(s, &old[i]);
	free(old);
	return 0;
}

/* Remove slot i, shifting later members of its probe run back (no tombstones). */
static void remove_at(struct cand_store *s, size_t i)
{
	s->count -= s->slots[i].n;
	s->used--;
	free(s->slots[i].cands);
	memset(&s->slots[i], 0, sizeof(s->slots[i]));
	for (size_t j = (i + 1) & s->mask; s->slots[j].used; j = (j + 1) & s->mask) {
		size_t home = key_home(s, s->slots[j].key);
		/* Move j into the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		s->slots[i] = s->slots[j];
		memset(&s->slots[j], 0, sizeof(s->slots[j]));
		i = j;
	}
}

/* Replace a key's candidates. */
int cand_store_set(struct cand_store *s, const uint8_t key[WG_KEY_LEN], const struct cand_rec *cands, size_t n,
		   uint64_t expires_ms)
{
	size_t i = find(s, key);
	size_t have = i == SIZE_MAX ? 0 : s->slots[i].n;
	struct cand_rec *copy;

	if (n == 0) {
		if (i != SIZE_MAX)
			remove_at(s, i);
		return 0;
	}
	if (n > s->per_peer)
		return -E2BIG;
	if (s->count - have + n > s->max_total)
		return -ENOSPC;
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, cands, n * sizeof(*copy));
	if (i == SIZE_MAX) {
		if (grow(s) < 0) {
			free(copy);
			return -ENOMEM;
		}
		struct slot fresh = { .used = true };
		memcpy(fresh.key, key, WG_KEY_LEN);
		place(s, &fresh);
		i = find(s, key);
		s->used++;
	}
	free(s->slots[i].cands);
	s->slots[i].cands = copy;
	s->count = s->count - have + n;
	s->slots[i].n = (uint8_t)n;
	s->slots[i].expires_ms = expires_ms;
	return 0;
}

/* Drop expired entries. */
size_t cand_store_expire(struct cand_store *s, uint64_t now_ms)
{
	size_t dropped = 0;

	for (size_t i = 0; s->slots && i <= s->mask;) {
		if (s->slots[i].used && s->slots[i].expires_ms <= now_ms) {
			/* The shift may move an unvisited entry into i: look at i again. */
			remove_at(s, i);
			dropped++;
			continue;
		}
		i++;
	}
	return dropped;
}

/* Live candidates of key. */
const struct cand_rec *cand_store_get(const struct cand_store *s, const uint8_t key[WG_KEY_LEN], uint64_t now_ms,
				      size_t *n)
{
	size_t i = find(s, key);

	*n = 0;
	if (i == SIZE_MAX || s->slots[i].expires_ms <= now_ms)
		return NULL;
	*n = s->slots[i].n;
	return s->slots[i].cands;
}

/* Keys stored. */
size_t cand_store_peers(const struct cand_store *s)
{
	return s->used;
}

/* Candidates stored. */
size_t cand_store_count(const struct cand_store *s)
{
	return s->count;
}

/* Bytes held. */
size_t cand_store_bytes(const struct cand_store *s)
{
	return sizeof(*s) + (s->slots ? (s->mask + 1) * sizeof(struct slot) : 0) + s->count * sizeof(struct cand_rec);
}
