/* SPDX-License-Identifier: MIT */
/* Fuzz the PCP response parser: any datagram parses or is refused, never a crash; a parsed MAP
 * response matches exactly the request built from its own fields and no other nonce; requests
 * are never taken for responses; the epoch check accepts any sequence of values. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portmap-pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct portmap_pcp_epoch epoch;
	struct portmap_pcp_response r;
	struct portmap_pcp_map m;
	uint8_t req[PORTMAP_PCP_MAP_LEN];
	int rc = portmap_pcp_parse(data, size, &r);

	if (rc != 0 && rc != -EBADMSG && rc != -EPROTONOSUPPORT)
		abort();
	if (rc != 0)
		return 0;
	if (size < 24 || size > PORTMAP_PCP_MAX_LEN || size % 4)
		abort();
	(void)portmap_pcp_epoch_update(&epoch, r.epoch_s, (uint64_t)size * 1000);
	if (r.opcode != PORTMAP_PCP_OP_MAP) {
		if (r.opcode != PORTMAP_PCP_OP_ANNOUNCE)
			abort();
		return 0;
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.nonce, r.nonce, sizeof(m.nonce));
	m.protocol = r.protocol;
	m.internal_port = r.internal_port;
	m.external_port = r.external_port;
	memcpy(m.external, r.external, 16);
	if (!portmap_pcp_matches(&r, &m))
		abort();
	m.nonce[0] ^= 1;
	if (portmap_pcp_matches(&r, &m))
		abort();
	m.nonce[0] ^= 1;
	if (portmap_pcp_build_map(&m, req, sizeof(req)) != PORTMAP_PCP_MAP_LEN)
		abort();
	if (portmap_pcp_parse(req, sizeof(req), &r) != -EBADMSG)
		abort();
	return 0;
}
