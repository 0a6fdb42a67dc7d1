/* SPDX-License-Identifier: MIT */
/*
 * Port-mapping glue. One struct portmap_dev per WireGuard device, held by
 * the [client DEV] sections that name it (two at once while a reload
 * restarts a section: the mapping stays). Its state machine:
 *
 *   wait-port / no-gateway  --(port and gateway known)-->  probing
 *   probing   --ok-->  mapped      --fail-->  next protocol, or failed
 *   mapped    --(half the lifetime)-->  renewing  --ok-->  mapped
 *   renewing  --fail-->  mapped (retry while the lease lasts), else probing
 *   failed    --(backoff)-->  probing
 *
 * A new listen port or default gateway deletes the mapping and starts
 * over; so does the last holder leaving (then without starting over).
 * A renewal whose epoch says the router lost its state (RFC 6887 8.5, the
 * UPnP connection uptime likewise) has re-created the mapping: it is
 * logged and counted. Every change of the public endpoint goes to the
 * newest holder's callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <event2/event.h>

#include "clock.h"
#include "gateway-watch.h"
#include "log.h"
#include "portmap.h"
#include "portmap-natpmp.h"
#include "portmap-pcp.h"
#include "portmap-pcp-client.h"
#include "portmap-upnp.h"
#include "strbuf.h"

#define RETRY_MIN_MS 30000u
#define RETRY_MAX_MS 600000u
#define RENEW_MIN_MS 1000u
#define RENEW_RETRY_MAX_MS 30000u
#define REOPEN_MS 30000u

enum proto { PROTO_PCP = 0, PROTO_NATPMP, PROTO_UPNP, NPROTO };

static const char *const proto_names[NPROTO] = { "pcp", "natpmp", "upnp" };
static const char *const proto_titles[NPROTO] = { "PCP", "NAT-PMP", "UPnP IGD" };

enum pm_state { ST_WAIT_PORT = 0, ST_NO_GATEWAY, ST_PROBING, ST_MAPPED, ST_RENEWING, ST_FAILED };

static const char *const state_names[] = {
	[ST_WAIT_PORT] = "waiting-for-listen-port",
	[ST_NO_GATEWAY] = "no-gateway",
	[ST_PROBING] = "probing",
	[ST_MAPPED] = "mapped",
	[ST_RENEWING] = "renewing",
	[ST_FAILED] = "failed",
};

struct portmap_dev;

struct portmap {
	struct portmap_dev *dev;
	struct portmap *next;
	portmap_change_cb cb;
	void *arg;
};

struct portmap_dev {
	struct portmap_ctx *ctx;
	struct portmap_dev *next;
	char device[IFNAMSIZ];
	enum portmap_mode mode;
	uint32_t lifetime_s;
	struct portmap *holders;       /* newest first */
	uint16_t port;
	bool have_gw;
	struct gateway gw;
	enum pm_state state;
	int proto;                     /* protocol of the attempt, or of the mapping */
	int first_proto, last_proto;
	struct portmap_pcp_client *pcp;
	struct portmap_natpmp *natpmp;
	struct portmap_upnp *upnp;
	bool mapped;
	struct portmap_result cur;
	time_t mapped_wall;
	uint64_t expires_ms;           /* 0: the lease does not expire */
	uint64_t next_ms;              /* when the timer fires */
	struct portmap_pcp_epoch epoch;
	struct event *timer;
	struct event *notify_ev;
	unsigned int retry_ms;
	char errors[NPROTO][160];      /* each protocol's last failure */
	char last_error[200];
	time_t last_error_wall;
	char failed_round[3 * 170];    /* the last all-failed round, logged only when it changes */
	bool private_noted;
	uint64_t mappings, renewals, failures[NPROTO], epoch_resets, external_changes;
};

struct portmap_ctx {
	struct event_base *base;
	struct gateway_watch *gw;
	int gw_err;
	struct event *reopen;
	struct portmap_dev *devs;
};

static void dev_attempt(struct portmap_dev *d);
static void dev_start(struct portmap_dev *d);

/* Arm the device's timer ms from now. */
static void dev_arm(struct portmap_dev *d, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	d->next_ms = clock_monotonic_ms() + ms;
	evtimer_add(d->timer, &tv);
}

