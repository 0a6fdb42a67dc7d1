/* SPDX-License-Identifier: MIT */
/*
 * Client role glue: one jittered cycle per [client DEV] section. A cycle
 * reads the device, asks every registry about each stale peer (SRV, then
 * A/AAAA of the target when the additional section had none), chooses an
 * endpoint and sets it update-only when it differs. Cycles never overlap:
 * the next one is scheduled when the current one has finished.
 *
 * An answer can arrive long after the reading that made its peer stale
 * (a slow registry, retries, the TCP fallback), and meanwhile the peer may
 * have completed a handshake, roamed, or been removed. So writes are not
 * made from the cycle's reading: answered peers are queued, one device
 * read verifies the whole queue, and only peers still stale, at the same
 * endpoint, and still on the device are written.
 *
 * With peers = auto a cycle also reads every registry's listing (PTR of
 * _wireguard._udp.ZONE). Listed peers missing from the device are resolved
 * like stale ones, plus their TXT (allowed IPs), checked against the guard
 * rails (client-members.c), and added through the same verifying read. A
 * peer that wgsd added (remembered in the state file, client-state.c) and
 * that no registry lists any more is removed once every registry's complete
 * listing has lacked it for auto-remove-after; peers configured by hand are
 * never added to that memory, so never removed.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "client.h"
#include "client-answer.h"
#include "client-axfr.h"
#include "client-members.h"
#include "client-relay.h"
#include "client-path.h"
#include "client-state.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "portmap.h"
#include "resolver.h"
#include "strbuf.h"
#include "wg.h"

/* A peer that keeps failing is queried at most every (BACKOFF_MAX_SKIP + 1) cycles. */
#define BACKOFF_MAX_SKIP 3
#define JITTER_PERCENT 10
#define LATENCY_EWMA_SHIFT 3    /* new sample weighs 1/8 */
/* A zone transfer's whole duration (its size limits per peer are in client-axfr.h). */
#define XFR_TOTAL_MS 30000

enum reg_state { REG_UNKNOWN = 0, REG_UP, REG_DOWN };

/* Why a peer's last query round did not produce an endpoint (logged on change only). */
enum peer_fail {
	PF_NONE = 0,
	PF_NO_ANSWER,        /* every registry timed out or failed */
	PF_UNKNOWN,          /* registries answered without an address (NXDOMAIN, NODATA) */
	PF_BAD_ANSWER,       /* only error rcodes or inconsistent answers */
	PF_SET_FAILED,       /* the device refused the endpoint */
	PF_REJECTED,         /* the answered endpoint cannot be written (loopback, own address, ...) */
};

struct client_dev;
struct client_peer;

/* What a queued write does once the verifying read confirms it. */
enum write_kind {
	W_ENDPOINT = 0,      /* set the answered endpoint of a stale peer */
	W_ADD,               /* add a listed peer (peers = auto) */
	W_REMOVE,            /* remove a peer wgsd added and no registry lists */
};

/* One registry of one section: reachability and latency. */
struct client_registry {
	struct client_dev *dev;
	union sockaddr_any addr;
	char name[ADDR_STRLEN];
	enum reg_state state;
	int last_err;                  /* last transport error, 0 none */
	uint64_t queries, responses, failures;
	uint64_t tcp_responses;        /* answers that came over TCP after TC=1 */
	uint64_t last_rtt_us;
	uint64_t avg_rtt_us;           /* moving average */
	time_t last_response_wall;
	unsigned int cycle_responses;  /* this cycle */
	unsigned int cycle_failures;
	/* peers = auto: the registry's listing. */
	struct resolver_query *list_q;
	struct client_listing listing; /* the latest one (status NONE when it failed) */
	int list_err;                  /* transport error of the latest listing query */
	time_t listing_wall;           /* when the latest listing arrived */
	enum client_listing_status list_logged;  /* listing trouble last logged (COMPLETE: none) */
	/* A listing truncated even over TCP is read whole by a zone transfer (client-axfr.c). */
	struct resolver_query *xfr_q;  /* the transfer in flight */
	struct client_axfr xfr;        /* its reader, while xfr_q is set */
	struct client_axfr_result xfr_res;  /* this cycle's transfer, what it says of each peer */
	bool xfr_used;                 /* this cycle's listing came from xfr_res */
	bool xfr_tried;                /* a transfer was needed at least once */
	int xfr_err;                   /* the latest transfer's error, 0 none */
	uint8_t xfr_rcode;             /* with -EREMOTEIO: the rcode that refused it */
	int xfr_logged_err;            /* xfr_err when the listing's state was last logged */
	uint64_t xfr_ms;               /* how long the latest transfer took */
	time_t xfr_wall;               /* when it ended */
	uint64_t transfers, transfer_failures;
};

struct peer_reg;

/* An A or AAAA query for an SRV target. */
struct peer_glue {
	struct peer_reg *pr;
	struct resolver_query *q;
};

/* One peer's query at one registry. */
struct peer_reg {
	struct client_peer *peer;
	size_t idx;
	struct resolver_query *q;      /* SRV in flight */
	struct peer_glue glue[2];      /* A and AAAA in flight */
	struct resolver_query *txt_q;  /* TXT in flight (a joining peer's SRV answer had none) */
	unsigned int glue_pending;     /* A, AAAA and TXT in flight */
	struct cidr *txt;              /* joining peer: the allowed IPs this registry publishes */
	int n_txt;                     /* how many, or -errno of client_members_txt(); -EAGAIN: not read */
	bool active;                   /* queried this round */
	struct client_answer ans;
	int err;                       /* transport error of the SRV query */
	time_t last_query_wall;
	uint64_t rtt_us;
};

struct client_peer {
	struct client_dev *dev;
	uint8_t key[WG_KEY_LEN];
	char short_key[12];
	enum client_peer_class cls;
	union sockaddr_any endpoint;   /* from the latest device read */
	int64_t handshake_sec;         /* 0: never */
	uint16_t keepalive;
	bool seen_this_read;
	/* Outcome of the latest round. */
	const char *result;            /* "set", "unchanged", "no-answer", "unknown", "bad-answer", "set-failed", "backoff" */
	enum client_answer_status last_status;
	union sockaddr_any last_answer;
	bool nat_symmetric;
	bool nat_consistent;           /* two or more registries saw the same port */
	union sockaddr_any endpoint_set;
	time_t endpoint_set_wall;
	enum peer_fail fail;
	const char *fail_detail;       /* static text logged with fail */
	unsigned int failures;         /* consecutive rounds without a new endpoint */
	unsigned int skip;             /* cycles still to skip (backoff) */
	/* Round in progress. */
	unsigned int pending;
	struct wg_op *set_op;
	union sockaddr_any set_target;
	int set_from;                  /* registry index that gave the endpoint */
	bool write_queued;             /* waiting for (or in) a verifying read */
	enum write_kind wkind;         /* what the queued write does */
	struct client_peer *wnext;     /* next in the write queue or verifying batch */
	struct peer_reg *regs;
	/* Relay (client-relay.c): when to ask, the query in flight, whether the queued write is its answer. */
	struct client_relay_peer relay;
	struct client_relay_query *relay_q;
	bool relay_write;
	bool relay_look;               /* the round in progress is a relayed peer's look-up (a direct try or not) */
	bool relay_probe;              /* the queued write is a direct try of a relayed peer */
	bool relay_fresh_ok;           /* the queued write is made for a fresh peer too (a try, the relay back) */
	uint64_t relay_probe_rx;       /* the receive counter read just before a direct try's write */
	/* peers = auto. */
	size_t wp_index;               /* index in the latest device reading */
	bool joining;                  /* listed but not on the device: resolved to be added */
	bool managed;                  /* on the device and added by wgsd */
	int64_t added_at;              /* wall clock, when managed */
	bool remove_due;               /* remove once the round in progress finishes */
	struct cidr *add_allowed;      /* joining: the allowed IPs to add it with */
	size_t n_add_allowed;
	bool add_in_flight;            /* counted in the section's adds_in_flight */
	struct client_path_peer *path; /* candidates and path choice (client-path.c) */
};

/* A listed peer that was not added, and why (logged when it appears or its reason changes). */
struct client_refusal {
	uint8_t key[WG_KEY_LEN];
	enum client_members_refusal reason;
	time_t since;
	bool seen;                     /* listed in this cycle */
};

struct client_dev {
	struct client *c;
	struct config_client cfg;      /* deep copy */
	struct resolver *res;
	struct event *timer;
	struct wg_op *get_op;
	bool running;                  /* a cycle is in progress */
	unsigned int pending;          /* peers whose round has not finished */
	struct wg_device *reading;     /* this cycle's device reading, until the cycle ends */
	struct cidr *local;            /* this host's addresses, read once per cycle with answers */
	size_t n_local;
	struct cidr *dev_nets;         /* networks of the WireGuard interface itself */
	size_t n_dev_nets;
	struct cidr *own_addrs;        /* addresses of the WireGuard interface itself, full length */
	size_t n_own_addrs;
	bool local_read;               /* local and dev_nets are this cycle's */
	struct client_peer *wq_head;   /* answered peers waiting for a verifying read */
	struct client_peer **wq_tail;
	struct client_peer *verifying; /* the batch whose verifying read is in flight */
	struct wg_op *verify_op;
	bool held;                     /* first cycle waits for client_release() */
	int dev_err;                   /* last device read error, 0 ok */
	bool dev_ok_once;
	struct client_registry *regs;
	const struct client_answer **answers;   /* scratch, one per registry */
	struct client_peer **peers;    /* sorted by key */
	size_t n_peers;
	uint64_t cycle_start_ms;
	struct portmap *pm;            /* port mapping of the listen port, NULL when off */
	struct client_path *path;      /* candidates: registration, path choice (client-path.c) */
	uint64_t cycles, updates, set_errors;
	uint64_t relay_upgrades;       /* relayed peers that moved to a direct path */
	uint64_t rejected;             /* answered endpoints refused by client_answer_endpoint_problem() */
	uint64_t skipped_fresh;        /* writes dropped: the peer handshaked meanwhile */
	uint64_t skipped_moved;        /* writes dropped: WireGuard learnt another endpoint meanwhile */
	uint64_t skipped_gone;         /* writes dropped: the peer was removed meanwhile */
	time_t last_cycle_wall;
	uint64_t last_cycle_ms;
	unsigned int last_candidates, last_queried, last_updated;
	unsigned int cur_candidates, cur_queried, cur_updated;
	/* peers = auto. */
	bool members_on;               /* cfg.peers == PEERS_AUTO */
	char state_dir[STATE_DIR_MAX];
	char state_path[PATH_MAX];
	struct client_state members;   /* the peers this section added */
	bool state_loaded;             /* members holds the file's content (or there was no file) */
	int state_err;                 /* last error reading the file, 0 none */
	int save_err;                  /* last error writing it, 0 none: no adds meanwhile */
	bool state_dirty;              /* members changed since the last save */
	unsigned int listing_pending;  /* listing queries of this cycle still out (+1 while starting) */
	struct client_peer **joining;  /* listed peers missing from the device, this cycle */
	size_t n_joining, cap_joining;
	struct cidr *accepted;         /* allowed IPs of the adds queued this cycle */
	size_t n_accepted, cap_accepted;
	size_t adds_in_flight;          /* accepted additions not finished yet */
	struct cidr *txt_scratch;      /* CLIENT_MEMBERS_MAX_ALLOWED prefixes */
	struct client_refusal *refused;  /* sorted by key */
	size_t n_refused, cap_refused;
	bool limit_logged;             /* "auto-max-peers reached" logged */
	int last_add_err, last_remove_err;
	size_t last_listed;            /* distinct keys the registries listed in the last cycle */
	bool last_all_complete;        /* every listing of the last cycle was complete */
	uint64_t members_added, members_removed, members_forgotten, add_errors, remove_errors;
	uint64_t refusals[CLIENT_MEMBERS_N_REFUSALS];
	unsigned int cur_added, cur_removed, last_added, last_removed;
};

struct client {
	struct event_base *base;
	struct wg_ctx *wg;
	struct portmap_ctx *pm;
	struct client_dev **devs;
	size_t n_devs;
};

static void dev_cycle_end(struct client_dev *d);
static void peer_round_done(struct client_peer *p);
static void peer_relay_look_done(struct client_peer *p, const union sockaddr_any *ep, int from);

/* Release the peer's round state (queries and set op) without callbacks. */
static void peer_cancel(struct client_peer *p)
{
	for (size_t i = 0; i < p->dev->cfg.n_registries; i++) {
		struct peer_reg *pr = &p->regs[i];

		resolver_cancel(pr->q);
		resolver_cancel(pr->glue[0].q);
		resolver_cancel(pr->glue[1].q);
		resolver_cancel(pr->txt_q);
		pr->q = pr->glue[0].q = pr->glue[1].q = pr->txt_q = NULL;
	}
	if (p->set_op) {
		wg_op_cancel(p->set_op);
		p->set_op = NULL;
	}
	client_relay_cancel(p->relay_q);
	p->relay_q = NULL;
	client_path_peer_cancel(p->path);
}

/* Free a peer. */
static void peer_free(struct client_peer *p)
{
	if (!p)
		return;
	peer_cancel(p);
	client_path_peer_free(p->path);
	for (size_t i = 0; i < p->dev->cfg.n_registries; i++)
		free(p->regs[i].txt);
	free(p->regs);
	free(p->add_allowed);
	free(p);
}

/* Create the state of a newly seen peer. */
static struct client_peer *peer_new(struct client_dev *d, const uint8_t key[WG_KEY_LEN])
{
	struct client_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->regs = calloc(d->cfg.n_registries ? d->cfg.n_registries : 1, sizeof(*p->regs));
	p->path = client_path_peer_new(d->path, key);
	if (!p->regs || !p->path) {
		client_path_peer_free(p->path);
		free(p->regs);
		free(p);
		return NULL;
	}
	p->dev = d;
	memcpy(p->key, key, WG_KEY_LEN);
	key_short(key, p->short_key);
	p->result = "none";
	for (size_t i = 0; i < d->cfg.n_registries; i++) {
		p->regs[i].peer = p;
		p->regs[i].idx = i;
		p->regs[i].n_txt = -EAGAIN;
		p->regs[i].glue[0].pr = &p->regs[i];
		p->regs[i].glue[1].pr = &p->regs[i];
	}
	return p;
}

static void dev_state_save(struct client_dev *d);
static void registry_xfr_cancel(struct client_registry *reg);

/* Free the listed peers that were resolved to be added this cycle. */
static void dev_free_joining(struct client_dev *d)
{
	for (size_t i = 0; i < d->n_joining; i++)
		peer_free(d->joining[i]);
	d->n_joining = 0;
	d->n_accepted = 0;
	d->adds_in_flight = 0;
}

/* Free a section. */
static void dev_free(struct client_dev *d)
{
	if (!d)
		return;
	if (d->get_op)
		wg_op_cancel(d->get_op);
	if (d->verify_op)
		wg_op_cancel(d->verify_op);
	d->wq_head = d->verifying = NULL;
	/* Freeing peers cancels their queries; without this each cancel would start a queued one. */
	resolver_stop(d->res);
	for (size_t i = 0; i < d->n_peers; i++)
		peer_free(d->peers[i]);
	free(d->peers);
	dev_free_joining(d);
	free(d->joining);
	for (size_t i = 0; d->regs && i < d->cfg.n_registries; i++) {
		resolver_cancel(d->regs[i].list_q);
		client_members_listing_clear(&d->regs[i].listing);
		registry_xfr_cancel(&d->regs[i]);
		client_axfr_result_clear(&d->regs[i].xfr_res);
	}
	/* What this section added must outlive it: a reload or stop writes it down. */
	dev_state_save(d);
	client_state_clear(&d->members);
	free(d->accepted);
	free(d->txt_scratch);
	free(d->refused);
	free(d->own_addrs);
	/* The mapping's holder goes before the candidates it reports to. */
	portmap_free(d->pm);
	d->pm = NULL;
	client_path_free(d->path);
	resolver_free(d->res);
	if (d->timer)
		event_free(d->timer);
	free(d->regs);
	free(d->answers);
	wg_device_free(d->reading);
	free(d->local);
	free(d->dev_nets);
	portmap_free(d->pm);
	config_client_clear(&d->cfg);
	free(d);
}

