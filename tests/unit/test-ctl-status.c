/* SPDX-License-Identifier: MIT */
/* wgsdctl's human status view: summary first, peers listed when few or asked for, NAT notes shown. */
#include <stdlib.h>

#include "check.h"
#include "ctl-status.h"
#include "strbuf.h"

#define NOW 1800000000

/* Build a status document with n client peers; peer 1 is stale behind symmetric NAT. */
static void make_doc(struct strbuf *sb, int n)
{
	strbuf_printf(sb, "{\"version\":\"0.1.0\",\"pid\":42,\"uptime_s\":3725,\"config\":\"/etc/wgsd/wgsd.conf\","
		      "\"reload\":{\"ok\":1,\"failed\":1,\"last\":{\"time\":%d,\"ok\":false,\"error\":\"x.conf:3: bad\"}},"
		      "\"registry\":{\"access\":\"peers\",\"ttl\":0,\"listeners\":[{\"address\":\"10.0.0.254:53\","
		      "\"udp\":{\"queries\":{\"SRV\":7,\"PTR\":3},\"rcodes\":{\"NOERROR\":9,\"NXDOMAIN\":1},\"refused\":2,\"truncated\":0},"
		      "\"tcp\":{\"queries\":{\"SRV\":1},\"rcodes\":{}},\"tcp_connections\":1}],"
		      "\"zones\":[{\"name\":\"example.com.\",\"device\":\"wg0\",\"backend\":\"kernel\",\"state\":\"ok\","
		      "\"peers\":3,\"peers_published\":2,\"peers_unpublishable\":1,\"serial\":7,\"snapshot_age_s\":0.4,\"last_error\":null}]},"
		      "\"client\":{\"devices\":[{\"device\":\"wg0\",\"backend\":\"auto\",\"zone\":\"example.com.\","
		      "\"device_error\":null,\"endpoint_updates\":4,\"set_errors\":0,"
		      "\"last_cycle\":{\"at\":%d,\"duration_ms\":12,\"queried\":2,\"updated\":1},"
		      "\"registries\":[{\"address\":\"10.0.0.254:53\",\"reachable\":true,\"latency_ms\":1.25,\"last_error\":null}],"
		      "\"peers\":[", NOW - 10, NOW - 3);
	for (int i = 0; i < n; i++) {
		strbuf_printf(sb, "%s{\"public_key\":\"PEER%04dAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
			      "\"class\":\"%s\",\"handshake_age_s\":%s,\"endpoint\":\"198.51.100.%d:4%03d\","
			      "\"endpoint_set_at\":%d,\"result\":\"ok\",\"nat\":\"%s\",\"backoff\":{\"skip_cycles\":%d},"
			      "\"registries\":[{\"address\":\"10.0.0.254:53\",\"result\":\"ok\",\"endpoint\":\"198.51.100.%d:4%03d\",\"seen\":5,\"last_query\":%d}]}",
			      i ? "," : "", i, i == 1 ? "candidate" : "fresh", i == 1 ? "null" : "12", i % 250, i % 1000,
			      NOW - 300, i == 1 ? "symmetric" : "consistent", i == 1 ? 3 : 0, i % 250, i % 1000, NOW - 3);
	}
	strbuf_puts(sb, "]}]}}");
}