/* Tell the newest holder where the device can be reached now (NULL: nowhere). */
static void dev_notify(struct portmap_dev *d)
{
	struct portmap *h = d->holders;

	if (h && h->cb)
		h->cb(d->mapped ? &d->cur.external : NULL, h->arg);
}

/* A deferred notification for a holder that joined a device already mapped. */
static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dev_notify(arg);
}

/* Drop every exchange in flight. */
static void dev_cancel(struct portmap_dev *d)
{
	if (d->pcp)
		portmap_pcp_client_cancel(d->pcp);
	if (d->natpmp)
		portmap_natpmp_cancel(d->natpmp);
	if (d->upnp)
		portmap_upnp_cancel(d->upnp);
	evtimer_del(d->timer);
	d->next_ms = 0;
}

/*
 * Forget the mapping; with delete, ask the router to remove it: every
 * driver that was used deletes what it made or was still asking for (an
 * answer may be on its way). Tells the holder.
 */
static void dev_drop(struct portmap_dev *d, bool delete)
{
	bool had = d->mapped;
	char ext[ADDR_STRLEN];

	if (delete) {
		if (d->pcp)
			portmap_pcp_client_delete(d->pcp);
		if (d->natpmp)
			portmap_natpmp_delete(d->natpmp);
		if (d->upnp)
			portmap_upnp_delete(d->upnp);
		if (had)
			log_info("%s: port mapping %s deleted (%s)", d->device,
				 addr_format(&d->cur.external, ext, sizeof(ext)), proto_titles[d->proto]);
	}
	dev_cancel(d);
	d->mapped = false;
	d->expires_ms = 0;
	if (had)
		dev_notify(d);
}

/* True for an address behind another NAT: RFC 1918, shared (100.64/10) or link-local. */
static bool addr_is_private_v4(const union sockaddr_any *a)
{
	const uint8_t *b = (const uint8_t *)&a->in.sin_addr;

	return a->sa.sa_family == AF_INET &&
	       (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
		(b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 169 && b[1] == 254));
}

/* A successful create or renew. */
static void dev_mapped(struct portmap_dev *d, const struct portmap_result *r)
{
	uint64_t now = clock_monotonic_ms(), delay;
	char ext[ADDR_STRLEN], in[ADDR_STRLEN], old[ADDR_STRLEN];
	bool was = d->mapped, reset = false, moved;

	if (r->has_epoch)
		reset = portmap_pcp_epoch_update(&d->epoch, r->epoch_s, now);
	moved = !was || !addr_equal(&d->cur.external, &r->external);
	addr_format(&r->external, ext, sizeof(ext));
	addr_format(&r->internal, in, sizeof(in));
	if (!was) {
		d->mappings++;
		d->mapped_wall = time(NULL);
		log_info("%s: port mapping with %s at %s: %s -> %s, lifetime %u s", d->device, proto_titles[d->proto],
			 r->server, ext, in, r->lifetime_s);
	} else {
		d->renewals++;
		if (reset) {
			d->epoch_resets++;
			log_warnx("%s: the router %s lost its state (restarted?); port mapping %s re-created", d->device,
				  r->server, ext);
		} else {
			log_debug("%s: port mapping %s renewed, lifetime %u s", d->device, ext, r->lifetime_s);
		}
		if (moved) {
			d->external_changes++;
			log_info("%s: the router's public endpoint changed from %s to %s", d->device,
				 addr_format(&d->cur.external, old, sizeof(old)), ext);
		}
	}
	if (addr_is_private_v4(&r->external) && !d->private_noted) {
		d->private_noted = true;
		log_warnx("%s: the router's public address %s is private: another NAT is in front of it, and the mapping helps only behind that one",
			  d->device, ext);
	}
	d->cur = *r;
	d->mapped = true;
	d->state = ST_MAPPED;
	d->retry_ms = 0;
	d->failed_round[0] = '\0';
	d->expires_ms = r->lifetime_s ? now + (uint64_t)r->lifetime_s * 1000 : 0;
	/* Renew at half the lifetime (RFC 6887 11.2.1); a lease without end is re-asserted as often. */
	delay = (uint64_t)(r->lifetime_s ? r->lifetime_s : d->lifetime_s) * 1000 / 2;
	dev_arm(d, delay > RENEW_MIN_MS ? delay : RENEW_MIN_MS);
	if (moved)
		dev_notify(d);
}