/* Arm the cycle timer: interval with +-10% jitter, counted from the cycle start. */
static void dev_schedule(struct client_dev *d, bool immediately)
{
	uint64_t delay_ms = 0;
	struct timeval tv;

	if (!immediately) {
		uint32_t rnd = 0;
		uint64_t span = (uint64_t)d->cfg.interval_ms * JITTER_PERCENT / 100;
		uint64_t elapsed = clock_monotonic_ms() - d->cycle_start_ms;

		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint32_t)clock_monotonic_ms() * 2654435761u;
		delay_ms = d->cfg.interval_ms - span + (span ? rnd % (2 * span + 1) : 0);
		delay_ms = delay_ms > elapsed ? delay_ms - elapsed : 0;
		/* A candidate being tried has its own deadline: look again then, not a whole interval later. */
		uint64_t next = client_path_next_ms(d->path), now = clock_monotonic_ms();
		if (next && (next > now ? next - now : 0) < delay_ms)
			delay_ms = next > now ? next - now : 0;
	}
	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)(delay_ms % 1000 * 1000);
	event_add(d->timer, &tv);
}

/* Compare two peer keys for bsearch/qsort. */
static int peer_key_cmp(const void *a, const void *b)
{
	const struct client_peer *pa = *(struct client_peer *const *)a;
	const struct client_peer *pb = *(struct client_peer *const *)b;

	return memcmp(pa->key, pb->key, WG_KEY_LEN);
}

/* Find a peer by key in the sorted table. */
static struct client_peer *dev_find_peer(struct client_dev *d, const uint8_t key[WG_KEY_LEN])
{
	size_t lo = 0, hi = d->n_peers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(key, d->peers[mid]->key, WG_KEY_LEN);

