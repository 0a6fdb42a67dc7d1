/* SPDX-License-Identifier: MIT */
/* Configuration parsing: every error class names file, line and key; valid files normalize. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "strbuf.h"

/* Parse text expected to fail; check the message mentions each needle. */
static void expect_error(const char *text, const char *n1, const char *n2)
{
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;
	int rc = config_load_string(text, "t.conf", &cfg, &err);

	CHECK(rc == -EINVAL);
	CHECK(cfg == NULL);
	if (n1)
		CHECK_STR_CONTAINS(strbuf_str(&err), n1);
	if (n2)
		CHECK_STR_CONTAINS(strbuf_str(&err), n2);
	strbuf_free(&err);
	config_free(cfg);
}

/* Parse text expected to succeed. */
static struct config *expect_ok(const char *text)
{
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;
	int rc = config_load_string(text, "t.conf", &cfg, &err);

	CHECK(rc == 0);
	if (rc != 0)
		fprintf(stderr, "unexpected error: %s\n", strbuf_str(&err));
	strbuf_free(&err);
	return cfg;
}

#define REG "[registry]\nlisten = 127.0.0.1:5353\n[zone example.com.]\ndevice = wg0\n"
#define CLI "[client wg0]\nregistry = 10.0.0.254\nzone = example.com.\n"

