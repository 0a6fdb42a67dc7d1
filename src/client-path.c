/* SPDX-License-Identifier: MIT */
/* Candidates on the client: gathering, registration at the registries, path choice glue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>

#include <event2/event.h>

#include "client-answer.h"
#include "client-candidates.h"
#include "client-path.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "netlink-addr.h"
#include "resolver.h"
#include "strbuf.h"
#include "wg.h"

#define UPDATE_MSG_MAX 4096
#define PUBLIC_MAX 4
/* A registry that refused a registration is asked again after this long (it may have been upgraded). */
#define REFUSED_RETRY_MS 600000

enum reg_cand_state { RC_UNKNOWN = 0, RC_REGISTERED, RC_REFUSED, RC_FAILING };

/* One registry of the section, as far as candidates go. */
struct path_reg {
	struct client_path *cp;
	size_t idx;
	union sockaddr_any addr;
	char name[ADDR_STRLEN];
	bool tunnel;                       /* inside a peer's allowed IPs: reached through the tunnel */
	enum reg_cand_state state;
	struct resolver_query *update_q;
	struct resolver_query *self_q;
	int last_rcode;                    /* of the last UPDATE response, -1: none */
	int last_err;                      /* transport error of the last UPDATE, 0: none */
	uint32_t lease_s;                  /* granted */
	uint64_t next_ms;                  /* monotonic time of the next registration, 0: at once */
	struct cand_rec sent[CLIENT_CANDIDATES_OWN_MAX];   /* the set in flight */
	size_t n_sent;
	struct cand_rec registered[CLIENT_CANDIDATES_OWN_MAX];
	size_t n_registered;
	union sockaddr_any pub[PUBLIC_MAX];   /* this host's endpoint as this registry sees it */
	size_t n_pub;
	uint64_t ok, refused, failed;
};

struct client_path_peer;

/* One registry's query of a peer's candidates. */
struct peer_cq {
	struct client_path_peer *pp;
	size_t idx;
	struct resolver_query *q;
	void (*done)(void *);
	void *done_arg;
};

struct client_path_peer {
	struct client_path *cp;
	struct client_path_peer *next, *prev;
	uint8_t key[WG_KEY_LEN];
	struct peer_cq *cqs;               /* one per registry */
	struct cand_rec cands[CAND_PEER_MAX];   /* merged from this round's answers */
	size_t n_cands;
	struct client_candidates_peer st;
	struct client_candidates_try order[CLIENT_CANDIDATES_TRY_MAX];
	size_t n_order;
	bool kick_pending;                 /* the write decided last was a candidate: kick a handshake */
	struct wg_op *kick_op;
	int kick_keepalive;                /* the value to restore, 0 once restored */
	int kick_step;                     /* 0: turning it off; 1..3: attempts to turn it back on */
};

struct client_path {
	struct event_base *base;
	struct wg_ctx *wg;
	struct resolver *res;
	const struct config_client *cfg;
	struct netlink_addr *nl;
	bool nl_failed;
	struct client_candidates own;
	bool have_dev;
	uint8_t key[WG_KEY_LEN];
	uint16_t listen_port;
	uint32_t ifindex;
	uint32_t lease_s;
	struct path_reg *regs;
	size_t n_regs;
	struct client_path_peer *peers;
	uint64_t attempts[CAND_KIND_MAX];
	uint64_t successes[CAND_KIND_MAX];
};

static void register_at(struct path_reg *r);

/* Gather the own candidates again; re-register everywhere at once when they changed (or force). */
static void regather(struct client_path *cp, bool force)
{
	const struct cand_ifaddr *ifa = NULL;
	size_t n = 0;

	if (!cp->have_dev)
		return;
	if (cp->nl)
		ifa = netlink_addr_list(cp->nl, &n);
	if (client_candidates_update(&cp->own, ifa, n, cp->ifindex, cp->listen_port) == 0 && !force)
		return;
	log_debug("%s: own candidates changed: %zu", cp->cfg->device, cp->own.n_own);
	for (size_t i = 0; i < cp->n_regs; i++) {
		cp->regs[i].next_ms = 0;
		if (cp->regs[i].tunnel)
			register_at(&cp->regs[i]);
	}
}

