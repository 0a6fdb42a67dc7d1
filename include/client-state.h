/* SPDX-License-Identifier: MIT */
/*
 * Client role, mesh membership: the peers one [client DEV] section added,
 * kept in memory and in a small text file under the state directory, so
 * that wgsd removes only peers it can show it added, across restarts.
 *
 * File format (version 1), one record per line, '#' starts a comment line:
 *
 *   wgsd-members 1 DEVICE
 *   peer BASE64KEY ADDED_AT CIDR[,CIDR...]
 *
 * ADDED_AT is the wall-clock second of the addition; the CIDRs are the
 * allowed IPs wgsd gave the peer. The parser takes the file as untrusted:
 * anything it does not expect (a wrong header or device, an unknown line,
 * a bad key or prefix, a duplicate key, a NUL byte, an overlong line or
 * file) refuses the whole file. Functions return 0 or -errno, never log.
 */
#ifndef WGSD_CLIENT_STATE_H
#define WGSD_CLIENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "key.h"

struct strbuf;

#define CLIENT_STATE_VERSION 1
#define CLIENT_STATE_MAX_BYTES (16u << 20)   /* larger files are refused */
#define CLIENT_STATE_MAX_PEERS 100000
#define CLIENT_STATE_MAX_ALLOWED 256         /* allowed IPs per peer */
#define CLIENT_STATE_LINE_MAX (256 + CLIENT_STATE_MAX_ALLOWED * CIDR_STRLEN)

/* A peer that wgsd added. */
struct client_state_peer {
	uint8_t key[WG_KEY_LEN];
	int64_t added_at;                 /* wall clock, seconds */
	struct cidr *allowed;             /* as given to the device, sorted */
	size_t n_allowed;
	/* In memory only: the absence count of client_members_absence_step(). */
	bool absent;
	uint64_t absent_since_ms;         /* monotonic */
	bool listed;                      /* listed by some registry in the last complete cycle */
};

/* The peers one section added, sorted by key. */
struct client_state {
	struct client_state_peer *peers;
	size_t n_peers;
	size_t cap_peers;
};

/* Write DIR/client-DEVICE.members into out. 0 or -ENAMETOOLONG. */
int client_state_path(const char *dir, const char *device, char *out, size_t len);
/*
 * Parse a state file's text (len bytes, NUL bytes refused) for device into
 * out (emptied first). Returns 0, -EBADMSG with *line set to the first
 * offending line (0: the file as a whole, e.g. no header or too large),
 * or -ENOMEM. On failure out is left empty.
 */
int client_state_parse(const char *text, size_t len, const char *device, struct client_state *out,
		       unsigned int *line);
/* Append the file text for st to out. */
void client_state_format(const struct client_state *st, const char *device, struct strbuf *out);
/* Read and parse path: as client_state_parse, plus -ENOENT (no file: nothing added yet), -EFBIG, -errno. */
int client_state_load(const char *path, const char *device, struct client_state *out, unsigned int *line);
/* Write st to path atomically (temporary file, fsync, rename). 0 or -errno. */
int client_state_save(const char *path, const char *device, const struct client_state *st);

/* Find a peer by key; NULL when absent. */
struct client_state_peer *client_state_find(const struct client_state *st, const uint8_t key[WG_KEY_LEN]);
/* Add a peer (allowed IPs copied and sorted). 0, -EEXIST, -EINVAL (n 0 or too many) or -ENOMEM. */
int client_state_add(struct client_state *st, const uint8_t key[WG_KEY_LEN], const struct cidr *allowed,
		     size_t n, int64_t added_at);
/* Forget a peer (absent is fine). */
void client_state_del(struct client_state *st, const uint8_t key[WG_KEY_LEN]);
/* Free everything. */
void client_state_clear(struct client_state *st);

#endif
