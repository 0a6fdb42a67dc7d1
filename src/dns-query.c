/* SPDX-License-Identifier: MIT */
/* Allocation-free, bounds-checked parsing of an incoming DNS query. */
#include <string.h>

#include "dns-query.h"
#include "wire.h"

/* Read the uncompressed question name at off; fills the label table. 0 or -1 when malformed. */
static int parse_qname(const uint8_t *msg, size_t len, size_t off, struct dns_query *q)
{
	size_t pos = off;
	unsigned int n = 0;

	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t l = msg[pos];
		/* Compression cannot point backwards from the first name; 0x40 and 0x80 are obsolete label types. */
		if (l & 0xc0)
			return -1;
		if (pos - off + 1u + l > DNS_NAME_MAX_LEN)
			return -1;
		if (l == 0)
			break;
		if (n >= DNS_LABELS_MAX - 1)
			return -1;
		q->label_off[n++] = (uint8_t)(pos - off);
		pos += 1u + l;
	}
	q->n_labels = (uint8_t)n;
	q->qname_len = (uint16_t)(pos - off + 1);
	return 0;
}

/* Skip a possibly compressed name in a record; returns the offset after it or 0 when malformed. */
size_t dns_skip_name(const uint8_t *msg, size_t len, size_t pos)
{
	size_t total = 0;

	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0)
			return pos + 2 <= len ? pos + 2 : 0;
		if (l & 0xc0)
			return 0;
		total += 1u + l;
		if (total > DNS_NAME_MAX_LEN)
			return 0;
		pos += 1u + l;
		if (l == 0)
			return pos;
	}
}

/* Skip questions: a name and 4 bytes each. */
size_t dns_skip_questions(const uint8_t *msg, size_t len, size_t pos, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		pos = dns_skip_name(msg, len, pos);
		if (pos == 0 || len - pos < 4)
			return 0;
		pos += 4;
	}
	return pos;
}

/* One record's bounds and header. */
bool dns_next_rr(const uint8_t *msg, size_t len, size_t *pos, struct dns_rr_at *rr)
{
	size_t p = dns_skip_name(msg, len, *pos);

	if (p == 0 || len - p < 10)
		return false;
	rr->name_at = *pos;
	rr->fixed_at = p;
	rr->type = wire_get16(msg + p);
	rr->rdlen = wire_get16(msg + p + 8);
	if (len - p - 10 < rr->rdlen)
		return false;
	*pos = p + 10u + rr->rdlen;
	return true;
}

/* Check that OPT rdata is a sequence of complete options. */
static bool opt_rdata_valid(const uint8_t *p, size_t rdlen)
{
	size_t pos = 0;

	while (pos < rdlen) {
		if (rdlen - pos < 4)
			return false;
		size_t olen = wire_get16(p + pos + 2);
		if (rdlen - pos - 4 < olen)
			return false;
		pos += 4 + olen;
	}
	return true;
}

/*
 * Walk the authority and additional sections; only one OPT (owned by the root, in additional) is allowed.
 * 0, -1 when malformed, -2 when only the options inside a well-delimited OPT are malformed (has_edns set).
 */
static int parse_records(const uint8_t *msg, size_t len, size_t pos, unsigned int nscount,
			 unsigned int arcount, struct dns_query *q)
{
	for (unsigned int i = 0; i < nscount + arcount; i++) {
		struct dns_rr_at rr;
		if (!dns_next_rr(msg, len, &pos, &rr))
			return -1;
		if (rr.type == DNS_TYPE_OPT && i < nscount)
			return -1;
		if (rr.type == DNS_TYPE_OPT) {
			/* RFC 6891 6.1.1: one OPT, owner is the root. */
			const uint8_t *f = msg + rr.fixed_at;
			if (q->has_edns || msg[rr.name_at] != 0)
				return -1;
			q->has_edns = true;
			q->edns_udp_size = wire_get16(f + 2);
			q->edns_version = f[5];
			q->edns_do = (f[6] & 0x80) != 0;
			if (!opt_rdata_valid(f + 10, rr.rdlen))
				return -2;
		}
	}
	/* Trailing bytes after the last record make the message malformed. */
	return pos == len ? 0 : -1;
}