		if (c == 0)
			return d->peers[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Record a transport outcome for a registry (reachability, latency, counters). */
static void registry_note(struct client_registry *reg, const struct resolver_result *res)
{
	reg->queries++;
	if (res->err) {
		reg->failures++;
		reg->cycle_failures++;
		reg->last_err = res->err;
		return;
	}
	reg->responses++;
	reg->cycle_responses++;
	if (res->tcp)
		reg->tcp_responses++;
	reg->last_err = 0;
	reg->last_rtt_us = res->rtt_us;
	reg->avg_rtt_us = reg->avg_rtt_us ? reg->avg_rtt_us - (reg->avg_rtt_us >> LATENCY_EWMA_SHIFT) +
						    (res->rtt_us >> LATENCY_EWMA_SHIFT)
					  : res->rtt_us;
	reg->last_response_wall = time(NULL);
}

/* One registry is done with this peer (SRV and any A/AAAA). */
static void peer_reg_done(struct peer_reg *pr)
{
	struct client_peer *p = pr->peer;

	if (--p->pending == 0)
		peer_round_done(p);
}

/* A/AAAA of the SRV target arrived (or failed: the SRV still stands without that family). */
static void glue_cb(const struct resolver_result *res, void *arg)
{
	struct peer_glue *g = arg;
	struct peer_reg *pr = g->pr;
	struct client_dev *d = pr->peer->dev;

	g->q = NULL;
	registry_note(&d->regs[pr->idx], res);
	if (res->pkt)
		client_answer_add_addrs(res->pkt, &pr->ans);
	if (--pr->glue_pending == 0)
		peer_reg_done(pr);
}

/* Keep the allowed IPs a response publishes for a joining peer (or why there are none). */
static void peer_reg_read_txt(struct peer_reg *pr, const ldns_pkt *pkt)
{
	struct client_peer *p = pr->peer;
	struct client_dev *d = p->dev;
	int n = client_members_txt(pkt, p->key, d->cfg.zone, d->txt_scratch, CLIENT_MEMBERS_MAX_ALLOWED);

	free(pr->txt);
	pr->txt = NULL;
	if (n > 0) {
		pr->txt = malloc((size_t)n * sizeof(*pr->txt));
		if (pr->txt)
			memcpy(pr->txt, d->txt_scratch, (size_t)n * sizeof(*pr->txt));
		else
			n = -ENOMEM;
	}
	pr->n_txt = n;
}

/* The TXT of a joining peer arrived (or failed: its allowed IPs stay unknown from this registry). */
static void txt_cb(const struct resolver_result *res, void *arg)
{
	struct peer_reg *pr = arg;
	struct client_dev *d = pr->peer->dev;

	pr->txt_q = NULL;
	registry_note(&d->regs[pr->idx], res);
	if (res->pkt && ldns_pkt_get_rcode(res->pkt) == LDNS_RCODE_NOERROR)
		peer_reg_read_txt(pr, res->pkt);
	else
		pr->n_txt = res->pkt ? -ENODATA : res->err ? res->err : -EIO;
	if (--pr->glue_pending == 0)
		peer_reg_done(pr);
}

/* The SRV answer of one registry arrived. */
static void srv_cb(const struct resolver_result *res, void *arg)
{
	struct peer_reg *pr = arg;
	struct client_peer *p = pr->peer;
	struct client_dev *d = p->dev;

	pr->q = NULL;
	pr->err = res->err;
	pr->rtt_us = res->rtt_us;
	registry_note(&d->regs[pr->idx], res);
	if (res->err) {
		memset(&pr->ans, 0, sizeof(pr->ans));
		peer_reg_done(pr);
		return;
	}
	client_answer_parse_srv(res->pkt, p->key, d->cfg.zone, &pr->ans);
	pr->glue_pending = 0;
	if (pr->ans.status == CLIENT_ANSWER_OK && pr->ans.n_addrs == 0) {
		/* No glue in the additional section: ask for the target's A and AAAA. */
		pr->glue[0].q = resolver_query(d->res, &d->regs[pr->idx].addr, pr->ans.target,
					       LDNS_RR_TYPE_A, glue_cb, &pr->glue[0]);
		pr->glue[1].q = resolver_query(d->res, &d->regs[pr->idx].addr, pr->ans.target,
					       LDNS_RR_TYPE_AAAA, glue_cb, &pr->glue[1]);
		pr->glue_pending = (pr->glue[0].q != NULL) + (pr->glue[1].q != NULL);
	}
	if (p->joining && pr->ans.status == CLIENT_ANSWER_OK) {
		peer_reg_read_txt(pr, res->pkt);
		if (pr->n_txt == -ENODATA) {
			/* The additional section had no room for the TXT: ask for it. */
			char qname[DNAME_STRLEN + 32];

			if (client_answer_qname(p->key, d->cfg.zone, qname, sizeof(qname)) == 0)
				pr->txt_q = resolver_query(d->res, &d->regs[pr->idx].addr, qname,
							   LDNS_RR_TYPE_TXT, txt_cb, pr);
			if (pr->txt_q)
				pr->glue_pending++;
			else
				pr->n_txt = -EIO;
		}
	}
	if (pr->glue_pending)
		return;
	peer_reg_done(pr);
}

/* Log a peer's failure state when it changes. */
static void peer_set_fail(struct client_peer *p, enum peer_fail f, const char *detail)
{
	struct client_dev *d = p->dev;

	if (p->fail == f && p->fail_detail == detail)
		return;
	if (p->fail == f && f != PF_REJECTED)
		return;
	switch (f) {
	case PF_NONE:
		log_debug("%s: peer %s resolves again", d->cfg.device, p->short_key);
		break;
	case PF_NO_ANSWER:
		/* Registry-level logs already say which registry is silent. */
		log_debug("%s: peer %s: no answer from any registry", d->cfg.device, p->short_key);
		break;
	case PF_UNKNOWN:
		log_info("%s: peer %s: not known to the registries (%s)", d->cfg.device, p->short_key, detail);
		break;
	case PF_BAD_ANSWER:
		log_warnx("%s: peer %s: unusable answer from the registries (%s)", d->cfg.device,
			  p->short_key, detail);
		break;
	case PF_SET_FAILED:
		log_warnx("%s: peer %s: cannot set endpoint: %s", d->cfg.device, p->short_key, detail);
		break;
	case PF_REJECTED:
		log_warnx("%s: peer %s: the registries' endpoint cannot be used (%s); not set", d->cfg.device,
			  p->short_key, detail);
		break;
	}
	p->fail = f;
	p->fail_detail = detail;
}

/* Grow the backoff after a round that brought nothing new. */
static void peer_backoff(struct client_peer *p)
{
	unsigned int skip;

	p->failures++;
	skip = p->failures >= 3 ? BACKOFF_MAX_SKIP : (1u << (p->failures - 1)) - 1;
	p->skip = skip > BACKOFF_MAX_SKIP ? BACKOFF_MAX_SKIP : skip;
}

/* Reset the backoff: the answer changed or the tunnel works. */
static void peer_backoff_reset(struct client_peer *p)
{
	p->failures = 0;
	p->skip = 0;
}

static void peer_queue_write(struct client_peer *p, enum write_kind kind);

/* Finish a peer's round (or its queued write), or go on with a removal that waited for it. */
static void peer_finish(struct client_peer *p)
{
	struct client_dev *d = p->dev;

	if (p->add_in_flight) {
		p->add_in_flight = false;
		d->adds_in_flight--;
	}
	if (p->remove_due) {
		/* The round's share of d->pending carries over to the removal. */
		p->remove_due = false;
		peer_queue_write(p, W_REMOVE);
		return;
	}
	if (--d->pending == 0 && !d->get_op)
		dev_cycle_end(d);
}

/* The device took (or refused) the new endpoint. */
static void set_cb(int err, void *arg)
{
	struct client_peer *p = arg;
	struct client_dev *d = p->dev;
	char old[ADDR_STRLEN], new[ADDR_STRLEN];

	p->set_op = NULL;
	p->relay_fresh_ok = false;
	if (p->relay_write) {
		p->relay_write = false;
		if (err)
			client_relay_failed(&p->relay, err, clock_monotonic_ms());
		else
			client_relay_written(&p->relay, &p->set_target, clock_monotonic_ms());
	}
	if (p->relay_probe) {
		p->relay_probe = false;
		if (!err) {
			addr_format(&p->set_target, new, sizeof(new));
			addr_format(&p->relay.relay, old, sizeof(old));
			log_info("%s: peer %s: trying direct %s for %u ms (relay %s kept)", d->cfg.device, p->short_key,
				 new, d->cfg.cand_timeout_ms, old);
			client_relay_probing(&p->relay, &p->set_target, clock_monotonic_ms(), (int64_t)time(NULL),
					     p->relay_probe_rx);
			client_path_kick(p->path, d->cfg.keepalive > 0 ? d->cfg.keepalive : p->keepalive);
			p->endpoint = p->set_target;
			p->result = "relay-probe";
			peer_finish(p);
			return;
		}
	}
	if (err) {
		d->set_errors++;
		p->result = "set-failed";
		peer_set_fail(p, PF_SET_FAILED, wg_strerror(err));
		peer_backoff(p);
	} else if (p->relay.stage == CLIENT_RELAY_RELAYED && addr_equal(&p->relay.relay, &p->set_target)) {
		addr_format(&p->endpoint, old, sizeof(old));
		addr_format(&p->set_target, new, sizeof(new));
		log_info("%s: peer %s endpoint %s -> %s (relayed via registry %s)", d->cfg.device, p->short_key, old,
			 new, d->regs[p->set_from].name);
		p->endpoint = p->endpoint_set = p->set_target;
		p->endpoint_set_wall = time(NULL);
		p->result = "relayed";
		d->updates++;
		d->cur_updated++;
		peer_set_fail(p, PF_NONE, NULL);
	} else {
		const struct peer_reg *pr = &p->regs[p->set_from];

		client_path_written(p->path, d->cfg.keepalive > 0 ? d->cfg.keepalive : p->keepalive);
		addr_format(&p->endpoint, old, sizeof(old));
		addr_format(&p->set_target, new, sizeof(new));
		if (pr->ans.has_seen)
			log_info("%s: peer %s endpoint %s -> %s (registry %s, seen %llus ago)", d->cfg.device,
				 p->short_key, old, new, d->regs[p->set_from].name,
				 (unsigned long long)pr->ans.seen);
		else
			log_info("%s: peer %s endpoint %s -> %s (registry %s)", d->cfg.device, p->short_key,
				 old, new, d->regs[p->set_from].name);
		p->endpoint = p->set_target;
		p->endpoint_set = p->set_target;
		p->endpoint_set_wall = time(NULL);
		p->result = "set";
		d->updates++;
		d->cur_updated++;
		peer_set_fail(p, PF_NONE, NULL);
	}
	peer_finish(p);
}

/* Length of a netmask in bits. */
static uint8_t netmask_len(const struct sockaddr *mask)
{
	const uint8_t *b;
	size_t n;
	uint8_t bits = 0;

	if (mask->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)(const void *)mask)->sin_addr;
		n = 4;
	} else {
		b = ((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr.s6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		for (int k = 7; k >= 0; k--)
			bits += (b[i] >> k) & 1;
	return bits;
}

/*
 * Read this host's addresses, once per cycle and only when an answer needs
 * checking. getifaddrs() is a netlink dump of the local kernel's tables: it
 * never waits on the network.
 */
static void dev_read_local(struct client_dev *d)
{
	struct ifaddrs *list = NULL;
	struct cidr *local = NULL, *nets = NULL, *own = NULL;
	size_t n = 0, m = 0, k = 0, cap = 0;

	if (d->local_read)
		return;
	d->local_read = true;
	free(d->local);
	free(d->dev_nets);
	free(d->own_addrs);
	d->local = d->dev_nets = d->own_addrs = NULL;
	d->n_local = d->n_dev_nets = d->n_own_addrs = 0;
	if (getifaddrs(&list) < 0) {
		log_warn("%s: cannot list this host's addresses; only generic endpoint checks apply", d->cfg.device);
		return;
	}
	for (const struct ifaddrs *i = list; i; i = i->ifa_next)
		cap++;
	local = calloc(cap ? cap : 1, sizeof(*local));
	nets = calloc(cap ? cap : 1, sizeof(*nets));
	own = calloc(cap ? cap : 1, sizeof(*own));
	if (!local || !nets || !own)
		goto out;
	for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
		struct cidr c;

		if (!i->ifa_addr)
			continue;
		memset(&c, 0, sizeof(c));
		if (i->ifa_addr->sa_family == AF_INET) {
			c.family = AF_INET;
			c.prefix = 32;
			memcpy(c.addr, &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			c.family = AF_INET6;
			c.prefix = 128;
			memcpy(c.addr, &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		local[n++] = c;
		if (strcmp(i->ifa_name, d->cfg.device) == 0)
			own[k++] = c;
		if (strcmp(i->ifa_name, d->cfg.device) == 0 && i->ifa_netmask &&
		    i->ifa_netmask->sa_family == i->ifa_addr->sa_family) {
			c.prefix = netmask_len(i->ifa_netmask);
			nets[m++] = c;
		}
	}
	d->local = local;
	d->n_local = n;
	d->dev_nets = nets;
	d->n_dev_nets = m;
	d->own_addrs = own;
	d->n_own_addrs = k;
	local = nets = own = NULL;
out:
	free(local);
	free(nets);
	free(own);
	freeifaddrs(list);
}

/* What an endpoint is checked against: this host's addresses and a device reading. */
static struct client_local dev_local(const struct client_dev *d, const struct wg_device *wd)
{
	struct client_local l = {
		.dev = wd,
		.addrs = d->local,
		.n_addrs = d->n_local,
		.dev_nets = d->dev_nets,
		.n_dev_nets = d->n_dev_nets,
	};

	return l;
}

static void dev_verify_start(struct client_dev *d);

/* Queue a peer's write (endpoint, addition, removal) for a verifying read before it is made. */
static void peer_queue_write(struct client_peer *p, enum write_kind kind)
{
	struct client_dev *d = p->dev;

	p->wkind = kind;
	p->write_queued = true;
	p->wnext = NULL;
	*d->wq_tail = p;
	d->wq_tail = &p->wnext;
	dev_verify_start(d);
}

/* Compare a peer key with a wg_peer pointer's key (bsearch). */
static int wg_peer_key_cmp(const void *key, const void *elem)
{
	return memcmp(key, (*(const struct wg_peer *const *)elem)->public_key, WG_KEY_LEN);
}

/* Order wg_peer pointers by key (qsort). */
static int wg_peer_ptr_cmp(const void *a, const void *b)
{
	return memcmp((*(const struct wg_peer *const *)a)->public_key,
		      (*(const struct wg_peer *const *)b)->public_key, WG_KEY_LEN);
}

/*
 * Write a queued endpoint if the fresh reading still calls for it: the
 * peer is on the device, still stale, at the endpoint the cycle saw. The
 * update-only write cannot tell a peer removed between this reading and
 * the write; that window is one loop turn.
 */
static void peer_endpoint_checked(struct client_peer *p, const struct wg_peer *wp, const struct wg_device *wd)
{
	struct client_dev *d = p->dev;
	char now_s[ADDR_STRLEN], tgt_s[ADDR_STRLEN];
	union sockaddr_any now_ep, was_ep;
	struct client_local l;
	enum client_peer_class cls;
	const char *problem;
	struct wg_peer_update up;

	addr_format(&p->set_target, tgt_s, sizeof(tgt_s));
	if (!wp) {
		d->skipped_gone++;
		p->result = "gone";
		log_info("%s: peer %s was removed from the device meanwhile; endpoint %s not set", d->cfg.device,
			 p->short_key, tgt_s);
		peer_finish(p);
		return;
	}
	now_ep = wp->endpoint;
	was_ep = p->endpoint;
	addr_unmap_v4(&now_ep);
	addr_unmap_v4(&was_ep);
	addr_format(&now_ep, now_s, sizeof(now_s));
	p->endpoint = wp->endpoint;
	p->handshake_sec = wp->last_handshake_sec;
	cls = client_answer_classify(wp, (int64_t)time(NULL), d->cfg.handshake_timeout_ms,
				     (const uint8_t *)d->cfg.exclude, d->cfg.n_exclude, d->cfg.registries,
				     d->cfg.n_registries);
	if (cls != CLIENT_PEER_CANDIDATE && !(cls == CLIENT_PEER_FRESH && p->relay_fresh_ok)) {
		p->cls = cls;
		p->result = client_peer_class_name(cls);
		if (cls == CLIENT_PEER_FRESH) {
			d->skipped_fresh++;
			log_info("%s: peer %s completed a handshake meanwhile (endpoint %s); answer %s not written",
				 d->cfg.device, p->short_key, now_s, tgt_s);
		}
		peer_backoff_reset(p);
		peer_finish(p);
		return;
	}
	if (!addr_equal(&now_ep, &was_ep)) {
		if (addr_equal(&now_ep, &p->set_target)) {
			p->result = "unchanged";
			peer_set_fail(p, PF_NONE, NULL);
			peer_backoff(p);
		} else {
			/* WireGuard learnt it from an authenticated packet: that path works. */
			d->skipped_moved++;
			p->result = "moved";
			log_info("%s: peer %s endpoint changed meanwhile to %s; answer %s not written",
				 d->cfg.device, p->short_key, now_s, tgt_s);
		}
		peer_finish(p);
		return;
	}
	l = dev_local(d, wd);
	problem = client_answer_endpoint_problem(&p->set_target, &l);
	if (problem) {
		d->rejected++;
		p->result = "rejected";
		peer_set_fail(p, PF_REJECTED, problem);
		peer_backoff(p);
		peer_finish(p);
		return;
	}
	p->relay_probe_rx = wp->rx_bytes;
	memset(&up, 0, sizeof(up));
	memcpy(up.public_key, p->key, WG_KEY_LEN);
	up.endpoint = p->set_target;
	/* With peers = auto, peers configured by hand keep their own keepalive. */
	up.persistent_keepalive = d->cfg.keepalive > 0 && (!d->members_on || p->managed) ? d->cfg.keepalive : -1;
	p->set_op = wg_set_peer(d->c->wg, d->cfg.device, d->cfg.backend, &up, set_cb, p);
	if (!p->set_op) {
		int err = errno ? -errno : -ENOMEM;

		d->set_errors++;
		p->result = "set-failed";
		peer_set_fail(p, PF_SET_FAILED, wg_strerror(err));
		peer_backoff(p);
		peer_finish(p);
	}
}

/* A relay endpoint queued for writing was not written: already in place, or the peer changed meanwhile. */
static void peer_relay_unwritten(struct client_peer *p)
{
	if (p->set_op)
		return;
	p->relay_fresh_ok = false;
	p->relay_probe = false;   /* a direct try not written: the peer stays relayed, the next look decides */
	if (!p->relay_write)
		return;
	p->relay_write = false;
	if (addr_equal(&p->endpoint, &p->set_target))
		client_relay_written(&p->relay, &p->set_target, clock_monotonic_ms());
	else
		client_relay_failed(&p->relay, 0, clock_monotonic_ms());
}

/* Format prefixes as "a/b, c/d" into buf (cut short with "..." when it does not fit). */
static const char *cidrs_text(const struct cidr *c, size_t n, char *buf, size_t len)
{
	size_t w = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[CIDR_STRLEN];
		int r;

		cidr_format(&c[i], one, sizeof(one));
		r = snprintf(buf + w, len - w, "%s%s", i ? ", " : "", one);
		if (r < 0 || (size_t)r >= len - w) {
			if (len > 4)
				memcpy(buf + len - 4, "...", 4);
			break;
		}
		w += (size_t)r;
	}
	return n ? buf : "none";
}

/* A listed peer is not added: remember, count and log it when new or for a new reason. */
static void dev_note_refusal(struct client_dev *d, const uint8_t key[WG_KEY_LEN], enum client_members_refusal r,
			     const struct cidr *allowed, size_t n)
{
	char short_key[12], ips[512];
	bool found;
	size_t at = key_search(d->refused, d->n_refused, sizeof(*d->refused), key, &found);

	if (found && d->refused[at].reason == r) {
		d->refused[at].seen = true;
		return;
	}
	if (!found) {
		if (d->n_refused == d->cap_refused) {
			size_t cap = d->cap_refused ? d->cap_refused * 2 : 16;
			struct client_refusal *t = realloc(d->refused, cap * sizeof(*t));

			if (!t)
				return;   /* not remembered: it is logged again next cycle, nothing worse */
			d->refused = t;
			d->cap_refused = cap;
		}
		memmove(&d->refused[at + 1], &d->refused[at], (d->n_refused - at) * sizeof(*d->refused));
		d->n_refused++;
		memcpy(d->refused[at].key, key, WG_KEY_LEN);
	}
	d->refused[at].reason = r;
	d->refused[at].since = time(NULL);
	d->refused[at].seen = true;
	d->refusals[r]++;
	key_short(key, short_key);
	if (r == CLIENT_MEMBERS_LIMIT) {
		/* One line for the condition, not one per peer beyond the limit. */
		if (!d->limit_logged)
			log_warnx("%s: auto-max-peers (%u) reached: further listed peers are not added",
				  d->cfg.device, d->cfg.auto_max_peers);
		d->limit_logged = true;
		log_debug("%s: listed peer %s not added: %s", d->cfg.device, short_key, client_members_refusal_text(r));
	} else if (r == CLIENT_MEMBERS_EXCLUDED) {
		log_info("%s: listed peer %s not added: %s", d->cfg.device, short_key, client_members_refusal_text(r));
	} else if (n == 0) {
		log_warnx("%s: listed peer %s not added: %s", d->cfg.device, short_key, client_members_refusal_text(r));
	} else {
		log_warnx("%s: listed peer %s not added: %s (allowed IPs %s)", d->cfg.device, short_key,
			  client_members_refusal_text(r), cidrs_text(allowed, n, ips, sizeof(ips)));
	}
}

/* Forget a refusal (the peer was added, or its refusal no longer holds). */
static void dev_clear_refusal(struct client_dev *d, const uint8_t key[WG_KEY_LEN])
{
	bool found;
	size_t at = key_search(d->refused, d->n_refused, sizeof(*d->refused), key, &found);

	if (!found)
		return;
	memmove(&d->refused[at], &d->refused[at + 1], (d->n_refused - at - 1) * sizeof(*d->refused));
	d->n_refused--;
}

/* True when the section may add peers now: its memory is read and can be written. */
static bool dev_can_add(const struct client_dev *d)
{
	return d->members_on && d->state_loaded && !d->save_err;
}

/* The rules of the section for client_members_vet(). */
static struct client_members_policy dev_policy(const struct client_dev *d)
{
	struct client_members_policy pol = {
		.auto_allowed = d->cfg.auto_allowed,
		.n_auto_allowed = d->cfg.n_auto_allowed,
		.max_peers = d->cfg.auto_max_peers,
		.exclude = (const uint8_t *)d->cfg.exclude,
		.n_exclude = d->cfg.n_exclude,
		.registries = d->cfg.registries,
		.n_registries = d->cfg.n_registries,
	};

	return pol;
}

/* The device added the peer (or refused to). */
static void add_cb(int err, void *arg)
{
	struct client_peer *p = arg;
	struct client_dev *d = p->dev;
	char ep[ADDR_STRLEN], ips[512];
	int r;

	p->set_op = NULL;
	if (err) {
		d->add_errors++;
		p->result = "add-failed";
		if (err != d->last_add_err)
			log_warnx("%s: cannot add peer %s: %s", d->cfg.device, p->short_key, wg_strerror(err));
		d->last_add_err = err;
		peer_finish(p);
		return;
	}
	d->last_add_err = 0;
	r = client_state_add(&d->members, p->key, p->add_allowed, p->n_add_allowed, (int64_t)time(NULL));
	if (r < 0 && r != -EEXIST)
		log_warnx("%s: peer %s was added but cannot be remembered (%s): it will never be removed",
			  d->cfg.device, p->short_key, strerror(-r));
	d->state_dirty = true;
	d->members_added++;
	d->cur_added++;
	p->result = "added";
	addr_format(&p->set_target, ep, sizeof(ep));
	log_info("%s: peer %s added from the registries' listing (allowed IPs %s, endpoint %s)", d->cfg.device,
		 p->short_key, cidrs_text(p->add_allowed, p->n_add_allowed, ips, sizeof(ips)), ep);
	peer_finish(p);
}

/* The device removed the peer (or refused to). */
static void remove_cb(int err, void *arg)
{
	struct client_peer *p = arg;
	struct client_dev *d = p->dev;
	struct client_state_peer *sp = client_state_find(&d->members, p->key);
	uint64_t absent_ms = sp && sp->absent ? clock_monotonic_ms() - sp->absent_since_ms : 0;

	p->set_op = NULL;
	if (err) {
		d->remove_errors++;
		p->result = "remove-failed";
		if (err != d->last_remove_err)
			log_warnx("%s: cannot remove peer %s: %s", d->cfg.device, p->short_key, wg_strerror(err));
		d->last_remove_err = err;
		peer_finish(p);
		return;
	}
	d->last_remove_err = 0;
	client_state_del(&d->members, p->key);
	d->state_dirty = true;
	d->members_removed++;
	d->cur_removed++;
	p->managed = false;
	p->result = "removed";
	log_info("%s: peer %s removed: wgsd added it and no registry has listed it for %llus", d->cfg.device,
		 p->short_key, (unsigned long long)(absent_ms / 1000));
	peer_finish(p);
}

/*
 * Add a listed peer if the fresh reading still allows it: not on the device
 * (a peer someone configured meanwhile is theirs: creating it would change
 * it), and its allowed IPs still clear of every peer's and of this device's.
 */
static void member_add_checked(struct client_peer *p, const struct wg_peer *wp, const struct wg_device *wd)
{
	struct client_dev *d = p->dev;
	struct client_members_policy pol = dev_policy(d);
	struct client_members_view v = { 0 };
	struct client_local l;
	enum client_members_refusal r;
	struct wg_peer_update up;

	if (wp) {
		p->result = "present";
		log_info("%s: peer %s appeared on the device meanwhile; not added", d->cfg.device, p->short_key);
		peer_finish(p);
		return;
	}
	if (wd->has_public_key && memcmp(wd->public_key, p->key, WG_KEY_LEN) == 0) {
		p->result = "own-key";   /* the device's key changed meanwhile: never a peer of itself */
		peer_finish(p);
		return;
	}
	if (!dev_can_add(d)) {
		p->result = "not-added";
		peer_finish(p);
		return;
	}
	v.dev = wd;
	v.own_addrs = d->own_addrs;
	v.n_own_addrs = d->n_own_addrs;
	pol.max_peers = UINT_MAX;   /* counted when it was accepted */
	r = client_members_vet(&pol, &v, p->key, p->add_allowed, p->n_add_allowed);
	if (r != CLIENT_MEMBERS_OK) {
		p->result = "refused";
		dev_note_refusal(d, p->key, r, p->add_allowed, p->n_add_allowed);
		peer_finish(p);
		return;
	}
	l = dev_local(d, wd);
	if (p->set_target.sa.sa_family != AF_UNSPEC && client_answer_endpoint_problem(&p->set_target, &l))
		memset(&p->set_target, 0, sizeof(p->set_target));   /* added without; the usual path logs it */
	memset(&up, 0, sizeof(up));
	memcpy(up.public_key, p->key, WG_KEY_LEN);
	up.change = WG_PEER_CREATE;
	up.endpoint = p->set_target;
	up.persistent_keepalive = d->cfg.keepalive > 0 ? d->cfg.keepalive : -1;
	up.allowed_ips = p->add_allowed;
	up.n_allowed_ips = p->n_add_allowed;
	p->set_op = wg_set_peer(d->c->wg, d->cfg.device, d->cfg.backend, &up, add_cb, p);
	if (!p->set_op)
		add_cb(errno ? -errno : -ENOMEM, p);
}

/*
 * Remove a peer wgsd added if the fresh reading still shows it as wgsd left
 * it: its allowed IPs changed by someone else make it theirs, never removed.
 */
static void member_remove_checked(struct client_peer *p, const struct wg_peer *wp)
{
	struct client_dev *d = p->dev;
	struct client_state_peer *sp = client_state_find(&d->members, p->key);
	struct wg_peer_update up;

	if (!sp) {
		p->result = "not-managed";
		peer_finish(p);
		return;
	}
	if (!wp) {
		log_info("%s: peer %s that wgsd added was removed from the device meanwhile; forgotten",
			 d->cfg.device, p->short_key);
		client_state_del(&d->members, p->key);
		d->state_dirty = true;
		d->members_forgotten++;
		p->result = "gone";
		peer_finish(p);
		return;
	}
	if (!client_members_allowed_same(sp->allowed, sp->n_allowed, wp->allowed_ips, wp->n_allowed_ips)) {
		log_info("%s: peer %s that wgsd added has other allowed IPs now (changed by hand?); it is left alone and never removed",
			 d->cfg.device, p->short_key);
		client_state_del(&d->members, p->key);
		d->state_dirty = true;
		d->members_forgotten++;
		p->managed = false;
		p->result = "not-managed";
		peer_finish(p);
		return;
	}
	memset(&up, 0, sizeof(up));
	memcpy(up.public_key, p->key, WG_KEY_LEN);
	up.change = WG_PEER_REMOVE;
	up.persistent_keepalive = -1;
	p->set_op = wg_set_peer(d->c->wg, d->cfg.device, d->cfg.backend, &up, remove_cb, p);
	if (!p->set_op)
		remove_cb(errno ? -errno : -ENOMEM, p);
}

/* A queued write cannot be checked (the verifying read failed): count it as that write's failure. */
static void peer_write_failed(struct client_peer *p, int err)
{
	struct client_dev *d = p->dev;

	switch (p->wkind) {
	case W_ADD:
		d->add_errors++;
		p->result = "add-failed";
		break;
	case W_REMOVE:
		d->remove_errors++;
		p->result = "remove-failed";
		break;
	case W_ENDPOINT:
	default:
		d->set_errors++;
		p->result = "set-failed";
		peer_set_fail(p, PF_SET_FAILED, wg_strerror(err));
		peer_backoff(p);
		break;
	}
	peer_finish(p);
}

/* Make a queued write that the fresh reading (wp: the peer in it, or NULL) still calls for. */
static void peer_write_checked(struct client_peer *p, const struct wg_peer *wp, const struct wg_device *wd)
{
	switch (p->wkind) {
	case W_ADD:
		member_add_checked(p, wp, wd);
		break;
	case W_REMOVE:
		member_remove_checked(p, wp);
		break;
	case W_ENDPOINT:
	default:
		peer_endpoint_checked(p, wp, wd);
		break;
	}
}

/* The verifying read of a batch ended (wd NULL on error): write what still applies. */
static void dev_verify_done(struct client_dev *d, int err, const struct wg_device *wd)
{
	struct client_peer *p = d->verifying, *next;
	const struct wg_peer **idx = NULL;

	d->verifying = NULL;
	if (!err && wd->n_peers) {
		idx = calloc(wd->n_peers, sizeof(*idx));
		if (!idx)
			err = -ENOMEM;
		for (size_t i = 0; idx && i < wd->n_peers; i++)
			idx[i] = &wd->peers[i];
		if (idx)
			qsort(idx, wd->n_peers, sizeof(*idx), wg_peer_ptr_cmp);
	}
	for (; p; p = next) {
		const struct wg_peer *const *found = NULL;

		next = p->wnext;
		p->wnext = NULL;
		p->write_queued = false;
		if (err) {
			peer_write_failed(p, err);
			peer_relay_unwritten(p);
			continue;
		}
		if (idx)
			found = bsearch(p->key, idx, wd->n_peers, sizeof(*idx), wg_peer_key_cmp);
		peer_write_checked(p, found ? *found : NULL, wd);
		peer_relay_unwritten(p);
	}
	free(idx);
}

/* The verifying read arrived. */
static void verify_cb(int err, struct wg_device *wd, void *arg)
{
	struct client_dev *d = arg;

	d->verify_op = NULL;
	if (err && err != d->dev_err)
		log_warnx("%s: cannot read the device before writing endpoints: %s", d->cfg.device,
			  wg_strerror(err));
	dev_verify_done(d, err, err ? NULL : wd);
	wg_device_free(wd);
	dev_verify_start(d);
}

/* Start a verifying read for the queued writes unless one is in flight. */
static void dev_verify_start(struct client_dev *d)
{
	while (!d->verify_op && d->wq_head) {
		d->verifying = d->wq_head;
		d->wq_head = NULL;
		d->wq_tail = &d->wq_head;
		d->verify_op = wg_get_device(d->c->wg, d->cfg.device, d->cfg.backend, verify_cb, d);
		if (!d->verify_op)
			dev_verify_done(d, errno ? -errno : -ENOMEM, NULL);
	}
}

/* Append prefixes to the section's list of this cycle's accepted allowed IPs. 0 or -ENOMEM. */
static int dev_accept(struct client_dev *d, const struct cidr *c, size_t n)
{
	if (d->n_accepted + n > d->cap_accepted) {
		size_t cap = d->cap_accepted ? d->cap_accepted : 64;
		struct cidr *t;

		while (cap < d->n_accepted + n)
			cap *= 2;
		t = realloc(d->accepted, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		d->accepted = t;
		d->cap_accepted = cap;
	}
	memcpy(d->accepted + d->n_accepted, c, n * sizeof(*c));
	d->n_accepted += n;
	return 0;
}

/*
 * Every registry answered (or failed) for a listed peer that is not on the
 * device: read the allowed IPs the registries publish, apply the guard
 * rails, and queue the addition with the endpoint the usual choice gives.
 */
static void member_round_done(struct client_peer *p)
{
	struct client_dev *d = p->dev;
	size_t n = d->cfg.n_registries;
	const struct client_answer **answers = d->answers;
	struct client_members_policy pol = dev_policy(d);
	struct client_members_view v = { 0 };
	struct client_choice choice;
	const struct cidr *allowed = NULL;
	size_t n_allowed = 0;
	unsigned int n_ok = 0;
	bool have_list = false, disagree = false, none = false, bad = false;
	enum client_members_refusal r;

	dev_read_local(d);
	for (size_t i = 0; i < n; i++) {
		struct peer_reg *pr = &p->regs[i];
		struct client_local l = dev_local(d, d->reading);

		answers[i] = &pr->ans;
		if (pr->ans.status != CLIENT_ANSWER_OK)
			continue;
		n_ok++;
		client_answer_filter(&pr->ans, &l, NULL);
		if (pr->n_txt >= 0) {
			if (!have_list) {
				allowed = pr->txt;
				n_allowed = (size_t)pr->n_txt;
				have_list = true;
			} else if (!client_members_allowed_same(allowed, n_allowed, pr->txt, (size_t)pr->n_txt)) {
				disagree = true;
			}
		} else if (pr->n_txt == -ENODATA || pr->n_txt == -ENOENT) {
			none = true;
		} else if (pr->n_txt == -EBADMSG || pr->n_txt == -ENOBUFS || pr->n_txt == -EPROTONOSUPPORT) {
			bad = true;
		}
		/* Other values (no TXT answer, no memory): this registry's view is unknown this cycle. */
	}
	if (n_ok == 0 || (!have_list && !none && !bad)) {
		/* Not answered, or no longer listed: perhaps next cycle. */
		p->result = n_ok ? "no-answer" : "unknown";
		peer_finish(p);
		return;
	}
	if (disagree || (have_list && (none || bad))) {
		r = CLIENT_MEMBERS_DISAGREE;
	} else if (bad) {
		r = CLIENT_MEMBERS_BAD_ALLOWED;
	} else {
		v.dev = d->reading;
		v.own_addrs = d->own_addrs;
		v.n_own_addrs = d->n_own_addrs;
		v.accepted = d->accepted;
		v.n_accepted = d->n_accepted;
		v.n_added = d->members.n_peers + d->adds_in_flight;
		r = client_members_vet(&pol, &v, p->key, allowed, have_list ? n_allowed : 0);
	}
	if (r != CLIENT_MEMBERS_OK) {
		p->result = "refused";
		dev_note_refusal(d, p->key, r, allowed, have_list ? n_allowed : 0);
		peer_finish(p);
		return;
	}
	p->add_allowed = malloc(n_allowed * sizeof(*p->add_allowed));
	if (!p->add_allowed || dev_accept(d, allowed, n_allowed) < 0) {
		p->result = "not-added";   /* out of memory: perhaps next cycle */
		peer_finish(p);
		return;
	}
	memcpy(p->add_allowed, allowed, n_allowed * sizeof(*allowed));
	p->n_add_allowed = client_members_allowed_sort(p->add_allowed, n_allowed);
	dev_clear_refusal(d, p->key);
	p->add_in_flight = true;
	d->adds_in_flight++;
	client_answer_choose(answers, n, NULL, &choice);
	memset(&p->set_target, 0, sizeof(p->set_target));
	p->set_from = choice.index;
	if (choice.index >= 0) {
		bool loops = false;

		/* An endpoint inside its own allowed IPs would be routed into the tunnel to it. */
		for (size_t i = 0; i < p->n_add_allowed && !loops; i++)
			loops = cidr_contains(&p->add_allowed[i], &choice.endpoint);
		if (!loops)
			p->set_target = choice.endpoint;
	}
	peer_queue_write(p, W_ADD);
}

/* All registries answered (or failed) for a peer: choose and maybe set. */
static void peer_round_done(struct client_peer *p)
{
	struct client_dev *d = p->dev;
	size_t n = d->cfg.n_registries;
	const struct client_answer **answers = d->answers;
	struct client_choice choice;
	union sockaddr_any current = p->endpoint;
	enum client_answer_status summary = CLIENT_ANSWER_NONE;
	unsigned int n_ok = 0, n_unknown = 0, n_bad = 0;
	size_t n_rejected = 0;
	const char *why = NULL;
	bool changed;

	if (p->joining) {
		member_round_done(p);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct client_answer *a = &p->regs[i].ans;

		if (a->status == CLIENT_ANSWER_OK && a->n_addrs) {
			struct client_local l;
			const char *w;

			dev_read_local(d);
			l = dev_local(d, d->reading);
			n_rejected += client_answer_filter(a, &l, &w);
			if (!why)
				why = w;
		}
		answers[i] = a;
		if (a->status == CLIENT_ANSWER_OK)
			n_ok++;
		else if (a->status == CLIENT_ANSWER_NXDOMAIN || a->status == CLIENT_ANSWER_NODATA)
			n_unknown++;
		else if (a->status != CLIENT_ANSWER_NONE)
			n_bad++;
	}
	addr_unmap_v4(&current);
	client_answer_choose(answers, n, &current, &choice);
	/* The NAT note needs two registries' answers; with fewer it keeps what was known. */
	if (n_ok >= 2) {
		if (choice.nat_symmetric != p->nat_symmetric)
			log_info("%s: peer %s: %s", d->cfg.device, p->short_key,
				 choice.nat_symmetric ? "registries see different ports: NAT is endpoint-dependent (symmetric), hole punching will likely fail"
						      : "registries agree on its port again");
		p->nat_symmetric = choice.nat_symmetric;
		p->nat_consistent = !choice.nat_symmetric;
	}
	if (p->relay_look) {
		peer_relay_look_done(p, choice.index >= 0 ? &choice.endpoint : NULL, choice.index);
		return;
	}

	/* What the registries said, reduced to compare with the last round. */
	if (choice.index >= 0)
		summary = CLIENT_ANSWER_OK;
	else if (n_unknown)
		summary = CLIENT_ANSWER_NXDOMAIN;
	else if (n_bad || n_ok)
		summary = CLIENT_ANSWER_BAD;
	changed = summary != p->last_status ||
		  (choice.index >= 0 && !addr_equal(&choice.endpoint, &p->last_answer));
	p->last_status = summary;
	if (choice.index >= 0)
		p->last_answer = choice.endpoint;
	else
		memset(&p->last_answer, 0, sizeof(p->last_answer));
	if (changed)
		peer_backoff_reset(p);

	d->rejected += n_rejected;
	if (choice.index < 0) {
		if (n_rejected) {
			p->result = "rejected";
			peer_set_fail(p, PF_REJECTED, why);
		} else if (summary == CLIENT_ANSWER_NONE) {
			p->result = "no-answer";
			peer_set_fail(p, PF_NO_ANSWER, NULL);
		} else if (summary == CLIENT_ANSWER_NXDOMAIN) {
			p->result = "unknown";
			peer_set_fail(p, PF_UNKNOWN, "NXDOMAIN or no SRV");
		} else {
			p->result = "bad-answer";
			peer_set_fail(p, PF_BAD_ANSWER, n_ok ? "SRV target without addresses" :
					  "error rcode or inconsistent records");
		}
		peer_backoff(p);
		peer_finish(p);
		return;
	}
	/* Candidates (client-path.c): another endpoint than the registry's, or none while one is being tried. */
	dev_read_local(d);
	struct client_local cl_local = dev_local(d, d->reading);
	enum client_path_choice pc = client_path_choose(p->path, &choice.endpoint, &current, &cl_local);
	if (pc == CLIENT_PATH_WAIT) {
		p->result = "trying";
		peer_set_fail(p, PF_NONE, NULL);
		peer_finish(p);
		return;
	}
	if (pc == CLIENT_PATH_WRITE)
		peer_backoff_reset(p);
	if (addr_equal(&choice.endpoint, &current)) {
		p->result = "unchanged";
		peer_set_fail(p, PF_NONE, NULL);
		peer_backoff(p);
		peer_finish(p);
		return;
	}

	p->set_target = choice.endpoint;
	p->set_from = choice.index;
	peer_queue_write(p, W_ENDPOINT);
}

/*
 * A joining peer that this cycle's zone transfer from the registry already
 * describes (SRV with addresses): take its answer and allowed IPs from the
 * transfer instead of asking. True when it did.
 */
static bool peer_reg_from_xfr(struct peer_reg *pr, const struct client_registry *reg)
{
	const struct client_axfr_peer *xp;

	if (!reg->xfr_used || !pr->peer->joining)
		return false;
	xp = client_axfr_find(&reg->xfr_res, pr->peer->key);
	if (!xp || !xp->port || !xp->n_addrs)
		return false;
	memset(&pr->ans, 0, sizeof(pr->ans));
	pr->ans.status = CLIENT_ANSWER_OK;
	pr->ans.port = xp->port;
	memcpy(pr->ans.target, xp->target, sizeof(pr->ans.target));
	memcpy(pr->ans.addrs, xp->addrs, xp->n_addrs * sizeof(xp->addrs[0]));
	pr->ans.n_addrs = xp->n_addrs;
	/* Transferred TXT records carry no seen=: ranked after answers that have it. */
	pr->n_txt = xp->n_allowed;
	if (xp->n_allowed > 0) {
		pr->txt = malloc((size_t)xp->n_allowed * sizeof(*pr->txt));
		if (pr->txt)
			memcpy(pr->txt, xp->allowed, (size_t)xp->n_allowed * sizeof(*pr->txt));
		else
			pr->n_txt = -ENOMEM;
	}
	return true;
}

/* A registry's answer about the peer's candidates arrived (client-path.c). */
static void path_query_done(void *arg)
{
	peer_reg_done(arg);
}

/* Start a peer's round: an SRV query at every registry. */
static void peer_round_start(struct client_peer *p)
{
	struct client_dev *d = p->dev;
	char qname[DNAME_STRLEN + 32];
	time_t now = time(NULL);

	d->pending++;
	d->cur_queried++;
	/* One extra count so that synchronous failures cannot finish the round early. */
	p->pending = 1;
	if (client_answer_qname(p->key, d->cfg.zone, qname, sizeof(qname)) == 0) {
		for (size_t i = 0; i < d->cfg.n_registries; i++) {
			struct peer_reg *pr = &p->regs[i];

			memset(&pr->ans, 0, sizeof(pr->ans));
			pr->err = 0;
			pr->glue_pending = 0;
			free(pr->txt);
			pr->txt = NULL;
			pr->n_txt = -EAGAIN;
			/* A peer to add is asked only where it is listed: elsewhere it has no records. */
			pr->active = !p->joining || client_members_listing_has(&d->regs[i].listing, p->key);
			if (!pr->active)
				continue;
			pr->last_query_wall = now;
			if (peer_reg_from_xfr(pr, &d->regs[i]))
				continue;
			pr->q = resolver_query(d->res, &d->regs[i].addr, qname, LDNS_RR_TYPE_SRV, srv_cb, pr);
			if (pr->q)
				p->pending++;
			else
				pr->err = errno ? -errno : -ENOMEM;
			if (!p->joining && client_path_query(p->path, i, d->cfg.keepalive > 0 ? d->cfg.keepalive : p->keepalive,
							     path_query_done, pr))
				p->pending++;
		}
	}
	if (--p->pending == 0)
		peer_round_done(p);
}

/* A relay query's answer: queue the relay endpoint for the verifying write, or note the failure. */
static void peer_relay_cb(int err, const union sockaddr_any *ep, void *arg)
{
	struct client_peer *p = arg;
	struct client_dev *d = p->dev;

	p->relay_q = NULL;
	if (err) {
		if (p->relay.stage != CLIENT_RELAY_FAILED || p->relay.err != err)
			log_info("%s: peer %s: no relay from registry %s: %s", d->cfg.device, p->short_key,
				 d->regs[p->set_from].name, client_relay_strerror(err));
		client_relay_failed(&p->relay, err, clock_monotonic_ms());
		p->result = "relay-failed";
		peer_finish(p);
		return;
	}
	p->set_target = *ep;
	p->relay_write = true;
	peer_queue_write(p, W_ENDPOINT);
}

/* A direct try of a relayed peer failed: the relay endpoint back (unless WireGuard roamed there already). */
static void peer_relay_restore(struct client_dev *d, struct client_peer *p, const struct wg_peer *wp)
{
	char ps[ADDR_STRLEN], rs[ADDR_STRLEN];

	addr_format(&p->relay.probe, ps, sizeof(ps));
	addr_format(&p->relay.relay, rs, sizeof(rs));
	log_info("%s: peer %s: nothing came back over direct %s; back to relay %s, next direct try in %llu s", d->cfg.device,
		 p->short_key, ps, rs, (unsigned long long)(p->relay.retry_ms / 1000));
	if (addr_same_endpoint(&wp->endpoint, &p->relay.relay)) {
		client_relay_written(&p->relay, &p->relay.relay, clock_monotonic_ms());
		p->result = "relayed";
		return;
	}
	p->set_target = p->relay.relay;
	p->relay_write = true;
	p->relay_fresh_ok = true;
	p->result = "relay-restore";
	d->pending++;
	peer_queue_write(p, W_ENDPOINT);
}

/*
 * A relayed peer's look-up ended (ep: the registry's endpoint, NULL when no
 * registry answered): try a direct endpoint when client-relay.c says so.
 */
static void peer_relay_look_done(struct client_peer *p, const union sockaddr_any *ep, int from)
{
	struct client_dev *d = p->dev;
	union sockaddr_any direct;
	bool have = false;
	uint64_t digest = 0, look_ms = d->cfg.relay_retry_ms / 4;
	struct client_local l;

	p->relay_look = false;
	if (look_ms < d->cfg.interval_ms)
		look_ms = d->cfg.interval_ms;
	dev_read_local(d);
	l = dev_local(d, d->reading);
	if (ep)
		digest = client_path_direct(p->path, ep, &l, p->relay.tries, &direct, &have);
	if (client_relay_look_done(&p->relay, digest, clock_monotonic_ms(), look_ms, d->cfg.relay_retry_ms) && have &&
	    !addr_equal(&direct, &p->relay.relay)) {
		p->set_target = direct;
		p->set_from = from >= 0 ? from : 0;
		p->relay_probe = true;
		p->relay_fresh_ok = true;
		peer_queue_write(p, W_ENDPOINT);   /* the round's share of d->pending goes with it */
		return;
	}
	peer_finish(p);
}

/*
 * The relay hook of a cycle (client-relay.c decides): true when the peer's
 * normal lookup is skipped because a relay query starts or the relay is
 * being given time. It is asked only once the candidate walk has nothing
 * left to try (client_path_walking). The relay is asked at the first registry that answered
 * last cycle, in the address family this device reaches the registry in.
 */
static bool peer_relay_step(struct client_dev *d, struct client_peer *p, const struct wg_device *wd,
			    const struct wg_peer *wp, enum client_peer_class cls)
{
	struct client_relay_input in = {
		.stale = cls == CLIENT_PEER_CANDIDATE, .endpoint = &wp->endpoint, .rx_bytes = wp->rx_bytes,
		.keepalive_s = wp->persistent_keepalive, .now_ms = clock_monotonic_ms(),
		.after_ms = d->cfg.relay_after_ms, .walking = client_path_walking(p->path),
		.retry_ms = d->cfg.relay_retry_ms, .probe_ms = d->cfg.cand_timeout_ms,
		.handshake_s = wp->last_handshake_sec,
	};
	enum client_relay_action act;
	size_t reg = 0;
	int family = AF_UNSPEC;
	union sockaddr_any was;
	char rs[ADDR_STRLEN], es[ADDR_STRLEN];

	if (!d->cfg.relay || !wd->has_public_key)
		return false;
	was = p->relay.relay;
	act = client_relay_step(&p->relay, &in);
	switch (act) {
	case CLIENT_RELAY_HOLD:
		p->result = p->relay.stage == CLIENT_RELAY_RELAYED ? "relayed" :
			    p->relay.stage == CLIENT_RELAY_PROBING ? "relay-probe" : "relay-wait";
		return true;
	case CLIENT_RELAY_UPGRADED:
		addr_format(&was, rs, sizeof(rs));
		addr_format(&wp->endpoint, es, sizeof(es));
		log_info("%s: peer %s: moved from relay %s to direct %s", d->cfg.device, p->short_key, rs, es);
		d->relay_upgrades++;
		p->result = "direct";
		/* A packet back at once: the other side, maybe still trying, sees its bytes arrive directly too. */
		client_path_kick(p->path, d->cfg.keepalive > 0 ? d->cfg.keepalive : p->keepalive);
		return false;
	case CLIENT_RELAY_RESTORE:
		peer_relay_restore(d, p, wp);
		return true;
	case CLIENT_RELAY_LOOK:
		p->result = "relayed";
		p->relay_look = true;
		peer_round_start(p);
		return true;
	case CLIENT_RELAY_ASK:
		break;
	case CLIENT_RELAY_NONE:
	default:
		return false;
	}
	for (size_t i = 0; i < d->cfg.n_registries; i++)
		if (d->regs[i].state == REG_UP) {
			reg = i;
			break;
		}
	for (size_t i = 0; i < wd->n_peers; i++)
		if (client_answer_classify(&wd->peers[i], 0, d->cfg.handshake_timeout_ms, NULL, 0,
					   &d->cfg.registries[reg], 1) == CLIENT_PEER_REGISTRY)
			family = wd->peers[i].endpoint.sa.sa_family;
	p->set_from = (int)reg;
	p->result = "relay-query";
	d->pending++;
	p->relay_q = client_relay_query(d->res, &d->regs[reg].addr, d->cfg.zone, wd->public_key, p->key, family,
					peer_relay_cb, p);
	if (!p->relay_q) {
		client_relay_failed(&p->relay, errno ? -errno : -ENOMEM, clock_monotonic_ms());
		d->pending--;
		return false;
	}
	return true;
}

/* Bring the peer table in line with a device reading. */
static int dev_update_peers(struct client_dev *d, const struct wg_device *wd)
{
	struct client_peer **np = calloc(wd->n_peers ? wd->n_peers : 1, sizeof(*np));
	size_t n = 0;

	if (!np)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_peers; i++)
		d->peers[i]->seen_this_read = false;
	for (size_t i = 0; i < wd->n_peers; i++) {
		const struct wg_peer *wp = &wd->peers[i];
		struct client_peer *p = dev_find_peer(d, wp->public_key);

		if (p && p->seen_this_read)
			continue;   /* duplicate key in a reading: keep the first */
		if (!p) {
			p = peer_new(d, wp->public_key);
			if (!p) {
				for (size_t j = 0; j < n; j++)
					if (!dev_find_peer(d, np[j]->key))
						peer_free(np[j]);
				free(np);
				return -ENOMEM;
			}
		}
		p->seen_this_read = true;
		p->wp_index = i;
		p->managed = false;
		p->endpoint = wp->endpoint;
		p->handshake_sec = wp->last_handshake_sec;
		p->keepalive = wp->persistent_keepalive;
		np[n++] = p;
	}
	for (size_t i = 0; i < d->n_peers; i++)
		if (!d->peers[i]->seen_this_read)
			peer_free(d->peers[i]);
	free(d->peers);
	qsort(np, n, sizeof(*np), peer_key_cmp);
	/* Drop duplicates that slipped in as two new entries with one key. */
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && memcmp(np[w - 1]->key, np[i]->key, WG_KEY_LEN) == 0) {
			peer_free(np[i]);
			continue;
		}
		np[w++] = np[i];
	}
	d->peers = np;
	d->n_peers = w;
	return 0;
}

/* Classify every peer and start rounds for the candidates that are not backing off. */
static void dev_start_rounds(struct client_dev *d, const struct wg_device *wd)
{
	int64_t now = (int64_t)time(NULL);

	d->pending++;   /* guard while starting */
	for (size_t i = 0; i < wd->n_peers; i++) {
		struct client_peer *p = dev_find_peer(d, wd->peers[i].public_key);
		enum client_peer_class cls;

		if (!p || p->pending || p->set_op || p->write_queued || p->relay_q)
			continue;
		cls = client_answer_classify(&wd->peers[i], now, d->cfg.handshake_timeout_ms,
					     (const uint8_t *)d->cfg.exclude, d->cfg.n_exclude,
					     d->cfg.registries, d->cfg.n_registries);
		p->cls = cls;
		if (cls == CLIENT_PEER_FRESH) {
			client_path_fresh(p->path, &wd->peers[i].endpoint);
			if (strcmp(p->result, "trying") == 0)
				p->result = "fresh";   /* the candidate tried last round worked, or the peer came to us */
		}
		if (peer_relay_step(d, p, wd, &wd->peers[i], cls))
			continue;
		if (cls != CLIENT_PEER_CANDIDATE) {
			peer_backoff_reset(p);
			p->fail = PF_NONE;
			p->fail_detail = NULL;
			continue;
		}
		d->cur_candidates++;
		if (p->skip) {
			p->skip--;
			p->result = "backoff";
			continue;
		}
		peer_round_start(p);
	}
	if (--d->pending == 0)
		dev_cycle_end(d);
}

/* Name of a DNS rcode for logs. */
static const char *rcode_name(uint8_t rcode)
{
	const ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, rcode);

	return lt && lt->name ? lt->name : "unknown";
}

/* True when key is listed in exclude. */
static bool dev_excluded(const struct client_dev *d, const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < d->cfg.n_exclude; i++)
		if (memcmp(d->cfg.exclude[i], key, WG_KEY_LEN) == 0)
			return true;
	return false;
}

