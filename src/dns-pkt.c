/* SPDX-License-Identifier: MIT */
/* Parse messages from outside with ldns, refusing the ones ldns would leak on. */
#include "dns-pkt.h"
#include "wire.h"

/* Read one record as ldns_wire2pkt() would, at *pos; its type, or -1 when ldns would fail there. */
static int walk_rr(const uint8_t *msg, size_t len, size_t *pos, ldns_pkt_section section)
{
	ldns_rr *rr = NULL;
	int type;

	if (ldns_wire2rr(&rr, msg, len, pos, section) != LDNS_STATUS_OK)
		return -1;
	type = ldns_rr_get_type(rr);
	ldns_rr_free(rr);
	return type;
}

/*
 * Walk msg with ldns's record reader, section by section, exactly as
 * ldns_wire2pkt() does: it stops reading the additional section one record
 * earlier for each TSIG it takes out. False when that walk meets a second
 * TSIG there; true also when ldns would refuse the message on its own.
 */
static bool one_tsig_at_most(const uint8_t *msg, size_t len)
{
	unsigned int qd, an_ns, ar, tsig = 0;
	size_t pos = LDNS_HEADER_SIZE;
	int type;

	if (len < LDNS_HEADER_SIZE)
		return true;
	qd = wire_get16(msg + 4);
	an_ns = (unsigned int)wire_get16(msg + 6) + wire_get16(msg + 8);
	ar = wire_get16(msg + 10);
	for (unsigned int i = 0; i < qd; i++)
		if (walk_rr(msg, len, &pos, LDNS_SECTION_QUESTION) < 0)
			return true;
	for (unsigned int i = 0; i < an_ns; i++)
		if (walk_rr(msg, len, &pos, LDNS_SECTION_ANSWER) < 0)
			return true;
	for (unsigned int i = 0; i < ar; i++) {
		type = walk_rr(msg, len, &pos, LDNS_SECTION_ADDITIONAL);
		if (type < 0)
			return true;
		if (type == LDNS_RR_TYPE_TSIG) {
			if (++tsig > 1)
				return false;
			ar--;
		}
	}
	return true;
}

ldns_status dns_pkt_from_wire(ldns_pkt **pkt, const uint8_t *msg, size_t len)
{
	*pkt = NULL;
	if (!one_tsig_at_most(msg, len))
		return LDNS_STATUS_ERR;
	return ldns_wire2pkt(pkt, msg, len);
}