/* This host's addresses changed (netlink): noticed at once, not at the next cycle. */
static void addrs_cb(void *arg)
{
	regather(arg, false);
}

/* Create the section's glue. */
struct client_path *client_path_new(struct event_base *base, struct wg_ctx *wg, struct resolver *res,
				    const struct config_client *cfg)
{
	struct client_path *cp = calloc(1, sizeof(*cp));

	if (!cp)
		return NULL;
	cp->base = base;
	cp->wg = wg;
	cp->res = res;
	cp->cfg = cfg;
	cp->lease_s = client_candidates_lease_s(cfg->interval_ms);
	client_candidates_init(&cp->own, cfg);
	cp->n_regs = cfg->n_registries;
	cp->regs = calloc(cp->n_regs ? cp->n_regs : 1, sizeof(*cp->regs));
	if (!cp->regs) {
		free(cp);
		return NULL;
	}
	for (size_t i = 0; i < cp->n_regs; i++) {
		struct path_reg *r = &cp->regs[i];
		r->cp = cp;
		r->idx = i;
		r->addr = cfg->registries[i];
		r->last_rcode = -1;
		addr_format(&r->addr, r->name, sizeof(r->name));
	}
	return cp;
}

/* Stop a peer's kick (no callback). */
static void peer_stop(struct client_path_peer *pp)
{
	if (pp->kick_op) {
		wg_op_cancel(pp->kick_op);
		pp->kick_op = NULL;
	}
}

/* Free the section's glue. */
void client_path_free(struct client_path *cp)
{
	if (!cp)
		return;
	for (size_t i = 0; i < cp->n_regs; i++) {
		resolver_cancel(cp->regs[i].update_q);
		resolver_cancel(cp->regs[i].self_q);
	}
	/* Peers belong to the client's peer table; detach the ones still here. */
	for (struct client_path_peer *pp = cp->peers; pp; pp = pp->next) {
		client_path_peer_cancel(pp);
		peer_stop(pp);
		pp->cp = NULL;
	}
	netlink_addr_free(cp->nl);
	free(cp->regs);
	free(cp);
}

/* Port-mapping seam. */
int client_path_set_extra(struct client_path *cp, enum cand_kind kind, const union sockaddr_any *ep)
{
	int r = client_candidates_set_extra(&cp->own, kind, ep);

	if (r < 0)
		return r;
	if (r > 0)
		regather(cp, false);
	return 0;
}

/* Name of a registration state. */
static const char *reg_state_name(enum reg_cand_state s)
{
	return s == RC_REGISTERED ? "registered" : s == RC_REFUSED ? "refused" : s == RC_FAILING ? "failing" : "unknown";
}

/* The registry answered (or not) our UPDATE. */
static void update_cb(const struct resolver_result *res, void *arg)
{
	struct path_reg *r = arg;
	struct client_path *cp = r->cp;
	uint64_t now = clock_monotonic_ms();
	enum reg_cand_state was = r->state;

	r->update_q = NULL;
	if (res->err) {
		r->last_err = res->err;
		r->failed++;
		/* Silence is the registry's problem, logged by the client's registry state: no line of our own. */
		log_debug("%s: registry %s: candidate registration got no answer: %s", cp->cfg->device, r->name,
			  strerror(-res->err));
		if (r->state != RC_REGISTERED)
			r->state = RC_FAILING;
		r->next_ms = now + cp->cfg->interval_ms;
		return;
	}
	r->last_err = 0;
	r->last_rcode = ldns_pkt_get_rcode(res->pkt);
	if (r->last_rcode != LDNS_RCODE_NOERROR) {
		r->refused++;
		r->state = RC_REFUSED;
		r->next_ms = now + REFUSED_RETRY_MS;
		if (was != RC_REFUSED) {
			ldns_lookup_table *rc = ldns_lookup_by_id(ldns_rcodes, r->last_rcode);
			log_info("%s: registry %s does not take candidates (%s): none registered there, none asked for",
				 cp->cfg->device, r->name, rc ? rc->name : "error");
		}
		return;
	}
	r->ok++;
	r->lease_s = client_candidates_granted_lease(res->pkt);
	if (!r->lease_s)
		r->lease_s = cp->lease_s;
	/* Renew at half the lease, so that one lost renewal does not lose the registration. */
	r->next_ms = now + (uint64_t)r->lease_s * 500;
	if (was != RC_REGISTERED || r->n_registered != r->n_sent ||
	    memcmp(r->registered, r->sent, r->n_sent * sizeof(*r->sent)) != 0)
		log_info("%s: registry %s: %zu candidates registered for %u s", cp->cfg->device, r->name, r->n_sent,
			 r->lease_s);
	r->state = RC_REGISTERED;
	memcpy(r->registered, r->sent, sizeof(r->sent));
	r->n_registered = r->n_sent;
	/*
	 * The own set changed while this UPDATE was in flight (a port mapping
	 * granted a moment after start-up): register the new set now, not at
	 * the renewal half a lease later. Peers would not see the mapped
	 * candidate meanwhile and end relayed.
	 */
	if (r->n_sent != cp->own.n_own || memcmp(r->sent, cp->own.own, r->n_sent * sizeof(*r->sent)) != 0) {
		r->next_ms = 0;
		if (r->tunnel)
			register_at(r);
	}
}