/* Every protocol of the mode failed: report the round once, try again later. */
static void dev_round_failed(struct portmap_dev *d)
{
	char round[sizeof(d->failed_round)];
	size_t len = 0;

	round[0] = '\0';
	for (int p = d->first_proto; p <= d->last_proto; p++)
		len += (size_t)snprintf(round + len, sizeof(round) > len ? sizeof(round) - len : 0, "%s%s: %s",
					len ? "; " : "", proto_titles[p], d->errors[p]);
	if (strcmp(round, d->failed_round) != 0) {
		log_warnx("%s: no port mapping: %s", d->device, round);
		snprintf(d->failed_round, sizeof(d->failed_round), "%s", round);
	}
	d->state = ST_FAILED;
	if (!d->retry_ms) {
		d->retry_ms = d->lifetime_s * 1000u / 2;
		if (d->retry_ms > RETRY_MIN_MS || d->retry_ms == 0)
			d->retry_ms = RETRY_MIN_MS;
	} else {
		d->retry_ms = d->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : d->retry_ms * 2;
	}
	dev_arm(d, d->retry_ms);
}

/* The end of an exchange with protocol p. */
static void dev_result(struct portmap_dev *d, int p, const struct portmap_result *r)
{
	uint64_t now = clock_monotonic_ms();

	if (p != d->proto || (d->state != ST_PROBING && d->state != ST_RENEWING))
		return;
	if (r->err == 0) {
		dev_mapped(d, r);
		return;
	}
	d->failures[p]++;
	snprintf(d->errors[p], sizeof(d->errors[p]), "%s", r->detail[0] ? r->detail : strerror(-r->err));
	snprintf(d->last_error, sizeof(d->last_error), "%s: %s", proto_names[p], d->errors[p]);
	d->last_error_wall = time(NULL);
	if (d->mapped) {
		/* A renewal failed: try again while the lease lasts. */
		if (d->expires_ms && now + 2 * RENEW_MIN_MS < d->expires_ms) {
			uint64_t left = d->expires_ms - now, delay = left / 2;

			log_info("%s: renewing the port mapping with %s failed: %s; retrying", d->device,
				 proto_titles[p], d->errors[p]);
			d->state = ST_MAPPED;
			dev_arm(d, delay < RENEW_RETRY_MAX_MS ? delay : RENEW_RETRY_MAX_MS);
			return;
		}
		log_warnx("%s: port mapping lost: renewing with %s failed: %s", d->device, proto_titles[p], d->errors[p]);
		dev_drop(d, false);
		dev_start(d);
		return;
	}
	if (d->proto < d->last_proto) {
		log_info("%s: port mapping with %s failed: %s; trying %s", d->device, proto_titles[p], d->errors[p],
			 proto_titles[d->proto + 1]);
		d->proto++;
		d->epoch.valid = false;
		dev_attempt(d);
		return;
	}
	dev_round_failed(d);
}

/* PCP exchange ended. */
static void pcp_cb(const struct portmap_result *r, void *arg)
{
	dev_result(arg, PROTO_PCP, r);
}

/* NAT-PMP exchange ended. */
static void natpmp_cb(const struct portmap_result *r, void *arg)
{
	dev_result(arg, PROTO_NATPMP, r);
}

/* UPnP exchange ended. */
static void upnp_cb(const struct portmap_result *r, void *arg)
{
	dev_result(arg, PROTO_UPNP, r);
}

