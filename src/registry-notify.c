/* SPDX-License-Identifier: MIT */
/* NOTIFY (RFC 1996) to a zone's secondaries: one connected UDP socket per target, retries with backoff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "registry-notify.h"
#include "registry-xfr.h"
#include "strbuf.h"
#include "zone.h"

#define NOTIFY_MSG_MAX 1024
#define NOTIFY_ERR_LEN 120

/* State of one secondary. */
struct notify_target {
	struct registry_notify *rn;
	union sockaddr_any addr;
	char key_name[DNAME_STRLEN];      /* "" = unsigned */
	struct tsig_key key;
	char secret[TSIG_SECRET_B64_MAX + 1];
	int fd;
	struct event *rev;
	struct event *timer;
	uint8_t msg[NOTIFY_MSG_MAX];
	size_t msg_len;
	uint16_t id;
	uint8_t mac[TSIG_MAC_MAX];        /* our request's MAC, to check the signed answer */
	size_t mac_len;
	uint32_t serial;                  /* being notified */
	unsigned int tries;
	bool pending;
	bool failing;                     /* the last attempt failed (logged once until it recovers) */
	uint64_t sent, acked, failures;
	uint32_t acked_serial;
	bool has_acked;
	uint64_t last_sent_ms, last_ack_ms;
	char last_error[NOTIFY_ERR_LEN];
};

struct registry_notify {
	struct event_base *base;
	char zone[DNAME_STRLEN];
	uint8_t apex[ZONE_WIRE_MAX];
	size_t apex_len;
	struct notify_target *targets;
	size_t n;
};

/* Close a target's socket and stop its events. */
static void target_close(struct notify_target *t)
{
	if (t->rev)
		event_free(t->rev);
	t->rev = NULL;
	if (t->timer)
		evtimer_del(t->timer);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* End the attempt in flight as failed, with a reason (logged when the target was fine before). */
static void target_fail(struct notify_target *t, const char *why)
{
	char a[ADDR_STRLEN];

	t->pending = false;
	t->failures++;
	snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	if (!t->failing)
		log_warnx("zone %s: NOTIFY of serial %u to %s failed: %s", t->rn->zone, t->serial,
			  addr_format(&t->addr, a, sizeof(a)), why);
	t->failing = true;
	target_close(t);
}

/* Send the message once more (or the first time) and arm the retry timer. */
static void target_send(struct notify_target *t)
{
	unsigned int ms = NOTIFY_FIRST_TIMEOUT_MS << t->tries;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	t->tries++;
	t->sent++;
	t->last_sent_ms = clock_monotonic_ms();
	/* ECONNREFUSED (an ICMP error for an earlier try) and the like: the retry timer decides. */
	if (send(t->fd, t->msg, t->msg_len, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN && errno != EINTR)
		snprintf(t->last_error, sizeof(t->last_error), "send: %s", strerror(errno));
	evtimer_add(t->timer, &tv);
}

/* No answer within the timeout: resend, or give up after the last try. */
static void target_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_target *t = arg;
	char why[64];

	if (!t->pending)
		return;
	if (t->tries < NOTIFY_TRIES) {
		target_send(t);
		return;
	}
	snprintf(why, sizeof(why), "no answer after %d tries", NOTIFY_TRIES);
	target_fail(t, why);
}

/* An answer arrived on the target's socket. */
static void target_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_target *t = arg;
	uint8_t buf[4096];
	char a[ADDR_STRLEN], why[80];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			/* ECONNREFUSED: nothing listens there (yet); the retry timer goes on. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				snprintf(t->last_error, sizeof(t->last_error), "%s", strerror(errno));
			return;
		}
		if (!t->pending)
			continue;
		int rcode = registry_xfr_notify_reply(buf, (size_t)n, t->id, t->rn->apex, t->rn->apex_len);
		if (rcode < 0)
			continue;   /* a late answer to an older NOTIFY, or noise */
		if (t->key_name[0] && rcode == 0 &&
		    tsig_verify_response(&t->key, buf, (size_t)n, (uint64_t)time(NULL), t->mac, t->mac_len) < 0) {
			snprintf(t->last_error, sizeof(t->last_error), "an answer failed its TSIG check");
			continue;
		}
		if (rcode != 0) {
			snprintf(why, sizeof(why), "answered with rcode %d (%s)", rcode,
				 rcode == 5 ? "REFUSED: is wgsd allowed to notify it?" :
				 rcode == DNS_RCODE_NOTAUTH ? "NOTAUTH: check the key on both sides" : "error");
			target_fail(t, why);
			return;
		}
		t->pending = false;
		t->acked++;
		t->acked_serial = t->serial;
		t->has_acked = true;
		t->last_ack_ms = clock_monotonic_ms();
		t->last_error[0] = '\0';
		if (t->failing)
			log_info("zone %s: NOTIFY of serial %u to %s answered again", t->rn->zone, t->serial,
				 addr_format(&t->addr, a, sizeof(a)));
		else
			log_debug("zone %s: NOTIFY of serial %u to %s answered (send %u of %d)", t->rn->zone,
				  t->serial, addr_format(&t->addr, a, sizeof(a)), t->tries, NOTIFY_TRIES);
		t->failing = false;
		target_close(t);
		return;
	}
}