/* Each class of error. */
static void test_errors(void)
{
	struct config *cfg;

	expect_error("[bogus]\n" CLI, "t.conf:1:", "unknown section");
	expect_error(CLI "colour = blue\n", "t.conf:4:", "colour: unknown key");
	expect_error("[daemon]\nlog-level = loud\n" CLI, "t.conf:2: [daemon] log-level:", "'loud'");
	expect_error("[daemon]\nstatus-socket = relative\n" CLI, "t.conf:2:", "absolute path");
	expect_error(CLI "interval = 10 parsecs\n", "t.conf:4: [client wg0] interval:", "duration");
	expect_error(CLI "interval = 10\ninterval = 20\n", "t.conf:5:", "set twice");
	expect_error(CLI "keepalive = 70000\n", "t.conf:4:", "keepalive");
	expect_error(CLI "keepalive = -1\n", "t.conf:4:", "keepalive");
	expect_error(CLI "exclude = not-a-key\n", "t.conf:4:", "base64");
	expect_error(CLI "registry = 10.0.0.300\n", "t.conf:4:", "not an address");
	expect_error(CLI "backend = magic\n", "t.conf:4:", "auto, kernel, userspace");
	expect_error(REG "self = 1.2.3.4\n", "t.conf:5:", "self:");
	expect_error(REG "self-allowed-ips = 10.0.0.1/24\nself = auto\n", "t.conf:5:", "host bits");
	expect_error(REG "refresh = 10ms\n", "t.conf:5:", "refresh");
	expect_error("[registry]\naccess = everyone\n[zone example.com.]\ndevice = wg0\n", "t.conf:2:", "access");
	expect_error("[registry]\nttl = forever\n[zone a.]\ndevice = wg0\n", "t.conf:2:", "ttl");
	expect_error("[registry]\nedns-size = 100\n[zone a.]\ndevice = wg0\n", "t.conf:2:", "edns-size");
	expect_error("[registry]\nlisten = 1.2.3.4:99999\n[zone a.]\ndevice = wg0\n", "t.conf:2:", "listen");
	expect_error("[registry]\nlisten = 1.2.3.4\nlisten = 1.2.3.4:53\n[zone a.]\ndevice = wg0\n", "t.conf:3:", "twice");
	/* A specific address beside a same-family wildcard on its port could not be bound. */
	expect_error("[registry]\nlisten = 0.0.0.0:53\nlisten = 10.0.0.254:53\n[zone a.]\ndevice = wg0\n", "t.conf:3:",
		     "wildcard already answers");
	expect_error("[registry]\nlisten = [2001:db8::1]:53\nlisten = [::]\n[zone a.]\ndevice = wg0\n", "t.conf:3:",
		     "wildcard already answers");
	cfg = expect_ok("[registry]\nlisten = 0.0.0.0:53\nlisten = 10.0.0.254:5353\nlisten = [::1]:53\n"
			"[zone a.]\ndevice = wg0\n");
	config_free(cfg);
	expect_error(REG "device = wg1\n", "t.conf:5:", "set twice");
	expect_error(REG "[zone example.com]\ndevice = wg1\n", "t.conf:5:", "defined twice");
	expect_error(REG "[zone Example.COM.]\ndevice = wg1\n", "t.conf:5:", "defined twice");
	expect_error(REG "[registry]\n", "t.conf:5:", "appears twice");
	expect_error(CLI CLI, "t.conf:4:", "defined twice");
	expect_error("[zone bad..name]\n", "t.conf:1:", "not a domain name");
	expect_error("[zone a\016example.]\n", "t.conf:1:", "not a domain name");
	expect_error("[zone a\\\\.example.]\n", "t.conf:1:", "not a domain name");
	expect_error("[client]\n", "t.conf:1:", "needs an interface name");
	expect_error("[client averyveryverylongname]\n", "t.conf:1:", "needs an interface name");
	expect_error("log-level = info\n" CLI, "t.conf:1:", "outside of any section");
	expect_error(CLI "this line has no equals sign\n", "t.conf:4:", "syntax error");
	expect_error("[daemon\n" CLI, "t.conf:1:", "without ']'");
	expect_error("[daemon] junk\n" CLI, "t.conf:1:", "after the section header");
	/* Missing required keys and roles. */
	expect_error("[client wg0]\nzone = example.com.\n", "[client wg0]", "missing required key 'registry'");
	expect_error("[client wg0]\nregistry = 10.0.0.1\n", "[client wg0]", "missing required key 'zone'");
	expect_error("[registry]\n[zone a.]\n", "[zone a.]", "missing required key 'device'");
	expect_error("[daemon]\nlog-level = info\n", "no role configured", NULL);
	expect_error("", "no role configured", NULL);
	expect_error("[zone a.]\ndevice = wg0\n", "need a [registry]", NULL);
	expect_error("[registry]\n", "at least one [zone", NULL);
	expect_error(REG "self-allowed-ips = 10.0.0.1/32\n", "[zone example.com.]", "needs 'self'");

	/* Names and ports the runtime would reject are rejected here already. */
	expect_error("[registry]\n[zone a.]\ndevice = ..\n", "t.conf:3:", "not an interface name");
	expect_error("[registry]\n[zone a.]\ndevice = wg:0\n", "t.conf:3:", "not an interface name");
	expect_error("[registry]\n[zone a.]\ndevice = wg\"0\n", "t.conf:3:", "not an interface name");
	expect_error("[client wg\t0]\nregistry = 10.0.0.1\nzone = a.\n", "t.conf:1:", "needs an interface name");
	expect_error(CLI "registry = 10.0.0.2:0\n", "t.conf:4:", "port 1..65535");
	expect_error("[registry]\nlisten = 127.0.0.1:0\n[zone a.]\ndevice = wg0\n", "t.conf:2:", "port 1..65535");

	/* An over-long line is an error, not a silent split. */
	char big[4096];
	snprintf(big, sizeof(big), CLI "exclude = %0900d\n", 0);
	expect_error(big, "t.conf:4:", "longer than");
	snprintf(big, sizeof(big), CLI "exclude = %03000d\nkeepalive = 5\n", 0);
	expect_error(big, "t.conf:4:", "longer than");

	/* Several errors are all reported, each with its line. */
	expect_error("[client wg0]\ninterval = x\nkeepalive = y\n", "t.conf:2:", "t.conf:3:");
}