/* Send the own candidates to one registry (unless an UPDATE is in flight there). */
static void register_at(struct path_reg *r)
{
	struct client_path *cp = r->cp;
	uint8_t msg[UPDATE_MSG_MAX];
	int len;

	if (r->update_q || !cp->have_dev)
		return;
	len = client_candidates_update_msg(cp->key, cp->cfg->zone, cp->own.own, cp->own.n_own, cp->lease_s, msg,
					   sizeof(msg));
	if (len < 0) {
		log_warnx("%s: cannot write the candidate registration: %s", cp->cfg->device, strerror(-len));
		r->next_ms = clock_monotonic_ms() + cp->cfg->interval_ms;
		return;
	}
	memcpy(r->sent, cp->own.own, sizeof(r->sent));
	r->n_sent = cp->own.n_own;
	r->update_q = resolver_update(cp->res, &r->addr, cp->cfg->zone, msg, (size_t)len, update_cb, r);
	if (!r->update_q)
		r->next_ms = clock_monotonic_ms() + cp->cfg->interval_ms;
}

/* The registry's answer about this host itself: its public address there. */
static void self_cb(const struct resolver_result *res, void *arg)
{
	struct path_reg *r = arg;
	struct client_answer ans;

	r->self_q = NULL;
	if (res->err)
		return;
	client_answer_parse_srv(res->pkt, r->cp->key, r->cp->cfg->zone, &ans);
	if (ans.status != CLIENT_ANSWER_OK) {
		if (ans.status != CLIENT_ANSWER_NONE)
			r->n_pub = 0;
		return;
	}
	r->n_pub = 0;
	for (size_t i = 0; i < ans.n_addrs && r->n_pub < PUBLIC_MAX; i++)
		r->pub[r->n_pub++] = ans.addrs[i];
}

/* True when addr lies inside some peer's allowed IPs (other than a /0: a full tunnel says nothing). */
static bool through_tunnel(const struct wg_device *wd, const union sockaddr_any *addr)
{
	for (size_t i = 0; i < wd->n_peers; i++)
		for (size_t j = 0; j < wd->peers[i].n_allowed_ips; j++)
			if (wd->peers[i].allowed_ips[j].prefix > 0 && cidr_contains(&wd->peers[i].allowed_ips[j], addr))
				return true;
	return false;
}