/* A device with peers = auto: two added (one pending removal), a refusal, a truncated listing. */
static void make_members_doc(struct strbuf *sb)
{
	strbuf_printf(sb, "{\"version\":\"0.1.0\",\"pid\":42,\"uptime_s\":5,\"client\":{\"devices\":[{"
		      "\"device\":\"wg0\",\"backend\":\"auto\",\"zone\":\"example.com.\",\"device_error\":null,"
		      "\"last_cycle\":{\"at\":%d},\"registries\":[],"
		      "\"membership\":{\"peers\":\"auto\",\"auto_max_peers\":1000,\"state_file\":\"/var/lib/wgsd/client-wg0.members\","
		      "\"state_error\":\"Permission denied\",\"adding\":false,\"listed\":923,\"added_total\":5,\"removed_total\":3,"
		      "\"registries\":[{\"address\":\"10.0.0.254:53\",\"listing\":\"truncated\",\"peers\":920,"
		      "\"source\":\"ptr\",\"transfer\":{\"ok\":0,\"failed\":1,\"error\":\"the registry answered REFUSED\"}},"
		      "{\"address\":\"10.0.0.253:53\",\"listing\":\"complete\",\"peers\":3},"
		      "{\"address\":\"10.0.0.252:53\",\"listing\":\"complete\",\"peers\":2001,\"source\":\"transfer\","
		      "\"transfer\":{\"ok\":3,\"failed\":0,\"ms\":41,\"serial\":77,\"bytes\":512000,\"error\":null}}],"
		      "\"added\":[{\"public_key\":\"ADDED001AAAA\",\"added_at\":%d,\"absent_for_s\":null,\"remove_in_s\":null},"
		      "{\"public_key\":\"ADDED002AAAA\",\"added_at\":%d,\"absent_for_s\":130,\"remove_in_s\":470}],"
		      "\"refused\":[{\"public_key\":\"REFUSED1AAAA\",\"reason\":\"outside-auto-allowed-ips\",\"since\":%d}]},"
		      "\"peers\":[{\"public_key\":\"ADDED001AAAA\",\"class\":\"fresh\",\"added_by_wgsd\":true,\"added_at\":%d,"
		      "\"handshake_age_s\":3,\"endpoint\":\"192.0.2.3:51820\",\"result\":\"none\"}]}]}}",
		      NOW - 3, NOW - 600, NOW - 900, NOW - 120, NOW - 600);
}

/* Render doc with opts into a string. */
static char *render(const struct strbuf *sb, const struct ctl_status_opts *o)
{
	struct json *doc = json_parse(sb->data, sb->len, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(doc != NULL);
	if (doc && f)
		ctl_status_print(f, doc, o, NOW);
	if (f)
		fclose(f);
	json_free(doc);
	return text;
}

/* A one-device client document whose port_mapping member is pm. */
static void make_pm_doc(struct strbuf *sb, const char *pm)
{
	strbuf_reset(sb);
	strbuf_printf(sb, "{\"version\":\"0.1.0\",\"client\":{\"devices\":[{\"device\":\"wg0\",\"zone\":\"z.\","
		      "\"backend\":\"auto\",\"registries\":[],\"peers\":[],\"port_mapping\":%s}]}}", pm);
}

/* The port mapping line: mapped with lease and renewal, failed with each protocol's reason, no gateway, off. */
static void test_port_mapping(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct ctl_status_opts o = { 0 };
	char *t;

	make_pm_doc(&sb, "{\"mode\":\"auto\",\"state\":\"mapped\",\"protocol\":\"pcp\",\"gateway\":\"192.168.1.1\","
		    "\"server\":\"192.168.1.1\",\"internal\":\"192.168.1.2:51820\",\"external\":\"203.0.113.1:51820\","
		    "\"external_private\":false,\"lifetime_left_s\":7100,\"next_action_in_s\":3500,\"mappings\":1,"
		    "\"renewals\":4,\"failures\":2,\"epoch_resets\":1,\"external_changes\":0,"
		    "\"last_error\":\"upnp: no UPnP device answered\",\"last_error_at\":1799999940}");
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "port mapping (auto): PCP at 192.168.1.1: 203.0.113.1:51820 -> 192.168.1.2:51820, 1h 58m left, renewal in 58m 20s\n");
	CHECK_STR_CONTAINS(t, "1 created, 4 renewed, 2 failed, 1 router restart(s), 0 public endpoint change(s); last error 1m 0s ago: upnp: no UPnP device answered");
	free(t);

	make_pm_doc(&sb, "{\"mode\":\"auto\",\"state\":\"failed\",\"gateway\":\"192.168.1.1\",\"next_action_in_s\":30,"
		    "\"errors\":{\"pcp\":\"no answer from the router\",\"natpmp\":\"nothing answers NAT-PMP\",\"upnp\":null},"
		    "\"mappings\":0,\"failures\":2}");
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "port mapping (auto): FAILED at 192.168.1.1, next try in 30s; PCP: no answer from the router; NAT-PMP: nothing answers NAT-PMP\n");
	free(t);

	make_pm_doc(&sb, "{\"mode\":\"upnp\",\"state\":\"no-gateway\",\"gateway_error\":\"Operation not permitted\"}");
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "port mapping (upnp): no IPv4 default gateway (routing table: Operation not permitted)\n");
	free(t);

	make_pm_doc(&sb, "{\"mode\":\"off\"}");
	t = render(&sb, &o);
	CHECK(t && strstr(t, "port mapping") == NULL);
	free(t);
	strbuf_free(&sb);
}