/* Files that must be accepted, and what they normalize to. */
static void test_valid(void)
{
	struct config *cfg;
	struct strbuf out = STRBUF_INIT;

	cfg = expect_ok(
		"; comment\n# comment\n"
		"[daemon]\nlog-level = debug\nstatus-socket = /tmp/x.sock\n"
		"[registry]\n  listen = 127.0.0.1:5353   ; indented, inline comment\n"
		"listen = [::1]:5353\naccess = 10.0.0.0/24, 2001:db8::/32\naccess = 192.0.2.0/24\nttl = 30\n"
		"[zone Example.COM]\ndevice = wg0\nself = auto\nself-allowed-ips = 10.0.0.254/32\nrefresh = 250ms\n"
		"[zone other.example.]\ndevice = wg1\nbackend = userspace\nself = [2001:db8::1]:51820\n"
		"[client wg0]\nregistry = 10.0.0.254\nregistry = [2001:db8::53]:5353\nzone = Example.COM.\n"
		"interval = 1m\nhandshake-timeout = 2m\nkeepalive = 25\n"
		"exclude = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	if (!cfg)
		return;
	CHECK(cfg->log_level == LOG_LVL_DEBUG);
	CHECK(strcmp(cfg->status_socket, "/tmp/x.sock") == 0);
	CHECK(cfg->registry.enabled);
	CHECK(cfg->registry.n_listens == 2);
	CHECK(!cfg->registry.listens_default);
	CHECK(cfg->registry.access == ACCESS_CIDR && cfg->registry.n_access_cidrs == 3);
	CHECK(cfg->registry.ttl == 30);
	CHECK(cfg->n_zones == 2);
	CHECK(strcmp(cfg->zones[0].name, "example.com.") == 0);
	CHECK(strcmp(cfg->zones[0].ns, "ns1.example.com.") == 0);
	CHECK(cfg->zones[0].self == SELF_AUTO);
	CHECK(cfg->zones[0].refresh_ms == 250);
	CHECK(cfg->zones[1].self == SELF_FIXED && addr_port(&cfg->zones[1].self_endpoint) == 51820);
	CHECK(cfg->zones[1].backend == WG_BACKEND_USERSPACE);
	CHECK(cfg->n_clients == 1);
	CHECK(cfg->clients[0].n_registries == 2);
	CHECK(addr_port(&cfg->clients[0].registries[0]) == 53);
	CHECK(addr_port(&cfg->clients[0].registries[1]) == 5353);
	CHECK(strcmp(cfg->clients[0].zone, "example.com.") == 0);
	CHECK(cfg->clients[0].interval_ms == 60000);
	CHECK(cfg->clients[0].handshake_timeout_ms == 120000);
	CHECK(cfg->clients[0].keepalive == 25);
	CHECK(cfg->clients[0].n_exclude == 1);
	CHECK(cfg->clients[0].timeout_ms == DEFAULT_QUERY_TIMEOUT_MS);

	/* Deep copies equal their source, own their arrays, and clear to empty. */
	struct config_zone zc;
	struct config_client cc;
	CHECK(config_zone_copy(&zc, &cfg->zones[0]) == 0);
	CHECK(config_zone_equal(&zc, &cfg->zones[0]));
	CHECK(zc.n_self_allowed_ips == 1 && zc.self_allowed_ips != cfg->zones[0].self_allowed_ips);
	config_zone_clear(&zc);
	CHECK(zc.self_allowed_ips == NULL && zc.n_self_allowed_ips == 0 && zc.ns_addrs == NULL);
	CHECK(config_client_copy(&cc, &cfg->clients[0]) == 0);
	CHECK(config_client_equal(&cc, &cfg->clients[0]));
	CHECK(cc.registries != cfg->clients[0].registries && cc.exclude != cfg->clients[0].exclude);
	config_client_clear(&cc);
	CHECK(cc.registries == NULL && cc.n_registries == 0 && cc.exclude == NULL && cc.n_exclude == 0);

	/* The printed form parses back to the same configuration. */
	config_print(cfg, &out);
	struct config *again = expect_ok(strbuf_str(&out));
	if (again) {
		CHECK(again->n_zones == cfg->n_zones && again->n_clients == cfg->n_clients);
		for (size_t i = 0; i < cfg->n_zones && i < again->n_zones; i++)
			CHECK(config_zone_equal(&cfg->zones[i], &again->zones[i]));
		CHECK(config_client_equal(&cfg->clients[0], &again->clients[0]));
		CHECK(again->registry.n_access_cidrs == 3);
	}
	config_free(again);
	strbuf_free(&out);
	config_free(cfg);

	/* Defaults: both wildcard listeners, access peers. */
	cfg = expect_ok("[registry]\n[zone a.]\ndevice = wg0\n");
	if (cfg) {
		CHECK(cfg->registry.n_listens == 2);
		CHECK(cfg->registry.listens_default);
		CHECK(addr_port(&cfg->registry.listens[0]) == 53);
		CHECK(cfg->registry.access == ACCESS_PEERS);
		CHECK(cfg->registry.edns_size == DEFAULT_EDNS_SIZE);
		CHECK(cfg->zones[0].refresh_ms == DEFAULT_REFRESH_MS);
		/* Printed, the defaults stay defaults (written as listen lines they would be required). */
		config_print(cfg, &out);
		CHECK(strstr(strbuf_str(&out), "\nlisten") == NULL);
		again = expect_ok(strbuf_str(&out));
		CHECK(again && again->registry.listens_default && again->registry.n_listens == 2);
		config_free(again);
		strbuf_free(&out);
	}
	config_free(cfg);
}

/* [relay]: its keys, limits, defaults, and that it needs a registry and an address. */
static void test_relay(void)
{
	struct config *cfg, *again;
	struct strbuf out = STRBUF_INIT;

	expect_error("[relay]\naddress = 203.0.113.4\n" CLI, "[relay] needs a [registry]", NULL);
	expect_error(REG "[relay]\nports = 50000-50001\n", "missing required key 'address'", NULL);
	expect_error(REG "[relay]\naddress = 203.0.113.4:53\n", "t.conf:6: [relay] address:", "without port");
	expect_error(REG "[relay]\naddress = relay.example.com\n", "t.conf:6:", "not an IPv4 or IPv6");
	expect_error(REG "[relay]\naddress = 0.0.0.0\n", "t.conf:6:", "cannot be a relay address");
	expect_error(REG "[relay]\naddress = 224.0.0.1\n", "t.conf:6:", "cannot be a relay address");
	expect_error(REG "[relay]\naddress = fe80::1\n", "t.conf:6:", "cannot be a relay address");
	expect_error(REG "[relay]\naddress = 203.0.113.4\naddress = 198.51.100.1\n", "t.conf:7:", "one address per family");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nports = 5000\n", "t.conf:7:", "port range");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nports = 5000-5000\n", "t.conf:7:", "at least two ports");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nports = 6000-5000\n", "t.conf:7:", "port range");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nports = 1-70000\n", "t.conf:7:", "port range");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nmax-allocations = 0\n", "t.conf:7:", "max-allocations");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nidle-timeout = 10ms\n", "t.conf:7:", "idle-timeout");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nrate-limit = fast\n", "t.conf:7:", "rate-limit");
	expect_error(REG "[relay]\naddress = 203.0.113.4\nrate-limit = 5T\n", "t.conf:7:", "rate-limit");
	expect_error(REG "[relay]\naddress = 203.0.113.4\ncolour = red\n", "t.conf:7:", "unknown key");
	expect_error(REG "[relay]\naddress = 203.0.113.4\n[relay]\n", "t.conf:7:", "appears twice");
	expect_error(CLI "relay = always\n", "t.conf:4: [client wg0] relay:", "auto, off");
	expect_error(CLI "relay-after = 0\n", "t.conf:4:", "relay-after");
	expect_error(CLI "relay-retry = 500ms\n", "t.conf:4:", "relay-retry");
	expect_error(CLI "relay-retry = 1m\nrelay-retry = 2m\n", "t.conf:5:", "set twice");

	cfg = expect_ok(REG "[relay]\naddress = 203.0.113.4\n" CLI);
	if (cfg) {
		CHECK(cfg->relay.enabled && cfg->relay.n_addrs == 1);
		CHECK(cfg->relay.port_min == DEFAULT_RELAY_PORT_MIN && cfg->relay.port_max == DEFAULT_RELAY_PORT_MAX);
		CHECK(cfg->relay.max_allocs == DEFAULT_RELAY_MAX_ALLOCS);
		CHECK(cfg->relay.idle_timeout_ms == DEFAULT_RELAY_IDLE_TIMEOUT_MS);
		CHECK(cfg->relay.rate_bps == 0);
		CHECK(cfg->clients[0].relay && cfg->clients[0].relay_after_ms == DEFAULT_RELAY_AFTER_MS);
		CHECK(cfg->clients[0].relay_retry_ms == DEFAULT_RELAY_RETRY_MS && DEFAULT_RELAY_RETRY_MS == 300000);
	}
	config_free(cfg);
	cfg = expect_ok(REG "[relay]\naddress = 203.0.113.4\naddress = [2001:db8::4]\nports = 40000-40099\n"
			"max-allocations = 10\nidle-timeout = 2m\nrate-limit = 10M\n" CLI "relay = off\nrelay-after = 1m\nrelay-retry = 20s\n");
	if (!cfg)
		return;
	CHECK(cfg->relay.n_addrs == 2 && cfg->relay.addrs[1].sa.sa_family == AF_INET6);
	CHECK(cfg->relay.port_min == 40000 && cfg->relay.port_max == 40099);
	CHECK(cfg->relay.max_allocs == 10 && cfg->relay.idle_timeout_ms == 120000);
	CHECK(cfg->relay.rate_bps == 10000000);
	CHECK(!cfg->clients[0].relay && cfg->clients[0].relay_after_ms == 60000);
	CHECK(cfg->clients[0].relay_retry_ms == 20000);
	config_print(cfg, &out);
	CHECK_STR_CONTAINS(strbuf_str(&out), "[relay]\naddress = 203.0.113.4\naddress = 2001:db8::4\nports = 40000-40099\n");
	again = expect_ok(strbuf_str(&out));
	CHECK(again && config_relay_equal(&again->relay, &cfg->relay));
	CHECK(again && config_client_equal(&again->clients[0], &cfg->clients[0]));
	if (again) {
		again->relay.rate_bps = 1;
		CHECK(!config_relay_equal(&again->relay, &cfg->relay));
		again->clients[0].relay = true;
		CHECK(!config_client_equal(&again->clients[0], &cfg->clients[0]));
	}
	config_free(again);
	strbuf_free(&out);
	config_free(cfg);
}