/* A cycle's device reading. */
void client_path_cycle(struct client_path *cp, const struct wg_device *wd)
{
	uint64_t now = clock_monotonic_ms();
	char qname[DNAME_STRLEN + 80];
	uint32_t ifindex = wd->ifindex ? wd->ifindex : if_nametoindex(cp->cfg->device);
	bool changed = !cp->have_dev || cp->listen_port != wd->listen_port || cp->ifindex != ifindex ||
		       (wd->has_public_key && memcmp(cp->key, wd->public_key, WG_KEY_LEN) != 0);

	if (!wd->has_public_key)
		return;
	memcpy(cp->key, wd->public_key, WG_KEY_LEN);
	cp->listen_port = wd->listen_port;
	cp->ifindex = ifindex;
	cp->have_dev = true;
	/* Even with candidates = none the subnets are needed, to judge peers' LAN candidates. */
	if (!cp->nl && !cp->nl_failed) {
		cp->nl = netlink_addr_new(cp->base, addrs_cb, cp);
		if (!cp->nl) {
			cp->nl_failed = true;
			log_warn("%s: cannot follow this host's addresses (rtnetlink); no LAN or IPv6 candidates",
				 cp->cfg->device);
		}
	}
	if (changed)
		for (size_t i = 0; i < cp->n_regs; i++)
			cp->regs[i].next_ms = 0;
	/* Before the first address dump, only configured candidates exist: wait for it (the callback registers). */
	if (!cp->nl || netlink_addr_ready(cp->nl))
		regather(cp, false);
	if (client_answer_qname(cp->key, cp->cfg->zone, qname, sizeof(qname)) < 0)
		return;
	for (size_t i = 0; i < cp->n_regs; i++) {
		struct path_reg *r = &cp->regs[i];

		r->tunnel = through_tunnel(wd, &r->addr);
		if (!r->tunnel)
			continue;
		if (!r->self_q)
			r->self_q = resolver_query(cp->res, &r->addr, qname, LDNS_RR_TYPE_SRV, self_cb, r);
		if (now >= r->next_ms && (!cp->nl || netlink_addr_ready(cp->nl)))
			register_at(r);
	}
}

/*
 * When path choice needs the next cycle: the earliest deadline still ahead.
 * One that passed was due at a cycle that ran already; when that cycle did
 * not step the peer (the relay holds it, a backoff skips it), asking again
 * at once would only spin the loop.
 */
uint64_t client_path_next_ms(const struct client_path *cp)
{
	uint64_t next = 0, now = clock_monotonic_ms();

	for (const struct client_path_peer *pp = cp->peers; pp; pp = pp->next) {
		uint64_t d = client_candidates_deadline(&pp->st, cp->cfg->cand_timeout_ms);
		if (d > now && (!next || d < next))
			next = d;
	}
	return next;
}

/* Create a peer's state. */
struct client_path_peer *client_path_peer_new(struct client_path *cp, const uint8_t key[WG_KEY_LEN])
{
	struct client_path_peer *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return NULL;
	pp->cqs = calloc(cp->n_regs ? cp->n_regs : 1, sizeof(*pp->cqs));
	if (!pp->cqs) {
		free(pp);
		return NULL;
	}
	pp->cp = cp;
	memcpy(pp->key, key, WG_KEY_LEN);
	for (size_t i = 0; i < cp->n_regs; i++) {
		pp->cqs[i].pp = pp;
		pp->cqs[i].idx = i;
	}
	pp->next = cp->peers;
	if (cp->peers)
		cp->peers->prev = pp;
	cp->peers = pp;
	return pp;
}

/* Cancel a peer's candidate queries. */
void client_path_peer_cancel(struct client_path_peer *pp)
{
	if (!pp)
		return;
	for (size_t i = 0; pp->cp && i < pp->cp->n_regs; i++) {
		resolver_cancel(pp->cqs[i].q);
		pp->cqs[i].q = NULL;
	}
}

/* Free a peer's state. */
void client_path_peer_free(struct client_path_peer *pp)
{
	if (!pp)
		return;
	if (pp->cp) {
		client_path_peer_cancel(pp);
		peer_stop(pp);
		if (pp->prev)
			pp->prev->next = pp->next;
		else
			pp->cp->peers = pp->next;
		if (pp->next)
			pp->next->prev = pp->prev;
	}
	free(pp->cqs);
	free(pp);
}