/* Read the state file into members unless done; a damaged file is moved aside and started over. */
static void dev_state_load(struct client_dev *d)
{
	char bad[PATH_MAX + 8];
	unsigned int line = 0;
	int err;

	if (!d->members_on || d->state_loaded)
		return;
	err = client_state_load(d->state_path, d->cfg.device, &d->members, &line);
	if (err == 0 || err == -ENOENT) {
		if (d->state_err)
			log_info("%s: state file %s readable again", d->cfg.device, d->state_path);
		else if (err == 0 && d->members.n_peers)
			log_info("%s: %zu peers added by wgsd earlier (%s)", d->cfg.device, d->members.n_peers,
				 d->state_path);
		d->state_loaded = true;
		d->state_err = 0;
		return;
	}
	if (err == -EBADMSG || err == -EFBIG) {
		snprintf(bad, sizeof(bad), "%s.bad", d->state_path);
		if (rename(d->state_path, bad) == 0) {
			if (line)
				log_warnx("%s: state file %s, line %u: not a valid wgsd membership file; moved to %s: the peers it names count as configured by hand and are never removed",
					  d->cfg.device, d->state_path, line, bad);
			else
				log_warnx("%s: state file %s: not a valid wgsd membership file (%s); moved to %s: the peers it names count as configured by hand and are never removed",
					  d->cfg.device, d->state_path, err == -EFBIG ? "too large" : "no header",
					  bad);
			d->state_loaded = true;
			d->state_err = 0;
			d->state_dirty = true;
			return;
		}
		err = -errno;
	}
	if (err != d->state_err)
		log_warnx("%s: cannot read the state file %s: %s; no peer is added or removed until it can be read",
			  d->cfg.device, d->state_path, strerror(-err));
	d->state_err = err;
}

