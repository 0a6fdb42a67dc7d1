/* SPDX-License-Identifier: MIT */
/* WireGuard device access: device model, backend choice, time limits, sync helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "wg.h"
#include "wg-nl.h"
#include "wg-uapi.h"

#define WG_DEFAULT_TIMEOUT_MS 5000

struct wg_ctx {
	struct event_base *base;
	unsigned int timeout_ms;
	struct wg_nl *nl;                  /* created on first kernel operation */
	TAILQ_HEAD(, wg_op) ops;
};

struct wg_op {
	TAILQ_ENTRY(wg_op) entry;
	struct wg_ctx *ctx;
	enum wg_backend backend;           /* resolved: kernel or userspace */
	bool auto_backend;                 /* chosen by WG_BACKEND_AUTO */
	char ifname[IFNAMSIZ];
	wg_get_cb get_cb;
	wg_set_cb set_cb;
	void *arg;
	struct event *timer;               /* time limit, and deferred start failures */
	int early_err;                     /* reported by the timer when nonzero */
	struct wg_nl_op *nl_op;
	struct wg_uapi_op *uapi_op;
};

/* Text for an error value. */
const char *wg_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENODEV:
		return "WireGuard device not found";
	case -EACCES:
	case -EPERM:
		return "permission denied (needs CAP_NET_ADMIN or access to the UAPI socket)";
	case -EPROTONOSUPPORT:
		return "kernel WireGuard not available (module not loaded)";
	case -EBADMSG:
		return "malformed reply from WireGuard";
	case -ETIMEDOUT:
		return "WireGuard operation timed out";
	case -ECANCELED:
		return "WireGuard operation cancelled";
	case -EOPNOTSUPP:
		return "interface is not a WireGuard device";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

/* Name of a backend. */
const char *wg_backend_name(enum wg_backend b)
{
	switch (b) {
	case WG_BACKEND_KERNEL:
		return "kernel";
	case WG_BACKEND_USERSPACE:
		return "userspace";
	case WG_BACKEND_AUTO:
	default:
		return "auto";
	}
}

/* Parse "auto", "kernel" or "userspace". */
int wg_backend_parse(const char *name, enum wg_backend *out)
{
	if (strcmp(name, "auto") == 0)
		*out = WG_BACKEND_AUTO;
	else if (strcmp(name, "kernel") == 0)
		*out = WG_BACKEND_KERNEL;
	else if (strcmp(name, "userspace") == 0)
		*out = WG_BACKEND_USERSPACE;
	else
		return -EINVAL;
	return 0;
}

/* Allocate an empty device. */
struct wg_device *wg_device_new(void)
{
	return calloc(1, sizeof(struct wg_device));
}

/* Free a device and its peers. */
void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		free(dev->peers[i].allowed_ips);
	free(dev->peers);
	explicit_bzero(dev, sizeof(*dev));
	free(dev);
}

