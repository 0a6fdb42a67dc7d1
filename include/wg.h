/* SPDX-License-Identifier: MIT */
/*
 * WireGuard device access: one narrow seam (get a device, set one peer's
 * endpoint) over two backends, the kernel's generic netlink family (libmnl)
 * and the cross-platform userspace UAPI socket (/var/run/wireguard/DEV.sock).
 *
 * Every operation is asynchronous on the caller's libevent loop and ends in
 * exactly one callback. Functions return 0 or -errno and never log.
 */
#ifndef WGSD_WG_H
#define WGSD_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "addr.h"
#include "key.h"

struct event_base;

enum wg_backend {
	WG_BACKEND_AUTO = 0,   /* UAPI socket present -> userspace, else kernel */
	WG_BACKEND_KERNEL,
	WG_BACKEND_USERSPACE,
};

/* Directory of userspace UAPI sockets. Overridable for tests with WGSD_UAPI_DIR. */
#define WG_UAPI_DIR_DEFAULT "/var/run/wireguard"

struct wg_peer {
	uint8_t public_key[WG_KEY_LEN];
	union sockaddr_any endpoint;       /* sa.sa_family == AF_UNSPEC: no endpoint */
	int64_t last_handshake_sec;        /* 0 (both fields): never */
	int64_t last_handshake_nsec;
	uint16_t persistent_keepalive;     /* seconds, 0 = off */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	struct cidr *allowed_ips;
	size_t n_allowed_ips;
	size_t cap_allowed_ips;
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;                  /* 0 when the backend does not know it */
	uint16_t listen_port;
	uint32_t fwmark;
	bool has_public_key;
	uint8_t public_key[WG_KEY_LEN];    /* the private key is never stored */
	enum wg_backend backend;           /* backend that produced this reading */
	struct wg_peer *peers;
	size_t n_peers;
	size_t cap_peers;
};

/*
 * Error values used by the backends (negative errno):
 *   -ENODEV           device does not exist
 *   -EACCES / -EPERM  no permission (netlink or UAPI socket)
 *   -EPROTONOSUPPORT  kernel has no "wireguard" generic netlink family (module not loaded)
 *   -EBADMSG          malformed reply from the kernel or the UAPI peer
 *   -ETIMEDOUT        the operation did not finish within its time limit
 *   -ECANCELED        the operation was cancelled (callback is NOT called then)
 *   other             errno reported by the kernel or by the UAPI "errno=" line
 */
/* Human text for a backend error (negative errno). */
const char *wg_strerror(int err);
/* "auto", "kernel" or "userspace". */
const char *wg_backend_name(enum wg_backend b);
/* Parse a backend name; 0 or -EINVAL. */
int wg_backend_parse(const char *name, enum wg_backend *out);

/* Allocate an empty device. NULL on ENOMEM. */
struct wg_device *wg_device_new(void);
/* Free a device and its peers (NULL is fine). */
void wg_device_free(struct wg_device *dev);
/* Append a zeroed peer; returns it or NULL on ENOMEM. Pointers into dev->peers are invalidated. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev);
/* Append an allowed IP to a peer; 0 or -ENOMEM. */
int wg_peer_add_allowed_ip(struct wg_peer *peer, const struct cidr *c);

/* Shared state of the backends on one loop: cached netlink socket and family id, queued ops. */
struct wg_ctx;
/* An operation in flight. */
struct wg_op;

/* Called once when a device read finishes. On success err == 0 and dev is owned by the callee. */
typedef void (*wg_get_cb)(int err, struct wg_device *dev, void *arg);
/* Called once when a set finishes; err 0 or negative errno. */
typedef void (*wg_set_cb)(int err, void *arg);

/* Create the backend context on base; NULL on ENOMEM. */
struct wg_ctx *wg_ctx_new(struct event_base *base);
/* Cancel every pending operation (their callbacks are not called) and free the context. */
void wg_ctx_free(struct wg_ctx *ctx);
/* Time limit for one operation, in milliseconds (default 5000). */
void wg_ctx_set_timeout(struct wg_ctx *ctx, unsigned int timeout_ms);

/* Start reading device ifname. Returns the op, or NULL with errno set if it could not start. */
struct wg_op *wg_get_device(struct wg_ctx *ctx, const char *ifname, enum wg_backend backend,
			    wg_get_cb cb, void *arg);

/* What a wg_set_peer() does to the peer named by its key. */
enum wg_peer_change {
	WG_PEER_UPDATE = 0,   /* an existing peer only: a missing one is not created */
	WG_PEER_CREATE,       /* create the peer with exactly allowed_ips (see below) */
	WG_PEER_REMOVE,       /* remove the peer; the other fields are ignored */
};

/* Most allowed IPs one WG_PEER_CREATE carries (they must fit one netlink request). */
#define WG_PEER_MAX_ALLOWED_IPS 512

/* What wg_set_peer() changes on one peer; anything else is left as it is. */
struct wg_peer_update {
	uint8_t public_key[WG_KEY_LEN];
	union sockaddr_any endpoint;   /* AF_UNSPEC: leave endpoint unchanged */
	int persistent_keepalive;      /* -1: leave unchanged; 0..65535: set */
	enum wg_peer_change change;    /* zero: WG_PEER_UPDATE */
	const struct cidr *allowed_ips; /* WG_PEER_CREATE: the peer's allowed IPs (copied by wg_set_peer) */
	size_t n_allowed_ips;
};

/*
 * Start changing one peer.
 *  - WG_PEER_UPDATE: a peer that no longer exists is not re-created
 *    (kernel WGPEER_F_UPDATE_ONLY, UAPI update_only=true).
 *  - WG_PEER_CREATE: the peer is created with its allowed IPs replaced by
 *    allowed_ips (kernel WGPEER_F_REPLACE_ALLOWEDIPS, UAPI
 *    replace_allowed_ips=true). Neither interface can refuse a key that
 *    exists already: such a peer would be changed, so callers check just
 *    before. WireGuard moves an allowed IP that another peer holds to this
 *    one, so callers also check for overlaps.
 *  - WG_PEER_REMOVE: kernel WGPEER_F_REMOVE_ME, UAPI remove=true; removing
 *    a missing peer succeeds.
 * Fails with EINVAL for a bad keepalive, endpoint family, change, or more
 * than WG_PEER_MAX_ALLOWED_IPS allowed IPs.
 */
struct wg_op *wg_set_peer(struct wg_ctx *ctx, const char *ifname, enum wg_backend backend,
			  const struct wg_peer_update *update, wg_set_cb cb, void *arg);

/* Cancel an operation; its callback is not called. */
void wg_op_cancel(struct wg_op *op);

/* Blocking helpers for tools, tests and benchmarks (never call them from the daemon loop). */
int wg_get_device_sync(const char *ifname, enum wg_backend backend, struct wg_device **out);
int wg_set_peer_sync(const char *ifname, enum wg_backend backend, const struct wg_peer_update *update);

#endif