/* A registry's answer about a peer's candidates: merge them into this round's list. */
static void cands_cb(const struct resolver_result *res, void *arg)
{
	struct peer_cq *cq = arg;
	struct client_path_peer *pp = cq->pp;
	struct cand_rec got[CAND_PEER_MAX];
	int n;

	cq->q = NULL;
	n = res->err ? -1 : client_candidates_parse(res->pkt, pp->key, pp->cp->cfg->zone, got, CAND_PEER_MAX);
	for (int i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < pp->n_cands && !dup; j++)
			dup = cand_same_endpoint(&pp->cands[j], &got[i]);
		if (!dup && pp->n_cands < CAND_PEER_MAX)
			pp->cands[pp->n_cands++] = got[i];
	}
	cq->done(cq->done_arg);
}

/* Start the query of a peer's candidates at one registry. */
bool client_path_query(struct client_path_peer *pp, size_t idx, int keepalive, void (*done)(void *),
		       void *done_arg)
{
	struct client_path *cp = pp->cp;
	struct path_reg *r;
	struct peer_cq *cq;
	char qname[DNAME_STRLEN + 80];

	if (!cp || idx >= cp->n_regs)
		return false;
	if (idx == 0)
		pp->n_cands = 0;   /* a new round: only this round's answers count */
	r = &cp->regs[idx];
	cq = &pp->cqs[idx];
	/* Without a keepalive nothing makes a handshake to tell a good candidate from a bad one. */
	if (!r->tunnel || r->state == RC_REFUSED || keepalive <= 0 || !cp->have_dev || cq->q)
		return false;
	if (client_candidates_qname(pp->key, cp->cfg->zone, qname, sizeof(qname)) < 0)
		return false;
	cq->done = done;
	cq->done_arg = done_arg;
	cq->q = resolver_query(cp->res, &r->addr, qname, LDNS_RR_TYPE_SRV, cands_cb, cq);
	return cq->q != NULL;
}

/* This host's public endpoints as the registries see them (its own entry at each), into pub; how many. */
static size_t own_public(const struct client_path *cp, union sockaddr_any pub[PUBLIC_MAX * 4])
{
	size_t n = 0;

	for (size_t i = 0; i < cp->n_regs; i++)
		for (size_t j = 0; j < cp->regs[i].n_pub && n < PUBLIC_MAX * 4; j++)
			pub[n++] = cp->regs[i].pub[j];
	return n;
}

/* Order the peer's candidates (this round's) with ep, the registry's endpoint (NULL: none). */
static void peer_order(struct client_path_peer *pp, const union sockaddr_any *ep, const struct client_local *local)
{
	struct client_path *cp = pp->cp;
	union sockaddr_any pub[PUBLIC_MAX * 4];
	size_t n_pub = own_public(cp, pub), n_ifa = 0;
	struct client_candidates_self self = {
		.ifaddrs = cp->nl ? netlink_addr_list(cp->nl, &n_ifa) : NULL,
		.wg_ifindex = cp->ifindex,
		.public_addrs = pub,
		.n_public = n_pub,
		.local = local,
	};
	self.n_ifaddrs = n_ifa;
	pp->n_order = client_candidates_order(&self, pp->cands, pp->n_cands, ep,
					      pp->st.has_worked ? &pp->st.worked : NULL, pp->order,
					      CLIENT_CANDIDATES_TRY_MAX);
}

/* Decide what to write for a stale peer. */
enum client_path_choice client_path_choose(struct client_path_peer *pp, union sockaddr_any *ep,
					   const union sockaddr_any *device_ep, const struct client_local *local)
{
	struct client_path *cp = pp->cp;
	union sockaddr_any w;
	uint64_t before[CAND_KIND_MAX], now = clock_monotonic_ms();
	enum client_candidates_action a;

	pp->kick_pending = false;
	if (!cp)
		return CLIENT_PATH_DEFAULT;
	peer_order(pp, ep, local);
	memcpy(before, pp->st.attempts, sizeof(before));
	a = client_candidates_step(&pp->st, pp->order, pp->n_order, device_ep, now, cp->cfg->cand_timeout_ms, &w);
	for (int k = 0; k < CAND_KIND_MAX; k++)
		cp->attempts[k] += pp->st.attempts[k] - before[k];
	if (a == CLIENT_CANDIDATES_WAIT)
		return CLIENT_PATH_WAIT;
	if (a == CLIENT_CANDIDATES_DEFAULT)
		return CLIENT_PATH_DEFAULT;
	*ep = w;
	pp->kick_pending = true;
	if (pp->st.n_tried) {
		char e[ADDR_STRLEN], k[12];
		key_short(pp->key, k);
		log_info("%s: peer %s: trying the %s candidate %s for %u ms", cp->cfg->device, k,
			 cand_kind_name((enum cand_kind)pp->st.current_kind), addr_format(&w, e, sizeof(e)),
			 cp->cfg->cand_timeout_ms);
	}
	return CLIENT_PATH_WRITE;
}