/* Write members to the state file when they changed (creating the directory if missing). */
static void dev_state_save(struct client_dev *d)
{
	int err;

	if (!d->members_on || !d->state_loaded || !d->state_dirty)
		return;
	err = client_state_save(d->state_path, d->cfg.device, &d->members);
	if (err == -ENOENT && mkdir(d->state_dir, 0700) == 0)
		err = client_state_save(d->state_path, d->cfg.device, &d->members);
	if (err) {
		if (err != d->save_err)
			log_warnx("%s: cannot write the state file %s: %s; no more peers are added until it can be written",
				  d->cfg.device, d->state_path, strerror(-err));
		d->save_err = err;
		return;
	}
	if (d->save_err)
		log_info("%s: state file %s written again", d->cfg.device, d->state_path);
	d->save_err = 0;
	d->state_dirty = false;
}

/*
 * Match what the section remembers with a device reading: a remembered peer
 * gone from the device, or whose allowed IPs are not the ones wgsd gave it,
 * is no longer wgsd's (forgotten, so never removed).
 */
static void dev_members_reconcile(struct client_dev *d, const struct wg_device *wd)
{
	for (size_t i = 0; i < d->members.n_peers;) {
		struct client_state_peer *sp = &d->members.peers[i];
		struct client_peer *p = dev_find_peer(d, sp->key);
		const struct wg_peer *wp = p ? &wd->peers[p->wp_index] : NULL;
		char short_key[12];

		key_short(sp->key, short_key);
		if (!wp || !client_members_allowed_same(sp->allowed, sp->n_allowed, wp->allowed_ips, wp->n_allowed_ips)) {
			if (!wp)
				log_info("%s: peer %s that wgsd added is no longer on the device; forgotten",
					 d->cfg.device, short_key);
			else
				log_info("%s: peer %s that wgsd added has other allowed IPs now (changed by hand?); it is left alone and never removed",
					 d->cfg.device, short_key);
			client_state_del(&d->members, sp->key);
			d->state_dirty = true;
			d->members_forgotten++;
			continue;
		}
		p->managed = true;
		p->added_at = sp->added_at;
		i++;
	}
}

/* True when some registry's latest listing has key. */
static bool dev_listed(const struct client_dev *d, const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < d->cfg.n_registries; i++)
		if (client_members_listing_has(&d->regs[i].listing, key))
			return true;
	return false;
}

/* Remove a managed peer now, or once the round it is in finishes. */
static void member_queue_remove(struct client_peer *p)
{
	struct client_dev *d = p->dev;

	if (p->remove_due || (p->write_queued && p->wkind == W_REMOVE))
		return;
	if (p->pending || p->set_op || p->write_queued) {
		p->remove_due = true;
		return;
	}
	d->pending++;
	peer_queue_write(p, W_REMOVE);
}

/* Start resolving a listed peer that is not on the device, to add it. */
static void member_join(struct client_dev *d, const uint8_t key[WG_KEY_LEN])
{
	struct client_peer *p;

	if (d->n_joining == d->cap_joining) {
		size_t cap = d->cap_joining ? d->cap_joining * 2 : 16;
		struct client_peer **t = realloc(d->joining, cap * sizeof(*t));

		if (!t)
			return;
		d->joining = t;
		d->cap_joining = cap;
	}
	p = peer_new(d, key);
	if (!p)
		return;
	p->joining = true;
	d->joining[d->n_joining++] = p;
	peer_round_start(p);
}

/*
 * Every registry's listing is in: count down the absence of the peers wgsd
 * added (removing those gone for good) and start resolving the listed peers
 * missing from the device.
 */