#define KEY "[key xfr.example.]\nsecret = c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg==\n"

/* Zone transfer keys: [key NAME], allow-transfer, notify, SOA timers, peer-transfers, ixfr-history. */
static void test_transfer_config(void)
{
	struct config *cfg;
	struct strbuf out = STRBUF_INIT;

	cfg = expect_ok(REG "allow-transfer = 192.0.2.0/24 key Xfr.Example\nallow-transfer = 2001:db8::53\n"
			"allow-transfer = any key xfr.example.\nnotify = 192.0.2.53 key xfr.example.\n"
			"notify = [2001:db8::53]:5300\nsoa-refresh = 1m\nsoa-retry = 10\nsoa-expire = 1h\n"
			"peer-transfers = no\nixfr-history = 0\n" KEY "algorithm = hmac-sha256\n");
	if (!cfg)
		return;
	const struct config_zone *z = &cfg->zones[0];
	CHECK(cfg->n_keys == 1 && strcmp(cfg->keys[0].name, "xfr.example.") == 0);
	CHECK(config_find_key(cfg, "xfr.example.") == &cfg->keys[0]);
	CHECK(z->n_allow_transfer == 3);
	CHECK(z->allow_transfer[0].prefix.family == AF_INET && z->allow_transfer[0].prefix.prefix == 24);
	CHECK(strcmp(z->allow_transfer[0].key, "xfr.example.") == 0);
	CHECK(z->allow_transfer[1].prefix.prefix == 128 && z->allow_transfer[1].key[0] == '\0');
	CHECK(z->allow_transfer[2].any);
	CHECK(z->n_notify == 2 && addr_port(&z->notify[0].addr) == 53 && addr_port(&z->notify[1].addr) == 5300);
	CHECK(strcmp(z->notify[0].key, "xfr.example.") == 0 && z->notify[1].key[0] == '\0');
	CHECK(z->soa_refresh_s == 60 && z->soa_retry_s == 10 && z->soa_expire_s == 3600);
	CHECK(!z->peer_transfers && z->ixfr_history == 0);

	/* Copies own their arrays; the printed form parses back to an equal zone and the same key. */
	struct config_zone zc;
	CHECK(config_zone_copy(&zc, z) == 0);
	CHECK(config_zone_equal(&zc, z));
	CHECK(zc.allow_transfer != z->allow_transfer && zc.notify != z->notify);
	zc.notify[1].key[0] = 'x';
	CHECK(!config_zone_equal(&zc, z));
	config_zone_clear(&zc);
	CHECK(zc.allow_transfer == NULL && zc.n_notify == 0);
	config_print(cfg, &out);
	/* The printed form hides the secret; with it filled in again it parses back to the same zone. */
	CHECK(strstr(strbuf_str(&out), cfg->keys[0].secret) == NULL);
	CHECK(strstr(strbuf_str(&out), "c2VjcmV0") == NULL);
	char *hidden = strstr(strbuf_str(&out), "\nsecret = " CONFIG_SECRET_HIDDEN "\n");
	CHECK(hidden != NULL);
	struct config *again = NULL;
	if (hidden) {
		struct strbuf filled = STRBUF_INIT;
		strbuf_printf(&filled, "%.*ssecret = %s%s", (int)(hidden + 1 - strbuf_str(&out)), strbuf_str(&out),
			      cfg->keys[0].secret, hidden + strlen("\nsecret = " CONFIG_SECRET_HIDDEN));
		again = expect_ok(strbuf_str(&filled));
		strbuf_free(&filled);
	}
	if (again) {
		CHECK(config_zone_equal(&again->zones[0], z));
		CHECK(again->n_keys == 1 && strcmp(again->keys[0].secret, cfg->keys[0].secret) == 0);
	}
	config_free(again);
	strbuf_free(&out);
	config_free(cfg);

	/* Defaults. */
	cfg = expect_ok(REG);
	if (cfg) {
		z = &cfg->zones[0];
		CHECK(z->soa_refresh_s == DEFAULT_SOA_REFRESH_S && z->soa_retry_s == DEFAULT_SOA_RETRY_S);
		CHECK(z->soa_expire_s == DEFAULT_SOA_EXPIRE_S && z->peer_transfers);
		CHECK(z->ixfr_history == DEFAULT_IXFR_HISTORY && z->n_allow_transfer == 0 && z->n_notify == 0);
	}
	config_free(cfg);

	expect_error(REG "allow-transfer = 192.0.2.1 key nokey.\n", "[zone example.com.]: allow-transfer", "no [key nokey.]");
	expect_error(REG "notify = 192.0.2.1 key nokey.\n", "notify: no [key nokey.]", NULL);
	expect_error(REG "allow-transfer = any\n", "t.conf:5: [zone example.com.] allow-transfer:", "any key NAME");
	expect_error(REG "allow-transfer = 192.0.2.1/24\n", "t.conf:5:", "allow-transfer");
	expect_error(REG "allow-transfer = 192.0.2.1 secret k.\n", "t.conf:5:", "allow-transfer");
	expect_error(REG "allow-transfer = 192.0.2.1 key k. extra\n", "t.conf:5:", "allow-transfer");
	expect_error(REG "notify = 192.0.2.1:0\n", "t.conf:5: [zone example.com.] notify:", NULL);
	expect_error(REG "notify = 192.0.2.1\nnotify = 192.0.2.1:53\n", "t.conf:6:", "listed twice");
	expect_error(REG "soa-refresh = 1500ms\n", "t.conf:5:", "whole number of seconds");
	expect_error(REG "soa-expire = 5w\n", "t.conf:5:", "soa-expire");
	expect_error(REG "soa-refresh = 1h\nsoa-expire = 30m\n", "soa-expire must be at least", NULL);
	expect_error(REG "soa-retry = 5\nsoa-retry = 6\n", "t.conf:6:", "set twice");
	expect_error(REG "peer-transfers = maybe\n", "t.conf:5:", "yes or no");
	expect_error(REG "ixfr-history = -1\n", "t.conf:5:", "ixfr-history");
	expect_error(REG "[key k.]\nalgorithm = hmac-md5\nsecret = c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n", "t.conf:6: [key k.] algorithm:", "hmac-sha256");
	expect_error(REG "[key k.]\nsecret = c2hvcnQ=\n", "t.conf:6: [key k.] secret:", "16..512 bytes");
	expect_error(REG "[key k.]\nsecret = not*base64!!\n", "t.conf:6:", "base64");
	expect_error(REG "[key k.]\nalgorithm = hmac-sha256\n", "[key k.]: missing required key 'secret'", NULL);
	expect_error(REG KEY KEY, "key xfr.example. is defined twice", NULL);
	expect_error(REG "[key]\n", "a key section needs a domain name", NULL);
	expect_error(CLI KEY, "[key] sections", "[registry]");
}