/*
 * Second half of the kick: the keepalive back to its value, which makes
 * WireGuard send one now. Once the first half took, the keepalive is off:
 * the second is tried twice more rather than leave the peer without one.
 */
static void kick_cb(int err, void *arg)
{
	struct client_path_peer *pp = arg;
	struct wg_peer_update up;

	pp->kick_op = NULL;
	if (!pp->cp || pp->kick_keepalive <= 0 || (err && pp->kick_step == 0) || pp->kick_step > 2)
		return;
	if (!err && pp->kick_step > 0) {
		pp->kick_keepalive = 0;
		return;
	}
	pp->kick_step++;
	memset(&up, 0, sizeof(up));
	memcpy(up.public_key, pp->key, WG_KEY_LEN);
	up.persistent_keepalive = pp->kick_keepalive;
	pp->kick_op = wg_set_peer(pp->cp->wg, pp->cp->cfg->device, pp->cp->cfg->backend, &up, kick_cb, pp);
}

/*
 * A candidate was put in place: make WireGuard send a handshake initiation
 * to it now. Turning the persistent keepalive from 0 to its value sends a
 * keepalive at once (kernel and wireguard-go), which starts a handshake;
 * otherwise the next initiation could wait for the keepalive interval.
 */
void client_path_written(struct client_path_peer *pp, int keepalive)
{
	struct wg_peer_update up;

	if (!pp->cp || !pp->kick_pending || keepalive <= 0 || pp->kick_op)
		return;
	pp->kick_pending = false;
	memset(&up, 0, sizeof(up));
	memcpy(up.public_key, pp->key, WG_KEY_LEN);
	up.persistent_keepalive = 0;
	pp->kick_keepalive = keepalive;
	pp->kick_step = 0;
	pp->kick_op = wg_set_peer(pp->cp->wg, pp->cp->cfg->device, pp->cp->cfg->backend, &up, kick_cb, pp);
}

/* A relayed peer's direct endpoint to try. */
uint64_t client_path_direct(struct client_path_peer *pp, const union sockaddr_any *ep,
			    const struct client_local *local, unsigned int turn, union sockaddr_any *out, bool *have)
{
	*have = false;
	if (!pp || !pp->cp)
		return 0;
	union sockaddr_any pub[PUBLIC_MAX * 4];

	peer_order(pp, ep, local);
	*have = client_candidates_pick_direct(pp->order, pp->n_order, turn, out);
	/* This host's own public endpoint counts too: its NAT changing is a reason to try, on this side as well. */
	return client_candidates_digest(pp->order, pp->n_order, pub, own_public(pp->cp, pub));
}

/* Kick a handshake towards a direct endpoint written for a relayed peer. */
void client_path_kick(struct client_path_peer *pp, int keepalive)
{
	if (!pp)
		return;
	pp->kick_pending = true;
	client_path_written(pp, keepalive);
}

/* True while the walk has something left to try. */
bool client_path_walking(const struct client_path_peer *pp)
{
	if (!pp || !pp->cp)
		return false;
	return client_candidates_walking(&pp->st, pp->order, pp->n_order, clock_monotonic_ms(),
					 pp->cp->cfg->cand_timeout_ms);
}