static void dev_members_step(struct client_dev *d)
{
	const struct wg_device *wd = d->reading;
	bool all_complete = true;
	uint64_t now_ms = clock_monotonic_ms();
	uint8_t (*keys)[WG_KEY_LEN] = NULL;
	size_t n_keys = 0, total = 0, w = 0;

	if (!wd)
		return;
	for (size_t i = 0; i < d->cfg.n_registries; i++) {
		if (d->regs[i].list_err || !client_members_listing_complete(&d->regs[i].listing))
			all_complete = false;
		total += d->regs[i].listing.n_keys;
	}
	d->last_all_complete = all_complete;

	if (d->state_loaded) {
		for (size_t i = 0; i < d->members.n_peers; i++) {
			struct client_state_peer *sp = &d->members.peers[i];
			struct client_peer *p;

			sp->listed = dev_listed(d, sp->key);
			if (!client_members_absence_step(&sp->absent, &sp->absent_since_ms, sp->listed, all_complete,
							 now_ms, d->cfg.auto_remove_after_ms, d->cfg.auto_remove_never))
				continue;
			p = dev_find_peer(d, sp->key);
			if (p)
				member_queue_remove(p);
		}
	}

	/* The union of the listings, in key order. */
	if (total) {
		keys = malloc(total * WG_KEY_LEN);
		if (!keys)
			return;
		for (size_t i = 0; i < d->cfg.n_registries; i++) {
			if (!d->regs[i].listing.n_keys)
				continue;
			memcpy(keys[n_keys], d->regs[i].listing.keys, d->regs[i].listing.n_keys * WG_KEY_LEN);
			n_keys += d->regs[i].listing.n_keys;
		}
		qsort(keys, n_keys, WG_KEY_LEN, key_cmp);
		for (size_t i = 0; i < n_keys; i++)
			if (!w || memcmp(keys[w - 1], keys[i], WG_KEY_LEN) != 0)
				memmove(keys[w++], keys[i], WG_KEY_LEN);
	}
	d->last_listed = w;
	for (size_t i = 0; i < d->n_refused; i++)
		d->refused[i].seen = false;
	for (size_t i = 0; i < w; i++) {
		const uint8_t *key = keys[i];
		bool found;
		size_t at;

		/* The device's own key is always listed: not a peer, not a refusal. */
		if (wd->has_public_key && memcmp(wd->public_key, key, WG_KEY_LEN) == 0)
			continue;
		/* On the device (added, or configured by hand): nothing to add, nothing refused. */
		if (dev_find_peer(d, key))
			continue;
		at = key_search(d->refused, d->n_refused, sizeof(*d->refused), key, &found);
		if (found)
			d->refused[at].seen = true;
		if (dev_excluded(d, key)) {
			dev_note_refusal(d, key, CLIENT_MEMBERS_EXCLUDED, NULL, 0);
			continue;
		}
		if (!dev_can_add(d))
			continue;
		/* Even at auto-max-peers: a peer refused for its addresses keeps that reason. */
		member_join(d, key);
	}
	if (d->members.n_peers < d->cfg.auto_max_peers)
		d->limit_logged = false;
	/*
	 * A refused peer that is on the device now, or that no registry lists
	 * any more, is no longer a refusal; only complete listings tell.
	 */
	if (all_complete) {
		size_t k = 0;

		for (size_t i = 0; i < d->n_refused; i++)
			if (d->refused[i].seen)
				d->refused[k++] = d->refused[i];
		d->n_refused = k;
	}
	free(keys);
}

static const char *registry_xfr_error(const struct client_registry *reg, char *buf, size_t len);

/* Log a registry's listing trouble when it starts, changes or ends. */
static void registry_listing_log(struct client_dev *d, struct client_registry *reg)
{
	enum client_listing_status st = reg->list_err ? CLIENT_LISTING_NONE : reg->listing.status;
	char why[160];

	/* No answer at all: registry_cycle_end() says so, and the listing's trouble stays what it was. */
	if (st == CLIENT_LISTING_NONE ||
	    (st == reg->list_logged && (st != CLIENT_LISTING_TRUNCATED || reg->xfr_err == reg->xfr_logged_err)))
		return;
	switch (st) {
	case CLIENT_LISTING_COMPLETE:
		if (reg->list_logged != CLIENT_LISTING_NONE)
			log_info("%s: registry %s lists all its peers again (%zu%s)", d->cfg.device, reg->name,
				 reg->listing.n_keys, reg->xfr_used ? ", read by zone transfer" : "");
		else if (reg->xfr_used)
			log_info("%s: registry %s lists %zu peers, more than one DNS message holds: its listing is read by zone transfer (serial %u)",
				 d->cfg.device, reg->name, reg->listing.n_keys, reg->xfr_res.serial);
		break;
	case CLIENT_LISTING_TRUNCATED:
		log_warnx("%s: registry %s lists only its first %zu peers (the answer is truncated even over TCP: one DNS message holds about 920) and the zone transfer that would read them all failed: %s; peers beyond them are not added, and no peer is removed while a listing is incomplete",
			  d->cfg.device, reg->name, reg->listing.n_keys, registry_xfr_error(reg, why, sizeof(why)));
		break;
	case CLIENT_LISTING_PARTIAL:
		log_warnx("%s: registry %s's listing has %zu unreadable records; no peer is removed while a listing is incomplete",
			  d->cfg.device, reg->name, reg->listing.n_unreadable);
		break;
	case CLIENT_LISTING_RCODE:
		log_warnx("%s: registry %s answers the listing with rcode %u (%s); no peer is removed while a listing is incomplete",
			  d->cfg.device, reg->name, reg->listing.rcode, rcode_name(reg->listing.rcode));
		break;
	case CLIENT_LISTING_NONE:
		break;
	}
	reg->list_logged = st;
	reg->xfr_logged_err = reg->xfr_err;
}

static void dev_listing_done(struct client_dev *d);

/* The listing of a registry is in (PTR, or PTR then a transfer): log and count it down. */
static void registry_listing_end(struct client_dev *d, struct client_registry *reg)
{
	registry_listing_log(d, reg);
	if (--d->listing_pending == 0)
		dev_listing_done(d);
}

/* Stop a transfer in flight, without a callback. */
static void registry_xfr_cancel(struct client_registry *reg)
{
	if (!reg->xfr_q)
		return;
	resolver_cancel(reg->xfr_q);
	reg->xfr_q = NULL;
	client_axfr_free(&reg->xfr);
}

/* One message of a registry's zone transfer. */
static int xfr_msg_cb(const uint8_t *wire, size_t len, void *arg)
{
	struct client_registry *reg = arg;

	return client_axfr_feed(&reg->xfr, wire, len);
}

/* A registry's zone transfer ended: its listing replaces the truncated one, or that one stays (incomplete). */
static void xfr_end_cb(const struct resolver_result *res, void *arg)
{
	struct client_registry *reg = arg;
	struct client_dev *d = reg->dev;
	int err = res->err;

	reg->xfr_q = NULL;
	registry_note(reg, res);
	reg->xfr_ms = res->elapsed_us / 1000;
	reg->xfr_wall = time(NULL);
	reg->xfr_rcode = err == -EREMOTEIO ? reg->xfr.rcode : 0;
	if (!err)
		err = client_axfr_finish(&reg->xfr, &reg->xfr_res);
	if (!err) {
		client_members_listing_clear(&reg->listing);
		reg->listing = reg->xfr_res.listing;
		memset(&reg->xfr_res.listing, 0, sizeof(reg->xfr_res.listing));
		reg->xfr_used = true;
		reg->transfers++;
		log_debug("%s: registry %s: zone transfer of %zu peers, serial %u, %zu bytes in %zu messages, %llu ms",
			  d->cfg.device, reg->name, reg->listing.n_keys, reg->xfr_res.serial, reg->xfr_res.n_bytes,
			  reg->xfr_res.n_messages, (unsigned long long)reg->xfr_ms);
	} else {
		client_axfr_result_clear(&reg->xfr_res);
		reg->transfer_failures++;
	}
	reg->xfr_err = err;
	client_axfr_free(&reg->xfr);
	registry_listing_end(d, reg);
}

/*
 * The listing does not fit one message: ask the registry for its zone
 * (AXFR over TCP, through the tunnel: peer-transfers). The limits follow
 * auto-max-peers: room for twice as many listed peers as may be added, plus
 * 1,000, each with up to CLIENT_AXFR_RECORDS_PER_PEER records of
 * CLIENT_AXFR_BYTES_PER_PEER bytes on average (room for every candidate). True when it started.
 */
static bool registry_xfr_start(struct client_dev *d, struct client_registry *reg)
{
	size_t peers = 2 * (size_t)d->cfg.auto_max_peers + 1000;

	reg->xfr_tried = true;
	if (client_axfr_init(&reg->xfr, d->cfg.zone, peers * CLIENT_AXFR_RECORDS_PER_PEER,
			     peers * CLIENT_AXFR_BYTES_PER_PEER) < 0) {
		reg->xfr_err = -ENOMEM;
		return false;
	}
	reg->xfr_q = resolver_stream(d->res, &reg->addr, d->cfg.zone, LDNS_RR_TYPE_AXFR, XFR_TOTAL_MS, xfr_msg_cb,
				     xfr_end_cb, reg);
	if (!reg->xfr_q) {
		reg->xfr_err = errno ? -errno : -ENOMEM;
		client_axfr_free(&reg->xfr);
		return false;
	}
	return true;
}

/* Why a registry's latest transfer failed, for the log and status. */
static const char *registry_xfr_error(const struct client_registry *reg, char *buf, size_t len)
{
	switch (reg->xfr_err) {
	case 0:
		return "none";
	case -EREMOTEIO:
		snprintf(buf, len, "the registry answered %s%s", rcode_name(reg->xfr_rcode),
			 reg->xfr_rcode == LDNS_RCODE_REFUSED ? " (peer-transfers = no there, or this address may not transfer)" : "");
		return buf;
	case -EFBIG:
		return "the zone is larger than the transfer limit (set by auto-max-peers)";
	case -ETIMEDOUT:
		return "timed out";
	case -ECONNRESET:
		return "the connection closed before the end of the zone";
	case -EBADMSG:
		return "malformed transfer";
	default:
		snprintf(buf, len, "%s", strerror(-reg->xfr_err));
		return buf;
	}
}

/* A registry's listing arrived (or its query failed). */
static void listing_cb(const struct resolver_result *res, void *arg)
{
	struct client_registry *reg = arg;
	struct client_dev *d = reg->dev;

	reg->list_q = NULL;
	registry_note(reg, res);
	client_members_listing_clear(&reg->listing);
	reg->list_err = res->err;
	if (!res->err && client_members_listing_parse(res->pkt, d->cfg.zone, &reg->listing) < 0)
		reg->list_err = -ENOMEM;
	if (!reg->list_err)
		reg->listing_wall = time(NULL);
	if (!reg->list_err && reg->listing.status == CLIENT_LISTING_TRUNCATED && registry_xfr_start(d, reg))
		return;   /* xfr_end_cb() finishes this registry's listing */
	registry_listing_end(d, reg);
}

/* Ask every registry for its listing; the membership step runs when all are in. */
static void dev_listing_start(struct client_dev *d)
{
	char qname[DNAME_STRLEN];

	d->pending++;            /* the listing phase's share of the cycle */
	d->listing_pending = 1;  /* guard while starting */
	if (client_members_listing_qname(d->cfg.zone, qname, sizeof(qname)) == 0) {
		for (size_t i = 0; i < d->cfg.n_registries; i++) {
			struct client_registry *reg = &d->regs[i];

			/* A transfer describes peers for the cycle that read it only. */
			client_axfr_result_clear(&reg->xfr_res);
			reg->xfr_used = false;
			reg->list_q = resolver_query(d->res, &reg->addr, qname, LDNS_RR_TYPE_PTR, listing_cb, reg);
			if (reg->list_q) {
				d->listing_pending++;
			} else {
				client_members_listing_clear(&reg->listing);
				reg->list_err = errno ? -errno : -ENOMEM;
			}
		}
	}
	if (--d->listing_pending == 0)
		dev_listing_done(d);
}

/* Every listing of the cycle is in. */
static void dev_listing_done(struct client_dev *d)
{
	dev_members_step(d);
	if (--d->pending == 0 && !d->get_op)
		dev_cycle_end(d);
}

/* The device reading arrived. */
static void dev_get_cb(int err, struct wg_device *wd, void *arg)
{
	struct client_dev *d = arg;

	d->get_op = NULL;
	if (!err) {
		err = dev_update_peers(d, wd);
	}
	if (err) {
		if (err != d->dev_err)
			log_warnx("%s: cannot read the device: %s", d->cfg.device, wg_strerror(err));
		d->dev_err = err;
		wg_device_free(wd);
		dev_cycle_end(d);
		return;
	}
	if (d->dev_err)
		log_info("%s: device readable again", d->cfg.device);
	d->dev_err = 0;
	d->dev_ok_once = true;
	portmap_set_listen_port(d->pm, wd->listen_port);
	d->reading = wd;   /* the endpoint checks use it until the cycle ends */
	client_path_cycle(d->path, wd);
	d->pending++;      /* neither phase may end the cycle while the other starts */
	if (d->members_on) {
		dev_state_load(d);
		if (d->state_loaded)
			dev_members_reconcile(d, wd);
		/* First in the resolver's queue: the listing decides what else is asked. */
		dev_listing_start(d);
	}
	dev_start_rounds(d, wd);
	if (--d->pending == 0)
		dev_cycle_end(d);
}

/* Cycle timer: read the device. */
static void dev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_dev *d = arg;

	d->running = true;
	d->local_read = false;
	d->cycle_start_ms = clock_monotonic_ms();
	d->cur_candidates = d->cur_queried = d->cur_updated = 0;
	d->cur_added = d->cur_removed = 0;
	for (size_t i = 0; i < d->cfg.n_registries; i++)
		d->regs[i].cycle_responses = d->regs[i].cycle_failures = 0;
	d->get_op = wg_get_device(d->c->wg, d->cfg.device, d->cfg.backend, dev_get_cb, d);
	if (!d->get_op) {
		int err = errno ? -errno : -ENOMEM;

		if (err != d->dev_err)
			log_warnx("%s: cannot read the device: %s", d->cfg.device, wg_strerror(err));
		d->dev_err = err;
		dev_cycle_end(d);
	}
}

/* Update a registry's reachability from this cycle and log transitions only. */
static void registry_cycle_end(struct client_dev *d, struct client_registry *reg)
{
	enum reg_state st;

	if (reg->cycle_responses)
		st = REG_UP;
	else if (reg->cycle_failures)
		st = REG_DOWN;
	else
		return;     /* not asked this cycle: keep what we knew */
	if (st == reg->state)
		return;
	if (st == REG_DOWN)
		log_warnx("%s: registry %s is not answering: %s", d->cfg.device, reg->name,
			  strerror(-reg->last_err));
	else if (reg->state == REG_DOWN)
		log_info("%s: registry %s is answering again", d->cfg.device, reg->name);
	else
		log_debug("%s: registry %s is answering", d->cfg.device, reg->name);
	reg->state = st;
}

/* A cycle has finished: record it and schedule the next one. */
static void dev_cycle_end(struct client_dev *d)
{
	dev_free_joining(d);
	dev_state_save(d);
	d->last_added = d->cur_added;
	d->last_removed = d->cur_removed;
	wg_device_free(d->reading);
	d->reading = NULL;
	d->running = false;
	d->cycles++;
	d->last_cycle_wall = time(NULL);
	d->last_cycle_ms = clock_monotonic_ms() - d->cycle_start_ms;
	d->last_candidates = d->cur_candidates;
	d->last_queried = d->cur_queried;
	d->last_updated = d->cur_updated;
	for (size_t i = 0; i < d->cfg.n_registries; i++)
		registry_cycle_end(d, &d->regs[i]);
	log_debug("%s: cycle %llu: %u candidates, %u queried, %u endpoints set, %u peers added, %u removed, %llu ms",
		  d->cfg.device, (unsigned long long)d->cycles, d->last_candidates, d->last_queried, d->last_updated,
		  d->last_added, d->last_removed, (unsigned long long)d->last_cycle_ms);
	dev_schedule(d, false);
}

/* The router mapped (or stopped mapping) the listen port: one more own candidate, or one less (portmap.c). */
static void portmap_changed_cb(const union sockaddr_any *external, void *arg)
{
	struct client_dev *d = arg;

	client_path_set_extra(d->path, CAND_MAPPED, external);
}

/* Create one section's state and start its first cycle right away. */
static int dev_new(struct client *c, const struct config_client *cc, const char *state_dir,
		   struct client_dev **out, struct strbuf *err)
{
	struct client_dev *d = calloc(1, sizeof(*d));
	struct resolver_opts ro;
	int ret = -ENOMEM;

