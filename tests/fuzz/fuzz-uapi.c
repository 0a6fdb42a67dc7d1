/* SPDX-License-Identifier: MIT */
/* Fuzz the UAPI reply parser, fed in pieces of varying size as a socket would deliver them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg-uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_uapi_parser p;
	struct wg_device *dev;
	char *buf;
	size_t off = 0;
	int rc = WG_UAPI_MORE;

	if (size < 1)
		return 0;
	/* First byte chooses the chunk size. */
	size_t chunk = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	buf = malloc(size ? size : 1);
	dev = wg_device_new();
	if (!buf || !dev)
		goto out;
	memcpy(buf, data, size);
	wg_uapi_parser_init(&p, dev);
	while (off < size && rc == WG_UAPI_MORE) {
		size_t n = size - off < chunk ? size - off : chunk, used = 0;
		rc = wg_uapi_parser_feed(&p, buf + off, n, &used);
		if (used > n)
			abort();
		off += used ? used : n;
	}
	if (rc == WG_UAPI_DONE || rc == WG_UAPI_MORE)
		(void)wg_uapi_parser_finish(&p);
	/* Whatever was parsed must be internally consistent. */
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *peer = &dev->peers[i];
		if (peer->n_allowed_ips > peer->cap_allowed_ips)
			abort();
		for (size_t j = 0; j < peer->n_allowed_ips; j++) {
			const struct cidr *c = &peer->allowed_ips[j];
			if ((c->family == AF_INET && c->prefix > 32) || (c->family == AF_INET6 && c->prefix > 128))
				abort();
		}
	}
	wg_uapi_parser_clear(&p);
out:
	wg_device_free(dev);
	free(buf);
	return 0;
}