/*
 * Walk the whole message from the header, questions included, without trusting
 * them (names are skipped, never followed), to find its OPT for a FORMERR or
 * NOTIMP answer (RFC 6891 6.1.1 and 7). Results as parse_records().
 */
static int scan_records(const uint8_t *msg, size_t len, unsigned int qdcount, unsigned int non_additional,
			unsigned int arcount, struct dns_query *q)
{
	size_t pos = dns_skip_questions(msg, len, DNS_HEADER_LEN, qdcount);

	if (pos == 0)
		return -1;
	return parse_records(msg, len, pos, non_additional, arcount, q);
}

/* Parse and classify a query. */
enum dns_query_verdict dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
	q->has_question = false;
	q->has_edns = false;
	q->edns_version = 0;
	q->edns_do = false;
	q->edns_udp_size = 0;
	q->n_labels = 0;
	q->qname_len = 0;
	q->qtype = 0;
	q->qclass = 0;
	q->question_end = DNS_HEADER_LEN;

	if (len < DNS_HEADER_LEN)
		return DNS_QUERY_DROP;
	q->id = wire_get16(msg);
	if (msg[2] & 0x80)
		return DNS_QUERY_DROP;
	q->opcode = (uint8_t)((msg[2] >> 3) & 0x0f);
	q->rd = (msg[2] & 0x01) != 0;
	q->cd = (msg[3] & 0x10) != 0;

	uint16_t qdcount = wire_get16(msg + 4), ancount = wire_get16(msg + 6);
	uint16_t nscount = wire_get16(msg + 8), arcount = wire_get16(msg + 10);
	bool question_ok = qdcount == 1 &&
		parse_qname(msg, len, DNS_QNAME_OFF, q) == 0 &&
		len - DNS_QNAME_OFF - q->qname_len >= 4;
	if (question_ok) {
		size_t p = DNS_QNAME_OFF + q->qname_len;
		q->qtype = wire_get16(msg + p);
		q->qclass = wire_get16(msg + p + 2);
		q->question_end = p + 4;
		q->has_question = true;
	}
	/*
	 * Other opcodes (NOTIFY, UPDATE, ...) have different section meanings: answer NOTIMP before judging
	 * counts. Their OPT is still in additional; a well-formed one is echoed (RFC 6891 6.1.1).
	 */
	if (q->opcode != 0) {
		if (scan_records(msg, len, qdcount, (unsigned int)ancount + nscount, arcount, q) != 0)
			q->has_edns = false;
		return DNS_QUERY_NOTIMP;
	}
	/* An IXFR query carries the client's SOA in authority (RFC 1995); nothing else may. */
	if (!question_ok || ancount != 0 || nscount > 1 || (nscount == 1 && q->qtype != DNS_TYPE_IXFR)) {
		q->has_question = false;
		/* Still answer a well-formed OPT with one, when the message can be walked (also -2: RFC 6891 7). */
		if (scan_records(msg, len, qdcount, (unsigned int)ancount + nscount, arcount, q) == -1)
			q->has_edns = false;
		return DNS_QUERY_FORMERR;
	}
	int r = parse_records(msg, len, q->question_end, nscount, arcount, q);
	if (r < 0) {
		q->has_question = false;
		/* RFC 6891 7: a FORMERR for bad options inside the OPT carries an OPT, to tell it from no EDNS. */
		q->has_edns = r == -2;
		return DNS_QUERY_FORMERR;
	}
	if (q->qtype == DNS_TYPE_OPT) {
		q->has_question = false;
		return DNS_QUERY_FORMERR;
	}
	if (q->has_edns && q->edns_version != 0)
		return DNS_QUERY_BADVERS;
	return DNS_QUERY_OK;
}
