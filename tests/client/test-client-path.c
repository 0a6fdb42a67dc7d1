/* SPDX-License-Identifier: MIT */
/*
 * The candidate glue's seams, without a network: the relay hook is asked
 * once the registry's endpoint alone had a candidate's time, its endpoint
 * is tried next (last), a lookup in flight is cancelled with its peer; the
 * port-mapping seam takes only a mapped endpoint.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "client-answer.h"
#include "client-path.h"
#include "config.h"
#include "resolver.h"
#include "strbuf.h"

#define BUDGET_MS 40

static int starts, cancels;
static uint8_t asked_peer[WG_KEY_LEN];
static client_path_relay_done_cb relay_done;
static void *relay_done_arg;
static int handle;

/* The relay hook: remember the request. */
static void *relay_start(void *arg, const uint8_t self_key[WG_KEY_LEN], const uint8_t peer_key[WG_KEY_LEN],
			 client_path_relay_done_cb done, void *done_arg)
{
	starts++;
	memcpy(asked_peer, peer_key, WG_KEY_LEN);
	relay_done = done;
	relay_done_arg = done_arg;
	return &handle;
}

/* The relay hook's cancel. */
static void relay_cancel(void *arg, void *h)
{
	if (h == &handle)
		cancels++;
}

/* Parse an endpoint. */
static union sockaddr_any sa(const char *text)
{
	union sockaddr_any a;

	if (addr_parse(text, 0, &a) < 0)
		abort();
	return a;
}

int main(void)
{
	struct event_base *base = event_base_new();
	struct resolver *res = resolver_new(base, NULL);
	struct config_client cfg;
	union sockaddr_any reg = sa("127.0.0.1:53"), observed = sa("198.51.100.9:4000"), relay = sa("203.0.113.99:7000");
	uint8_t key[WG_KEY_LEN];
	struct client_local local = { 0 };
	struct client_path_relay hook = { .start = relay_start, .cancel = relay_cancel };
	union sockaddr_any ep;
	struct strbuf js = STRBUF_INIT;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.device, sizeof(cfg.device), "wgtest0");
	snprintf(cfg.zone, sizeof(cfg.zone), "example.com.");
	cfg.registries = &reg;
	cfg.n_registries = 1;
	cfg.interval_ms = 10000;
	cfg.cand_timeout_ms = BUDGET_MS;
	memset(key, 7, sizeof(key));
	struct client_path *cp = client_path_new(base, NULL, res, &cfg);
	struct client_path_peer *pp = client_path_peer_new(cp, key);
	CHECK(cp && pp);

	/* The port-mapping seam. */
	CHECK(client_path_set_extra(cp, CAND_LAN, &observed) == -EINVAL);
	CHECK(client_path_set_extra(cp, CAND_MAPPED, &observed) == 0);
	CHECK(client_path_set_extra(cp, CAND_MAPPED, NULL) == 0);

	/* Without a hook: the registry's endpoint, as without candidates. */
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_DEFAULT && starts == 0);
	client_path_set_relay(cp, &hook);
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_DEFAULT && starts == 0);
	/* The registry's endpoint had its time: the relay is asked, once, for this peer. */
	usleep((BUDGET_MS + 10) * 1000);
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_DEFAULT);
	CHECK(starts == 1 && memcmp(asked_peer, key, WG_KEY_LEN) == 0);
	ep = observed;
	client_path_choose(pp, &ep, &observed, &local);
	CHECK(starts == 1);
	/* The relay answers: the registry's endpoint (in place) keeps its time, then the relay is tried. */
	relay_done(&relay, relay_done_arg);
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_WAIT);
	usleep((BUDGET_MS + 10) * 1000);
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_WRITE && addr_equal(&ep, &relay));
	client_path_peer_json(pp, &js);
	CHECK_STR_CONTAINS(strbuf_str(&js), "\"current\":{\"kind\":\"relay\",\"endpoint\":\"203.0.113.99:7000\"");
	strbuf_free(&js);
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &relay, &local) == CLIENT_PATH_WAIT && starts == 1);
	/* The cycle is wanted when the relay's time runs out; once that passed unstepped (the relay
	 * module holds the peer, a backoff skips it), not at once again and again: the loop would spin. */
	CHECK(client_path_next_ms(cp) > 0);
	usleep((BUDGET_MS + 10) * 1000);
	CHECK(client_path_next_ms(cp) == 0);
	/* A handshake over the relay: remembered as such. */
	client_path_fresh(pp, &relay);
	client_path_peer_json(pp, &js);
	CHECK_STR_CONTAINS(strbuf_str(&js), "\"worked\":{\"kind\":\"relay\"");
	strbuf_free(&js);

	/* A lookup still in flight is cancelled with its peer. */
	struct client_path_peer *pp2 = client_path_peer_new(cp, key);
	ep = observed;
	client_path_choose(pp2, &ep, &observed, &local);
	usleep((BUDGET_MS + 10) * 1000);
	ep = observed;
	client_path_choose(pp2, &ep, &observed, &local);
	CHECK(starts == 2 && cancels == 0);
	client_path_peer_free(pp2);
	CHECK(cancels == 1);

	client_path_json(cp, &js);
	CHECK_STR_CONTAINS(strbuf_str(&js), "\"attempts\":{\"lan\":0,\"v6\":0,\"registry\":1,\"static\":0,\"mapped\":0,\"relay\":1}");
	CHECK_STR_CONTAINS(strbuf_str(&js), "\"successes\":{\"lan\":0,\"v6\":0,\"registry\":0,\"static\":0,\"mapped\":0,\"relay\":1}");
	strbuf_free(&js);
	client_path_peer_free(pp);
	client_path_free(cp);
	resolver_free(res);
	event_base_free(base);
	return CHECK_DONE();
}