/* True when a is the wildcard address of its family. */
static bool is_wildcard(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
}

/* A socket of the target's family connected to it, bound to src when not NULL. The fd, or -errno. */
static int connected_socket(const struct notify_target *t, const union sockaddr_any *src)
{
	int fd = socket(t->addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	union sockaddr_any b;
	if (src) {
		b = *src;
		if (b.sa.sa_family == AF_INET)
			b.in.sin_port = 0;
		else
			b.in6.sin6_port = 0;
	}
	if ((src && bind(fd, &b.sa, addr_len(&b)) < 0) || connect(fd, &t->addr.sa, addr_len(&t->addr)) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Open the target's connected socket from a listen address: the source the
 * kernel picks if the registry listens there (or on the wildcard), else the
 * first specific listen address of the family. 0 or -errno.
 */
static int target_open(struct notify_target *t, const union sockaddr_any *listens, size_t n_listens)
{
	union sockaddr_any local;
	socklen_t llen = sizeof(local);
	const union sockaddr_any *fallback = NULL;
	bool listening = false;

	if (t->fd >= 0)
		return 0;
	t->fd = connected_socket(t, NULL);
	if (t->fd < 0)
		return t->fd;
	if (getsockname(t->fd, &local.sa, &llen) < 0)
		memset(&local, 0, sizeof(local));
	for (size_t i = 0; i < n_listens; i++) {
		if (listens[i].sa.sa_family != t->addr.sa.sa_family)
			continue;
		if (is_wildcard(&listens[i]) || addr_same_ip(&listens[i], &local))
			listening = true;
		else if (!fallback)
			fallback = &listens[i];
	}
	if (!listening && fallback) {
		close(t->fd);
		t->fd = connected_socket(t, fallback);
		if (t->fd < 0)
			return t->fd;
	}
	t->rev = event_new(t->rn->base, t->fd, EV_READ | EV_PERSIST, target_read_cb, t);
	if (!t->rev || event_add(t->rev, NULL) < 0) {
		target_close(t);
		return -ENOMEM;
	}
	return 0;
}

/* A fresh random message ID. */
static uint16_t random_id(void)
{
	uint16_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint16_t)(clock_monotonic_us() ^ (uint64_t)getpid());
	return id;
}

/* Start notifying one target of serial. */
static void target_start(struct notify_target *t, const struct zone *z, uint32_t ttl, const struct tsig_key *keys,
			 size_t n_keys, const union sockaddr_any *listens, size_t n_listens)
{
	char why[NOTIFY_ERR_LEN];
	int ret;

	evtimer_del(t->timer);
	t->pending = false;
	t->serial = z->serial;
	t->tries = 0;
	t->id = random_id();
	t->msg_len = registry_xfr_notify(z, z->serial, ttl, t->id, t->msg, sizeof(t->msg));
	if (t->msg_len == 0) {
		target_fail(t, "message too large");
		return;
	}
	if (t->key_name[0]) {
		const struct tsig_key *k = NULL;
		for (size_t i = 0; i < n_keys && !k; i++)
			if (strcmp(keys[i].name, t->key_name) == 0)
				k = &keys[i];
		if (k)
			snprintf(t->secret, sizeof(t->secret), "%s", k->secret);
		if (!k || tsig_key_init(&t->key, k->name, t->secret) < 0) {
			target_fail(t, "its key is not configured");
			return;
		}
		int n = tsig_sign(&t->key, t->msg, t->msg_len, sizeof(t->msg), NULL, 0, false, t->mac, &t->mac_len);
		if (n < 0) {
			target_fail(t, "signing failed");
			return;
		}
		t->msg_len = (size_t)n;
	}
	/* A new source (a reload) needs a new socket. */
	target_close(t);
	if ((ret = target_open(t, listens, n_listens)) < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(-ret));
		target_fail(t, why);
		return;
	}
	t->pending = true;
	target_send(t);
}

/* Create the targets of a zone. */
struct registry_notify *registry_notify_new(struct event_base *base, const char *zone,
					    const struct config_notify *targets, size_t n)
{
	struct registry_notify *rn = calloc(1, sizeof(*rn));

	if (!rn)
		return NULL;
	rn->base = base;
	snprintf(rn->zone, sizeof(rn->zone), "%s", zone);
	struct tsig_key apex;
	if (tsig_key_init(&apex, zone, "") == 0) {
		memcpy(rn->apex, apex.wire, apex.wire_len);
		rn->apex_len = apex.wire_len;
	}
	rn->targets = calloc(n ? n : 1, sizeof(*rn->targets));
	if (!rn->targets) {
		free(rn);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct notify_target *t = &rn->targets[i];
		t->rn = rn;
		t->fd = -1;
		t->addr = targets[i].addr;
		snprintf(t->key_name, sizeof(t->key_name), "%s", targets[i].key);
		t->timer = evtimer_new(base, target_timer_cb, t);
		rn->n++;
		if (!t->timer) {
			registry_notify_free(rn);
			return NULL;
		}
	}
	return rn;
}

/* Free everything. */
void registry_notify_free(struct registry_notify *rn)
{
	if (!rn)
		return;
	for (size_t i = 0; i < rn->n; i++) {
		target_close(&rn->targets[i]);
		if (rn->targets[i].timer)
			event_free(rn->targets[i].timer);
	}
	free(rn->targets);
	free(rn);
}

/* Notify every target of a new serial. */
void registry_notify_serial(struct registry_notify *rn, const struct zone *z, uint32_t ttl,
			    const struct tsig_key *keys, size_t n_keys, const union sockaddr_any *listens,
			    size_t n_listens)
{
	for (size_t i = 0; i < rn->n; i++)
		target_start(&rn->targets[i], z, ttl, keys, n_keys, listens, n_listens);
}

/* Find a target by address. */
int registry_notify_find(const struct registry_notify *rn, const union sockaddr_any *addr)
{
	union sockaddr_any a = *addr;

	addr_unmap_v4(&a);
	for (size_t i = 0; i < rn->n; i++) {
		union sockaddr_any b = rn->targets[i].addr;
		addr_unmap_v4(&b);
		if (a.sa.sa_family == b.sa.sa_family &&
		    (a.sa.sa_family == AF_INET ? a.in.sin_addr.s_addr == b.in.sin_addr.s_addr :
		     memcmp(&a.in6.sin6_addr, &b.in6.sin6_addr, 16) == 0))
			return (int)i;
	}
	return -1;
}

/* Number of targets. */
size_t registry_notify_count(const struct registry_notify *rn)
{
	return rn ? rn->n : 0;
}

/* Address of a target. */
const union sockaddr_any *registry_notify_addr(const struct registry_notify *rn, size_t i)
{
	return &rn->targets[i].addr;
}

/* Status of one target. */
void registry_notify_status_json(const struct registry_notify *rn, size_t i, struct strbuf *out)
{
	const struct notify_target *t = &rn->targets[i];
	uint64_t now = clock_monotonic_ms();
	const char *state = t->pending ? "pending" : t->failing ? "failed" : t->has_acked ? "ok" : "none";

	strbuf_printf(out, "{\"state\":\"%s\",\"serial\":%u,\"tries\":%u,\"sent\":%llu,\"acked\":%llu,\"failures\":%llu,",
		      state, t->serial, t->tries, (unsigned long long)t->sent, (unsigned long long)t->acked,
		      (unsigned long long)t->failures);
	if (t->has_acked)
		strbuf_printf(out, "\"acked_serial\":%u,\"last_ack_age_s\":%.3f,", t->acked_serial,
			      (double)(now - t->last_ack_ms) / 1e3);
	else
		strbuf_puts(out, "\"acked_serial\":null,\"last_ack_age_s\":null,");
	if (t->sent)
		strbuf_printf(out, "\"last_sent_age_s\":%.3f,", (double)(now - t->last_sent_ms) / 1e3);
	else
		strbuf_puts(out, "\"last_sent_age_s\":null,");
	strbuf_puts(out, "\"last_error\":");
	strbuf_json_string(out, t->last_error[0] ? t->last_error : NULL);
	strbuf_puts(out, "}");
}

/* Counters of one target. */
void registry_notify_counters(const struct registry_notify *rn, size_t i, uint64_t *sent, uint64_t *acked,
			      uint64_t *failures, uint32_t *acked_serial)
{
	const struct notify_target *t = &rn->targets[i];

	*sent = t->sent;
	*acked = t->acked;
	*failures = t->failures;
	*acked_serial = t->acked_serial;
}
