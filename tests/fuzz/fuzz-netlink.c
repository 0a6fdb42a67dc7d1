/* SPDX-License-Identifier: MIT */
/* Fuzz the netlink dump parser with arbitrary message streams (lengths checked as the receive path does). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "wg-nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAMILY 0x1d
#define FUZZ_SEQ 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_nl_dump d;
	/* Copy into an aligned buffer, as recv() into the receive buffer would. */
	uint32_t *buf = malloc(size + 4);
	int rc = WG_NL_MORE;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (wg_nl_dump_init(&d, FUZZ_FAMILY, FUZZ_SEQ) < 0)
		goto out;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int len = (int)size;
	while (mnl_nlmsg_ok(nlh, len) && rc == WG_NL_MORE) {
		/* Patch in the expected sequence number half the time so the deep paths are reached. */
		if (nlh->nlmsg_len >= sizeof(*nlh) && (nlh->nlmsg_flags & 0x8000))
			nlh->nlmsg_seq = FUZZ_SEQ;
		rc = wg_nl_dump_feed(&d, nlh);
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	if (d.dev) {
		for (size_t i = 0; i < d.dev->n_peers; i++)
			if (d.dev->peers[i].n_allowed_ips > d.dev->peers[i].cap_allowed_ips)
				abort();
	}
	wg_nl_dump_clear(&d);
	/* The ack and family parsers see the same stream. */
	nlh = (struct nlmsghdr *)buf;
	len = (int)size;
	if (mnl_nlmsg_ok(nlh, len)) {
		uint16_t id;
		(void)wg_nl_family_feed(nlh, nlh->nlmsg_seq, &id);
		(void)wg_nl_ack_feed(nlh, nlh->nlmsg_seq);
	}
out:
	free(buf);
	return 0;
}
