/* SPDX-License-Identifier: MIT */
/* Registry role glue: listeners, per-zone refresh timers, snapshot swaps, status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>

#include <event2/event.h>

#include "cand-store.h"
#include "clock.h"
#include "config.h"
#include "dns-answer.h"
#include "log.h"
#include "registry-listener.h"
#include "registry-tcp.h"
#include "registry-transfer.h"
#include "registry-udp.h"
#include "registry-update.h"
#include "registry.h"
#include "relay.h"
#include "strbuf.h"
#include "wg.h"
#include "zone.h"

#define REFUSED_LOG_SLOTS 256
#define REFUSED_LOG_INTERVAL_S 60
/*
 * Whatever the number of sources (spoofed ones cost nothing), refused queries
 * are logged at most this fast: a burst of REFUSED_LOG_BURST lines, then one
 * per REFUSED_LOG_RATE_MS. What the limit skips is counted and summed up in
 * one line REFUSED_LOG_SUMMARY_MS after the first skipped query.
 */
#define REFUSED_LOG_BURST 10
#define REFUSED_LOG_RATE_MS 1000
#define REFUSED_LOG_SUMMARY_MS 60000
#define ZONE_ERR_LEN 160

/* One listen address: a UDP and a TCP socket. */
struct reg_listener {
	union sockaddr_any addr;
	struct registry_udp *udp;
	struct registry_tcp *tcp;
};

enum reg_zone_state { ZONE_STARTING = 0, ZONE_OK, ZONE_FAILED };

/* One served zone: its configuration, refresh timer, and current snapshot. */
struct reg_zone {
	struct registry *reg;
	struct config_zone cfg;            /* deep copy */
	struct event *timer;
	struct wg_op *op;
	struct zone *snap;
	struct wg_device *reading;         /* device reading being built from; NULL: no build runs */
	struct zone_build *build;          /* the snapshot under construction; NULL once published */
	bool build_done;                   /* every peer is in: finish and publish next turn */
	struct event *build_ev;            /* runs the build slices */
	uint64_t build_start_us;           /* clock_monotonic_us() when the build began */
	unsigned int build_turns;          /* loop turns of the build so far */
	uint64_t last_build_us;            /* wall time of the last build, read done to swap */
	unsigned int last_build_turns;     /* its loop turns, the swap's included */
	enum reg_zone_state state;
	char error[ZONE_ERR_LEN];          /* last read error, "" when none */
	enum wg_backend backend;           /* backend of the last successful read */
	uint64_t snap_time_ms;             /* clock_monotonic_ms() of the last successful read, 0: none */
	uint64_t reads;
	uint64_t read_errors;
	bool ptr_overflow;                 /* PTR listing larger than 65535 bytes */
	struct registry_transfer_zone *xfr; /* zone transfers: history, NOTIFY, secondaries */
	struct cand_store *cands;          /* registered candidates, published with the next snapshot */
	uint64_t updates[RU_WHY_MAX];      /* UPDATEs for this zone, by verdict */
};

/* Last time a refused source was logged. */
struct refused_slot {
	union sockaddr_any addr;
	time_t when;
};

struct registry {
	struct event_base *base;
	struct wg_ctx *wg;
	struct reg_listener *listeners;
	size_t n_listeners;
	struct reg_zone **zones;
	struct zone **snaps;               /* zones[i]->snap, the array dns_answer() walks */
	struct registry_transfer_zone **xzones; /* zones[i]->xfr, index for index with snaps */
	size_t n_zones;
	struct registry_transfer *transfer; /* TSIG keys and transfer counters */
	enum access_mode access;
	struct cidr *access_cidrs;
	size_t n_access_cidrs;
	uint32_t ttl;
	uint16_t edns_size;
	unsigned int tcp_max_conns;
	unsigned int tcp_idle_timeout_ms;
	unsigned int cand_per_peer;
	unsigned int cand_max;
	uint32_t cand_lease_max_s;
	uint64_t updates_no_zone[RU_WHY_MAX];   /* UPDATEs that named no served zone or were malformed */
	struct refused_slot refused_log[REFUSED_LOG_SLOTS];
	uint64_t refused_credit_ms;        /* token bucket: REFUSED_LOG_RATE_MS per line */
	uint64_t refused_credit_time_ms;   /* monotonic time of the last refill */
	uint64_t refused_unlogged;         /* skipped by the rate limit since the last summary */
	struct event *refused_timer;       /* writes the summary */
	void (*loaded_cb)(void *arg);      /* once: every zone has left the starting state */
	void *loaded_arg;
	struct relay *relay;               /* [relay], NULL without */
};

/* Counter slot of a query type. */
static enum registry_qtype qtype_slot(uint16_t qtype)
{
	switch (qtype) {
	case DNS_TYPE_A: return REG_QTYPE_A;
	case DNS_TYPE_AAAA: return REG_QTYPE_AAAA;
	case DNS_TYPE_SRV: return REG_QTYPE_SRV;
	case DNS_TYPE_TXT: return REG_QTYPE_TXT;
	case DNS_TYPE_PTR: return REG_QTYPE_PTR;
	case DNS_TYPE_SOA: return REG_QTYPE_SOA;
	case DNS_TYPE_NS: return REG_QTYPE_NS;
	case DNS_TYPE_ANY: return REG_QTYPE_ANY;
	default: return REG_QTYPE_OTHER;
	}
}

/* Counter slot of a response code. */
static enum registry_rcode rcode_slot(uint16_t rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR: return REG_RCODE_NOERROR;
	case DNS_RCODE_FORMERR: return REG_RCODE_FORMERR;
	case DNS_RCODE_SERVFAIL: return REG_RCODE_SERVFAIL;
	case DNS_RCODE_NXDOMAIN: return REG_RCODE_NXDOMAIN;
	case DNS_RCODE_NOTIMP: return REG_RCODE_NOTIMP;
	case DNS_RCODE_BADVERS: return REG_RCODE_BADVERS;
	default: return REG_RCODE_REFUSED;
	}
}

/* Slot of a source address in the refused-log table. */
static size_t refused_hash(const union sockaddr_any *a)
{
	const uint8_t *p;
	size_t n, h = 2166136261u;

	if (a->sa.sa_family == AF_INET) {
		p = (const uint8_t *)&a->in.sin_addr;
		n = 4;
	} else {
		p = (const uint8_t *)&a->in6.sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % REFUSED_LOG_SLOTS;
}

/* Log how many refused queries the rate limit skipped, and start counting again. */
static void refused_summary(struct registry *reg)
{
	if (reg->refused_unlogged == 0)
		return;
	log_info("registry: %llu refused queries not logged (more than %d messages at once, then one per %d ms)",
		 (unsigned long long)reg->refused_unlogged, REFUSED_LOG_BURST, REFUSED_LOG_RATE_MS);
	reg->refused_unlogged = 0;
}

/* Summary timer. */
static void refused_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	refused_summary(arg);
}