/* The peer has a fresh handshake. */
void client_path_fresh(struct client_path_peer *pp, const union sockaddr_any *ep)
{
	uint64_t before[CAND_KIND_MAX];
	enum client_candidates_state was = pp->st.state;

	memcpy(before, pp->st.successes, sizeof(before));
	client_candidates_fresh(&pp->st, ep, pp->order, pp->n_order);
	for (int k = 0; pp->cp && k < CAND_KIND_MAX; k++)
		pp->cp->successes[k] += pp->st.successes[k] - before[k];
	if (was != CLIENT_CANDIDATES_IDLE && pp->cp) {
		char e[ADDR_STRLEN], k[12];
		key_short(pp->key, k);
		log_info("%s: peer %s: handshake over %s (%s)", pp->cp->cfg->device, k,
			 addr_format(&pp->st.worked, e, sizeof(e)),
			 pp->st.worked_kind < CAND_KIND_MAX ? cand_kind_name((enum cand_kind)pp->st.worked_kind) :
							      "the peer's own packets");
	}
}

/* Append per-kind counters as a JSON object. */
static void json_kinds(struct strbuf *out, const uint64_t *v)
{
	strbuf_puts(out, "{");
	for (int k = 0; k < CAND_KIND_MAX; k++)
		strbuf_printf(out, "%s\"%s\":%llu", k ? "," : "", cand_kind_name((enum cand_kind)k),
			      (unsigned long long)v[k]);
	strbuf_puts(out, "}");
}

/* Append a list of candidates as JSON. */
static void json_cands(struct strbuf *out, const struct cand_rec *c, size_t n)
{
	strbuf_puts(out, "[");
	for (size_t i = 0; i < n; i++) {
		union sockaddr_any a;
		cand_to_sockaddr(&c[i], &a);
		strbuf_printf(out, "%s{\"kind\":\"%s\",\"endpoint\":", i ? "," : "",
			      cand_kind_name((enum cand_kind)c[i].kind));
		strbuf_json_addr(out, &a);
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "]");
}

/* The section's candidate state as JSON. */
void client_path_json(const struct client_path *cp, struct strbuf *out)
{
	uint64_t now = clock_monotonic_ms();

	strbuf_printf(out, "{\"gather\":%s,\"timeout_ms\":%u,\"lease_s\":%u,\"own\":", cp->own.gather ? "true" : "false",
		      cp->cfg->cand_timeout_ms, cp->lease_s);
	json_cands(out, cp->own.own, cp->own.n_own);
	strbuf_puts(out, ",\"registries\":[");
	for (size_t i = 0; i < cp->n_regs; i++) {
		const struct path_reg *r = &cp->regs[i];
		strbuf_puts(out, i ? ",{\"address\":" : "{\"address\":");
		strbuf_json_string(out, r->name);
		strbuf_printf(out, ",\"through_tunnel\":%s,\"state\":\"%s\",\"registered\":%zu,\"lease_s\":%u,"
			      "\"renew_in_s\":", r->tunnel ? "true" : "false", reg_state_name(r->state),
			      r->state == RC_REGISTERED ? r->n_registered : 0, r->lease_s);
		if (r->state == RC_REGISTERED && r->next_ms > now)
			strbuf_printf(out, "%llu", (unsigned long long)((r->next_ms - now) / 1000));
		else
			strbuf_puts(out, "null");
		strbuf_printf(out, ",\"last_rcode\":%d,\"ok\":%llu,\"refused\":%llu,\"failed\":%llu,\"public\":[",
			      r->last_rcode, (unsigned long long)r->ok, (unsigned long long)r->refused,
			      (unsigned long long)r->failed);
		for (size_t j = 0; j < r->n_pub; j++) {
			if (j)
				strbuf_puts(out, ",");
			strbuf_json_addr(out, &r->pub[j]);
		}
		strbuf_puts(out, "]}");
	}
	strbuf_puts(out, "],\"attempts\":");
	json_kinds(out, cp->attempts);
	strbuf_puts(out, ",\"successes\":");
	json_kinds(out, cp->successes);
	strbuf_puts(out, "}");
}