	if (!d) {
		strbuf_printf(err, "[client %s]: out of memory\n", cc->device);
		return -ENOMEM;
	}
	d->c = c;
	d->wq_tail = &d->wq_head;
	if (config_client_copy(&d->cfg, cc) < 0)
		goto fail;
	if (!d->cfg.interval_ms)
		d->cfg.interval_ms = DEFAULT_INTERVAL_MS;
	if (!d->cfg.n_registries) {
		strbuf_printf(err, "[client %s]: no registry configured\n", cc->device);
		ret = -EINVAL;
		goto fail;
	}
	d->regs = calloc(d->cfg.n_registries, sizeof(*d->regs));
	d->answers = calloc(d->cfg.n_registries, sizeof(*d->answers));
	if (!d->regs || !d->answers)
		goto fail;
	for (size_t i = 0; i < d->cfg.n_registries; i++) {
		d->regs[i].dev = d;
		d->regs[i].addr = d->cfg.registries[i];
		addr_format(&d->regs[i].addr, d->regs[i].name, sizeof(d->regs[i].name));
	}
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", state_dir);
	if (d->cfg.peers == PEERS_AUTO) {
		d->members_on = true;
		if (client_state_path(state_dir, d->cfg.device, d->state_path, sizeof(d->state_path)) < 0) {
			strbuf_printf(err, "[client %s]: state-directory %s: path too long\n", cc->device, state_dir);
			ret = -EINVAL;
			goto fail;
		}
		d->txt_scratch = calloc(CLIENT_MEMBERS_MAX_ALLOWED, sizeof(*d->txt_scratch));
		if (!d->txt_scratch)
			goto fail;
		/* Read now, so a problem shows at start; retried every cycle until it works. */
		dev_state_load(d);
	}
	memset(&ro, 0, sizeof(ro));
	ro.timeout_ms = d->cfg.timeout_ms;
	ro.max_inflight = d->cfg.max_inflight;
	d->res = resolver_new(c->base, &ro);
	d->timer = evtimer_new(c->base, dev_timer_cb, d);
	if (!d->res || !d->timer)
		goto fail;
	d->path = client_path_new(c->base, c->wg, d->res, &d->cfg);
	if (!d->path)
		goto fail;
	/* A mapped port is one more of this host's candidates (registered at once). */
	if (d->cfg.port_mapping != PORTMAP_OFF &&
	    !(d->pm = portmap_new(c->pm, d->cfg.device, d->cfg.port_mapping, d->cfg.port_mapping_lifetime_ms / 1000,
				  portmap_changed_cb, d)))
		goto fail;
	dev_schedule(d, true);
	*out = d;
	return 0;
fail:
	if (ret == -ENOMEM)
		strbuf_printf(err, "[client %s]: out of memory\n", cc->device);
	dev_free(d);
	return ret;
}

/* Build the sections for cfg, reusing unchanged ones from old (may be NULL). */
static int client_build(struct client *c, const struct config *cfg, struct client_dev ***out,
			bool **reused, struct strbuf *err)
{
	struct client_dev **devs = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof(*devs));
	bool *used = calloc(c->n_devs ? c->n_devs : 1, sizeof(*used));
	int ret = 0;

	if (!devs || !used) {
		strbuf_puts(err, "client: out of memory\n");
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_clients; i++) {
		const struct config_client *cc = &cfg->clients[i];

		for (size_t j = 0; j < c->n_devs; j++) {
			if (!used[j] && config_client_equal(&c->devs[j]->cfg, cc) &&
			    strcmp(c->devs[j]->state_dir, cfg->state_directory) == 0) {
				used[j] = true;
				devs[i] = c->devs[j];
				break;
			}
		}
		if (devs[i])
			continue;
		ret = dev_new(c, cc, cfg->state_directory, &devs[i], err);
		if (ret < 0)
			goto fail;
	}
	*out = devs;
	*reused = used;
	return 0;
fail:
	if (devs) {
		for (size_t i = 0; i < cfg->n_clients; i++) {
			bool kept = false;

			for (size_t j = 0; j < c->n_devs; j++)
				kept |= devs[i] == c->devs[j];
			if (!kept)
				dev_free(devs[i]);
		}
	}
	free(devs);
	free(used);
	return ret;
}

/* Create the client role. */
int client_new(struct event_base *base, struct wg_ctx *wg, const struct config *cfg,
	       struct client **out, struct strbuf *err)
{
	struct client *c = calloc(1, sizeof(*c));
	bool *used = NULL;
	int ret;

	if (!c) {
		strbuf_puts(err, "client: out of memory\n");
		return -ENOMEM;
	}
	c->base = base;
	c->wg = wg;
	c->pm = portmap_ctx_new(base);
	ret = c->pm ? client_build(c, cfg, &c->devs, &used, err) : -ENOMEM;
	if (ret < 0) {
		if (!c->pm)
			strbuf_puts(err, "client: out of memory\n");
		portmap_ctx_free(c->pm);
		free(c);
		return ret;
	}
	free(used);
	c->n_devs = cfg->n_clients;
	*out = c;
	return 0;
}

/* Apply a new configuration by difference. */
int client_apply(struct client *c, const struct config *cfg, struct strbuf *err)
{
	struct client_dev **devs;
	bool *used;
	int ret = client_build(c, cfg, &devs, &used, err);

	if (ret < 0)
		return ret;
	for (size_t j = 0; j < c->n_devs; j++) {
		if (!used[j]) {
			log_info("client %s: section removed or changed, restarting it", c->devs[j]->cfg.device);
			dev_free(c->devs[j]);
		}
	}
	free(used);
	free(c->devs);
	c->devs = devs;
	c->n_devs = cfg->n_clients;
	return 0;
}

/* Keep every section that has not started its first cycle from starting it. */
void client_hold(struct client *c)
{
	for (size_t i = 0; i < c->n_devs; i++) {
		struct client_dev *d = c->devs[i];

		if (!d->cycles && !d->running) {
			event_del(d->timer);
			d->held = true;
		}
	}
}

/* Start the first cycle of every held section now. */
void client_release(struct client *c)
{
	for (size_t i = 0; i < c->n_devs; i++) {
		struct client_dev *d = c->devs[i];

		if (d->held) {
			d->held = false;
			dev_schedule(d, true);
		}
	}
}

/* Stop and free. */
void client_free(struct client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_devs; i++)
		dev_free(c->devs[i]);
	free(c->devs);
	portmap_ctx_free(c->pm);
	free(c);
}

/* Append a wall-clock time (seconds) or null for never. */
static void json_time(struct strbuf *out, time_t t)
{
	if (t)
		strbuf_printf(out, "%lld", (long long)t);
	else
		strbuf_puts(out, "null");
}

/* Reachability of a registry as JSON. */
static const char *reg_state_json(enum reg_state s)
{
	return s == REG_UP ? "true" : s == REG_DOWN ? "false" : "null";
}

/* Text of a peer's NAT note. */
static const char *peer_nat_note(const struct client_peer *p)
{
	return p->nat_symmetric ? "symmetric" : p->nat_consistent ? "consistent" : "unknown";
}

/* Result of one peer's query at one registry, as a word. */
static const char *peer_reg_result(const struct peer_reg *pr)
{
	if (!pr->active)
		return "none";
	if (pr->q || pr->glue_pending)
		return "pending";
	if (pr->err == -ETIMEDOUT)
		return "timeout";
	if (pr->err)
		return "error";
	return client_answer_status_name(pr->ans.status);
}

/* One peer as JSON. */
static void peer_json(const struct client_dev *d, const struct client_peer *p, time_t now,
		      struct strbuf *out)
{
	char b64[KEY_B64_LEN + 1];

	key_to_base64(p->key, b64);
	strbuf_puts(out, "{\"public_key\":");
	strbuf_json_string(out, b64);
	strbuf_printf(out, ",\"class\":\"%s\",\"added_by_wgsd\":%s,\"added_at\":", client_peer_class_name(p->cls),
		      p->managed ? "true" : "false");
	json_time(out, p->managed ? (time_t)p->added_at : 0);
	strbuf_puts(out, ",\"handshake_age_s\":");
	if (p->handshake_sec)
		strbuf_printf(out, "%lld", (long long)(now - p->handshake_sec));
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"endpoint\":");
	strbuf_json_addr(out, &p->endpoint);
	strbuf_puts(out, ",\"endpoint_set\":");
	strbuf_json_addr(out, &p->endpoint_set);
	strbuf_puts(out, ",\"endpoint_set_at\":");
	json_time(out, p->endpoint_set_wall);
	strbuf_printf(out, ",\"result\":\"%s\",\"nat\":\"%s\",\"backoff\":{\"failures\":%u,\"skip_cycles\":%u,\"next_query_in_ms\":%llu}",
		      p->result, peer_nat_note(p), p->failures, p->skip,
		      (unsigned long long)p->skip * d->cfg.interval_ms);
	strbuf_puts(out, ",\"registries\":[");
	for (size_t i = 0; i < d->cfg.n_registries; i++) {
		const struct peer_reg *pr = &p->regs[i];

		strbuf_puts(out, i ? ",{\"address\":" : "{\"address\":");
		strbuf_json_string(out, d->regs[i].name);
		strbuf_puts(out, ",\"last_query\":");
		json_time(out, pr->active ? pr->last_query_wall : 0);
		strbuf_printf(out, ",\"result\":\"%s\",\"endpoint\":", peer_reg_result(pr));
		if (pr->ans.status == CLIENT_ANSWER_OK && pr->ans.n_addrs)
			strbuf_json_addr(out, &pr->ans.addrs[0]);
		else
			strbuf_puts(out, "null");
		strbuf_puts(out, ",\"port\":");
		if (pr->ans.status == CLIENT_ANSWER_OK)
			strbuf_printf(out, "%u", pr->ans.port);
		else
			strbuf_puts(out, "null");
		strbuf_puts(out, ",\"seen\":");
		if (pr->ans.has_seen)
			strbuf_printf(out, "%llu", (unsigned long long)pr->ans.seen);
		else
			strbuf_puts(out, "null");
		strbuf_printf(out, ",\"rtt_ms\":%.3f}", (double)pr->rtt_us / 1000.0);
	}
	strbuf_printf(out, "],\"relay\":{\"stage\":\"%s\",\"endpoint\":", client_relay_stage_name(p->relay.stage));
	strbuf_json_addr(out, &p->relay.relay);
	strbuf_puts(out, ",\"last_error\":");
	strbuf_json_string(out, p->relay.stage == CLIENT_RELAY_FAILED && p->relay.err ?
				     client_relay_strerror(p->relay.err) : NULL);
	/* The way back to direct: the try in progress, or when the next one is due. */
	strbuf_puts(out, ",\"direct_try\":");
	if (p->relay.stage == CLIENT_RELAY_PROBING)
		strbuf_json_addr(out, &p->relay.probe);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"next_direct_try_s\":");
	if (p->relay.stage == CLIENT_RELAY_RELAYED && d->cfg.relay_retry_ms && p->relay.retry_ms) {
		uint64_t now_ms = clock_monotonic_ms();
		strbuf_printf(out, "%llu", (unsigned long long)(p->relay.next_try_ms > now_ms ?
								  (p->relay.next_try_ms - now_ms + 999) / 1000 : 0));
	} else {
		strbuf_puts(out, "null");
	}
	strbuf_printf(out, ",\"direct_tries\":%u,\"upgrades\":%llu", p->relay.tries,
		      (unsigned long long)p->relay.upgrades);
	strbuf_puts(out, "},\"candidates\":");
	client_path_peer_json(p->path, out);
	strbuf_puts(out, "}");
}

/* Append a list of prefixes as a JSON array of strings. */
static void json_cidrs(struct strbuf *out, const struct cidr *c, size_t n)
{
	char buf[CIDR_STRLEN];

	strbuf_puts(out, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_puts(out, ",");
		strbuf_json_string(out, cidr_format(&c[i], buf, sizeof(buf)));
	}
	strbuf_puts(out, "]");
}

/* The membership part of a section's status: listings, peers added, pending removals, refusals. */
static void members_json(const struct client_dev *d, struct strbuf *out)
{
	uint64_t now_ms = clock_monotonic_ms();
	char b64[KEY_B64_LEN + 1];
	uint64_t refused = 0;

	strbuf_printf(out, "{\"peers\":\"%s\"", d->members_on ? "auto" : "existing");
	if (!d->members_on) {
		strbuf_puts(out, "}");
		return;
	}
	strbuf_puts(out, ",\"auto_allowed_ips\":");
	json_cidrs(out, d->cfg.auto_allowed, d->cfg.n_auto_allowed);
	strbuf_printf(out, ",\"auto_max_peers\":%u,\"auto_remove_after_s\":", d->cfg.auto_max_peers);
	if (d->cfg.auto_remove_never)
		strbuf_puts(out, "null");
	else
		strbuf_printf(out, "%u", d->cfg.auto_remove_after_ms / 1000);
	strbuf_puts(out, ",\"state_file\":");
	strbuf_json_string(out, d->state_path);
	strbuf_puts(out, ",\"state_error\":");
	strbuf_json_string(out, d->state_err ? strerror(-d->state_err) : d->save_err ? strerror(-d->save_err) : NULL);
	strbuf_printf(out, ",\"adding\":%s,\"listed\":%zu,\"listings_complete\":%s",
		      dev_can_add(d) ? "true" : "false", d->last_listed, d->last_all_complete ? "true" : "false");
	for (size_t i = 0; i < CLIENT_MEMBERS_N_REFUSALS; i++)
		refused += d->refusals[i];
	strbuf_printf(out, ",\"added_total\":%llu,\"removed_total\":%llu,\"forgotten_total\":%llu,\"refused_total\":%llu,\"add_errors\":%llu,\"remove_errors\":%llu",
		      (unsigned long long)d->members_added, (unsigned long long)d->members_removed,
		      (unsigned long long)d->members_forgotten, (unsigned long long)refused,
		      (unsigned long long)d->add_errors, (unsigned long long)d->remove_errors);
	strbuf_printf(out, ",\"last_cycle\":{\"added\":%u,\"removed\":%u}", d->last_added, d->last_removed);
	strbuf_puts(out, ",\"registries\":[");
	for (size_t i = 0; i < d->cfg.n_registries; i++) {
		const struct client_registry *reg = &d->regs[i];

		strbuf_puts(out, i ? ",{\"address\":" : "{\"address\":");
		strbuf_json_string(out, reg->name);
		strbuf_printf(out, ",\"listing\":\"%s\",\"peers\":%zu,\"unreadable\":%zu,\"at\":",
			      reg->list_err ? "error" : client_members_listing_status_name(reg->listing.status),
			      reg->listing.n_keys, reg->listing.n_unreadable);
		json_time(out, reg->listing_wall);
		strbuf_puts(out, ",\"error\":");
		strbuf_json_string(out, reg->list_err ? strerror(-reg->list_err) : NULL);
		strbuf_printf(out, ",\"source\":\"%s\"", reg->xfr_used ? "transfer" : "ptr");
		if (reg->xfr_tried) {
			char why[160];

			strbuf_printf(out, ",\"transfer\":{\"ok\":%llu,\"failed\":%llu,\"ms\":%llu,\"at\":",
				      (unsigned long long)reg->transfers, (unsigned long long)reg->transfer_failures,
				      (unsigned long long)reg->xfr_ms);
			json_time(out, reg->xfr_wall);
			if (reg->xfr_used)
				strbuf_printf(out, ",\"serial\":%u,\"bytes\":%zu,\"messages\":%zu,\"records\":%zu",
					      reg->xfr_res.serial, reg->xfr_res.n_bytes, reg->xfr_res.n_messages,
					      reg->xfr_res.n_records);
			strbuf_puts(out, ",\"error\":");
			strbuf_json_string(out, reg->xfr_err ? registry_xfr_error(reg, why, sizeof(why)) : NULL);
			strbuf_puts(out, "}");
		}
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "],\"added\":[");
	for (size_t i = 0; i < d->members.n_peers; i++) {
		const struct client_state_peer *sp = &d->members.peers[i];
		uint64_t absent_s = sp->absent && now_ms >= sp->absent_since_ms ? (now_ms - sp->absent_since_ms) / 1000 : 0;
		uint64_t after_s = d->cfg.auto_remove_after_ms / 1000;

		key_to_base64(sp->key, b64);
		strbuf_puts(out, i ? ",{\"public_key\":" : "{\"public_key\":");
		strbuf_json_string(out, b64);
		strbuf_printf(out, ",\"added_at\":%lld,\"allowed_ips\":", (long long)sp->added_at);
		json_cidrs(out, sp->allowed, sp->n_allowed);
		strbuf_printf(out, ",\"listed\":%s,\"absent_for_s\":", sp->listed ? "true" : "false");
		if (sp->absent)
			strbuf_printf(out, "%llu", (unsigned long long)absent_s);
		else
			strbuf_puts(out, "null");
		strbuf_puts(out, ",\"remove_in_s\":");
		if (sp->absent && !d->cfg.auto_remove_never)
			strbuf_printf(out, "%llu", (unsigned long long)(absent_s < after_s ? after_s - absent_s : 0));
		else
			strbuf_puts(out, "null");
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "],\"refused\":[");
	for (size_t i = 0; i < d->n_refused; i++) {
		key_to_base64(d->refused[i].key, b64);
		strbuf_puts(out, i ? ",{\"public_key\":" : "{\"public_key\":");
		strbuf_json_string(out, b64);
		strbuf_printf(out, ",\"reason\":\"%s\",\"since\":", client_members_refusal_name(d->refused[i].reason));
		json_time(out, d->refused[i].since);
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "]}");
}