/* Start an exchange with protocol p (its driver created on first use). 0 or -errno. */
static int dev_driver_map(struct portmap_dev *d, int p, const struct portmap_req *req)
{
	struct event_base *base = d->ctx->base;

	switch (p) {
	case PROTO_PCP:
		if (!d->pcp && !(d->pcp = portmap_pcp_client_new(base, pcp_cb, d)))
			return -ENOMEM;
		return portmap_pcp_client_map(d->pcp, req);
	case PROTO_NATPMP:
		if (!d->natpmp && !(d->natpmp = portmap_natpmp_new(base, natpmp_cb, d)))
			return -ENOMEM;
		return portmap_natpmp_map(d->natpmp, req);
	default:
		if (!d->upnp && !(d->upnp = portmap_upnp_new(base, upnp_cb, d)))
			return -ENOMEM;
		return portmap_upnp_map(d->upnp, req);
	}
}

/* Create (or renew, when mapped) with the current protocol. */
static void dev_attempt(struct portmap_dev *d)
{
	struct portmap_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	memcpy(req.gateway, d->gw.addr, 4);
	req.internal_port = d->port;
	req.external_port = d->mapped ? addr_port(&d->cur.external) : d->port;
	req.lifetime_s = d->lifetime_s;
	req.timeout_ms = PORTMAP_REQUEST_TIMEOUT_MS;
	snprintf(req.desc, sizeof(req.desc), "wgsd %s", d->device);
	d->state = d->mapped ? ST_RENEWING : ST_PROBING;
	rc = dev_driver_map(d, d->proto, &req);
	if (rc < 0) {
		struct portmap_result r;

		memset(&r, 0, sizeof(r));
		r.err = rc;
		snprintf(r.detail, sizeof(r.detail), "cannot start: %s", strerror(-rc));
		dev_result(d, d->proto, &r);
	}
}

/* Start over from the first protocol, if the port and the gateway are known. */
static void dev_start(struct portmap_dev *d)
{
	dev_cancel(d);
	if (!d->port) {
		d->state = ST_WAIT_PORT;
		return;
	}
	if (!d->have_gw) {
		d->state = ST_NO_GATEWAY;
		return;
	}
	d->proto = d->first_proto;
	d->epoch.valid = false;
	for (int p = 0; p < NPROTO; p++)
		d->errors[p][0] = '\0';
	dev_attempt(d);
}

/* Renewal or retry time. */
static void dev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap_dev *d = arg;

	(void)fd;
	(void)what;
	d->next_ms = 0;
	if (d->state == ST_MAPPED)
		dev_attempt(d);
	else if (d->state == ST_FAILED)
		dev_start(d);
}

/* The default gateway is now gw (NULL: none). */
static void dev_set_gateway(struct portmap_dev *d, const struct gateway *gw)
{
	char a[INET_ADDRSTRLEN];

	if ((gw != NULL) == d->have_gw && (!gw || gateway_equal(gw, &d->gw)))
		return;
	if (d->mapped)
		log_info("%s: the default gateway is now %s: re-creating the port mapping", d->device,
			 gw ? inet_ntop(AF_INET, gw->addr, a, sizeof(a)) : "gone");
	dev_drop(d, true);
	d->have_gw = gw != NULL;
	if (gw)
		d->gw = *gw;
	d->retry_ms = 0;
	dev_start(d);
}

/* The routing table says the default gateway changed. */
static void ctx_gateway_cb(const struct gateway *gw, int err, void *arg)
{
	struct portmap_ctx *ctx = arg;

	if (err && err != ctx->gw_err)
		log_warnx("port mapping: cannot read the routing table: %s", strerror(-err));
	ctx->gw_err = err;
	if (err)
		return;   /* keep what we knew: mappings are not dropped for a failed reading */
	for (struct portmap_dev *d = ctx->devs, *next; d; d = next) {
		next = d->next;
		dev_set_gateway(d, gw);
	}
}

/* Open the routing-table watch when a device needs it. */
static void ctx_open_watch(struct portmap_ctx *ctx)
{
	int rc;

	if (ctx->gw || !ctx->devs)
		return;
	rc = gateway_watch_new(ctx->base, ctx_gateway_cb, ctx, &ctx->gw);
	if (rc < 0) {
		struct timeval tv = { REOPEN_MS / 1000, 0 };

		if (rc != ctx->gw_err)
			log_warnx("port mapping: cannot watch the routing table: %s", strerror(-rc));
		ctx->gw_err = rc;
		evtimer_add(ctx->reopen, &tv);
	}
}

