/* SPDX-License-Identifier: MIT */
/* Zone transfer glue: TSIG on every query, transfer streams, IXFR history, NOTIFY, secondaries' status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "clock.h"
#include "log.h"
#include "registry-notify.h"
#include "registry-transfer.h"
#include "registry-xfr.h"
#include "strbuf.h"
#include "tsig.h"
#include "zone-history.h"
#include "zone.h"

/* TSIG outcomes counted registry-wide. */
enum { TS_OK = 0, TS_FORMERR, TS_BADKEY, TS_BADSIG, TS_BADTIME, TS_REPLAY, TS_MAX };
static const char *const tsig_outcome_names[TS_MAX] = { "ok", "formerr", "badkey", "badsig", "badtime", "replay" };

/* What transfers to one client (or all members) did. */
struct xfr_stats {
	uint64_t transfers[XFR_IXFR_UPTODATE + 1];   /* completed, by kind */
	uint64_t bytes;
	uint64_t failures;                          /* cut off before the end */
	bool has_last;
	enum xfr_kind last_kind;
	uint32_t last_serial;
	size_t last_bytes, last_messages, last_records;
	uint64_t last_duration_us;
	uint64_t last_end_ms;
	bool last_complete;
};

/* A secondary: a notify target, or an address that transferred through an allow-transfer line. */
struct xfr_secondary {
	union sockaddr_any addr;          /* port 0 */
	struct xfr_stats st;
};

struct glue_stream;
TAILQ_HEAD(glue_stream_list, glue_stream);

struct registry_transfer {
	struct tsig_key *keys;
	char (*secrets)[TSIG_SECRET_B64_MAX + 1];
	struct tsig_replay *replay;       /* per key: transfer requests accepted lately */
	size_t n_keys;
	uint64_t tsig[TS_MAX];
	unsigned int active;
	uint64_t busy;                    /* refused for XFR_ACTIVE_MAX */
	union sockaddr_any *listens;      /* the registry's listen addresses: where NOTIFY may come from */
	size_t n_listens;
};

struct registry_transfer_zone {
	struct registry_transfer *t;
	const struct config_zone *cfg;
	struct zone_history history;
	struct registry_notify *notify;
	bool published;                   /* a snapshot was published with this state */
	uint32_t ttl;                     /* of the last publish */
	struct xfr_secondary *secs;
	size_t n_secs;
	struct xfr_stats others;          /* allow-transfer clients beyond XFR_SECONDARIES_MAX */
	struct xfr_stats peers;           /* members through the tunnel (peer-transfers) */
	uint64_t refused;
	uint64_t diffs_dropped;           /* changes too large for the history */
	struct glue_stream_list streams;
};

/* A transfer on its way out: the pure stream plus signing and accounting. */
struct glue_stream {
	struct registry_stream base;
	TAILQ_ENTRY(glue_stream) link;
	struct registry_transfer *t;
	struct registry_transfer_zone *tz;  /* NULL once the zone went away */
	struct xfr_stream *x;
	bool signed_;
	struct tsig_key key;
	char secret[TSIG_SECRET_B64_MAX + 1];
	uint8_t mac[TSIG_MAC_MAX];        /* request MAC, then the previous message's */
	size_t mac_len;
	bool first;
	bool by_peers;
	union sockaddr_any client;
	uint64_t start_us;
};

/* The address alone: IPv4 unmapped, port 0 (secondaries are told apart by address). */
static union sockaddr_any host_only(const union sockaddr_any *a)
{
	union sockaddr_any h = *a;

	addr_unmap_v4(&h);
	if (h.sa.sa_family == AF_INET)
		h.in.sin_port = 0;
	else if (h.sa.sa_family == AF_INET6)
		h.in6.sin6_port = 0;
	return h;
}

/* Registry-wide state. */
struct registry_transfer *registry_transfer_new(void)
{
	return calloc(1, sizeof(struct registry_transfer));
}

/* Free it. */
void registry_transfer_free(struct registry_transfer *t)
{
	if (!t)
		return;
	free(t->keys);
	free(t->secrets);
	free(t->replay);
	free(t->listens);
	free(t);
}