/* Durations with every unit and their limits. */
static void test_durations(void)
{
	unsigned int ms;

	CHECK(config_parse_duration_ms("10", &ms) == 0 && ms == 10000);
	CHECK(config_parse_duration_ms("250ms", &ms) == 0 && ms == 250);
	CHECK(config_parse_duration_ms("3s", &ms) == 0 && ms == 3000);
	CHECK(config_parse_duration_ms("2m", &ms) == 0 && ms == 120000);
	CHECK(config_parse_duration_ms("1h", &ms) == 0 && ms == 3600000);
	CHECK(config_parse_duration_ms("", &ms) == -EINVAL);
	CHECK(config_parse_duration_ms("-1s", &ms) == -EINVAL);
	CHECK(config_parse_duration_ms("1d", &ms) == -EINVAL);
	CHECK(config_parse_duration_ms("5000000h", &ms) == -EINVAL);
	CHECK(config_parse_duration_ms("99999999999999999999999", &ms) == -EINVAL);
}

/* A NUL byte in a file is an error on its line, not a silently shortened value. */
static void test_nul_byte(void)
{
	static const char text[] = "[client wg0]\nregistry = 10.0.0.254\nzone = a.\nexclude = AAAA\0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	char path[] = "/tmp/wgsd-test-config.XXXXXX";
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	CHECK(config_load(path, &cfg, &err) == -EINVAL);
	CHECK_STR_CONTAINS(strbuf_str(&err), ":4: [client wg0] NUL byte");
	unlink(path);
	config_free(cfg);
	strbuf_free(&err);
}