/* Try opening the watch again. */
static void ctx_reopen_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ctx_open_watch(arg);
}

/* Create the context. */
struct portmap_ctx *portmap_ctx_new(struct event_base *base)
{
	struct portmap_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->base = base;
	ctx->reopen = evtimer_new(base, ctx_reopen_cb, ctx);
	if (!ctx->reopen) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

/* Free a device's state (no holders left). */
static void dev_free(struct portmap_dev *d)
{
	struct portmap_dev **pp;

	dev_drop(d, true);
	for (pp = &d->ctx->devs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	portmap_pcp_client_free(d->pcp);
	portmap_natpmp_free(d->natpmp);
	portmap_upnp_free(d->upnp);
	if (d->timer)
		event_free(d->timer);
	if (d->notify_ev)
		event_free(d->notify_ev);
	free(d);
}

/* Free the context. */
void portmap_ctx_free(struct portmap_ctx *ctx)
{
	if (!ctx)
		return;
	while (ctx->devs) {
		struct portmap_dev *d = ctx->devs;

		while (d->holders) {
			struct portmap *h = d->holders;

			d->holders = h->next;
			free(h);
		}
		dev_free(d);
	}
	gateway_watch_free(ctx->gw);
	event_free(ctx->reopen);
	free(ctx);
}

/* Use the protocol range of mode. */
static void dev_set_mode(struct portmap_dev *d, enum portmap_mode mode, uint32_t lifetime_s)
{
	d->mode = mode;
	d->lifetime_s = lifetime_s;
	switch (mode) {
	case PORTMAP_PCP:
		d->first_proto = d->last_proto = PROTO_PCP;
		break;
	case PORTMAP_NATPMP:
		d->first_proto = d->last_proto = PROTO_NATPMP;
		break;
	case PORTMAP_UPNP:
		d->first_proto = d->last_proto = PROTO_UPNP;
		break;
	default:
		d->first_proto = PROTO_PCP;
		d->last_proto = PROTO_UPNP;
		break;
	}
}

/* A new device state, linked into ctx. */
static struct portmap_dev *dev_new(struct portmap_ctx *ctx, const char *device)
{
	struct portmap_dev *d = calloc(1, sizeof(*d));
	const struct gateway *gw;

	if (!d)
		return NULL;
	d->ctx = ctx;
	snprintf(d->device, sizeof(d->device), "%s", device);
	d->timer = evtimer_new(ctx->base, dev_timer_cb, d);
	d->notify_ev = evtimer_new(ctx->base, notify_cb, d);
	if (!d->timer || !d->notify_ev) {
		if (d->timer)
			event_free(d->timer);
		if (d->notify_ev)
			event_free(d->notify_ev);
		free(d);
		return NULL;
	}
	gw = ctx->gw ? gateway_watch_get(ctx->gw, NULL) : NULL;
	if (gw) {
		d->have_gw = true;
		d->gw = *gw;
	}
	d->state = ST_WAIT_PORT;
	d->next = ctx->devs;
	ctx->devs = d;
	return d;
}

/* Take hold of a device's mapping. */
struct portmap *portmap_new(struct portmap_ctx *ctx, const char *device, enum portmap_mode mode,
			    uint32_t lifetime_s, portmap_change_cb cb, void *arg)
{
	struct portmap *h = calloc(1, sizeof(*h));
	struct portmap_dev *d;

	if (!h)
		return NULL;
	for (d = ctx->devs; d && strcmp(d->device, device) != 0; d = d->next)
		;
	if (!d) {
		d = dev_new(ctx, device);
		if (!d) {
			free(h);
			return NULL;
		}
		dev_set_mode(d, mode, lifetime_s);
	} else if (d->mode != mode || d->lifetime_s != lifetime_s) {
		/* A reload changed how: delete and start over with the new settings. */
		dev_drop(d, true);
		dev_set_mode(d, mode, lifetime_s);
		d->retry_ms = 0;
		dev_start(d);
	} else if (d->mapped) {
		static const struct timeval now = { 0, 0 };

		evtimer_add(d->notify_ev, &now);
	}
	h->dev = d;
	h->cb = cb;
	h->arg = arg;
	h->next = d->holders;
	d->holders = h;
	ctx_open_watch(ctx);
	return h;
}

/* Release a hold. */
void portmap_free(struct portmap *pm)
{
	struct portmap_dev *d;
	struct portmap **pp;

	if (!pm)
		return;
	d = pm->dev;
	for (pp = &d->holders; *pp; pp = &(*pp)->next) {
		if (*pp == pm) {
			*pp = pm->next;
			break;
		}
	}
	free(pm);
	if (d->holders)
		return;
	struct portmap_ctx *ctx = d->ctx;
	dev_free(d);
	if (!ctx->devs) {
		/* Nothing to map any more: stop watching the routing table. */
		gateway_watch_free(ctx->gw);
		ctx->gw = NULL;
		ctx->gw_err = 0;
		evtimer_del(ctx->reopen);
	}
}

/* The device's listen port. */
void portmap_set_listen_port(struct portmap *pm, uint16_t port)
{
	struct portmap_dev *d;

	if (!pm || pm->dev->port == port)
		return;
	d = pm->dev;
	if (d->mapped)
		log_info("%s: listen port changed from %u to %u: re-creating the port mapping", d->device, d->port, port);
	dev_drop(d, true);
	d->port = port;
	d->retry_ms = 0;
	dev_start(d);
}

/* The mapped public endpoint. */
bool portmap_external(const struct portmap *pm, union sockaddr_any *out)
{
	if (!pm || !pm->dev->mapped)
		return false;
	*out = pm->dev->cur.external;
	return true;
}

/* Seconds from now until the monotonic time t (0 when past or unset). */
static long long secs_until(uint64_t t, uint64_t now)
{
	return t > now ? (long long)((t - now + 999) / 1000) : 0;
}

/* Append the status. */
void portmap_status_json(const struct portmap *pm, struct strbuf *out)
{
	const struct portmap_dev *d;
	uint64_t now = clock_monotonic_ms();
	char gw[INET_ADDRSTRLEN];
	int gw_err = 0;

	if (!pm) {
		strbuf_puts(out, "{\"mode\":\"off\"}");
		return;
	}
	d = pm->dev;
	if (d->ctx->gw)
		(void)gateway_watch_get(d->ctx->gw, &gw_err);
	else
		gw_err = d->ctx->gw_err;
	strbuf_printf(out, "{\"mode\":\"%s\",\"state\":\"%s\",\"protocol\":", config_portmap_mode_name(d->mode),
		      state_names[d->state]);
	if (d->mapped || d->state == ST_PROBING || d->state == ST_RENEWING)
		strbuf_printf(out, "\"%s\"", proto_names[d->proto]);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"gateway\":");
	strbuf_json_string(out, d->have_gw ? inet_ntop(AF_INET, d->gw.addr, gw, sizeof(gw)) : NULL);
	strbuf_puts(out, ",\"gateway_error\":");
	strbuf_json_string(out, gw_err ? strerror(-gw_err) : NULL);
	strbuf_printf(out, ",\"listen_port\":%u,\"server\":", d->port);
	strbuf_json_string(out, d->mapped ? d->cur.server : NULL);
	strbuf_puts(out, ",\"internal\":");
	strbuf_json_addr(out, d->mapped ? &d->cur.internal : &(union sockaddr_any){ 0 });
	strbuf_puts(out, ",\"external\":");
	strbuf_json_addr(out, d->mapped ? &d->cur.external : &(union sockaddr_any){ 0 });
	strbuf_printf(out, ",\"external_private\":%s", d->mapped && addr_is_private_v4(&d->cur.external) ? "true" : "false");
	if (d->mapped)
		strbuf_printf(out, ",\"lifetime_s\":%u,\"lifetime_left_s\":%lld,\"mapped_at\":%lld", d->cur.lifetime_s,
			      d->expires_ms ? secs_until(d->expires_ms, now) : -1LL, (long long)d->mapped_wall);
	else
		strbuf_puts(out, ",\"lifetime_s\":null,\"lifetime_left_s\":null,\"mapped_at\":null");
	strbuf_printf(out, ",\"requested_lifetime_s\":%u,\"next_action_in_s\":", d->lifetime_s);
	if (d->next_ms)
		strbuf_printf(out, "%lld", secs_until(d->next_ms, now));
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"last_error\":");
	strbuf_json_string(out, d->last_error[0] ? d->last_error : NULL);
	strbuf_puts(out, ",\"last_error_at\":");
	if (d->last_error_wall)
		strbuf_printf(out, "%lld", (long long)d->last_error_wall);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"errors\":{");
	for (int p = 0; p < NPROTO; p++) {
		strbuf_printf(out, "%s\"%s\":", p ? "," : "", proto_names[p]);
		strbuf_json_string(out, d->errors[p][0] ? d->errors[p] : NULL);
	}
	uint64_t failures = 0;
	for (int p = 0; p < NPROTO; p++)
		failures += d->failures[p];
	strbuf_printf(out, "},\"mappings\":%llu,\"renewals\":%llu,\"failures\":%llu,\"epoch_resets\":%llu,\"external_changes\":%llu}",
		      (unsigned long long)d->mappings, (unsigned long long)d->renewals, (unsigned long long)failures,
		      (unsigned long long)d->epoch_resets, (unsigned long long)d->external_changes);
}