/* Append the status as JSON. */
void client_status_json(const struct client *c, struct strbuf *out)
{
	time_t now = time(NULL);

	strbuf_puts(out, "{\"devices\":[");
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct client_dev *d = c->devs[i];

		if (i)
			strbuf_puts(out, ",");
		strbuf_puts(out, "{\"device\":");
		strbuf_json_string(out, d->cfg.device);
		strbuf_printf(out, ",\"backend\":\"%s\",\"zone\":", wg_backend_name(d->cfg.backend));
		strbuf_json_string(out, d->cfg.zone);
		strbuf_printf(out, ",\"interval_ms\":%u,\"handshake_timeout_ms\":%u,\"keepalive\":%d",
			      d->cfg.interval_ms, d->cfg.handshake_timeout_ms, d->cfg.keepalive);
		strbuf_puts(out, ",\"device_error\":");
		strbuf_json_string(out, d->dev_err ? wg_strerror(d->dev_err) : NULL);
		strbuf_printf(out, ",\"cycles\":%llu,\"cycle_running\":%s,\"endpoint_updates\":%llu,\"set_errors\":%llu",
			      (unsigned long long)d->cycles, d->running ? "true" : "false",
			      (unsigned long long)d->updates, (unsigned long long)d->set_errors);
		strbuf_printf(out, ",\"endpoints_rejected\":%llu,\"writes_skipped\":{\"fresh\":%llu,\"moved\":%llu,\"gone\":%llu}",
			      (unsigned long long)d->rejected, (unsigned long long)d->skipped_fresh,
			      (unsigned long long)d->skipped_moved, (unsigned long long)d->skipped_gone);
		strbuf_printf(out, ",\"waiting_for_registry\":%s", d->held ? "true" : "false");
		strbuf_puts(out, ",\"membership\":");
		members_json(d, out);
		strbuf_puts(out, ",\"port_mapping\":");
		portmap_status_json(d->pm, out);
		strbuf_puts(out, ",\"last_cycle\":{\"at\":");
		json_time(out, d->last_cycle_wall);
		strbuf_printf(out, ",\"duration_ms\":%llu,\"candidates\":%u,\"queried\":%u,\"updated\":%u}",
			      (unsigned long long)d->last_cycle_ms, d->last_candidates, d->last_queried,
			      d->last_updated);
		strbuf_printf(out, ",\"queries_in_flight\":%zu,\"queries_queued\":%zu",
			      resolver_inflight(d->res), resolver_queued(d->res));
		strbuf_puts(out, ",\"registries\":[");
		for (size_t j = 0; j < d->cfg.n_registries; j++) {
			const struct client_registry *reg = &d->regs[j];

			strbuf_puts(out, j ? ",{\"address\":" : "{\"address\":");
			strbuf_json_string(out, reg->name);
			strbuf_printf(out, ",\"reachable\":%s,\"latency_ms\":%.3f,\"last_rtt_ms\":%.3f",
				      reg_state_json(reg->state), (double)reg->avg_rtt_us / 1000.0,
				      (double)reg->last_rtt_us / 1000.0);
			strbuf_printf(out, ",\"queries\":%llu,\"responses\":%llu,\"tcp_responses\":%llu,\"failures\":%llu,\"last_error\":",
				      (unsigned long long)reg->queries, (unsigned long long)reg->responses,
				      (unsigned long long)reg->tcp_responses, (unsigned long long)reg->failures);
			strbuf_json_string(out, reg->last_err ? strerror(-reg->last_err) : NULL);
			strbuf_puts(out, ",\"last_response\":");
			json_time(out, reg->last_response_wall);
			strbuf_puts(out, "}");
		}
		strbuf_puts(out, "],\"candidates\":");
		client_path_json(d->path, out);
		strbuf_puts(out, ",\"peers\":[");
		for (size_t j = 0; j < d->n_peers; j++) {
			if (j)
				strbuf_puts(out, ",");
			peer_json(d, d->peers[j], now, out);
		}
		strbuf_puts(out, "]}");
	}
	strbuf_puts(out, "]}");
}

/* Write a metric's HELP and TYPE lines. */
static void metric_head(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Append Prometheus metrics. */
void client_metrics(const struct client *c, struct strbuf *out)
{
	static const char *const classes[] = { "candidate", "fresh", "excluded", "registry" };
	time_t now = time(NULL);

	metric_head(out, "wgsd_client_cycles_total", "counter", "Client cycles completed.");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_cycles_total{device=\"%s\"} %llu\n", c->devs[i]->cfg.device,
			      (unsigned long long)c->devs[i]->cycles);
	metric_head(out, "wgsd_client_endpoint_updates_total", "counter", "Peer endpoints set by the client.");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_endpoint_updates_total{device=\"%s\"} %llu\n",
			      c->devs[i]->cfg.device, (unsigned long long)c->devs[i]->updates);
	metric_head(out, "wgsd_client_relay_upgrades_total", "counter",
		    "Relayed peers that moved to a direct path (a direct try, or the other side's).");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_relay_upgrades_total{device=\"%s\"} %llu\n",
			      c->devs[i]->cfg.device, (unsigned long long)c->devs[i]->relay_upgrades);
	metric_head(out, "wgsd_client_set_errors_total", "counter", "Endpoint updates the device refused.");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_set_errors_total{device=\"%s\"} %llu\n",
			      c->devs[i]->cfg.device, (unsigned long long)c->devs[i]->set_errors);
	metric_head(out, "wgsd_client_endpoints_rejected_total", "counter",
		    "Answered endpoints not written because they cannot work (loopback, own address, tunnel loop, ...).");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_endpoints_rejected_total{device=\"%s\"} %llu\n",
			      c->devs[i]->cfg.device, (unsigned long long)c->devs[i]->rejected);
	metric_head(out, "wgsd_client_writes_skipped_total", "counter",
		    "Endpoint writes dropped because the peer changed while its answer was awaited.");
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct client_dev *d = c->devs[i];

		strbuf_printf(out, "wgsd_client_writes_skipped_total{device=\"%s\",reason=\"fresh\"} %llu\n",
			      d->cfg.device, (unsigned long long)d->skipped_fresh);
		strbuf_printf(out, "wgsd_client_writes_skipped_total{device=\"%s\",reason=\"moved\"} %llu\n",
			      d->cfg.device, (unsigned long long)d->skipped_moved);
		strbuf_printf(out, "wgsd_client_writes_skipped_total{device=\"%s\",reason=\"gone\"} %llu\n",
			      d->cfg.device, (unsigned long long)d->skipped_gone);
	}
	metric_head(out, "wgsd_client_members_added_total", "counter", "Listed peers added (peers = auto).");
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i]->members_on)
			strbuf_printf(out, "wgsd_client_members_added_total{device=\"%s\"} %llu\n", c->devs[i]->cfg.device,
				      (unsigned long long)c->devs[i]->members_added);
	metric_head(out, "wgsd_client_members_removed_total", "counter", "Peers wgsd added and removed when no registry listed them.");
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i]->members_on)
			strbuf_printf(out, "wgsd_client_members_removed_total{device=\"%s\"} %llu\n", c->devs[i]->cfg.device,
				      (unsigned long long)c->devs[i]->members_removed);
	metric_head(out, "wgsd_client_members_refused_total", "counter", "Listed peers not added, by reason (counted when a refusal starts or changes).");
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i]->members_on)
			for (size_t r = 1; r < CLIENT_MEMBERS_N_REFUSALS; r++)
				strbuf_printf(out, "wgsd_client_members_refused_total{device=\"%s\",reason=\"%s\"} %llu\n",
					      c->devs[i]->cfg.device, client_members_refusal_name((enum client_members_refusal)r),
					      (unsigned long long)c->devs[i]->refusals[r]);
	metric_head(out, "wgsd_client_members_errors_total", "counter", "Additions and removals the device refused.");
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i]->members_on) {
			strbuf_printf(out, "wgsd_client_members_errors_total{device=\"%s\",op=\"add\"} %llu\n",
				      c->devs[i]->cfg.device, (unsigned long long)c->devs[i]->add_errors);
			strbuf_printf(out, "wgsd_client_members_errors_total{device=\"%s\",op=\"remove\"} %llu\n",
				      c->devs[i]->cfg.device, (unsigned long long)c->devs[i]->remove_errors);
		}
	metric_head(out, "wgsd_client_members", "gauge", "Peers wgsd added and remembers, pending removal or not.");
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct client_dev *d = c->devs[i];
		size_t absent = 0;

		if (!d->members_on)
			continue;
		for (size_t j = 0; j < d->members.n_peers; j++)
			absent += d->members.peers[j].absent;
		strbuf_printf(out, "wgsd_client_members{device=\"%s\",state=\"listed\"} %zu\n", d->cfg.device,
			      d->members.n_peers - absent);
		strbuf_printf(out, "wgsd_client_members{device=\"%s\",state=\"pending_removal\"} %zu\n", d->cfg.device,
			      absent);
	}
	metric_head(out, "wgsd_client_members_listed", "gauge", "Distinct peers the registries listed in the last cycle.");
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i]->members_on)
			strbuf_printf(out, "wgsd_client_members_listed{device=\"%s\"} %zu\n", c->devs[i]->cfg.device,
				      c->devs[i]->last_listed);
	metric_head(out, "wgsd_client_registry_listing_complete", "gauge", "1 when the registry's last listing was complete (not truncated, readable, answered).");
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i]->members_on)
			for (size_t j = 0; j < c->devs[i]->cfg.n_registries; j++) {
				const struct client_registry *reg = &c->devs[i]->regs[j];

				strbuf_printf(out, "wgsd_client_registry_listing_complete{device=\"%s\",registry=\"%s\"} %d\n",
					      c->devs[i]->cfg.device, reg->name,
					      !reg->list_err && client_members_listing_complete(&reg->listing));
			}
	metric_head(out, "wgsd_client_device_up", "gauge", "1 when the last device read succeeded.");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_device_up{device=\"%s\"} %d\n", c->devs[i]->cfg.device,
			      c->devs[i]->dev_ok_once && !c->devs[i]->dev_err);
	metric_head(out, "wgsd_client_last_cycle_seconds", "gauge", "Duration of the last cycle.");
	for (size_t i = 0; i < c->n_devs; i++)
		strbuf_printf(out, "wgsd_client_last_cycle_seconds{device=\"%s\"} %.3f\n",
			      c->devs[i]->cfg.device, (double)c->devs[i]->last_cycle_ms / 1000.0);
	metric_head(out, "wgsd_client_peers", "gauge", "Peers by class.");
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct client_dev *d = c->devs[i];
		size_t count[4] = { 0 };

		for (size_t j = 0; j < d->n_peers; j++)
			count[d->peers[j]->cls]++;
		for (size_t k = 0; k < 4; k++)
			strbuf_printf(out, "wgsd_client_peers{device=\"%s\",class=\"%s\"} %zu\n", d->cfg.device,
				      classes[k], count[k]);
	}
	metric_head(out, "wgsd_client_registry_up", "gauge", "1 when the registry answered in its last cycle.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->cfg.n_registries; j++)
			strbuf_printf(out, "wgsd_client_registry_up{device=\"%s\",registry=\"%s\"} %d\n",
				      c->devs[i]->cfg.device, c->devs[i]->regs[j].name,
				      c->devs[i]->regs[j].state == REG_UP);
	metric_head(out, "wgsd_client_registry_latency_seconds", "gauge", "Moving average of the registry's response time.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->cfg.n_registries; j++)
			strbuf_printf(out, "wgsd_client_registry_latency_seconds{device=\"%s\",registry=\"%s\"} %.6f\n",
				      c->devs[i]->cfg.device, c->devs[i]->regs[j].name,
				      (double)c->devs[i]->regs[j].avg_rtt_us / 1e6);
	metric_head(out, "wgsd_client_registry_queries_total", "counter", "Queries sent to the registry.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->cfg.n_registries; j++)
			strbuf_printf(out, "wgsd_client_registry_queries_total{device=\"%s\",registry=\"%s\"} %llu\n",
				      c->devs[i]->cfg.device, c->devs[i]->regs[j].name,
				      (unsigned long long)c->devs[i]->regs[j].queries);
	metric_head(out, "wgsd_client_registry_failures_total", "counter", "Queries that got no matching response.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->cfg.n_registries; j++)
			strbuf_printf(out, "wgsd_client_registry_failures_total{device=\"%s\",registry=\"%s\"} %llu\n",
				      c->devs[i]->cfg.device, c->devs[i]->regs[j].name,
				      (unsigned long long)c->devs[i]->regs[j].failures);
	metric_head(out, "wgsd_client_peer_handshake_age_seconds", "gauge", "Seconds since the peer's last handshake.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->n_peers; j++) {
			const struct client_peer *p = c->devs[i]->peers[j];
			char b64[KEY_B64_LEN + 1];

			if (!p->handshake_sec)
				continue;
			key_to_base64(p->key, b64);
			strbuf_printf(out, "wgsd_client_peer_handshake_age_seconds{device=\"%s\",peer=\"%s\"} %lld\n",
				      c->devs[i]->cfg.device, b64, (long long)(now - p->handshake_sec));
		}
	metric_head(out, "wgsd_client_peer_backoff_cycles", "gauge", "Cycles the peer will still be skipped.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->n_peers; j++) {
			const struct client_peer *p = c->devs[i]->peers[j];
			char b64[KEY_B64_LEN + 1];

			if (p->cls != CLIENT_PEER_CANDIDATE)
				continue;
			key_to_base64(p->key, b64);
			strbuf_printf(out, "wgsd_client_peer_backoff_cycles{device=\"%s\",peer=\"%s\"} %u\n",
				      c->devs[i]->cfg.device, b64, p->skip);
		}
	for (unsigned int f = 0; f < CLIENT_PATH_METRIC_FAMILIES; f++)
		for (size_t i = 0; i < c->n_devs; i++)
			client_path_metrics(c->devs[i]->path, f, c->devs[i]->cfg.device, i == 0, out);
	metric_head(out, "wgsd_client_peer_nat_symmetric", "gauge", "1 when registries saw different ports for the peer.");
	for (size_t i = 0; i < c->n_devs; i++)
		for (size_t j = 0; j < c->devs[i]->n_peers; j++) {
			const struct client_peer *p = c->devs[i]->peers[j];
			char b64[KEY_B64_LEN + 1];

			if (p->cls != CLIENT_PEER_CANDIDATE)
				continue;
			key_to_base64(p->key, b64);
			strbuf_printf(out, "wgsd_client_peer_nat_symmetric{device=\"%s\",peer=\"%s\"} %d\n",
				      c->devs[i]->cfg.device, b64, p->nat_symmetric);
		}
	portmap_metrics(c->pm, out);
}
