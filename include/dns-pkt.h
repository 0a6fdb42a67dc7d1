/* SPDX-License-Identifier: MIT */
#ifndef WGSD_DNS_PKT_H
#define WGSD_DNS_PKT_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

/*
 * ldns_wire2pkt() for a message from outside. ldns 1.8.3 keeps only the last
 * TSIG record of the additional section and leaks the others, and because it
 * reads a record's rdata field by field rather than by its length, a record
 * it meets may lie inside another record's rdata. A message on which ldns's
 * own walk meets a second TSIG is refused (LDNS_STATUS_ERR) before it is
 * parsed, so no peer can grow the daemon's memory message by message.
 * RFC 8945 allows one TSIG, as the last record. Other results and *pkt as
 * ldns_wire2pkt(); *pkt is set only on LDNS_STATUS_OK.
 */
ldns_status dns_pkt_from_wire(ldns_pkt **pkt, const uint8_t *msg, size_t len);

#endif