/* A relayed peer says when it next tries a direct path; one trying says which, and that the relay is kept. */
static void test_relay_direct_try(void)
{
	static const char doc[] =
		"{\"version\":\"0.1.0\",\"pid\":1,\"uptime_s\":5,\"config\":\"c\","
		"\"client\":{\"devices\":[{\"device\":\"wg0\",\"backend\":\"auto\",\"zone\":\"example.com.\","
		"\"registries\":[{\"address\":\"10.0.0.254:53\",\"reachable\":true,\"latency_ms\":1}],"
		"\"peers\":[{\"public_key\":\"PEER0000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"class\":\"fresh\","
		"\"handshake_age_s\":3,\"endpoint\":\"203.0.113.4:50001\",\"result\":\"relayed\",\"nat\":\"unknown\","
		"\"relay\":{\"stage\":\"relayed\",\"endpoint\":\"203.0.113.4:50001\",\"last_error\":null,"
		"\"direct_try\":null,\"next_direct_try_s\":40,\"direct_tries\":1,\"upgrades\":0}},"
		"{\"public_key\":\"PEER1111AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"class\":\"fresh\","
		"\"handshake_age_s\":3,\"endpoint\":\"198.51.100.7:40001\",\"result\":\"relay-probe\",\"nat\":\"unknown\","
		"\"relay\":{\"stage\":\"probing\",\"endpoint\":\"203.0.113.4:50002\",\"last_error\":null,"
		"\"direct_try\":\"198.51.100.7:40001\",\"next_direct_try_s\":null,\"direct_tries\":2,\"upgrades\":0}}]}]}}";
	struct strbuf sb = STRBUF_INIT;
	struct ctl_status_opts o = { 0 };
	char *t;

	strbuf_puts(&sb, doc);
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "relayed via 203.0.113.4:50001: no direct path was found");
	CHECK_STR_CONTAINS(t, "(still end-to-end encrypted); next direct try in 40 s");
	CHECK_STR_CONTAINS(t, "trying direct 198.51.100.7:40001 (relay 203.0.113.4:50002 kept)");
	free(t);
	strbuf_free(&sb);
}

/* Candidates: the zone's registrations, the device's own candidates and registration, a peer's path. */
static void test_candidates(void)
{
	static const char doc[] =
		"{\"version\":\"0.1.0\",\"pid\":1,\"uptime_s\":5,\"config\":\"c\","
		"\"registry\":{\"access\":\"peers\",\"ttl\":0,\"listeners\":[],\"zones\":[{\"name\":\"example.com.\","
		"\"device\":\"wg0\",\"backend\":\"kernel\",\"state\":\"ok\",\"peers\":2,\"peers_published\":2,"
		"\"candidates\":{\"peers\":2,\"stored\":3,\"published\":3,\"updates\":{\"ok\":12,\"formerr\":0,\"foreign-name\":2}}}]},"
		"\"client\":{\"devices\":[{\"device\":\"wg0\",\"backend\":\"auto\",\"zone\":\"example.com.\","
		"\"registries\":[{\"address\":\"10.0.0.254:53\",\"reachable\":true,\"latency_ms\":1}],"
		"\"candidates\":{\"own\":[{\"kind\":\"lan\",\"endpoint\":\"192.168.1.2:51820\"},"
		"{\"kind\":\"v6\",\"endpoint\":\"[2001:db8::2]:51820\"}],"
		"\"registries\":[{\"address\":\"10.0.0.254:53\",\"through_tunnel\":true,\"state\":\"registered\",\"registered\":2}]},"
		"\"peers\":[{\"public_key\":\"PEER0000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"class\":\"candidate\","
		"\"handshake_age_s\":null,\"endpoint\":\"192.168.1.3:51820\",\"result\":\"trying\",\"nat\":\"unknown\","
		"\"candidates\":{\"state\":\"trying\",\"current\":{\"kind\":\"lan\",\"endpoint\":\"192.168.1.3:51820\",\"for_ms\":2500},"
		"\"worked\":null,\"list\":[{\"kind\":\"lan\",\"endpoint\":\"192.168.1.3:51820\",\"state\":\"trying\",\"why\":null},"
		"{\"kind\":\"v6\",\"endpoint\":\"[2001:db8:2::3]:51820\",\"state\":\"skipped\",\"why\":\"no global IPv6 address here\"},"
		"{\"kind\":\"registry\",\"endpoint\":\"203.0.113.10:30001\",\"state\":\"untried\",\"why\":null}]}}]}]}}";
	struct strbuf sb = STRBUF_INIT;
	struct ctl_status_opts o = { 0 };
	char *t;

	strbuf_puts(&sb, doc);
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "candidates: 3 registered by 2 peers, 3 published; updates: 12 ok, 2 foreign-name");
	CHECK_STR_CONTAINS(t, "own candidates: lan 192.168.1.2:51820, v6 [2001:db8::2]:51820");
	CHECK_STR_CONTAINS(t, "registry 10.0.0.254:53  reachable, latency 1.0 ms, candidates registered (2)");
	CHECK_STR_CONTAINS(t, "path: trying lan 192.168.1.3:51820 for 2s");
	CHECK_STR_CONTAINS(t, "v6       [2001:db8:2::3]:51820");
	CHECK_STR_CONTAINS(t, "skipped: no global IPv6 address here");
	CHECK_STR_CONTAINS(t, "registry 203.0.113.10:30001");
	free(t);
	strbuf_free(&sb);
}