/* Write a metric's HELP and TYPE lines. */
static void metric_head(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Append Prometheus metrics. */
void portmap_metrics(const struct portmap_ctx *ctx, struct strbuf *out)
{
	uint64_t now = clock_monotonic_ms();

	if (!ctx || !ctx->devs)
		return;
	metric_head(out, "wgsd_client_portmap_mapped", "gauge", "1 while the router maps a public port to the device.");
	for (const struct portmap_dev *d = ctx->devs; d; d = d->next)
		strbuf_printf(out, "wgsd_client_portmap_mapped{device=\"%s\",protocol=\"%s\"} %d\n", d->device,
			      d->mapped ? proto_names[d->proto] : "none", d->mapped);
	metric_head(out, "wgsd_client_portmap_mappings_total", "counter", "Port mappings created.");
	for (const struct portmap_dev *d = ctx->devs; d; d = d->next)
		strbuf_printf(out, "wgsd_client_portmap_mappings_total{device=\"%s\"} %llu\n", d->device,
			      (unsigned long long)d->mappings);
	metric_head(out, "wgsd_client_portmap_renewals_total", "counter", "Port mappings renewed.");
	for (const struct portmap_dev *d = ctx->devs; d; d = d->next)
		strbuf_printf(out, "wgsd_client_portmap_renewals_total{device=\"%s\"} %llu\n", d->device,
			      (unsigned long long)d->renewals);
	metric_head(out, "wgsd_client_portmap_failures_total", "counter", "Failed port-mapping exchanges, by protocol.");
	for (const struct portmap_dev *d = ctx->devs; d; d = d->next)
		for (int p = 0; p < NPROTO; p++)
			strbuf_printf(out, "wgsd_client_portmap_failures_total{device=\"%s\",protocol=\"%s\"} %llu\n",
				      d->device, proto_names[p], (unsigned long long)d->failures[p]);
	metric_head(out, "wgsd_client_portmap_epoch_resets_total", "counter",
		    "Renewals that found the router had lost its state (and re-created the mapping).");
	for (const struct portmap_dev *d = ctx->devs; d; d = d->next)
		strbuf_printf(out, "wgsd_client_portmap_epoch_resets_total{device=\"%s\"} %llu\n", d->device,
			      (unsigned long long)d->epoch_resets);
	metric_head(out, "wgsd_client_portmap_lifetime_seconds", "gauge", "Seconds left of the mapping's lease.");
	for (const struct portmap_dev *d = ctx->devs; d; d = d->next)
		if (d->mapped && d->expires_ms)
			strbuf_printf(out, "wgsd_client_portmap_lifetime_seconds{device=\"%s\"} %lld\n", d->device,
				      secs_until(d->expires_ms, now));
}

/* Wait for UPnP deletions at exit. */
void portmap_shutdown_wait(unsigned int timeout_ms)
{
	portmap_upnp_wait_all(timeout_ms);
}