/* Take one line from the global token bucket; false (counted for the summary) when empty. */
static bool refused_take(struct registry *reg)
{
	uint64_t now = clock_monotonic_ms();

	reg->refused_credit_ms += now - reg->refused_credit_time_ms;
	reg->refused_credit_time_ms = now;
	if (reg->refused_credit_ms > REFUSED_LOG_BURST * REFUSED_LOG_RATE_MS)
		reg->refused_credit_ms = REFUSED_LOG_BURST * REFUSED_LOG_RATE_MS;
	if (reg->refused_credit_ms >= REFUSED_LOG_RATE_MS) {
		reg->refused_credit_ms -= REFUSED_LOG_RATE_MS;
		return true;
	}
	if (reg->refused_unlogged++ == 0) {
		struct timeval tv = { REFUSED_LOG_SUMMARY_MS / 1000, (REFUSED_LOG_SUMMARY_MS % 1000) * 1000 };
		evtimer_add(reg->refused_timer, &tv);
	}
	return false;
}

/* Log a refused message (what: why), at most once per source per minute and within the global rate limit. */
static void log_refused_text(struct registry *reg, const struct dns_client *cl, const char *what, time_t now)
{
	struct refused_slot *s = &reg->refused_log[refused_hash(cl->src)];
	char src[ADDR_STRLEN];

	if (addr_same_ip(&s->addr, cl->src) && now - s->when < REFUSED_LOG_INTERVAL_S)
		return;
	/* A source skipped here is not remembered: it is logged on a later query once the limit allows. */
	if (!refused_take(reg))
		return;
	s->addr = *cl->src;
	s->when = now;
	log_info("registry: refused %s %s from %s: %s (at most one message per source per minute)",
		 cl->tcp ? "TCP" : "UDP", strncmp(what, "UPDATE", 6) == 0 ? "update" : "query",
		 addr_format(cl->src, src, sizeof(src)), what);
}

/* Log a refused query (why: a transfer's own reason, or NULL). */
static void log_refused(struct registry *reg, const struct dns_client *cl, const struct dns_answer_info *info,
			const char *why, time_t now)
{
	log_refused_text(reg, cl, why ? why : info->refused_access ? "access denied" :
			 info->zone >= 0 ? "zone transfer" : "not in a served zone", now);
}

/*
 * An UPDATE (candidate registration): judged by registry-update.c, applied
 * to the zone's candidate table, published with the zone's next snapshot.
 */
static size_t answer_update(struct registry *reg, struct registry_stats *stats, const struct dns_client *cl,
			    const uint8_t *msg, size_t len, uint8_t *out, size_t cap, time_t now)
{
	struct registry_update_env env = {
		.zones = reg->snaps, .n_zones = reg->n_zones,
		.per_peer = reg->cand_per_peer, .lease_max_s = reg->cand_lease_max_s,
	};
	struct registry_update u;
	char what[64];
	size_t n;

	registry_update_parse(&env, cl, msg, len, &u);
	if (u.rcode == DNS_RCODE_NOERROR) {
		struct reg_zone *rz = reg->zones[u.zone];
		int r = cand_store_set(rz->cands, u.key, u.cands, u.n, clock_monotonic_ms() + (uint64_t)u.lease_s * 1000);
		if (r == -ENOSPC || r == -E2BIG) {
			u.why = r == -ENOSPC ? RU_ZONE_FULL : RU_TOO_MANY;
			u.rcode = DNS_RCODE_REFUSED;
		} else if (r < 0) {
			u.why = RU_SERVFAIL;
			u.rcode = DNS_RCODE_SERVFAIL;
		} else {
			char k[12];
			key_short(u.key, k);
			log_debug("zone %s: peer %s registered %zu candidates for %u s", rz->cfg.name, k, u.n, u.lease_s);
		}
	}
	if (u.zone >= 0)
		reg->zones[u.zone]->updates[u.why]++;
	else
		reg->updates_no_zone[u.why]++;
	stats->queries[REG_QTYPE_OTHER]++;
	n = registry_update_reply(msg, len, &u, out, cap);
	if (n == 0) {
		stats->rcodes[REG_RCODE_DROPPED]++;
		return 0;
	}
	stats->rcodes[rcode_slot(u.rcode)]++;
	if (u.rcode != DNS_RCODE_NOERROR) {
		if (u.rcode == DNS_RCODE_REFUSED)
			stats->refused++;
		snprintf(what, sizeof(what), "UPDATE %s", registry_update_why_name(u.why));
		log_refused_text(reg, cl, what, now);
	}
	return n;
}

/* A query arrived on a listener: answer it (a registry_answer_cb). */
static size_t listener_query_cb(void *arg, struct registry_stats *stats, const struct dns_client *cl,
				const uint8_t *query, size_t qlen, uint8_t *out, size_t cap,
				struct registry_stream **stream)
{
	struct registry *reg = arg;
	struct dns_answer_info info;
	time_t now = time(NULL);
	struct dns_answer_env env = {
		.zones = reg->snaps, .n_zones = reg->n_zones,
		.access = reg->access, .access_cidrs = reg->access_cidrs, .n_access_cidrs = reg->n_access_cidrs,
		.ttl = reg->ttl, .edns_size = reg->edns_size, .now = now,
		.relay = reg->relay ? relay_dns(reg->relay) : NULL,
	};
	struct registry_transfer_view view = { .snaps = reg->snaps, .zones = reg->xzones, .n = reg->n_zones };
	const char *why = NULL;
	size_t n;

	/* A candidate registration (DNS UPDATE) is judged apart from queries. */
	if (qlen >= DNS_HEADER_LEN && !(query[2] & 0x80) && ((query[2] >> 3) & 0x0f) == DNS_OPCODE_UPDATE)
		return answer_update(reg, stats, cl, query, qlen, out, cap, now);
	n = registry_transfer_answer(reg->transfer, &view, &env, cl, query, qlen, out, cap, stream, &info, &why);

	if (reg->relay && info.relay != DNS_RELAY_NONE)
		relay_count_query(reg->relay, info.relay);