/* Append a zeroed peer, doubling the array when full. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev)
{
	if (dev->n_peers == dev->cap_peers) {
		size_t cap = dev->cap_peers ? dev->cap_peers * 2 : 8;
		struct wg_peer *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return NULL;
		p = realloc(dev->peers, cap * sizeof(*p));
		if (!p)
			return NULL;
		dev->peers = p;
		dev->cap_peers = cap;
	}
	struct wg_peer *peer = &dev->peers[dev->n_peers++];
	memset(peer, 0, sizeof(*peer));
	return peer;
}

/* Append an allowed IP, doubling the array when full. */
int wg_peer_add_allowed_ip(struct wg_peer *peer, const struct cidr *c)
{
	if (peer->n_allowed_ips == peer->cap_allowed_ips) {
		size_t cap = peer->cap_allowed_ips ? peer->cap_allowed_ips * 2 : 4;
		struct cidr *a;

		if (cap > SIZE_MAX / sizeof(*a))
			return -ENOMEM;
		a = realloc(peer->allowed_ips, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		peer->allowed_ips = a;
		peer->cap_allowed_ips = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = *c;
	return 0;
}

/* Create the context. */
struct wg_ctx *wg_ctx_new(struct event_base *base)
{
	struct wg_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->base = base;
	ctx->timeout_ms = WG_DEFAULT_TIMEOUT_MS;
	TAILQ_INIT(&ctx->ops);
	return ctx;
}

/* Release an operation's resources (backend part, timer, list entry). */
static void wg_op_release(struct wg_op *op)
{
	if (op->nl_op)
		wg_nl_cancel(op->nl_op);
	if (op->uapi_op)
		wg_uapi_cancel(op->uapi_op);
	if (op->timer)
		event_free(op->timer);
	TAILQ_REMOVE(&op->ctx->ops, op, entry);
	free(op);
}

/* Cancel everything and free the context. */
void wg_ctx_free(struct wg_ctx *ctx)
{
	struct wg_op *op;

	if (!ctx)
		return;
	while ((op = TAILQ_FIRST(&ctx->ops)))
		wg_op_release(op);
	wg_nl_free(ctx->nl);
	free(ctx);
}

/* Set the time limit of new operations. */
void wg_ctx_set_timeout(struct wg_ctx *ctx, unsigned int timeout_ms)
{
	ctx->timeout_ms = timeout_ms ? timeout_ms : 1;
}

/* Finish op: free it first, then call back (the callback may free the context). */
static void wg_op_finish(struct wg_op *op, int err, struct wg_device *dev)
{
	wg_get_cb get_cb = op->get_cb;
	wg_set_cb set_cb = op->set_cb;
	void *arg = op->arg;

	/* AUTO found no UAPI socket and the kernel has no WireGuard: no such device anywhere. */
	if (err == -EPROTONOSUPPORT && op->auto_backend)
		err = -ENODEV;
	if (err == 0 && dev)
		dev->backend = op->backend;
	wg_op_release(op);
	if (get_cb) {
		if (err) {
			wg_device_free(dev);
			dev = NULL;
		}
		get_cb(err, dev, arg);
	} else {
		wg_device_free(dev);
		set_cb(err, arg);
	}
}

/* Backend completion. */
static void wg_op_backend_done_cb(int err, struct wg_device *dev, void *arg)
{
	struct wg_op *op = arg;

	/* The backend freed its part before calling back. */
	op->nl_op = NULL;
	op->uapi_op = NULL;
	if (err == 0 && dev && dev->name[0] == '\0')
		memcpy(dev->name, op->ifname, sizeof(dev->name));
	wg_op_finish(op, err, dev);
}

/* Time limit reached, or a start failure being reported from the loop. */
static void wg_op_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wg_op *op = arg;

	wg_op_finish(op, op->early_err ? op->early_err : -ETIMEDOUT, NULL);
}

/* True when ifname is usable as an interface name and a socket file name. */
static bool wg_ifname_valid(const char *ifname)
{
	size_t len = ifname ? strlen(ifname) : 0;

	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (ifname[i] == '/' || ifname[i] <= ' ' || ifname[i] == ':')
			return false;
	return true;
}

/* Common start of an operation: choose the backend, arm the time limit, start the backend. */
static struct wg_op *wg_op_start(struct wg_ctx *ctx, const char *ifname, enum wg_backend backend,
				 const struct wg_peer_update *update, wg_get_cb get_cb,
				 wg_set_cb set_cb, void *arg)
{
	struct wg_op *op = NULL;
	int err = 0;

	if (!wg_ifname_valid(ifname)) {
		errno = EINVAL;
		return NULL;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		errno = ENOMEM;
		return NULL;
	}
	op->ctx = ctx;
	op->get_cb = get_cb;
	op->set_cb = set_cb;
	op->arg = arg;
	memcpy(op->ifname, ifname, strlen(ifname) + 1);
	TAILQ_INSERT_TAIL(&ctx->ops, op, entry);
	op->timer = evtimer_new(ctx->base, wg_op_timer_cb, op);
	if (!op->timer) {
		err = ENOMEM;
		goto fail;
	}
	if (backend == WG_BACKEND_AUTO) {
		op->auto_backend = true;
		backend = wg_uapi_socket_exists(ifname) ? WG_BACKEND_USERSPACE : WG_BACKEND_KERNEL;
	}
	op->backend = backend;
	if (backend == WG_BACKEND_USERSPACE) {
		op->uapi_op = update ? wg_uapi_set_peer(ctx->base, ifname, update, wg_op_backend_done_cb, op)
				     : wg_uapi_get(ctx->base, ifname, wg_op_backend_done_cb, op);
		if (!op->uapi_op)
			op->early_err = -errno;
	} else {
		if (!ctx->nl && !(ctx->nl = wg_nl_new(ctx->base))) {
			err = ENOMEM;
			goto fail;
		}
		op->nl_op = update ? wg_nl_set_peer(ctx->nl, ifname, update, wg_op_backend_done_cb, op)
				   : wg_nl_get(ctx->nl, ifname, wg_op_backend_done_cb, op);
		if (!op->nl_op)
			op->early_err = -errno;
	}
	if (op->early_err == -ENOMEM) {
		err = ENOMEM;
		goto fail;
	}
	if (op->early_err) {
		/* Report device-level failures through the callback, from the loop. */
		event_active(op->timer, EV_TIMEOUT, 0);
	} else {
		struct timeval tv = { ctx->timeout_ms / 1000, (ctx->timeout_ms % 1000) * 1000 };
		evtimer_add(op->timer, &tv);
	}
	return op;
fail:
	wg_op_release(op);
	errno = err;
	return NULL;
}

/* Start reading a device. */
struct wg_op *wg_get_device(struct wg_ctx *ctx, const char *ifname, enum wg_backend backend,
			    wg_get_cb cb, void *arg)
{
	return wg_op_start(ctx, ifname, backend, NULL, cb, NULL, arg);
}

/* Start updating one peer. */
struct wg_op *wg_set_peer(struct wg_ctx *ctx, const char *ifname, enum wg_backend backend,
			  const struct wg_peer_update *update, wg_set_cb cb, void *arg)
{
	if (!update || update->persistent_keepalive < -1 || update->persistent_keepalive > 65535 ||
	    (update->endpoint.sa.sa_family != AF_UNSPEC && update->endpoint.sa.sa_family != AF_INET &&
	     update->endpoint.sa.sa_family != AF_INET6) ||
	    (update->change != WG_PEER_UPDATE && update->change != WG_PEER_CREATE &&
	     update->change != WG_PEER_REMOVE) ||
	    update->n_allowed_ips > WG_PEER_MAX_ALLOWED_IPS ||
	    (update->n_allowed_ips && !update->allowed_ips)) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < update->n_allowed_ips; i++) {
		const struct cidr *c = &update->allowed_ips[i];

		if (!((c->family == AF_INET && c->prefix <= 32) || (c->family == AF_INET6 && c->prefix <= 128))) {
			errno = EINVAL;
			return NULL;
		}
	}
	return wg_op_start(ctx, ifname, backend, update, NULL, cb, arg);
}

