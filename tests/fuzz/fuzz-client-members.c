/* SPDX-License-Identifier: MIT */
/* Fuzz the client's reading of a registry's listing and of a peer's allowed IPs: any packet gives a
 * listing status and sorted unique keys, any TXT rdata a bounded list or an error, never a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "client-members.h"
#include "dns-pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless every prefix is a valid one. */
static void check_prefixes(const struct cidr *c, int n, int cap)
{
	if (n > cap)
		abort();
	for (int i = 0; i < n; i++)
		if (!((c[i].family == AF_INET && c[i].prefix <= 32) || (c[i].family == AF_INET6 && c[i].prefix <= 128)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[WG_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
						 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	static struct cidr out[CLIENT_MEMBERS_MAX_ALLOWED];
	struct client_listing l = { 0 };
	ldns_pkt *pkt = NULL;
	int n;

	/* The raw bytes as a TXT rdata. */
	n = client_members_allowed(data, size, out, 8);
	if (n < 0 && n != -ENOBUFS && n != -ENOENT && n != -EPROTONOSUPPORT && n != -EBADMSG)
		abort();
	check_prefixes(out, n, 8);

	if (dns_pkt_from_wire(&pkt, data, size) != LDNS_STATUS_OK)
		return 0;
	if (client_members_listing_parse(pkt, "example.com.", &l) == 0) {
		for (size_t i = 1; i < l.n_keys; i++)
			if (memcmp(l.keys[i - 1], l.keys[i], WG_KEY_LEN) >= 0)
				abort();
		for (size_t i = 0; i < l.n_keys; i++)
			if (!client_members_listing_has(&l, l.keys[i]))
				abort();
		if (client_members_listing_complete(&l) && (l.n_unreadable || ldns_pkt_tc(pkt) ||
							   ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR))
			abort();
	}
	client_members_listing_clear(&l);
	n = client_members_txt(pkt, key, "example.com.", out, CLIENT_MEMBERS_MAX_ALLOWED);
	check_prefixes(out, n, CLIENT_MEMBERS_MAX_ALLOWED);
	if (n > 0 && client_members_allowed_sort(out, (size_t)n) != (size_t)n)
		abort();   /* the reader already dropped duplicates */
	ldns_pkt_free(pkt);
	return 0;
}
