/* SPDX-License-Identifier: MIT */
/*
 * PCP MAP on the wire (RFC 6887 7 and 11). Requests carry no options; in
 * responses, options after the MAP body are skipped (a client acts on
 * none of them), but the message must still be a whole number of 32-bit
 * words no longer than 1100 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portmap-pcp.h"
#include "wire.h"

#define PCP_HEADER_LEN 24
#define PCP_MAP_BODY_LEN 36
#define PCP_R_BIT 0x80

/* Build a MAP request. */
int portmap_pcp_build_map(const struct portmap_pcp_map *m, uint8_t *buf, size_t len)
{
	if (len < PORTMAP_PCP_MAP_LEN)
		return -ENOSPC;
	memset(buf, 0, PORTMAP_PCP_MAP_LEN);
	buf[0] = PORTMAP_PCP_VERSION;
	buf[1] = PORTMAP_PCP_OP_MAP;
	wire_set32(buf + 4, m->lifetime_s);
	memcpy(buf + 8, m->client, 16);
	memcpy(buf + 24, m->nonce, PORTMAP_PCP_NONCE_LEN);
	buf[36] = m->protocol;
	wire_set16(buf + 40, m->internal_port);
	wire_set16(buf + 42, m->external_port);
	memcpy(buf + 44, m->external, 16);
	return PORTMAP_PCP_MAP_LEN;
}

/* Parse a response. */
int portmap_pcp_parse(const uint8_t *buf, size_t len, struct portmap_pcp_response *out)
{
	memset(out, 0, sizeof(*out));
	/*
	 * A server of an older version answers our MAP in its own format:
	 * version 0 (NAT-PMP, RFC 6886 3.5) or 1, opcode 128 + 1, result
	 * UNSUPP_VERSION (NAT-PMP's 16-bit 1 reads the same as PCP's reserved
	 * byte and result 1), then the epoch: 8 bytes at least.
	 */
	if (len >= 8 && buf[0] < PORTMAP_PCP_VERSION && buf[1] == (PCP_R_BIT | PORTMAP_PCP_OP_MAP) &&
	    buf[2] == 0 && buf[3] == PORTMAP_PCP_UNSUPP_VERSION)
		return -EPROTONOSUPPORT;
	if (len < PCP_HEADER_LEN || len > PORTMAP_PCP_MAX_LEN || len % 4 != 0)
		return -EBADMSG;
	if (buf[0] != PORTMAP_PCP_VERSION || !(buf[1] & PCP_R_BIT))
		return -EBADMSG;
	out->opcode = buf[1] & (uint8_t)~PCP_R_BIT;
	out->result = buf[3];
	out->lifetime_s = wire_get32(buf + 4);
	out->epoch_s = wire_get32(buf + 8);
	if (out->opcode == PORTMAP_PCP_OP_ANNOUNCE)
		return 0;
	if (out->opcode != PORTMAP_PCP_OP_MAP || len < PCP_HEADER_LEN + PCP_MAP_BODY_LEN)
		return -EBADMSG;
	memcpy(out->nonce, buf + 24, PORTMAP_PCP_NONCE_LEN);
	out->protocol = buf[36];
	out->internal_port = wire_get16(buf + 40);
	out->external_port = wire_get16(buf + 42);
	memcpy(out->external, buf + 44, 16);
	return 0;
}

/* Does a response answer this MAP request? */
bool portmap_pcp_matches(const struct portmap_pcp_response *r, const struct portmap_pcp_map *m)
{
	return r->opcode == PORTMAP_PCP_OP_MAP &&
	       memcmp(r->nonce, m->nonce, PORTMAP_PCP_NONCE_LEN) == 0 &&
	       r->protocol == m->protocol && r->internal_port == m->internal_port;
}

/* Name of a result code. */
const char *portmap_pcp_result_name(uint8_t result, char *buf, size_t len)
{
	static const char *const names[] = {
		"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST", "UNSUPP_OPCODE",
		"UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE", "NO_RESOURCES",
		"UNSUPP_PROTOCOL", "USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH",
		"EXCESSIVE_REMOTE_PEERS",
	};

	if (result < sizeof(names) / sizeof(names[0]))
		return names[result];
	snprintf(buf, len, "result %u", result);
	return buf;
}

/* IPv4 to the IPv4-mapped IPv6 form. */
void portmap_pcp_addr_from_v4(uint8_t out[16], const void *v4)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

/* The IPv4 address of an IPv4-mapped IPv6 form. */
bool portmap_pcp_addr_to_v4(const uint8_t in[16], void *v4)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(in, prefix, sizeof(prefix)) != 0)
		return false;
	memcpy(v4, in + 12, 4);
	return true;
}

/*
 * RFC 6887 8.5: the epoch is invalid when the server's time went back more
 * than one second, or when client_delta + 2 < server_delta - server_delta/16
 * or server_delta + 2 < client_delta - client_delta/16 (each side may run
 * up to 1/16 fast or slow, plus two seconds of rounding).
 */
bool portmap_pcp_epoch_update(struct portmap_pcp_epoch *e, uint32_t server_s, uint64_t client_ms)
{
	bool reset = false;

	if (e->valid) {
		if ((uint64_t)server_s + 1 < e->server_s) {
			reset = true;
		} else {
			int64_t sd = (int64_t)server_s - (int64_t)e->server_s;
			int64_t cd = client_ms >= e->client_ms ? (int64_t)((client_ms - e->client_ms) / 1000) : 0;

			reset = cd + 2 < sd - sd / 16 || sd + 2 < cd - cd / 16;
		}
	}
	e->valid = true;
	e->server_s = server_s;
	e->client_ms = client_ms;
	return reset;
}
