/* SPDX-License-Identifier: MIT */
/*
 * The candidate glue's seams, without a network: without candidates the
 * registry's endpoint is written as it is; the port-mapping seam takes
 * only a mapped endpoint; a set of own candidates
 * that changes while its registration is in flight is registered again as
 * soon as the registry answers (a fake registry on loopback).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "check.h"
#include "client-answer.h"
#include "client-path.h"
#include "config.h"
#include "resolver.h"
#include "strbuf.h"
#include "wg.h"

#define BUDGET_MS 40

/* Parse an endpoint. */
static union sockaddr_any sa(const char *text)
{
	union sockaddr_any a;

	if (addr_parse(text, 0, &a) < 0)
		abort();
	return a;
}

/* The fake registry: UPDATEs received, the first one held unanswered. */
struct fake_reg {
	int fd;
	struct event_base *base;
	int n_updates;
	uint16_t upcount[4];
	uint8_t held[4096];
	size_t held_len;
	struct sockaddr_storage from;
	socklen_t from_len;
};

/* Answer the held UPDATE with NOERROR (the zone section echoed). */
static void fake_reg_answer(struct fake_reg *f)
{
	ldns_pkt *q = NULL, *r = ldns_pkt_new();
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_wire2pkt(&q, f->held, f->held_len) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_UPDATE);
	ldns_pkt_set_rcode(r, LDNS_RCODE_NOERROR);
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
	if (ldns_pkt2wire(&wire, r, &len) != LDNS_STATUS_OK)
		abort();
	if (sendto(f->fd, wire, len, 0, (struct sockaddr *)&f->from, f->from_len) < 0)
		abort();
	free(wire);
	ldns_pkt_free(q);
	ldns_pkt_free(r);
}

/* An UPDATE arrived: count it (the number of update records), hold it, stop the loop. */
static void fake_reg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake_reg *f = arg;
	ssize_t n;

	(void)what;
	f->from_len = sizeof(f->from);
	n = recvfrom(fd, f->held, sizeof(f->held), 0, (struct sockaddr *)&f->from, &f->from_len);
	if (n < 12 || ((f->held[2] >> 3) & 0xf) != LDNS_PACKET_UPDATE)
		return;
	f->held_len = (size_t)n;
	if (f->n_updates < 4)
		f->upcount[f->n_updates] = (uint16_t)(f->held[8] << 8 | f->held[9]);
	f->n_updates++;
	event_base_loopbreak(f->base);
}

/* Run the loop until an UPDATE arrives or 5 s pass (the bound of a failing test, not a timing check). */
static void run_until_update(struct event_base *base)
{
	struct timeval tv = { 5, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* A [client wgtest0] section of zone example.com. with the one registry reg. */
static void section_cfg(struct config_client *cfg, union sockaddr_any *reg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->device, sizeof(cfg->device), "wgtest0");
	snprintf(cfg->zone, sizeof(cfg->zone), "example.com.");
	cfg->registries = reg;
	cfg->n_registries = 1;
	cfg->interval_ms = 10000;
	cfg->cand_timeout_ms = BUDGET_MS;
}

/*
 * A port mapping granted while the first registration is in flight: the
 * new set goes out as soon as the registry answers, not at the renewal
 * half a lease later (peers would not know the mapped candidate).
 */
static void test_register_changed_in_flight(void)
{
	struct event_base *base = event_base_new();
	struct resolver *res = resolver_new(base, NULL);
	struct fake_reg f = { .base = base };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct config_client cfg;
	union sockaddr_any reg, mapped = sa("203.0.113.20:51820");
	struct wg_device *wd = wg_device_new();
	struct wg_peer *wp;
	struct cidr lo;
	char text[64];

	f.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CHECK(f.fd >= 0 && bind(f.fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	      getsockname(f.fd, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(text, sizeof(text), "127.0.0.1:%u", ntohs(sin.sin_port));
	reg = sa(text);
	struct event *ev = event_new(base, f.fd, EV_READ | EV_PERSIST, fake_reg_cb, &f);
	event_add(ev, NULL);

	section_cfg(&cfg, &reg);
	cfg.cand_none = true;   /* only the mapped extra: independent of this host's addresses */
	struct client_path *cp = client_path_new(base, NULL, res, &cfg);

	/* The device: its key, a listen port, and a peer whose allowed IPs hold the registry. */
	wd->has_public_key = true;
	memset(wd->public_key, 9, WG_KEY_LEN);
	wd->listen_port = 51820;
	wd->ifindex = 999999;
	wp = wg_device_add_peer(wd);
	CHECK(wp && cidr_parse("127.0.0.0/8", false, &lo) == 0 && wg_peer_add_allowed_ip(wp, &lo) == 0);

	/* Cycles until the first registration (no candidate) is sent: it waits for the address dump. */
	for (int i = 0; i < 50 && f.n_updates == 0; i++) {
		struct timeval tv = { 0, 100000 };
		client_path_cycle(cp, wd);
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	CHECK(f.n_updates == 1);
	uint16_t first = f.upcount[0];
	/* The mapping arrives while that UPDATE is unanswered: nothing new is sent yet. */
	CHECK(client_path_set_extra(cp, CAND_MAPPED, &mapped) == 0);
	CHECK(f.n_updates == 1);
	/* The registry answers the first: the new set follows without waiting for a cycle. */
	fake_reg_answer(&f);
	run_until_update(base);
	CHECK(f.n_updates == 2);
	CHECK(f.upcount[1] > first);   /* the mapped candidate's SRV and A records */

	event_free(ev);
	close(f.fd);
	wg_device_free(wd);
	client_path_free(cp);
	resolver_free(res);
	event_base_free(base);
}

int main(void)
{
	struct event_base *base = event_base_new();
	struct resolver *res = resolver_new(base, NULL);
	struct config_client cfg;
	union sockaddr_any reg = sa("127.0.0.1:53"), observed = sa("198.51.100.9:4000");
	uint8_t key[WG_KEY_LEN];
	struct client_local local = { 0 };
	union sockaddr_any ep;
	struct strbuf js = STRBUF_INIT;

	section_cfg(&cfg, &reg);
	memset(key, 7, sizeof(key));
	struct client_path *cp = client_path_new(base, NULL, res, &cfg);
	struct client_path_peer *pp = client_path_peer_new(cp, key);
	CHECK(cp && pp);

	/* The port-mapping seam. */
	CHECK(client_path_set_extra(cp, CAND_LAN, &observed) == -EINVAL);
	CHECK(client_path_set_extra(cp, CAND_MAPPED, &observed) == 0);
	CHECK(client_path_set_extra(cp, CAND_MAPPED, NULL) == 0);

	/* No candidates: the registry's endpoint, as without candidates, and nothing to walk or wait for. */
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_DEFAULT && addr_equal(&ep, &observed));
	CHECK(!client_path_walking(pp));
	usleep((BUDGET_MS + 10) * 1000);
	ep = observed;
	CHECK(client_path_choose(pp, &ep, &observed, &local) == CLIENT_PATH_DEFAULT && client_path_next_ms(cp) == 0);
	client_path_fresh(pp, &observed);
	client_path_json(cp, &js);
	CHECK_STR_CONTAINS(strbuf_str(&js), "\"attempts\":{\"lan\":0,\"v6\":0,\"registry\":0,\"static\":0,\"mapped\":0}");
	strbuf_free(&js);
	client_path_peer_free(pp);
	client_path_free(cp);
	resolver_free(res);
	event_base_free(base);
	test_register_changed_in_flight();
	return CHECK_DONE();
}