	stats->queries[qtype_slot(info.qtype)]++;
	if (stream && *stream) {
		stats->rcodes[REG_RCODE_NOERROR]++;
		return 0;
	}
	if (n == 0) {
		stats->rcodes[REG_RCODE_DROPPED]++;
		return 0;
	}
	stats->rcodes[rcode_slot(info.rcode)]++;
	if (info.truncated)
		stats->truncated++;
	if (info.rcode == DNS_RCODE_REFUSED || why) {
		if (info.refused_access)
			stats->refused++;
		log_refused(reg, cl, &info, why, now);
	}
	return n;
}

/* Seconds (with fraction) since a clock_monotonic_ms() time. */
static double age_s(uint64_t t_ms)
{
	return (double)(clock_monotonic_ms() - t_ms) / 1e3;
}

/* Replace a zone's snapshot (the answer path sees the new one at once). */
static void zone_swap(struct reg_zone *rz, struct zone *snap)
{
	struct registry *reg = rz->reg;

	zone_free(rz->snap);
	rz->snap = snap;
	for (size_t i = 0; i < reg->n_zones; i++)
		if (reg->zones[i] == rz)
			reg->snaps[i] = snap;
}

/* Schedule the next device read. */
static void zone_schedule(struct reg_zone *rz, unsigned int delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	evtimer_add(rz->timer, &tv);
}

/* Drop a build (finished or not) and its reading. */
static void snapshot_build_reset(struct reg_zone *rz)
{
	if (rz->build_ev)
		event_del(rz->build_ev);
	zone_build_free(rz->build);
	wg_device_free(rz->reading);
	rz->build = NULL;
	rz->reading = NULL;
	rz->build_done = false;
}

/* Run the build callback on the next loop turn, after pending I/O. */
static void snapshot_build_later(struct reg_zone *rz)
{
	static const struct timeval zero = { 0, 0 };

	evtimer_add(rz->build_ev, &zero);
}

/* Call the loaded callback once no zone is still starting. */
static void registry_check_loaded(struct registry *reg)
{
	void (*cb)(void *) = reg->loaded_cb;

	if (!cb)
		return;
	for (size_t i = 0; i < reg->n_zones; i++)
		if (reg->zones[i]->state == ZONE_STARTING)
			return;
	reg->loaded_cb = NULL;
	cb(reg->loaded_arg);
}

/* A built snapshot replaces the current one. */
static void zone_publish(struct reg_zone *rz, struct zone *snap)
{
	/* Before anything reads the serial: transfers may move it, and record the change. */
	registry_transfer_publish(rz->xfr, rz->snap, snap, rz->reg->ttl, time(NULL));
	if (rz->state == ZONE_FAILED)
		log_info("zone %s: device %s readable again, %zu published", rz->cfg.name, rz->cfg.device,
			 snap->n_entries);
	else if (rz->snap && snap->serial != rz->snap->serial)
		log_debug("zone %s: published set changed, serial %u, %zu published", rz->cfg.name,
			  snap->serial, snap->n_entries);
	/* A configured self endpoint that no one can use: said once, while it lasts. */
	if (snap->self_unpublishable && (!rz->snap || rz->snap->self_unpublishable != snap->self_unpublishable))
		log_warnx("zone %s: self is not published: its endpoint is a %s", rz->cfg.name,
			  addr_endpoint_reason((enum addr_ep)snap->self_unpublishable));
	/* Header, question, and 71 bytes per PTR record must fit a TCP message. */
	bool overflow = 12 + 4 + 17 + snap->apex_len + 71 * snap->n_entries > DNS_TCP_MAX_SIZE;
	if (overflow && !rz->ptr_overflow)
		log_warnx("zone %s: %zu published entries do not fit one 65535-byte PTR answer; "
			  "the listing is truncated (TC=1) even over TCP", rz->cfg.name, snap->n_entries);
	rz->ptr_overflow = overflow;
	rz->state = ZONE_OK;
	rz->error[0] = '\0';
	rz->backend = rz->reading->backend;
	rz->snap_time_ms = clock_monotonic_ms();
	rz->last_build_us = clock_monotonic_us() - rz->build_start_us;
	rz->last_build_turns = rz->build_turns;
	zone_swap(rz, snap);
	registry_check_loaded(rz->reg);
}

/*
 * The build, one piece per loop turn so that queries are answered in
 * between: slices of peers (ZONE_BUILD_SLICE_US each) until all are in;
 * then a turn that finishes the snapshot and swaps it in (freeing the
 * previous one); then a turn that frees the device reading. Until the swap,
 * answers come from the previous snapshot. The next refresh is scheduled
 * once everything is freed, so reads never overlap.
 */
static void snapshot_build_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reg_zone *rz = arg;

	rz->build_turns++;
	if (rz->build && !rz->build_done) {
		int r = zone_build_run(rz->build, ZONE_BUILD_SLICE_US);
		if (r < 0) {
			log_warnx("zone %s: out of memory building a snapshot; keeping the previous one", rz->cfg.name);
			snapshot_build_reset(rz);
			zone_schedule(rz, rz->cfg.refresh_ms);
			return;
		}
		rz->build_done = r == 1;
		snapshot_build_later(rz);
	} else if (rz->build) {
		struct zone *snap = zone_build_finish(rz->build);
		rz->build = NULL;
		zone_publish(rz, snap);
		snapshot_build_later(rz);
	} else {
		snapshot_build_reset(rz);
		zone_schedule(rz, rz->cfg.refresh_ms);
	}
}

/* A device read finished: start building the next snapshot, or switch the zone to SERVFAIL. */
static void zone_read_cb(int err, struct wg_device *dev, void *arg)
{
	struct reg_zone *rz = arg;
	struct zone *snap;

	rz->op = NULL;
	rz->reads++;
	if (err) {
		rz->read_errors++;
		/*
		 * Out of descriptors or memory says nothing about the device: keep answering
		 * from the last snapshot (its age shows in status) instead of SERVFAIL.
		 */
		if (rz->state == ZONE_OK && (err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM)) {
			if (rz->error[0] == '\0')
				log_warnx("zone %s: device %s: %s; answering from the last snapshot", rz->cfg.name,
					  rz->cfg.device, wg_strerror(err));
			snprintf(rz->error, sizeof(rz->error), "device %s: %s", rz->cfg.device, wg_strerror(err));
			goto out;
		}
		snprintf(rz->error, sizeof(rz->error), "device %s: %s", rz->cfg.device, wg_strerror(err));
		if (rz->state != ZONE_FAILED) {
			log_warnx("zone %s: %s; answering SERVFAIL until it is readable", rz->cfg.name, rz->error);
			snap = zone_new(&rz->cfg, NULL, rz->snap, time(NULL));
			if (snap)
				zone_swap(rz, snap);
			rz->state = ZONE_FAILED;
			registry_check_loaded(rz->reg);
		}
		goto out;
	}
	/* The userspace backend does not know the interface index; access = peers needs it. */
	if (dev->ifindex == 0)
		dev->ifindex = if_nametoindex(rz->cfg.device);
	rz->build_start_us = clock_monotonic_us();
	rz->build_turns = 1;   /* this turn: the build's fixed part */
	rz->build = zone_build_new(&rz->cfg, dev, rz->snap, time(NULL));
	if (!rz->build) {
		log_warnx("zone %s: out of memory building a snapshot; keeping the previous one", rz->cfg.name);
		goto out;
	}
	/* Leases that ended leave now; the rest is published with this snapshot. */
	uint64_t now_ms = clock_monotonic_ms();
	cand_store_expire(rz->cands, now_ms);
	zone_build_set_cands(rz->build, rz->cands, now_ms);
	rz->reading = dev;
	rz->build_done = false;
	snapshot_build_later(rz);
	return;
out:
	wg_device_free(dev);
	zone_schedule(rz, rz->cfg.refresh_ms);
}

