/* SPDX-License-Identifier: MIT */
/* Fuzz the route dump reader: any datagram of netlink messages is read as the dump answering
 * its first message's sequence number and as notifications, never a crash; the scan ends in
 * exactly one of more, done or an error. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "wg-nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	struct gateway_scan s;
	struct nlmsghdr *nlh;
	size_t off = 0;
	int rc = 0, step;

	if (size > sizeof(buf))
		return 0;
	/* Aligned, as the kernel's messages are in a receive buffer. */
	memcpy(buf, data, size);
	gateway_scan_init(&s, size >= sizeof(*nlh) ? ((struct nlmsghdr *)(void *)buf)->nlmsg_seq : 0);
	while ((step = wg_nl_msg_next(buf, size, &off, &nlh)) == 1) {
		(void)gateway_is_default_change(nlh);
		if (rc == 0)
			rc = gateway_scan_feed(&s, nlh);
	}
	/* More, done, or an errno value (the caller prints strerror(-rc)). */
	if (rc > 1 || rc < -4095)
		abort();
	if (step != 0 && step != -EBADMSG)
		abort();
	return 0;
}