/* A peer's candidates as JSON. */
void client_path_peer_json(const struct client_path_peer *pp, struct strbuf *out)
{
	const struct client_candidates_peer *st = &pp->st;

	strbuf_printf(out, "{\"state\":\"%s\",\"current\":", client_candidates_state_name(st->state));
	if (st->state == CLIENT_CANDIDATES_TRYING) {
		strbuf_printf(out, "{\"kind\":\"%s\",\"endpoint\":", cand_kind_name((enum cand_kind)st->current_kind));
		strbuf_json_addr(out, &st->current);
		strbuf_printf(out, ",\"for_ms\":%llu}", (unsigned long long)(clock_monotonic_ms() - st->current_since_ms));
	} else {
		strbuf_puts(out, "null");
	}
	strbuf_puts(out, ",\"worked\":");
	if (st->has_worked) {
		strbuf_printf(out, "{\"kind\":\"%s\",\"endpoint\":",
			      st->worked_kind < CAND_KIND_MAX ? cand_kind_name((enum cand_kind)st->worked_kind) : "peer");
		strbuf_json_addr(out, &st->worked);
		strbuf_puts(out, "}");
	} else {
		strbuf_puts(out, "null");
	}
	strbuf_puts(out, ",\"list\":[");
	for (size_t i = 0; i < pp->n_order; i++) {
		const struct client_candidates_try *t = &pp->order[i];
		strbuf_printf(out, "%s{\"kind\":\"%s\",\"endpoint\":", i ? "," : "", cand_kind_name((enum cand_kind)t->kind));
		strbuf_json_addr(out, &t->ep);
		strbuf_printf(out, ",\"state\":\"%s\",\"why\":", client_candidates_entry_state(st, t));
		strbuf_json_string(out, t->skip);
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "],\"attempts\":");
	json_kinds(out, st->attempts);
	strbuf_puts(out, ",\"successes\":");
	json_kinds(out, st->successes);
	strbuf_puts(out, "}");
}

/* One metric family. */
void client_path_metrics(const struct client_path *cp, unsigned int family, const char *device, bool head,
			 struct strbuf *out)
{
	static const char *const names[CLIENT_PATH_METRIC_FAMILIES][3] = {
		{ "wgsd_client_candidate_attempts_total", "counter", "Candidates put in place to try, by kind." },
		{ "wgsd_client_candidate_successes_total", "counter", "Handshakes over a candidate that was being tried, by kind." },
		{ "wgsd_client_candidates_registered", "gauge", "Own candidates registered at the registry (0: none or refused)." },
		{ "wgsd_client_candidate_registrations_total", "counter", "Candidate registrations (DNS UPDATE) by result." },
	};

	if (family >= CLIENT_PATH_METRIC_FAMILIES)
		return;
	if (head)
		strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", names[family][0], names[family][2], names[family][0],
			      names[family][1]);
	for (int k = 0; (family == 0 || family == 1) && k < CAND_KIND_MAX; k++)
		strbuf_printf(out, "%s{device=\"%s\",kind=\"%s\"} %llu\n", names[family][0], device,
			      cand_kind_name((enum cand_kind)k),
			      (unsigned long long)(family == 0 ? cp->attempts[k] : cp->successes[k]));
	for (size_t i = 0; family == 2 && i < cp->n_regs; i++)
		strbuf_printf(out, "%s{device=\"%s\",registry=\"%s\"} %zu\n", names[family][0], device, cp->regs[i].name,
			      cp->regs[i].state == RC_REGISTERED ? cp->regs[i].n_registered : 0);
	for (size_t i = 0; family == 3 && i < cp->n_regs; i++) {
		const struct path_reg *r = &cp->regs[i];
		strbuf_printf(out, "%s{device=\"%s\",registry=\"%s\",result=\"ok\"} %llu\n", names[family][0], device,
			      r->name, (unsigned long long)r->ok);
		strbuf_printf(out, "%s{device=\"%s\",registry=\"%s\",result=\"refused\"} %llu\n", names[family][0], device,
			      r->name, (unsigned long long)r->refused);
		strbuf_printf(out, "%s{device=\"%s\",registry=\"%s\",result=\"failed\"} %llu\n", names[family][0], device,
			      r->name, (unsigned long long)r->failed);
	}
}