/* Refresh timer: start reading the device unless a read is still running. */
static void zone_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reg_zone *rz = arg;

	if (rz->op || rz->reading)
		return;
	rz->op = wg_get_device(rz->reg->wg, rz->cfg.device, rz->cfg.backend, zone_read_cb, rz);
	if (!rz->op)
		zone_read_cb(errno ? -errno : -EIO, NULL, rz);
}

/* Free a zone: cancel its read, stop its timer. */
static void reg_zone_free(struct reg_zone *rz)
{
	if (!rz)
		return;
	if (rz->op)
		wg_op_cancel(rz->op);
	snapshot_build_reset(rz);
	if (rz->build_ev)
		event_free(rz->build_ev);
	if (rz->timer)
		event_free(rz->timer);
	zone_free(rz->snap);
	registry_transfer_zone_free(rz->xfr);
	cand_store_free(rz->cands);
	config_zone_clear(&rz->cfg);
	free(rz);
}

/* Create a zone in the starting state (SERVFAIL until the first read) with its timer armed. */
static struct reg_zone *reg_zone_new(struct registry *reg, const struct config_zone *cz, struct strbuf *err)
{
	struct reg_zone *rz = calloc(1, sizeof(*rz));

	if (!rz)
		goto fail;
	rz->reg = reg;
	if (config_zone_copy(&rz->cfg, cz) < 0)
		goto fail;
	if (rz->cfg.refresh_ms < MIN_REFRESH_MS)
		rz->cfg.refresh_ms = rz->cfg.refresh_ms ? MIN_REFRESH_MS : DEFAULT_REFRESH_MS;
	rz->snap = zone_new(&rz->cfg, NULL, NULL, time(NULL));
	if (!rz->snap) {
		strbuf_printf(err, "zone %s: invalid zone or ns name, or out of memory", cz->name);
		reg_zone_free(rz);
		return NULL;
	}
	snprintf(rz->error, sizeof(rz->error), "device %s: not read yet", cz->device);
	rz->timer = evtimer_new(reg->base, zone_timer_cb, rz);
	rz->build_ev = evtimer_new(reg->base, snapshot_build_cb, rz);
	rz->xfr = registry_transfer_zone_new(reg->transfer, reg->base, &rz->cfg);
	rz->cands = cand_store_new(reg->cand_per_peer, reg->cand_max);
	if (!rz->timer || !rz->build_ev || !rz->xfr || !rz->cands)
		goto fail;
	zone_schedule(rz, 0);
	return rz;
fail:
	strbuf_printf(err, "zone %s: out of memory", cz->name);
	reg_zone_free(rz);
	return NULL;
}

/* Open the UDP and TCP sockets of one address. 0 or -errno with a message. */
static int listener_open(struct registry *reg, const struct config_registry *rc, const union sockaddr_any *addr,
			 struct reg_listener *l, struct strbuf *err)
{
	memset(l, 0, sizeof(*l));
	l->addr = *addr;
	l->udp = registry_udp_new(reg->base, addr, listener_query_cb, reg, err);
	if (!l->udp)
		return -errno;
	l->tcp = registry_tcp_new(reg->base, addr, rc->tcp_max_conns ? rc->tcp_max_conns : DEFAULT_TCP_MAX_CONNS,
				  rc->tcp_idle_timeout_ms ? rc->tcp_idle_timeout_ms : DEFAULT_TCP_IDLE_TIMEOUT_MS,
				  listener_query_cb, reg, err);
	if (!l->tcp) {
		int ret = -errno;
		registry_udp_free(l->udp);
		l->udp = NULL;
		return ret;
	}
	return 0;
}

/* Close a listener's sockets. */
static void listener_close(struct reg_listener *l)
{
	registry_udp_free(l->udp);
	registry_tcp_free(l->tcp);
	l->udp = NULL;
	l->tcp = NULL;
}

/* Close a listener's sockets but keep it (counters, open TCP connections) to bind again. */
static void listener_unbind(struct reg_listener *l)
{
	registry_udp_unbind(l->udp);
	registry_tcp_unbind(l->tcp);
}

/* Bind a listener's sockets again. 0 or -errno with a message. */
static int listener_rebind(struct reg_listener *l, struct strbuf *err)
{
	int ret = registry_udp_rebind(l->udp, err);

	if (ret == 0)
		ret = registry_tcp_rebind(l->tcp, err);
	return ret;
}

/*
 * A reload failed after unbinding some of the running listeners: bind them
 * again. One whose address was taken in the meantime cannot come back; it is
 * closed and dropped with a warning, the others keep answering.
 */
static void listeners_restore(struct registry *reg, const bool *unbound)
{
	size_t n = 0;
	char text[ADDR_STRLEN];

	for (size_t j = 0; j < reg->n_listeners; j++) {
		struct reg_listener *l = &reg->listeners[j];
		struct strbuf lerr = STRBUF_INIT;
		if (unbound[j] && listener_rebind(l, &lerr) < 0) {
			log_warnx("registry: %s; listener %s closed", strbuf_str(&lerr),
				  addr_format(&l->addr, text, sizeof(text)));
			listener_close(l);
		} else {
			reg->listeners[n++] = *l;
		}
		strbuf_free(&lerr);
	}
	reg->n_listeners = n;
}

