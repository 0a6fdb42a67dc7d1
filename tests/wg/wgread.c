/* SPDX-License-Identifier: MIT */
/*
 * wgread: read or update a WireGuard device through wgsd's wg layer.
 *
 *   wgread [--backend auto|kernel|userspace] DEV
 *       Print the device in the format of `wg show DEV dump`, except that
 *       the private key (first line) and the preshared keys (second column
 *       of peer lines) are printed as "(none)": the wg layer never keeps
 *       secrets.
 *   wgread [--backend auto|kernel|userspace] DEV set PEER_BASE64 ENDPOINT|- [KEEPALIVE|-]
 *       Update one existing peer (update-only): ENDPOINT "ip:port" or
 *       "[ipv6]:port", KEEPALIVE seconds 0..65535; "-" leaves it unchanged.
 *   wgread [--backend ...] DEV add PEER_BASE64 CIDR[,CIDR...] [ENDPOINT|- [KEEPALIVE|-]]
 *       Create a peer with exactly these allowed IPs (and endpoint, keepalive).
 *   wgread [--backend ...] DEV remove PEER_BASE64
 *       Remove a peer (a missing one is not an error).
 *
 * Exit status: 0 on success, 1 with "wgread: DEV: <error>" on stderr when
 * the operation fails, 2 on a usage error. Used by the wg and kernel tests.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"

/* Print usage and return the usage exit status. */
static int usage(void)
{
	fprintf(stderr, "usage: wgread [--backend auto|kernel|userspace] DEV\n"
			"       wgread [--backend auto|kernel|userspace] DEV set PEER_BASE64 ENDPOINT|- [KEEPALIVE|-]\n"
			"       wgread [--backend auto|kernel|userspace] DEV add PEER_BASE64 CIDR[,CIDR...] [ENDPOINT|- [KEEPALIVE|-]]\n"
			"       wgread [--backend auto|kernel|userspace] DEV remove PEER_BASE64\n");
	return 2;
}

/* A key as wg(8) prints it: base64, or "(none)" when unset. */
static const char *key_text(const uint8_t key[WG_KEY_LEN], bool have, char buf[KEY_B64_LEN + 1])
{
	if (!have || key_is_zero(key))
		return "(none)";
	key_to_base64(key, buf);
	return buf;
}

/* An endpoint as wg(8) prints it (getnameinfo, numeric, brackets for IPv6). */
static const char *endpoint_text(const union sockaddr_any *a, char *buf, size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t alen = addr_len(a);
	int ret;

	if (!alen)
		return "(none)";
	ret = getnameinfo(&a->sa, alen, host, sizeof(host), serv, sizeof(serv),
			  NI_DGRAM | NI_NUMERICSERV | NI_NUMERICHOST);
	if (ret) {
		snprintf(buf, len, "%s", gai_strerror(ret));
		return buf;
	}
	snprintf(buf, len, a->sa.sa_family == AF_INET6 && strchr(host, ':') ? "[%s]:%s" : "%s:%s",
		 host, serv);
	return buf;
}

/* Print the device in `wg show DEV dump` layout. */
static void print_dump(const struct wg_device *dev, FILE *out)
{
	char key[KEY_B64_LEN + 1], ep[NI_MAXHOST + NI_MAXSERV + 4], cidr[CIDR_STRLEN];

	fprintf(out, "(none)\t%s\t%u\t", key_text(dev->public_key, dev->has_public_key, key),
		dev->listen_port);
	if (dev->fwmark)
		fprintf(out, "0x%x\n", dev->fwmark);
	else
		fprintf(out, "off\n");
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		fprintf(out, "%s\t(none)\t%s\t", key_text(p->public_key, true, key),
			endpoint_text(&p->endpoint, ep, sizeof(ep)));
		if (p->n_allowed_ips == 0)
			fputs("(none)\t", out);
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			fputs(cidr_format(&p->allowed_ips[j], cidr, sizeof(cidr)), out);
			fputc(j + 1 < p->n_allowed_ips ? ',' : '\t', out);
		}
		fprintf(out, "%llu\t%llu\t%llu\t", (unsigned long long)p->last_handshake_sec,
			(unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes);
		if (p->persistent_keepalive)
			fprintf(out, "%u\n", p->persistent_keepalive);
		else
			fprintf(out, "off\n");
	}
}