/* Cancel an operation without calling back. */
void wg_op_cancel(struct wg_op *op)
{
	if (op)
		wg_op_release(op);
}

/* Result slot of a sync helper. */
struct wg_sync {
	bool done;
	int err;
	struct wg_device *dev;
};

/* Sync get completion. */
static void wg_sync_get_cb(int err, struct wg_device *dev, void *arg)
{
	struct wg_sync *s = arg;

	s->done = true;
	s->err = err;
	s->dev = dev;
}

/* Sync set completion. */
static void wg_sync_set_cb(int err, void *arg)
{
	struct wg_sync *s = arg;

	s->done = true;
	s->err = err;
}

/* Run one operation on a private loop until it finishes. */
static int wg_sync_run(const char *ifname, enum wg_backend backend,
		       const struct wg_peer_update *update, struct wg_device **out)
{
	struct wg_sync s = { 0 };
	struct event_base *base = event_base_new();
	struct wg_ctx *ctx = NULL;
	struct wg_op *op;
	int err;

	if (!base) {
		err = -ENOMEM;
		goto out;
	}
	ctx = wg_ctx_new(base);
	if (!ctx) {
		err = -ENOMEM;
		goto out;
	}
	op = update ? wg_set_peer(ctx, ifname, backend, update, wg_sync_set_cb, &s)
		    : wg_get_device(ctx, ifname, backend, wg_sync_get_cb, &s);
	if (!op) {
		err = -errno;
		goto out;
	}
	/* The op always holds its timer, so the loop never runs out of events before it ends. */
	while (!s.done)
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			break;
	err = s.done ? s.err : -EIO;
	if (out && err == 0) {
		*out = s.dev;
		s.dev = NULL;
	}
out:
	wg_device_free(s.dev);
	wg_ctx_free(ctx);
	if (base)
		event_base_free(base);
	return err;
}

/* Read a device, blocking. */
int wg_get_device_sync(const char *ifname, enum wg_backend backend, struct wg_device **out)
{
	*out = NULL;
	return wg_sync_run(ifname, backend, NULL, out);
}

/* Update one peer, blocking. */
int wg_set_peer_sync(const char *ifname, enum wg_backend backend, const struct wg_peer_update *update)
{
	if (!update)
		return -EINVAL;
	return wg_sync_run(ifname, backend, update, NULL);
}