/* Copy the registry-wide settings. 0 or -ENOMEM (nothing changed then). */
static int set_settings(struct registry *reg, const struct config_registry *rc)
{
	struct cidr *c = NULL;

	if (rc->n_access_cidrs) {
		c = malloc(rc->n_access_cidrs * sizeof(*c));
		if (!c)
			return -ENOMEM;
		memcpy(c, rc->access_cidrs, rc->n_access_cidrs * sizeof(*c));
	}
	free(reg->access_cidrs);
	reg->access_cidrs = c;
	reg->n_access_cidrs = rc->n_access_cidrs;
	reg->access = rc->access;
	reg->ttl = rc->ttl;
	reg->edns_size = rc->edns_size ? rc->edns_size : DEFAULT_EDNS_SIZE;
	reg->tcp_max_conns = rc->tcp_max_conns ? rc->tcp_max_conns : DEFAULT_TCP_MAX_CONNS;
	reg->tcp_idle_timeout_ms = rc->tcp_idle_timeout_ms ? rc->tcp_idle_timeout_ms : DEFAULT_TCP_IDLE_TIMEOUT_MS;
	reg->cand_per_peer = rc->cand_per_peer;
	reg->cand_max = rc->cand_max;
	reg->cand_lease_max_s = rc->cand_lease_max_ms ? rc->cand_lease_max_ms / 1000 : DEFAULT_CAND_LEASE_MAX_MS / 1000;
	return 0;
}

/*
 * Apply cfg by difference. New listeners and zones are created first; only
 * when all of them exist are the old ones that went away closed and the
 * arrays swapped, so a failure leaves the registry as it was. One exception:
 * a listener that goes away is unbound before the new ones are bound when it
 * has the family and port of one that comes, because Linux cannot bind the
 * wildcard and a specific address of one family on one port at once
 * (0.0.0.0:53 to 10.0.0.254:53, or back). If a new bind then fails, the
 * unbound listeners are bound again: their counters and open TCP connections
 * were kept, and only queries sent during the attempt are lost.
 */