int main(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct ctl_status_opts o = { 0 };
	char *t;

	make_doc(&sb, 5);
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "wgsd 0.1.0 (pid 42), up 1h 2m, config /etc/wgsd/wgsd.conf");
	CHECK_STR_CONTAINS(t, "reload: FAILED (10s ago), running configuration kept: x.conf:3: bad");
	CHECK_STR_CONTAINS(t, "zone example.com.  device wg0 (kernel)  ok: 2 of 3 peers published");
	CHECK_STR_CONTAINS(t, "note: 1 not published: endpoint no one can use (loopback, link-local, port 0, ...)");
	CHECK_STR_CONTAINS(t, "udp 10 queries (9 NOERROR, 1 NXDOMAIN), 2 refused");
	CHECK_STR_CONTAINS(t, "device wg0  zone example.com. (auto)  5 peers: 4 with a fresh handshake, 1 being resolved");
	CHECK_STR_CONTAINS(t, "registry 10.0.0.254:53  reachable, latency 1.2 ms");
	CHECK_STR_CONTAINS(t, "peer PEER0000...  fresh     handshake 12s ago, endpoint 198.51.100.0:4000");
	CHECK_STR_CONTAINS(t, "peer PEER0001...  candidate handshake never");
	CHECK_STR_CONTAINS(t, "backing off 3 cycles");
	CHECK_STR_CONTAINS(t, "symmetric), so hole punching to it will likely fail");
	CHECK(strstr(t, "PEER0004") != NULL);
	free(t);

	/* 1,000 peers: summary, only the peer needing attention, and a hint. */
	strbuf_reset(&sb);
	make_doc(&sb, 1000);
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "1000 peers: 999 with a fresh handshake, 1 being resolved");
	CHECK_STR_CONTAINS(t, "peer PEER0001...");
	CHECK(strstr(t, "PEER0002") == NULL);
	CHECK_STR_CONTAINS(t, "(1000 peers in all; -v lists every one, -p KEY one)");
	free(t);

	/* -p selects one peer, with per-registry detail. */
	o.peer = "PEER0777";
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "peer PEER0777...");
	CHECK_STR_CONTAINS(t, "registry 10.0.0.254:53: ok 198.51.100.27:4777 (seen 5s ago by the registry), asked 3s ago");
	CHECK(strstr(t, "PEER0001") == NULL);
	free(t);

	/* -i filters devices and zones. */
	o.peer = NULL;
	o.device = "wg9";
	t = render(&sb, &o);
	CHECK(strstr(t, "zone example.com.") == NULL && strstr(t, "device wg0") == NULL);
	free(t);

	/* -v lists all. */
	o.device = NULL;
	o.verbose = true;
	t = render(&sb, &o);
	CHECK(strstr(t, "PEER0999") != NULL);
	CHECK(strstr(t, "membership") == NULL);   /* peers = existing says nothing about it */
	free(t);

	/* peers = auto: what was added, what waits for removal, what was refused, incomplete listings. */
	o.verbose = false;
	strbuf_reset(&sb);
	make_members_doc(&sb);
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "membership (peers = auto): 923 listed by the registries, 2 added by wgsd (at most 1000), 1 pending removal, 1 refused; 5 added and 3 removed since start");
	CHECK_STR_CONTAINS(t, "state file /var/lib/wgsd/client-wg0.members: ERROR: Permission denied (no peer is added meanwhile)");
	CHECK_STR_CONTAINS(t, "registry 10.0.0.254:53 lists only its first 920 peers (truncated even over TCP; zone transfer failed: the registry answered REFUSED)");
	CHECK_STR_CONTAINS(t, "registry 10.0.0.252:53: listing of 2001 peers read by zone transfer (serial 77, 512000 bytes, 41 ms)");
	CHECK(strstr(t, "registry 10.0.0.253:53 lists") == NULL);
	CHECK_STR_CONTAINS(t, "peer ADDED002... pending removal: listed by no registry for 2m 10s, removed in 7m 50s");
	CHECK(strstr(t, "peer ADDED001... pending") == NULL);
	CHECK_STR_CONTAINS(t, "listed peer REFUSED1... not added: outside-auto-allowed-ips (since 2m 0s ago)");
	CHECK_STR_CONTAINS(t, "peer ADDED001...  fresh     handshake 3s ago, endpoint 192.0.2.3:51820, added by wgsd 10m 0s ago");
	free(t);
	strbuf_free(&sb);

	/* Zone transfers: each secondary with its NOTIFY state and last transfer, members, refusals. */
	strbuf_puts(&sb, "{\"registry\":{\"access\":\"peers\",\"ttl\":0,\"listeners\":[],\"zones\":[{\"name\":\"z.\","
		    "\"device\":\"wg0\",\"backend\":\"kernel\",\"state\":\"ok\",\"peers\":1,\"peers_published\":1,"
		    "\"serial\":9,\"transfers\":{\"refused\":3,\"peers\":{\"transfers\":4,\"failures\":1},\"secondaries\":["
		    "{\"address\":\"192.0.2.53\",\"notify_state\":{\"state\":\"ok\",\"acked_serial\":9},"
		    "\"transfers\":{\"transfers\":2,\"failures\":0,\"last\":{\"type\":\"IXFR\",\"serial\":9,\"records\":10,"
		    "\"bytes\":558,\"age_s\":3,\"complete\":true}}},"
		    "{\"address\":\"192.0.2.54\",\"notify_state\":{\"state\":\"failed\",\"last_error\":\"no answer after 5 tries\"},"
		    "\"transfers\":{\"transfers\":0,\"failures\":1,\"last\":{\"type\":\"AXFR\",\"serial\":8,\"records\":5,"
		    "\"bytes\":900,\"age_s\":60,\"complete\":false}}},"
		    "{\"address\":\"192.0.2.55\",\"notify_state\":null,\"transfers\":{\"transfers\":0,\"failures\":0,\"last\":null}}]}}]}}");
	o.verbose = false;
	t = render(&sb, &o);
	CHECK_STR_CONTAINS(t, "secondary 192.0.2.53  notify ok (acknowledged serial 9)  last IXFR of serial 9: 10 records, 558 bytes, 3s ago  (2 transfers, 0 failed)");
	CHECK_STR_CONTAINS(t, "secondary 192.0.2.54  NOTIFY FAILED: no answer after 5 tries  last AXFR of serial 8: 5 records, 900 bytes, 1m 0s ago, CUT OFF");
	CHECK_STR_CONTAINS(t, "secondary 192.0.2.55  no transfer yet  (0 transfers, 0 failed)");
	CHECK_STR_CONTAINS(t, "members through the tunnel: 4 transfers, 1 failed");
	CHECK_STR_CONTAINS(t, "3 transfer requests refused");
	free(t);
	strbuf_free(&sb);
	test_port_mapping();
	test_candidates();
	test_relay_direct_try();
	return CHECK_DONE();
}
