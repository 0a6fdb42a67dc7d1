/* SPDX-License-Identifier: MIT */
/* Fuzz the netlink dump parser with arbitrary message streams (lengths checked as the receive path does). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	struct nlmsghdr *nlh;
	size_t off = 0;
	/* Walk the stream as the receive path does (wg_nl_msg_next checks every length). */
	while (rc == WG_NL_MORE && wg_nl_msg_next(buf, size, &off, &nlh) == 1) {
		/* Patch in the expected sequence number when a flag bit says so, to reach the deep paths. */
		if (nlh->nlmsg_flags & 0x8000)
			nlh->nlmsg_seq = FUZZ_SEQ;
		rc = wg_nl_dump_feed(&d, nlh);
	}
	if (d.dev) {
		for (size_t i = 0; i < d.dev->n_peers; i++)
			if (d.dev->peers[i].n_allowed_ips > d.dev->peers[i].cap_allowed_ips)
				abort();
	}
	wg_nl_dump_clear(&d);
	/* The ack and family parsers see the same stream. */
	off = 0;
	if (wg_nl_msg_next(buf, size, &off, &nlh) == 1) {
		uint16_t id;
		(void)wg_nl_family_feed(nlh, nlh->nlmsg_seq, &id);
		(void)wg_nl_ack_feed(nlh, nlh->nlmsg_seq);
	}
out:
	free(buf);
	return 0;
}