int registry_apply(struct registry *reg, const struct config *cfg, struct strbuf *err)
{
	const struct config_registry *rc = &cfg->registry;
	struct reg_listener *nl = calloc(rc->n_listens ? rc->n_listens : 1, sizeof(*nl));
	struct reg_zone **nz = calloc(cfg->n_zones ? cfg->n_zones : 1, sizeof(*nz));
	struct zone **ns = calloc(cfg->n_zones ? cfg->n_zones : 1, sizeof(*ns));
	struct registry_transfer_zone **nx = calloc(cfg->n_zones ? cfg->n_zones : 1, sizeof(*nx));
	bool *kept_l = calloc(reg->n_listeners + 1, sizeof(*kept_l));
	bool *kept_z = calloc(reg->n_zones + 1, sizeof(*kept_z));
	bool *fresh_l = calloc(rc->n_listens + 1, sizeof(*fresh_l));
	bool *unbound_l = calloc(reg->n_listeners + 1, sizeof(*unbound_l));
	size_t *from_l = calloc(rc->n_listens + 1, sizeof(*from_l));   /* old index, n_listeners: new */
	size_t n_nl = 0;
	int ret = -ENOMEM;

	if (!nl || !nz || !ns || !nx || !kept_l || !kept_z || !fresh_l || !unbound_l || !from_l) {
		strbuf_puts(err, "registry: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < rc->n_listens; i++) {
		size_t j;
		for (j = 0; j < reg->n_listeners; j++)
			if (!kept_l[j] && addr_equal(&reg->listeners[j].addr, &rc->listens[i]))
				break;
		from_l[i] = j;
		if (j < reg->n_listeners)
			kept_l[j] = true;
	}
	for (size_t j = 0; j < reg->n_listeners; j++) {
		const union sockaddr_any *a = &reg->listeners[j].addr;
		for (size_t i = 0; !kept_l[j] && !unbound_l[j] && i < rc->n_listens; i++)
			if (from_l[i] == reg->n_listeners && rc->listens[i].sa.sa_family == a->sa.sa_family &&
			    addr_port(&rc->listens[i]) == addr_port(a)) {
				listener_unbind(&reg->listeners[j]);
				unbound_l[j] = true;
			}
	}
	for (size_t i = 0; i < rc->n_listens; i++) {
		if (from_l[i] < reg->n_listeners) {
			nl[n_nl++] = reg->listeners[from_l[i]];
			continue;
		}
		struct strbuf lerr = STRBUF_INIT;
		ret = listener_open(reg, rc, &rc->listens[i], &nl[n_nl], &lerr);
		if (ret < 0 && rc->listens_default && rc->listens[i].sa.sa_family == AF_INET6 &&
		    (ret == -EAFNOSUPPORT || ret == -EADDRNOTAVAIL)) {
			/* No "listen" configured and no IPv6 on this host: serve IPv4 only. */
			log_warnx("registry: %s; serving without the default IPv6 listener", strbuf_str(&lerr));
			strbuf_free(&lerr);
			continue;
		}
		strbuf_puts(err, strbuf_str(&lerr));
		strbuf_free(&lerr);
		if (ret < 0)
			goto fail;
		fresh_l[n_nl++] = true;
	}
	for (size_t i = 0; i < cfg->n_zones; i++) {
		size_t j;
		for (j = 0; j < reg->n_zones; j++)
			if (!kept_z[j] && config_zone_equal(&reg->zones[j]->cfg, &cfg->zones[i]))
				break;
		if (j < reg->n_zones) {
			nz[i] = reg->zones[j];
			kept_z[j] = true;
		} else if (!(nz[i] = reg_zone_new(reg, &cfg->zones[i], err))) {
			ret = -EINVAL;
			goto fail;
		}
		ns[i] = nz[i]->snap;
		nx[i] = nz[i]->xfr;
	}
	if ((ret = set_settings(reg, rc)) < 0 || (ret = registry_transfer_set_keys(reg->transfer, cfg->keys, cfg->n_keys)) < 0 ||
	    (ret = registry_transfer_set_listens(reg->transfer, rc->listens, rc->n_listens)) < 0) {
		strbuf_puts(err, "registry: out of memory");
		goto fail;
	}
	if (cfg->relay.enabled && !reg->relay && (ret = relay_new(reg->base, &cfg->relay, &reg->relay, err)) < 0)
		goto fail;
	/* Commit: a restarted zone answers from its old snapshot until its first read, not SERVFAIL. */
	for (size_t i = 0; i < cfg->n_zones; i++)
		for (size_t j = 0; j < reg->n_zones; j++)
			if (!kept_z[j] && nz[i] != reg->zones[j] && nz[i]->reads == 0 &&
			    strcmp(nz[i]->cfg.name, reg->zones[j]->cfg.name) == 0) {
				struct reg_zone *o = reg->zones[j];
				struct zone *t = nz[i]->snap;
				nz[i]->snap = o->snap;
				o->snap = t;
				nz[i]->state = o->state;
				nz[i]->backend = o->backend;
				nz[i]->snap_time_ms = o->snap_time_ms;
				nz[i]->last_build_us = o->last_build_us;
				nz[i]->last_build_turns = o->last_build_turns;
				nz[i]->ptr_overflow = o->ptr_overflow;
				/* The registrations stay with the zone: peers renew them only at half their lease. */
				struct cand_store *cs = nz[i]->cands;
				nz[i]->cands = o->cands;
				o->cands = cs;
				memcpy(nz[i]->updates, o->updates, sizeof(o->updates));
				snprintf(nz[i]->error, sizeof(nz[i]->error), "%s", o->error);
				ns[i] = nz[i]->snap;
			}
	if (reg->relay && cfg->relay.enabled) {
		relay_apply(reg->relay, &cfg->relay);
	} else if (reg->relay) {
		log_info("registry: [relay] removed; relay allocations dropped");
		relay_free(reg->relay);
		reg->relay = NULL;
	}
	/* Close what went away, keep the rest. */
	for (size_t j = 0; j < reg->n_listeners; j++)
		if (!kept_l[j])
			listener_close(&reg->listeners[j]);
	for (size_t j = 0; j < reg->n_zones; j++)
		if (!kept_z[j])
			reg_zone_free(reg->zones[j]);
	free(reg->listeners);
	free(reg->zones);
	free(reg->snaps);
	free(reg->xzones);
	reg->listeners = nl;
	reg->n_listeners = n_nl;
	reg->zones = nz;
	reg->snaps = ns;
	reg->xzones = nx;
	reg->n_zones = cfg->n_zones;
	for (size_t i = 0; i < reg->n_listeners; i++)
		registry_tcp_set_limits(reg->listeners[i].tcp, reg->tcp_max_conns, reg->tcp_idle_timeout_ms);
	for (size_t i = 0; i < reg->n_zones; i++)
		cand_store_set_limits(reg->zones[i]->cands, reg->cand_per_peer, reg->cand_max);
	ret = 0;
	goto out;
fail:
	for (size_t i = 0; i < n_nl; i++)
		if (fresh_l[i])
			listener_close(&nl[i]);
	if (unbound_l)
		listeners_restore(reg, unbound_l);
	for (size_t i = 0; nz && i < cfg->n_zones; i++) {
		bool old = false;
		for (size_t j = 0; nz[i] && j < reg->n_zones; j++)
			old = old || reg->zones[j] == nz[i];
		if (nz[i] && !old)
			reg_zone_free(nz[i]);
	}
	free(nl);
	free(nz);
	free(ns);
	free(nx);
out:
	free(kept_l);
	free(kept_z);
	free(fresh_l);
	free(unbound_l);
	free(from_l);
	return ret;
}

/* Create the registry. */
int registry_new(struct event_base *base, struct wg_ctx *wg, const struct config *cfg,
		 struct registry **out, struct strbuf *err)
{
	struct registry *reg = calloc(1, sizeof(*reg));
	int ret;

	*out = NULL;
	if (!reg) {
		strbuf_puts(err, "registry: out of memory");
		return -ENOMEM;
	}
	reg->base = base;
	reg->wg = wg;
	reg->refused_credit_ms = REFUSED_LOG_BURST * REFUSED_LOG_RATE_MS;
	reg->refused_credit_time_ms = clock_monotonic_ms();
	reg->refused_timer = evtimer_new(base, refused_timer_cb, reg);
	reg->transfer = registry_transfer_new();
	if (!reg->refused_timer || !reg->transfer) {
		strbuf_puts(err, "registry: out of memory");
		if (reg->refused_timer)
			event_free(reg->refused_timer);
		registry_transfer_free(reg->transfer);
		free(reg);
		return -ENOMEM;
	}
	ret = registry_apply(reg, cfg, err);
	if (ret < 0) {
		registry_free(reg);
		return ret;
	}
	*out = reg;
	return 0;
}

/* Call cb once, from the loop, when every zone has its first snapshot or has failed its first read. */
void registry_set_loaded_cb(struct registry *reg, void (*cb)(void *arg), void *arg)
{
	reg->loaded_cb = cb;
	reg->loaded_arg = arg;
}

/* Close everything. */
void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	refused_summary(reg);
	if (reg->refused_timer)
		event_free(reg->refused_timer);
	for (size_t i = 0; i < reg->n_listeners; i++)
		listener_close(&reg->listeners[i]);
	for (size_t i = 0; i < reg->n_zones; i++)
		reg_zone_free(reg->zones[i]);
	free(reg->listeners);
	free(reg->zones);
	free(reg->snaps);
	free(reg->xzones);
	free(reg->access_cidrs);
	relay_free(reg->relay);
	registry_transfer_free(reg->transfer);
	free(reg);
}

/* Name of a zone state. */
static const char *state_name(enum reg_zone_state s)
{
	return s == ZONE_OK ? "ok" : s == ZONE_FAILED ? "servfail" : "starting";
}

/* Name of the access mode. */
static const char *access_name(enum access_mode a)
{
	return a == ACCESS_ANY ? "any" : a == ACCESS_CIDR ? "cidr" : "peers";
}

/* Append one stats object. */
static void stats_json(struct strbuf *out, const struct registry_stats *s)
{
	strbuf_puts(out, "{\"queries\":{");
	for (int i = 0; i < REG_QTYPE_MAX; i++)
		strbuf_printf(out, "%s\"%s\":%llu", i ? "," : "", registry_listener_qtype_name((enum registry_qtype)i),
			      (unsigned long long)s->queries[i]);
	strbuf_puts(out, "},\"rcodes\":{");
	for (int i = 0; i < REG_RCODE_MAX; i++)
		strbuf_printf(out, "%s\"%s\":%llu", i ? "," : "", registry_listener_rcode_name((enum registry_rcode)i),
			      (unsigned long long)s->rcodes[i]);
	strbuf_printf(out, "},\"refused\":%llu,\"truncated\":%llu,\"send_errors\":%llu}",
		      (unsigned long long)s->refused, (unsigned long long)s->truncated,
		      (unsigned long long)s->send_errors);
}

