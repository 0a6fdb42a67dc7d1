/* SPDX-License-Identifier: MIT */
/*
 * Userspace WireGuard over the cross-platform UAPI socket (DIR/DEV.sock):
 * a pure incremental parser of the "get=1" reply, the "set=1" request
 * builder, and non-blocking socket glue on libevent used by wg.c.
 */
#ifndef WGSD_WG_UAPI_H
#define WGSD_WG_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"
#include "wg.h"

/* Longest reply line accepted ("allowed_ip=" plus a full IPv6 prefix is far shorter). */
#define WG_UAPI_LINE_MAX 512

/* Results of wg_uapi_parser_feed() besides -errno. */
enum {
	WG_UAPI_MORE = 0,   /* all input consumed, the reply goes on */
	WG_UAPI_DONE = 1,   /* the reply ended with "errno=0" and a blank line */
};

/* Incremental parser of one UAPI reply. */
struct wg_uapi_parser {
	struct wg_device *dev;          /* NULL when parsing the reply to a set */
	char line[WG_UAPI_LINE_MAX];    /* the unfinished line carried between feeds */
	size_t line_len;
	bool in_peer;                   /* a public_key= line started a peer */
	bool have_errno;
	int err;                        /* value of errno=, negated */
	bool done;
};

/* Start parsing a reply into dev (NULL for the reply to a set). */
void wg_uapi_parser_init(struct wg_uapi_parser *p, struct wg_device *dev);
/* Zero the parser's line buffer (it may have held a key). */
void wg_uapi_parser_clear(struct wg_uapi_parser *p);
/*
 * Feed len bytes of the reply. Key values in data are zeroed in place once
 * parsed (the caller should still zero its buffer). Returns WG_UAPI_MORE,
 * WG_UAPI_DONE (*used = bytes consumed up to the blank line) or -errno:
 * -EBADMSG for a malformed reply, or the error of an "errno=" line.
 */
int wg_uapi_parser_feed(struct wg_uapi_parser *p, char *data, size_t len, size_t *used);
/* The reply ended early (EOF): returns -EBADMSG unless it was complete. */
int wg_uapi_parser_finish(const struct wg_uapi_parser *p);

/* Append the "get=1" request to sb. */
void wg_uapi_build_get(struct strbuf *sb);
/* Append a "set=1" request changing one peer as update->change says (see wg_set_peer) to sb. */
void wg_uapi_build_set_peer(struct strbuf *sb, const struct wg_peer_update *update);

/* Derive a Curve25519 public key from a private key (RFC 7748 X25519 with base point 9). */
void wg_uapi_public_from_private(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);

/* UAPI socket directory: $WGSD_UAPI_DIR or WG_UAPI_DIR_DEFAULT. */
const char *wg_uapi_dir(void);
/* Write DIR/ifname.sock into buf; 0 or -ENAMETOOLONG. */
int wg_uapi_socket_path(const char *ifname, char *buf, size_t len);
/* True when the UAPI socket of ifname exists. */
bool wg_uapi_socket_exists(const char *ifname);

/* One operation on a UAPI socket. */
struct wg_uapi_op;
/* Completion: dev is set (and owned by the callee) for a successful get. */
typedef void (*wg_uapi_done_cb)(int err, struct wg_device *dev, void *arg);

/* Start reading ifname over its UAPI socket; NULL with errno set on failure. */
struct wg_uapi_op *wg_uapi_get(struct event_base *base, const char *ifname, wg_uapi_done_cb cb,
			       void *arg);
/* Start updating one peer of ifname; NULL with errno set on failure. */
struct wg_uapi_op *wg_uapi_set_peer(struct event_base *base, const char *ifname,
				    const struct wg_peer_update *update, wg_uapi_done_cb cb, void *arg);
/* Stop an operation without calling back and free it. */
void wg_uapi_cancel(struct wg_uapi_op *op);

#endif