/* Copy the keys. */
int registry_transfer_set_keys(struct registry_transfer *t, const struct config_key *keys, size_t n)
{
	struct tsig_key *k = calloc(n ? n : 1, sizeof(*k));
	char (*s)[TSIG_SECRET_B64_MAX + 1] = calloc(n ? n : 1, sizeof(*s));
	struct tsig_replay *r = calloc(n ? n : 1, sizeof(*r));

	if (!k || !s || !r) {
		free(k);
		free(s);
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(s[i], sizeof(s[i]), "%s", keys[i].secret);
		tsig_key_init(&k[i], keys[i].name, s[i]);   /* names were validated by config.c */
		/* A reload keeps what an unchanged key accepted: a replay stays one. */
		for (size_t j = 0; j < t->n_keys; j++)
			if (strcmp(t->keys[j].name, k[i].name) == 0 && strcmp(t->secrets[j], s[i]) == 0)
				r[i] = t->replay[j];
	}
	free(t->keys);
	free(t->secrets);
	free(t->replay);
	t->keys = k;
	t->secrets = s;
	t->replay = r;
	t->n_keys = n;
	return 0;
}

/* Listen addresses, for the source of NOTIFY. */
int registry_transfer_set_listens(struct registry_transfer *t, const union sockaddr_any *listens, size_t n)
{
	union sockaddr_any *l = calloc(n ? n : 1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	memcpy(l, listens, n * sizeof(*l));
	free(t->listens);
	t->listens = l;
	t->n_listens = n;
	return 0;
}

/* Transfer state of a zone. */
struct registry_transfer_zone *registry_transfer_zone_new(struct registry_transfer *t, struct event_base *base,
							  const struct config_zone *cz)
{
	struct registry_transfer_zone *tz = calloc(1, sizeof(*tz));

	if (!tz)
		return NULL;
	tz->t = t;
	tz->cfg = cz;
	TAILQ_INIT(&tz->streams);
	zone_history_init(&tz->history, cz->ixfr_history, XFR_HISTORY_MAX_BYTES);
	tz->notify = registry_notify_new(base, cz->name, cz->notify, cz->n_notify);
	tz->secs = calloc(XFR_SECONDARIES_MAX, sizeof(*tz->secs));
	if (!tz->notify || !tz->secs) {
		registry_transfer_zone_free(tz);
		return NULL;
	}
	/* The notify targets are secondaries from the start. */
	for (size_t i = 0; i < cz->n_notify && tz->n_secs < XFR_SECONDARIES_MAX; i++) {
		union sockaddr_any a = host_only(&cz->notify[i].addr);
		bool dup = false;
		for (size_t j = 0; j < tz->n_secs && !dup; j++)
			dup = addr_equal(&tz->secs[j].addr, &a);
		if (!dup)
			tz->secs[tz->n_secs++].addr = a;
	}
	return tz;
}

/* Free a zone's state; running transfers are detached and finish on their own. */
void registry_transfer_zone_free(struct registry_transfer_zone *tz)
{
	if (!tz)
		return;
	struct glue_stream *g;
	TAILQ_FOREACH(g, &tz->streams, link)
		g->tz = NULL;
	zone_history_clear(&tz->history);
	registry_notify_free(tz->notify);
	free(tz->secs);
	free(tz);
}

/* Stats slot for a client of an allow-transfer line (created when new, "others" when the table is full). */
static struct xfr_stats *secondary_stats(struct registry_transfer_zone *tz, const union sockaddr_any *client)
{
	union sockaddr_any a = host_only(client);

	for (size_t i = 0; i < tz->n_secs; i++)
		if (addr_equal(&tz->secs[i].addr, &a))
			return &tz->secs[i].st;
	if (tz->n_secs == XFR_SECONDARIES_MAX)
		return &tz->others;
	tz->secs[tz->n_secs].addr = a;
	return &tz->secs[tz->n_secs++].st;
}

/*
 * Publishing: the serial must move whenever the transferred data moves. The
 * published set is the zone's digest; what it does not cover (the SOA and
 * NS data after a reload restarted the zone, the registry's ttl) forces a
 * new serial here, and the history starts again.
 */
void registry_transfer_publish(struct registry_transfer_zone *tz, const struct zone *old, struct zone *snap,
			       uint32_t ttl, time_t now)
{
	bool forced = false;

	if (snap->servfail)
		return;
	if (old && !old->servfail && (!tz->published || tz->ttl != ttl)) {
		if (snap->serial == old->serial)
			snap->serial = zone_serial_next(old->serial, now);
		forced = true;
	}
	if (forced || !old || old->servfail) {
		zone_history_clear(&tz->history);
	} else if (snap->serial != old->serial) {
		struct zone_diff *d = NULL;
		int r = zone_diff_new(old, snap, &d);
		if (r < 0) {
			zone_history_clear(&tz->history);
		} else if (!d) {
			/* The digest moved but no transferred record did: an empty step keeps the chain. */
			if ((d = calloc(1, sizeof(*d)))) {
				d->from = old->serial;
				d->to = snap->serial;
				d->bytes = sizeof(*d);
			}
			if (!d || zone_history_add(&tz->history, d) < 0)
				zone_history_clear(&tz->history);
		} else if (zone_history_add(&tz->history, d) < 0) {
			tz->diffs_dropped++;
		}
	}
	bool changed = !old || snap->serial != old->serial || !tz->published;
	tz->published = true;
	tz->ttl = ttl;
	if (changed && registry_notify_count(tz->notify))
		registry_notify_serial(tz->notify, snap, ttl, tz->t->keys, tz->t->n_keys, tz->t->listens,
				       tz->t->n_listens);
}

/* Record a finished (or cut off) transfer. */
static void stats_record(struct xfr_stats *st, const struct glue_stream *g, bool complete)
{
	size_t messages, records, bytes;

	registry_xfr_progress(g->x, &messages, &records, &bytes);
	st->has_last = true;
	st->last_kind = registry_xfr_kind(g->x);
	st->last_serial = registry_xfr_serial(g->x);
	st->last_bytes = bytes;
	st->last_messages = messages;
	st->last_records = records;
	st->last_duration_us = clock_monotonic_us() - g->start_us;
	st->last_end_ms = clock_monotonic_ms();
	st->last_complete = complete;
	st->bytes += bytes;
	if (complete)
		st->transfers[st->last_kind]++;
	else
		st->failures++;
}

/* The listener is done with a transfer. */
static void stream_end(struct registry_stream *base, bool complete)
{
	struct glue_stream *g = (struct glue_stream *)base;
	struct registry_transfer_zone *tz = g->tz;
	char a[ADDR_STRLEN];

	if (tz) {
		struct xfr_stats *st = g->by_peers ? &tz->peers : secondary_stats(tz, &g->client);
		stats_record(st, g, complete);
		void (*logf)(const char *, ...) = g->by_peers ? log_debug : log_info;
		if (complete)
			logf("zone %s: %s of serial %u to %s: %zu records in %zu message%s, %zu bytes, %.1f ms",
			     tz->cfg->name, registry_xfr_kind_name(st->last_kind), st->last_serial,
			     addr_format(&g->client, a, sizeof(a)), st->last_records, st->last_messages,
			     st->last_messages == 1 ? "" : "s", st->last_bytes, (double)st->last_duration_us / 1e3);
		else
			logf("zone %s: %s of serial %u to %s cut off after %zu bytes", tz->cfg->name,
			     registry_xfr_kind_name(st->last_kind), st->last_serial,
			     addr_format(&g->client, a, sizeof(a)), st->last_bytes);
		TAILQ_REMOVE(&tz->streams, g, link);
	}
	g->t->active--;
	registry_xfr_free(g->x);
	free(g);
}

/* The listener wants the next message. */
static int stream_next(struct registry_stream *base, uint8_t *out, size_t cap)
{
	struct glue_stream *g = (struct glue_stream *)base;
	int n = registry_xfr_next(g->x, out, cap, g->signed_ ? tsig_space(&g->key) : 0);

	if (n == -EMSGSIZE)
		log_warnx("zone %s: a record does not fit a 65535-byte message; transfer abandoned",
			  g->tz ? g->tz->cfg->name : "(removed)");
	if (n <= 0 || !g->signed_)
		return n;
	n = tsig_sign(&g->key, out, (size_t)n, cap, g->mac, g->mac_len, !g->first, g->mac, &g->mac_len);
	g->first = false;
	return n;
}

/* Start a transfer stream on a TCP connection. NULL on ENOMEM. */
static struct glue_stream *stream_new(struct registry_transfer *t, struct registry_transfer_zone *tz,
				      struct xfr_stream *x, const struct dns_client *cl, const struct tsig_key *key,
				      const struct tsig_request *tr, bool by_peers)
{
	struct glue_stream *g = calloc(1, sizeof(*g));

	if (!g) {
		registry_xfr_free(x);
		return NULL;
	}
	g->base.next = stream_next;
	g->base.end = stream_end;
	g->t = t;
	g->tz = tz;
	g->x = x;
	g->first = true;
	g->by_peers = by_peers;
	g->client = *cl->src;
	g->start_us = clock_monotonic_us();
	if (key) {
		g->signed_ = true;
		snprintf(g->secret, sizeof(g->secret), "%s", key->secret);
		g->key = *key;
		g->key.secret = g->secret;
		memcpy(g->mac, tr->mac, tr->mac_len);
		g->mac_len = tr->mac_len;
	}
	TAILQ_INSERT_TAIL(&tz->streams, g, link);
	t->active++;
	return g;
}

/* Sign a response to a verified request; a UDP answer that would outgrow its size limit becomes TC=1. */
static size_t sign_response(const struct tsig_key *key, const struct tsig_request *tr, const struct dns_client *cl,
			    const struct dns_answer_env *env, const struct dns_query *q, const uint8_t *query,
			    uint8_t *out, size_t n, size_t cap)
{
	uint8_t mac[TSIG_MAC_MAX];
	size_t mac_len = 0;
	size_t limit = cap;

	if (!cl->tcp) {
		limit = DNS_UDP_MIN_SIZE;
		if (q->has_edns)
			limit = q->edns_udp_size < env->edns_size ? q->edns_udp_size : env->edns_size;
		if (limit < DNS_UDP_MIN_SIZE)
			limit = DNS_UDP_MIN_SIZE;
		if (limit > cap)
			limit = cap;
	}
	int s = tsig_sign(key, out, n, limit, tr->mac, tr->mac_len, false, mac, &mac_len);
	if (s == -EMSGSIZE) {
		/* The answer and its signature do not fit: the question alone, TC=1, signed. */
		n = registry_xfr_error(query, q, (uint16_t)(out[3] & 0x0f), out, cap);
		out[2] |= (uint8_t)(0x02 | (out[2] & 0x04));
		s = tsig_sign(key, out, n, limit, tr->mac, tr->mac_len, false, mac, &mac_len);
	}
	return s > 0 ? (size_t)s : 0;
}

/* An error answer to a transfer request (signed when the request was). */
static size_t xfr_error(const uint8_t *query, const struct dns_query *q, uint16_t rcode, uint8_t *out, size_t cap,
			struct dns_answer_info *info)
{
	info->rcode = rcode;
	return registry_xfr_error(query, q, rcode, out, cap);
}

/*
 * A transfer request (AXFR or IXFR, class IN): decide, and answer with an
 * error, the SOA alone (UDP IXFR), or a stream.
 */
static size_t transfer_request(struct registry_transfer *t, const struct registry_transfer_view *v,
			       const struct dns_answer_env *env, const struct dns_client *cl, const uint8_t *query,
			       size_t qlen, const struct dns_query *q, const struct tsig_key *key,
			       const struct tsig_request *tr, uint8_t *out, size_t cap, struct registry_stream **stream,
			       struct dns_answer_info *info, const char **why)
{
	int zi = registry_xfr_find_zone(v->snaps, v->n, query, q);
	uint32_t client_serial = 0;

	info->zone = zi;
	/* RFC 5936 2.2.1: not authoritative for that name as a zone. */
	if (zi < 0) {
		*why = "zone transfer of a name that is not a served zone";
		return xfr_error(query, q, DNS_RCODE_NOTAUTH, out, cap, info);
	}
	struct zone *z = v->snaps[zi];
	struct registry_transfer_zone *tz = v->zones[zi];
	enum xfr_allow allow = registry_xfr_allowed(tz->cfg, z, cl, key ? key->name : NULL);
	if (allow == XFR_DENIED) {
		tz->refused++;
		*why = key ? "zone transfer: not allowed with this key from this address" :
			     "zone transfer: not allowed from this address without a key";
		return xfr_error(query, q, DNS_RCODE_REFUSED, out, cap, info);
	}
	if (q->qtype == DNS_TYPE_IXFR && registry_xfr_client_serial(query, qlen, q, &client_serial) < 0)
		return xfr_error(query, q, DNS_RCODE_FORMERR, out, cap, info);
	if (z->servfail)
		return xfr_error(query, q, DNS_RCODE_SERVFAIL, out, cap, info);
	if (!cl->tcp || !stream) {
		/* RFC 5936 4.2: no AXFR over UDP; RFC 1995 2: an IXFR over UDP may get the current SOA alone. */
		if (q->qtype == DNS_TYPE_AXFR)
			return xfr_error(query, q, DNS_RCODE_NOTIMP, out, cap, info);
		struct xfr_stream *x = registry_xfr_ixfr(z, NULL, 0, query, q, env->ttl);
		int n = x ? registry_xfr_next(x, out, DNS_UDP_MIN_SIZE, key ? tsig_space(key) : 0) : -ENOMEM;
		registry_xfr_free(x);
		return n > 0 ? (size_t)n : xfr_error(query, q, DNS_RCODE_SERVFAIL, out, cap, info);
	}
	if (t->active >= XFR_ACTIVE_MAX) {
		t->busy++;
		*why = "zone transfer: too many running";
		return xfr_error(query, q, DNS_RCODE_SERVFAIL, out, cap, info);
	}
	struct xfr_stream *x = NULL;
	if (q->qtype == DNS_TYPE_AXFR) {
		x = registry_xfr_axfr(z, query, q, env->ttl);
	} else if ((int32_t)(client_serial - z->serial) >= 0) {
		/* RFC 1995 2: the same or a newer serial (RFC 1982) gets the current SOA alone. */
		x = registry_xfr_ixfr(z, NULL, 0, query, q, env->ttl);
	} else {
		size_t first = 0, n = 0, bytes = 0;
		if (zone_history_find(&tz->history, client_serial, z->serial, &first, &n) == 0)
			for (size_t i = first; i < first + n; i++)
				bytes += tz->history.diffs[i]->wire_bytes;
		/* Not in the history, or larger than the zone itself (about 250 bytes per entry): the whole zone. */
		if (n == 0 || bytes > 250 * z->n_entries + 1000)
			x = registry_xfr_axfr(z, query, q, env->ttl);
		else
			x = registry_xfr_ixfr(z, tz->history.diffs + first, n, query, q, env->ttl);
	}
	struct glue_stream *g = x ? stream_new(t, tz, x, cl, key, tr, allow == XFR_BY_PEERS) : NULL;
	if (!g)
		return xfr_error(query, q, DNS_RCODE_SERVFAIL, out, cap, info);
	*stream = &g->base;
	info->rcode = DNS_RCODE_NOERROR;
	return 0;
}

/* True when cl may query z's apex whatever access says: a client allow-transfer admits (with its key). */
static bool trusted_at_apex(const struct registry_transfer_view *v, const struct dns_client *cl,
			    const uint8_t *query, const struct dns_query *q, const struct tsig_key *key)
{
	int zi = registry_xfr_find_zone(v->snaps, v->n, query, q);

	return zi >= 0 && registry_xfr_allowed(v->zones[zi]->cfg, v->snaps[zi], cl, key ? key->name : NULL) == XFR_BY_ACL;
}

/* The question's type without parsing the rest (0 when unreadable): enough to keep plain queries on the fast path. */
static uint16_t peek_qtype(const uint8_t *msg, size_t len)
{
	size_t pos = DNS_HEADER_LEN;

	if (len < DNS_HEADER_LEN || msg[4] != 0 || msg[5] != 1)
		return 0;
	while (pos < len && msg[pos] != 0 && !(msg[pos] & 0xc0))
		pos += 1u + msg[pos];
	if (pos >= len || msg[pos] != 0 || len - pos < 3)
		return 0;
	return (uint16_t)(msg[pos + 1] << 8 | msg[pos + 2]);
}

/* Answer one query with TSIG and transfers. */
size_t registry_transfer_answer(struct registry_transfer *t, const struct registry_transfer_view *v,
				const struct dns_answer_env *env, const struct dns_client *cl, const uint8_t *query,
				size_t qlen, uint8_t *out, size_t cap, struct registry_stream **stream,
				struct dns_answer_info *info, const char **why)
{
	struct dns_query q;
	struct tsig_request tr = { .present = false };
	const struct tsig_key *key = NULL;
	size_t n;

	*why = NULL;
	if (qlen < DNS_HEADER_LEN || (query[2] & 0x80))
		return dns_answer(env, cl, query, qlen, out, cap, info);
	uint16_t qtype = peek_qtype(query, qlen);
	bool special = qtype == DNS_TYPE_AXFR || qtype == DNS_TYPE_IXFR || qtype == DNS_TYPE_SOA;
	bool maybe_tsig = query[10] != 0 || query[11] != 0;
	/* Plain queries take dns_answer() alone; a TSIG record can only be in additional. */
	if (!special && !maybe_tsig)
		return dns_answer(env, cl, query, qlen, out, cap, info);
	int found = maybe_tsig ? tsig_find(query, qlen, &tr) : 0;
	if (found == 0 && !tr.present && !special)
		return dns_answer(env, cl, query, qlen, out, cap, info);
	enum dns_query_verdict verdict = dns_query_parse(query, qlen, &q);
	memset(info, 0, sizeof(*info));
	info->verdict = verdict;
	info->zone = -1;
	info->qtype = q.has_question ? q.qtype : 0;
	if (verdict == DNS_QUERY_DROP)
		return 0;
	if (found < 0) {
		t->tsig[TS_FORMERR]++;
		*why = "malformed TSIG record";
		return xfr_error(query, &q, DNS_RCODE_FORMERR, out, cap, info);
	}
	if (tr.present) {
		uint64_t now = (uint64_t)time(NULL);
		int err = tsig_verify(t->keys, t->n_keys, query, qlen, now, &tr);
		bool replay = false;
		/*
		 * Transfer requests over TCP are checked against replays: secondaries sign each
		 * attempt anew. UDP is not: a resolver retransmits the same bytes when an answer
		 * is lost (BIND does), and over UDP the answer is the SOA alone.
		 */
		if (err == TSIG_NOERROR && cl->tcp && verdict == DNS_QUERY_OK &&
		    (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) &&
		    !tsig_replay_check(&t->replay[tr.key], &tr, now)) {
			err = TSIG_BADTIME;
			replay = true;
		}
		if (err != TSIG_NOERROR) {
			t->tsig[replay ? TS_REPLAY : err == TSIG_BADKEY ? TS_BADKEY : err == TSIG_BADSIG ? TS_BADSIG :
				TS_BADTIME]++;
			*why = replay ? "TSIG: a replay of a request already answered (BADTIME)" :
			       err == TSIG_BADKEY ? "TSIG: unknown key (BADKEY)" :
			       err == TSIG_BADSIG ? "TSIG: bad signature (BADSIG)" :
			       "TSIG: signed too long ago or ahead (BADTIME)";
			n = xfr_error(query, &q, DNS_RCODE_NOTAUTH, out, cap, info);
			/*
			 * RFC 8945 5.3.2: the error answer carries a TSIG record saying which error,
			 * unsigned for BADKEY and BADSIG; BADTIME (the MAC verified) is signed (5.2.3).
			 */
			const struct tsig_key *signer = err == TSIG_BADTIME && tr.key >= 0 ? &t->keys[tr.key] : NULL;
			size_t m = n ? tsig_append_error(signer, out, n, cap, &tr, (uint16_t)err, now) : 0;
			return m ? m : n;
		}
		t->tsig[TS_OK]++;
		key = &t->keys[tr.key];
	}
	if (verdict == DNS_QUERY_OK && q.qclass == DNS_CLASS_IN &&
	    (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR)) {
		n = transfer_request(t, v, env, cl, query, qlen, &q, key, &tr, out, cap, stream, info, why);
	} else {
		struct dns_client c2 = *cl;
		c2.trusted = verdict == DNS_QUERY_OK && trusted_at_apex(v, cl, query, &q, key);
		n = dns_answer(env, &c2, query, qlen, out, cap, info);
	}
	return n && key ? sign_response(key, &tr, cl, env, &q, query, out, n, cap) : n;
}

/* Append one stats object. */
static void stats_json(const struct xfr_stats *st, struct strbuf *out)
{
	uint64_t total = 0;

	for (int k = 0; k <= XFR_IXFR_UPTODATE; k++)
		total += st->transfers[k];
	strbuf_printf(out, "{\"transfers\":%llu,\"axfr\":%llu,\"ixfr\":%llu,\"ixfr_full\":%llu,\"ixfr_uptodate\":%llu,"
		      "\"bytes\":%llu,\"failures\":%llu,\"last\":", (unsigned long long)total,
		      (unsigned long long)st->transfers[XFR_AXFR], (unsigned long long)st->transfers[XFR_IXFR],
		      (unsigned long long)st->transfers[XFR_IXFR_FULL], (unsigned long long)st->transfers[XFR_IXFR_UPTODATE],
		      (unsigned long long)st->bytes, (unsigned long long)st->failures);
	if (!st->has_last) {
		strbuf_puts(out, "null}");
		return;
	}
	strbuf_printf(out, "{\"type\":\"%s\",\"serial\":%u,\"bytes\":%zu,\"messages\":%zu,\"records\":%zu,"
		      "\"duration_ms\":%.3f,\"age_s\":%.3f,\"complete\":%s}}", registry_xfr_kind_name(st->last_kind),
		      st->last_serial, st->last_bytes, st->last_messages, st->last_records,
		      (double)st->last_duration_us / 1e3, (double)(clock_monotonic_ms() - st->last_end_ms) / 1e3,
		      st->last_complete ? "true" : "false");
}

/* Append the zone's transfer status. */
void registry_transfer_zone_status_json(const struct registry_transfer_zone *tz, struct strbuf *out)
{
	char a[ADDR_STRLEN];
	size_t active = 0;
	const struct glue_stream *g;

	TAILQ_FOREACH(g, &tz->streams, link)
		active++;
	strbuf_printf(out, "{\"ixfr_history\":%zu,\"ixfr_history_bytes\":%zu,\"ixfr_oldest_serial\":", tz->history.n,
		      tz->history.bytes);
	if (tz->history.n)
		strbuf_printf(out, "%u", tz->history.diffs[0]->from);
	else
		strbuf_puts(out, "null");
	strbuf_printf(out, ",\"active\":%zu,\"refused\":%llu,\"peers\":", active, (unsigned long long)tz->refused);
	stats_json(&tz->peers, out);
	strbuf_puts(out, ",\"others\":");
	stats_json(&tz->others, out);
	strbuf_puts(out, ",\"secondaries\":[");
	for (size_t i = 0; i < tz->n_secs; i++) {
		const struct xfr_secondary *s = &tz->secs[i];
		int ni = registry_notify_find(tz->notify, &s->addr);
		strbuf_puts(out, i ? ",{\"address\":" : "{\"address\":");
		strbuf_json_string(out, addr_format_ip(&s->addr, a, sizeof(a)));
		strbuf_puts(out, ",\"notify\":");
		if (ni >= 0) {
			strbuf_json_string(out, addr_format(registry_notify_addr(tz->notify, (size_t)ni), a, sizeof(a)));
			strbuf_puts(out, ",\"notify_state\":");
			registry_notify_status_json(tz->notify, (size_t)ni, out);
		} else {
			strbuf_puts(out, "null,\"notify_state\":null");
		}
		strbuf_puts(out, ",\"transfers\":");
		stats_json(&s->st, out);
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "]}");
}

/* Append the metric descriptions. */
void registry_transfer_metrics_help(struct strbuf *out)
{
	strbuf_puts(out, "# HELP wgsd_zone_transfers_total Zone transfers completed, by secondary and type.\n"
			 "# TYPE wgsd_zone_transfers_total counter\n"
			 "# HELP wgsd_zone_transfer_bytes_total Bytes of zone transfers sent, by secondary.\n"
			 "# TYPE wgsd_zone_transfer_bytes_total counter\n"
			 "# HELP wgsd_zone_transfer_failures_total Zone transfers cut off before their end, by secondary.\n"
			 "# TYPE wgsd_zone_transfer_failures_total counter\n"
			 "# HELP wgsd_zone_transfer_last_serial Serial of the last transfer to a secondary.\n"
			 "# TYPE wgsd_zone_transfer_last_serial gauge\n"
			 "# HELP wgsd_zone_transfers_refused_total Transfer requests refused (not allowed).\n"
			 "# TYPE wgsd_zone_transfers_refused_total counter\n"
			 "# HELP wgsd_zone_notify_sent_total NOTIFY messages sent, retries included, by secondary.\n"
			 "# TYPE wgsd_zone_notify_sent_total counter\n"
			 "# HELP wgsd_zone_notify_failures_total NOTIFY attempts that failed (no answer, or an error), by secondary.\n"
			 "# TYPE wgsd_zone_notify_failures_total counter\n"
			 "# HELP wgsd_zone_notify_acked_serial Last serial a secondary acknowledged a NOTIFY for.\n"
			 "# TYPE wgsd_zone_notify_acked_serial gauge\n"
			 "# HELP wgsd_zone_ixfr_history_serials Changes kept for IXFR.\n"
			 "# TYPE wgsd_zone_ixfr_history_serials gauge\n");
}

/* Append one client's transfer metrics. */
static void stats_metrics(const struct xfr_stats *st, const char *zone, const char *who, struct strbuf *out)
{
	for (int k = 0; k <= XFR_IXFR_UPTODATE; k++)
		strbuf_printf(out, "wgsd_zone_transfers_total{zone=\"%s\",secondary=\"%s\",type=\"%s\"} %llu\n", zone, who,
			      registry_xfr_kind_name((enum xfr_kind)k), (unsigned long long)st->transfers[k]);
	strbuf_printf(out, "wgsd_zone_transfer_bytes_total{zone=\"%s\",secondary=\"%s\"} %llu\n", zone, who,
		      (unsigned long long)st->bytes);
	strbuf_printf(out, "wgsd_zone_transfer_failures_total{zone=\"%s\",secondary=\"%s\"} %llu\n", zone, who,
		      (unsigned long long)st->failures);
	if (st->has_last)
		strbuf_printf(out, "wgsd_zone_transfer_last_serial{zone=\"%s\",secondary=\"%s\"} %u\n", zone, who,
			      st->last_serial);
}

/* Append the zone's transfer metrics. */
void registry_transfer_zone_metrics(const struct registry_transfer_zone *tz, const char *zone, struct strbuf *out)
{
	char a[ADDR_STRLEN];

	for (size_t i = 0; i < tz->n_secs; i++)
		stats_metrics(&tz->secs[i].st, zone, addr_format_ip(&tz->secs[i].addr, a, sizeof(a)), out);
	stats_metrics(&tz->peers, zone, "peers", out);
	stats_metrics(&tz->others, zone, "others", out);
	strbuf_printf(out, "wgsd_zone_transfers_refused_total{zone=\"%s\"} %llu\n", zone, (unsigned long long)tz->refused);
	for (size_t i = 0; i < registry_notify_count(tz->notify); i++) {
		uint64_t sent, acked, failures;
		uint32_t serial;
		registry_notify_counters(tz->notify, i, &sent, &acked, &failures, &serial);
		addr_format_ip(registry_notify_addr(tz->notify, i), a, sizeof(a));
		strbuf_printf(out, "wgsd_zone_notify_sent_total{zone=\"%s\",secondary=\"%s\"} %llu\n", zone, a,
			      (unsigned long long)sent);
		strbuf_printf(out, "wgsd_zone_notify_failures_total{zone=\"%s\",secondary=\"%s\"} %llu\n", zone, a,
			      (unsigned long long)failures);
		if (acked)
			strbuf_printf(out, "wgsd_zone_notify_acked_serial{zone=\"%s\",secondary=\"%s\"} %u\n", zone, a, serial);
	}
	strbuf_printf(out, "wgsd_zone_ixfr_history_serials{zone=\"%s\"} %zu\n", zone, tz->history.n);
}

/* Append the registry-wide transfer metrics. */
void registry_transfer_metrics(const struct registry_transfer *t, struct strbuf *out)
{
	strbuf_puts(out, "# HELP wgsd_registry_tsig_total Requests carrying TSIG, by outcome.\n"
			 "# TYPE wgsd_registry_tsig_total counter\n");
	for (int i = 0; i < TS_MAX; i++)
		strbuf_printf(out, "wgsd_registry_tsig_total{result=\"%s\"} %llu\n", tsig_outcome_names[i],
			      (unsigned long long)t->tsig[i]);
	strbuf_printf(out, "# HELP wgsd_registry_transfers_running Zone transfers being sent.\n"
			   "# TYPE wgsd_registry_transfers_running gauge\n"
			   "wgsd_registry_transfers_running %u\n"
			   "# HELP wgsd_registry_transfers_busy_total Transfer requests answered SERVFAIL: too many running.\n"
			   "# TYPE wgsd_registry_transfers_busy_total counter\n"
			   "wgsd_registry_transfers_busy_total %llu\n", t->active, (unsigned long long)t->busy);
}
