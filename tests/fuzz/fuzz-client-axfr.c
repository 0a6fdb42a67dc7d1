/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes as an AXFR stream read by the client
 * (client_axfr_feed()). The input is split into messages by two-byte
 * big-endian lengths, as on a TCP connection. Whatever the stream, the
 * reader ends with a result or an error, never a crash; a finished result
 * lists sorted unique keys, one peer per key, and bounded addresses.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client-axfr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_axfr x;
	struct client_axfr_result r = { 0 };
	size_t pos = 0;
	int ret = 0;

	if (client_axfr_init(&x, "example.com.", 4096, 1u << 20) != 0)
		abort();
	while (ret == 0 && size - pos >= 2) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		ret = client_axfr_feed(&x, data + pos, len);
		pos += len;
		if (ret < 0 && ret != -EBADMSG && ret != -EFBIG && ret != -EREMOTEIO && ret != -ENOMEM)
			abort();
	}
	if (ret == 1 && client_axfr_finish(&x, &r) == 0) {
		if (r.n_peers != r.listing.n_keys)
			abort();
		for (size_t i = 0; i < r.n_peers; i++) {
			if (i && memcmp(r.peers[i - 1].key, r.peers[i].key, WG_KEY_LEN) >= 0)
				abort();
			if (r.peers[i].n_addrs > CLIENT_ANSWER_MAX_ADDRS || (r.peers[i].n_addrs && !r.peers[i].port))
				abort();
			if (r.peers[i].n_allowed > CLIENT_MEMBERS_MAX_ALLOWED)
				abort();
			if (client_axfr_find(&r, r.peers[i].key) != &r.peers[i] ||
			    !client_members_listing_has(&r.listing, r.peers[i].key))
				abort();
		}
	}
	client_axfr_result_clear(&r);
	client_axfr_free(&x);
	return 0;
}