/* Append the status JSON object. */
void registry_status_json(const struct registry *reg, struct strbuf *out)
{
	char buf[ADDR_STRLEN];

	strbuf_printf(out, "{\"access\":\"%s\",\"ttl\":%u,\"edns_size\":%u,\"listeners\":[",
		      access_name(reg->access), reg->ttl, reg->edns_size);
	for (size_t i = 0; i < reg->n_listeners; i++) {
		const struct reg_listener *l = &reg->listeners[i];
		const struct registry_stats *ts = registry_tcp_stats(l->tcp);
		strbuf_puts(out, i ? ",{\"address\":" : "{\"address\":");
		strbuf_json_string(out, addr_format(&l->addr, buf, sizeof(buf)));
		strbuf_puts(out, ",\"udp\":");
		stats_json(out, registry_udp_stats(l->udp));
		strbuf_puts(out, ",\"tcp\":");
		stats_json(out, ts);
		strbuf_printf(out, ",\"tcp_connections\":%zu,\"tcp_queued_bytes\":%zu,\"tcp_accepted\":%llu,"
			      "\"tcp_rejected_full\":%llu,\"tcp_closed_idle\":%llu,\"tcp_dropped_stalled\":%llu,\"tcp_paused\":%llu}",
			      registry_tcp_connections(l->tcp), registry_tcp_queued(l->tcp), (unsigned long long)ts->tcp_accepted,
			      (unsigned long long)ts->tcp_rejected_full, (unsigned long long)ts->tcp_closed_idle,
			      (unsigned long long)ts->tcp_dropped_stalled, (unsigned long long)ts->tcp_paused);
	}
	strbuf_puts(out, "],\"zones\":[");
	for (size_t i = 0; i < reg->n_zones; i++) {
		const struct reg_zone *rz = reg->zones[i];
		const struct zone *z = rz->snap;
		strbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		strbuf_json_string(out, rz->cfg.name);
		strbuf_puts(out, ",\"device\":");
		strbuf_json_string(out, rz->cfg.device);
		strbuf_printf(out, ",\"backend\":\"%s\",\"state\":\"%s\",\"peers\":%zu,\"peers_published\":%zu,"
			      "\"peers_unpublishable\":%zu,\"serial\":%u",
			      wg_backend_name(rz->state == ZONE_OK ? rz->backend : rz->cfg.backend),
			      state_name(rz->state), z->n_peers, z->n_entries, z->n_unpublishable, z->serial);
		if (rz->state == ZONE_OK || rz->snap_time_ms)
			strbuf_printf(out, ",\"snapshot_age_s\":%.3f", age_s(rz->snap_time_ms));
		else
			strbuf_puts(out, ",\"snapshot_age_s\":null");
		if (rz->last_build_turns)
			strbuf_printf(out, ",\"last_build_ms\":%.3f,\"last_build_turns\":%u",
				      (double)rz->last_build_us / 1e3, rz->last_build_turns);
		else
			strbuf_puts(out, ",\"last_build_ms\":null,\"last_build_turns\":null");
		strbuf_printf(out, ",\"reads\":%llu,\"read_errors\":%llu,\"ptr_listing_truncated\":%s,\"last_error\":",
			      (unsigned long long)rz->reads, (unsigned long long)rz->read_errors,
			      rz->ptr_overflow ? "true" : "false");
		strbuf_json_string(out, rz->error[0] ? rz->error : NULL);
		strbuf_puts(out, ",\"transfers\":");
		registry_transfer_zone_status_json(rz->xfr, out);
		strbuf_printf(out, ",\"candidates\":{\"peers\":%zu,\"stored\":%zu,\"published\":%zu,"
			      "\"peers_published\":%zu,\"bytes\":%zu,\"updates\":{",
			      cand_store_peers(rz->cands), cand_store_count(rz->cands), z->n_cands, z->n_cand_entries,
			      cand_store_bytes(rz->cands));
		for (int w = 0; w < RU_WHY_MAX; w++)
			strbuf_printf(out, "%s\"%s\":%llu", w ? "," : "", registry_update_why_name((enum registry_update_why)w),
				      (unsigned long long)rz->updates[w]);
		strbuf_puts(out, "}}");
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "],\"updates_without_zone\":{");
	for (int w = 0; w < RU_WHY_MAX; w++)
		strbuf_printf(out, "%s\"%s\":%llu", w ? "," : "", registry_update_why_name((enum registry_update_why)w),
			      (unsigned long long)reg->updates_no_zone[w]);
	strbuf_printf(out, "},\"candidates_per_peer\":%u,\"candidates_max\":%u,\"candidate_lease_max_s\":%u",
		      reg->cand_per_peer, reg->cand_max, reg->cand_lease_max_s);
	strbuf_puts(out, ",\"relay\":");
	if (reg->relay)
		relay_status_json(reg->relay, out);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, "}");
}

/* Append one listener's counters for one transport. */
static void stats_metrics(struct strbuf *out, const char *addr, const char *proto, const struct registry_stats *s)
{
	for (int i = 0; i < REG_QTYPE_MAX; i++)
		strbuf_printf(out, "wgsd_registry_queries_total{listener=\"%s\",proto=\"%s\",type=\"%s\"} %llu\n",
			      addr, proto, registry_listener_qtype_name((enum registry_qtype)i),
			      (unsigned long long)s->queries[i]);
	for (int i = 0; i < REG_RCODE_MAX; i++)
		strbuf_printf(out, "wgsd_registry_responses_total{listener=\"%s\",proto=\"%s\",rcode=\"%s\"} %llu\n",
			      addr, proto, registry_listener_rcode_name((enum registry_rcode)i),
			      (unsigned long long)s->rcodes[i]);
	strbuf_printf(out, "wgsd_registry_refused_total{listener=\"%s\",proto=\"%s\"} %llu\n", addr, proto,
		      (unsigned long long)s->refused);
	strbuf_printf(out, "wgsd_registry_truncated_total{listener=\"%s\",proto=\"%s\"} %llu\n", addr, proto,
		      (unsigned long long)s->truncated);
}