/* A file that cannot be opened is reported with its name. */
static void test_missing_file(void)
{
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;

	CHECK(config_load("/nonexistent/wgsd.conf", &cfg, &err) == -ENOENT);
	CHECK_STR_CONTAINS(strbuf_str(&err), "/nonexistent/wgsd.conf: cannot open");
	strbuf_free(&err);
}

/* peers = auto: its keys, their defaults, the rules tying them together, print and copy. */
static void test_membership(void)
{
	struct config *cfg, *again;
	struct strbuf out = STRBUF_INIT;
	struct config_client cc;

	/* Defaults: existing, and the auto-* defaults already in place. */
	cfg = expect_ok(CLI);
	if (cfg) {
		CHECK(cfg->clients[0].peers == PEERS_EXISTING);
		CHECK(cfg->clients[0].auto_max_peers == DEFAULT_AUTO_MAX_PEERS);
		CHECK(cfg->clients[0].auto_remove_after_ms == DEFAULT_AUTO_REMOVE_AFTER_MS);
		CHECK(!cfg->clients[0].auto_remove_never);
		CHECK(strcmp(cfg->state_directory, "/var/lib/wgsd") == 0);
	}
	config_free(cfg);

	cfg = expect_ok("[daemon]\nstate-directory = /tmp/wgsd-state\n" CLI
			"peers = auto\nauto-allowed-ips = 10.0.0.0/24, fd00::/64\nauto-allowed-ips = 10.1.0.0/16\n"
			"auto-max-peers = 50\nauto-remove-after = 90s\n");
	if (cfg) {
		const struct config_client *c = &cfg->clients[0];

		CHECK(strcmp(cfg->state_directory, "/tmp/wgsd-state") == 0);
		CHECK(c->peers == PEERS_AUTO && c->n_auto_allowed == 3 && c->auto_max_peers == 50);
		CHECK(c->auto_remove_after_ms == 90000 && !c->auto_remove_never);
		config_print(cfg, &out);
		CHECK_STR_CONTAINS(strbuf_str(&out), "state-directory = /tmp/wgsd-state\n");
		CHECK_STR_CONTAINS(strbuf_str(&out), "peers = auto\nauto-allowed-ips = 10.0.0.0/24, fd00::/64, 10.1.0.0/16\n");
		CHECK_STR_CONTAINS(strbuf_str(&out), "auto-max-peers = 50\nauto-remove-after = 90s\n");
		again = expect_ok(strbuf_str(&out));
		CHECK(again && config_client_equal(&cfg->clients[0], &again->clients[0]));
		CHECK(again && strcmp(again->state_directory, cfg->state_directory) == 0);
		config_free(again);
		CHECK(config_client_copy(&cc, c) == 0);
		CHECK(config_client_equal(&cc, c) && cc.auto_allowed != c->auto_allowed);
		cc.auto_remove_never = true;
		CHECK(!config_client_equal(&cc, c));
		config_client_clear(&cc);
		CHECK(cc.auto_allowed == NULL && cc.n_auto_allowed == 0);
	}
	config_free(cfg);

	cfg = expect_ok(CLI "peers = auto\nauto-allowed-ips = 10.0.0.0/24\nauto-remove-after = never\n");
	if (cfg) {
		CHECK(cfg->clients[0].auto_remove_never);
		strbuf_reset(&out);
		config_print(cfg, &out);
		CHECK_STR_CONTAINS(strbuf_str(&out), "auto-remove-after = never\n");
	}
	config_free(cfg);

	expect_error(CLI "peers = all\n", "t.conf:4: [client wg0] peers:", "existing, auto");
	expect_error(CLI "peers = auto\n", "[client wg0]", "'peers = auto' needs 'auto-allowed-ips'");
	expect_error(CLI "auto-allowed-ips = 10.0.0.0/24\n", "t.conf:4: [client wg0]", "need 'peers = auto'");
	expect_error(CLI "peers = existing\nauto-remove-after = 1m\n[client wg1]\nregistry = 10.0.0.254\nzone = a.\n",
		     "t.conf:5: [client wg0]", "need 'peers = auto'");
	expect_error(CLI "peers = auto\nauto-allowed-ips = 10.0.0.1/24\n", "t.conf:5: [client wg0] auto-allowed-ips:", "host bits");
	expect_error(CLI "peers = auto\nauto-allowed-ips = 10.0.0.0/24\nauto-max-peers = 0\n", "t.conf:6:", "1..100000");
	expect_error(CLI "peers = auto\nauto-allowed-ips = 10.0.0.0/24\nauto-remove-after = 500ms\n", "t.conf:6:", "never");
	expect_error(CLI "peers = auto\npeers = existing\n", "t.conf:5:", "set twice");
	expect_error("[daemon]\nstate-directory = var/lib\n" CLI, "t.conf:2: [daemon] state-directory:", "absolute");
	strbuf_free(&out);
}