/* Parse the arguments of "set" into an update. */
static int parse_update(int argc, char **argv, struct wg_peer_update *u)
{
	memset(u, 0, sizeof(*u));
	u->persistent_keepalive = -1;
	if (argc < 2 || argc > 3)
		return -EINVAL;
	if (key_from_base64(argv[0], u->public_key) < 0)
		return -EINVAL;
	if (strcmp(argv[1], "-") != 0 && addr_parse(argv[1], -1, &u->endpoint) < 0)
		return -EINVAL;
	if (argc == 3 && strcmp(argv[2], "-") != 0) {
		char *end;
		long v = strtol(argv[2], &end, 10);
		if (argv[2][0] < '0' || argv[2][0] > '9' || *end || v > 65535)
			return -EINVAL;
		u->persistent_keepalive = (int)v;
	}
	return 0;
}

/* Parse "CIDR[,CIDR...]" into at most max prefixes; returns how many or -EINVAL. */
static int parse_cidrs(const char *text, struct cidr *out, size_t max)
{
	char buf[4096], *save = NULL, *tok;
	size_t n = 0;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max || cidr_parse(tok, false, &out[n]) < 0)
			return -EINVAL;
		n++;
	}
	return (int)n;
}

/* Entry point. */
int main(int argc, char **argv)
{
	enum wg_backend backend = WG_BACKEND_AUTO;
	struct wg_device *dev = NULL;
	const char *ifname;
	int i = 1, err;

	if (argc > 2 && strcmp(argv[1], "--backend") == 0) {
		if (wg_backend_parse(argv[2], &backend) < 0)
			return usage();
		i = 3;
	}
	if (i >= argc)
		return usage();
	ifname = argv[i++];
	if (i < argc && strcmp(argv[i], "add") == 0) {
		static struct cidr ips[WG_PEER_MAX_ALLOWED_IPS];
		struct wg_peer_update u;
		int n;

		/* add KEY CIDRS [ENDPOINT [KEEPALIVE]]: the update parser takes KEY ENDPOINT [KEEPALIVE]. */
		if (argc - i < 3 || argc - i > 5 || (n = parse_cidrs(argv[i + 2], ips, WG_PEER_MAX_ALLOWED_IPS)) < 0)
			return usage();
		char *uargv[3] = { argv[i + 1], argc - i > 3 ? argv[i + 3] : "-", argc - i > 4 ? argv[i + 4] : "-" };
		if (parse_update(3, uargv, &u) < 0)
			return usage();
		u.change = WG_PEER_CREATE;
		u.allowed_ips = ips;
		u.n_allowed_ips = (size_t)n;
		err = wg_set_peer_sync(ifname, backend, &u);
	} else if (i < argc && strcmp(argv[i], "remove") == 0) {
		struct wg_peer_update u;

		memset(&u, 0, sizeof(u));
		u.persistent_keepalive = -1;
		u.change = WG_PEER_REMOVE;
		if (argc - i != 2 || key_from_base64(argv[i + 1], u.public_key) < 0)
			return usage();
		err = wg_set_peer_sync(ifname, backend, &u);
	} else if (i < argc) {
		struct wg_peer_update u;

		if (strcmp(argv[i], "set") != 0 || parse_update(argc - i - 1, argv + i + 1, &u) < 0)
			return usage();
		err = wg_set_peer_sync(ifname, backend, &u);
	} else {
		err = wg_get_device_sync(ifname, backend, &dev);
		if (err == 0)
			print_dump(dev, stdout);
		wg_device_free(dev);
	}
	if (err) {
		fprintf(stderr, "wgread: %s: %s\n", ifname, wg_strerror(err));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