/* Append Prometheus metrics. */
void registry_metrics(const struct registry *reg, struct strbuf *out)
{
	char buf[ADDR_STRLEN];

	strbuf_puts(out, "# HELP wgsd_registry_queries_total DNS queries received, by type.\n"
			 "# TYPE wgsd_registry_queries_total counter\n"
			 "# HELP wgsd_registry_responses_total DNS responses, by rcode (dropped: none sent).\n"
			 "# TYPE wgsd_registry_responses_total counter\n"
			 "# HELP wgsd_registry_refused_total Queries refused by the access rule.\n"
			 "# TYPE wgsd_registry_refused_total counter\n"
			 "# HELP wgsd_registry_truncated_total Responses sent with TC=1.\n"
			 "# TYPE wgsd_registry_truncated_total counter\n");
	for (size_t i = 0; i < reg->n_listeners; i++) {
		addr_format(&reg->listeners[i].addr, buf, sizeof(buf));
		stats_metrics(out, buf, "udp", registry_udp_stats(reg->listeners[i].udp));
		stats_metrics(out, buf, "tcp", registry_tcp_stats(reg->listeners[i].tcp));
	}
	strbuf_puts(out, "# HELP wgsd_registry_tcp_connections Open TCP connections.\n"
			 "# TYPE wgsd_registry_tcp_connections gauge\n");
	for (size_t i = 0; i < reg->n_listeners; i++)
		strbuf_printf(out, "wgsd_registry_tcp_connections{listener=\"%s\"} %zu\n",
			      addr_format(&reg->listeners[i].addr, buf, sizeof(buf)),
			      registry_tcp_connections(reg->listeners[i].tcp));
	strbuf_puts(out, "# HELP wgsd_registry_tcp_accepted_total TCP connections accepted.\n"
			 "# TYPE wgsd_registry_tcp_accepted_total counter\n");
	for (size_t i = 0; i < reg->n_listeners; i++)
		strbuf_printf(out, "wgsd_registry_tcp_accepted_total{listener=\"%s\"} %llu\n",
			      addr_format(&reg->listeners[i].addr, buf, sizeof(buf)),
			      (unsigned long long)registry_tcp_stats(reg->listeners[i].tcp)->tcp_accepted);
	strbuf_puts(out, "# HELP wgsd_registry_tcp_rejected_full_total TCP connections reset at once: cap reached.\n"
			 "# TYPE wgsd_registry_tcp_rejected_full_total counter\n");
	for (size_t i = 0; i < reg->n_listeners; i++)
		strbuf_printf(out, "wgsd_registry_tcp_rejected_full_total{listener=\"%s\"} %llu\n",
			      addr_format(&reg->listeners[i].addr, buf, sizeof(buf)),
			      (unsigned long long)registry_tcp_stats(reg->listeners[i].tcp)->tcp_rejected_full);
	strbuf_puts(out, "# HELP wgsd_zone_up 1 when the zone's device was read, 0 while it answers SERVFAIL.\n"
			 "# TYPE wgsd_zone_up gauge\n"
			 "# HELP wgsd_zone_peers_published Entries published in the zone.\n"
			 "# TYPE wgsd_zone_peers_published gauge\n"
			 "# HELP wgsd_zone_peers_unpublishable Peers (and self) left out: an endpoint no one can use.\n"
			 "# TYPE wgsd_zone_peers_unpublishable gauge\n"
			 "# HELP wgsd_zone_peers Peers on the zone's device.\n"
			 "# TYPE wgsd_zone_peers gauge\n"
			 "# HELP wgsd_zone_serial SOA serial of the zone.\n"
			 "# TYPE wgsd_zone_serial gauge\n"
			 "# HELP wgsd_zone_snapshot_age_seconds Time since the device was last read successfully.\n"
			 "# TYPE wgsd_zone_snapshot_age_seconds gauge\n"
			 "# HELP wgsd_zone_read_errors_total Failed device reads.\n"
			 "# TYPE wgsd_zone_read_errors_total counter\n");
	for (size_t i = 0; i < reg->n_zones; i++) {
		const struct reg_zone *rz = reg->zones[i];
		const char *n = rz->cfg.name, *d = rz->cfg.device;
		strbuf_printf(out, "wgsd_zone_up{zone=\"%s\",device=\"%s\"} %d\n", n, d, rz->state == ZONE_OK);
		strbuf_printf(out, "wgsd_zone_peers_published{zone=\"%s\",device=\"%s\"} %zu\n", n, d,
			      rz->snap->n_entries);
		strbuf_printf(out, "wgsd_zone_peers_unpublishable{zone=\"%s\",device=\"%s\"} %zu\n", n, d,
			      rz->snap->n_unpublishable);
		strbuf_printf(out, "wgsd_zone_peers{zone=\"%s\",device=\"%s\"} %zu\n", n, d, rz->snap->n_peers);
		strbuf_printf(out, "wgsd_zone_serial{zone=\"%s\",device=\"%s\"} %u\n", n, d, rz->snap->serial);
		if (rz->snap_time_ms)
			strbuf_printf(out, "wgsd_zone_snapshot_age_seconds{zone=\"%s\",device=\"%s\"} %.3f\n", n, d,
				      age_s(rz->snap_time_ms));
		strbuf_printf(out, "wgsd_zone_read_errors_total{zone=\"%s\",device=\"%s\"} %llu\n", n, d,
			      (unsigned long long)rz->read_errors);
	}
	strbuf_puts(out, "# HELP wgsd_zone_candidates Candidates registered in the zone (live leases).\n"
			 "# TYPE wgsd_zone_candidates gauge\n");
	for (size_t i = 0; i < reg->n_zones; i++)
		strbuf_printf(out, "wgsd_zone_candidates{zone=\"%s\",device=\"%s\"} %zu\n", reg->zones[i]->cfg.name,
			      reg->zones[i]->cfg.device, cand_store_count(reg->zones[i]->cands));
	strbuf_puts(out, "# HELP wgsd_zone_candidates_published Candidates in the zone's current snapshot.\n"
			 "# TYPE wgsd_zone_candidates_published gauge\n");
	for (size_t i = 0; i < reg->n_zones; i++)
		strbuf_printf(out, "wgsd_zone_candidates_published{zone=\"%s\",device=\"%s\"} %zu\n",
			      reg->zones[i]->cfg.name, reg->zones[i]->cfg.device, reg->zones[i]->snap->n_cands);
	strbuf_puts(out, "# HELP wgsd_zone_candidate_updates_total Candidate registrations (DNS UPDATE), by verdict.\n"
			 "# TYPE wgsd_zone_candidate_updates_total counter\n");
	for (size_t i = 0; i < reg->n_zones; i++)
		for (int w = 0; w < RU_WHY_MAX; w++)
			strbuf_printf(out, "wgsd_zone_candidate_updates_total{zone=\"%s\",device=\"%s\",result=\"%s\"} %llu\n",
				      reg->zones[i]->cfg.name, reg->zones[i]->cfg.device,
				      registry_update_why_name((enum registry_update_why)w),
				      (unsigned long long)reg->zones[i]->updates[w]);
	if (reg->relay)
		relay_metrics(reg->relay, out);
	registry_transfer_metrics_help(out);
	for (size_t i = 0; i < reg->n_zones; i++)
		registry_transfer_zone_metrics(reg->zones[i]->xfr, reg->zones[i]->cfg.name, out);
	registry_transfer_metrics(reg->transfer, out);
}