/* port-mapping: off by default with a 2 h lifetime, every mode, errors, round trip, reload difference. */
static void test_port_mapping(void)
{
	static const char *const modes[] = { "off", "auto", "pcp", "natpmp", "upnp" };
	struct strbuf out = STRBUF_INIT;
	struct config *cfg, *again;

	cfg = expect_ok(CLI);
	if (cfg) {
		CHECK(cfg->clients[0].port_mapping == PORTMAP_OFF);
		CHECK(cfg->clients[0].port_mapping_lifetime_ms == 7200000);
	}
	config_free(cfg);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), CLI "port-mapping = %s\nport-mapping-lifetime = 90s\n", modes[i]);
		cfg = expect_ok(text);
		if (!cfg)
			continue;
		CHECK(strcmp(config_portmap_mode_name(cfg->clients[0].port_mapping), modes[i]) == 0);
		CHECK(cfg->clients[0].port_mapping_lifetime_ms == 90000);
		strbuf_reset(&out);
		config_print(cfg, &out);
		CHECK_STR_CONTAINS(strbuf_str(&out), "port-mapping-lifetime = 90s\n");
		again = expect_ok(strbuf_str(&out));
		CHECK(again && config_client_equal(&cfg->clients[0], &again->clients[0]));
		config_free(again);
		config_free(cfg);
	}
	expect_error(CLI "port-mapping = yes\n", "t.conf:4: [client wg0] port-mapping:", "auto, off, pcp, natpmp, upnp");
	expect_error(CLI "port-mapping = pcp\nport-mapping = upnp\n", "t.conf:5:", "set twice");
	expect_error(CLI "port-mapping-lifetime = 1s\n", "t.conf:4:", "between 2s and 24h");
	expect_error(CLI "port-mapping-lifetime = 25h\n", "t.conf:4:", "between 2s and 24h");

	/* A changed mode or lifetime is a changed section (a reload restarts it). */
	cfg = expect_ok(CLI "port-mapping = auto\n");
	again = expect_ok(CLI "port-mapping = pcp\n");
	if (cfg && again)
		CHECK(!config_client_equal(&cfg->clients[0], &again->clients[0]));
	config_free(again);
	again = expect_ok(CLI "port-mapping = auto\nport-mapping-lifetime = 1h\n");
	if (cfg && again)
		CHECK(!config_client_equal(&cfg->clients[0], &again->clients[0]));
	config_free(again);
	config_free(cfg);
	strbuf_free(&out);
}

int main(void)
{
	test_transfer_config();
	test_port_mapping();
	test_errors();
	test_valid();
	test_durations();
	test_relay();
	test_missing_file();
	test_nul_byte();
	test_membership();
	return CHECK_DONE();
}
