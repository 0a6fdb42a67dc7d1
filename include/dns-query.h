/* SPDX-License-Identifier: MIT */
/*
 * Parse an incoming DNS query in place: header, exactly one question and an
 * optional EDNS OPT record in the additional section. No allocation; every
 * length is checked against the message. The result says how to answer.
 */
#ifndef WGSD_DNS_QUERY_H
#define WGSD_DNS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX_LEN 255      /* wire form, with the root label */
#define DNS_LABELS_MAX 128
#define DNS_UDP_MIN_SIZE 512      /* largest UDP answer without EDNS */
#define DNS_TCP_MAX_SIZE 65535

/* Record types and classes the registry knows. */
enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_HINFO = 13,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
	DNS_CLASS_IN = 1,
};

/* Response codes (16 and up need EDNS: the upper bits travel in the OPT TTL). */
enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16,
};

/* What to do with a message. */
enum dns_query_verdict {
	DNS_QUERY_OK = 0,     /* a well-formed standard query: answer it */
	DNS_QUERY_DROP,       /* no answer: shorter than a header, or a response (QR=1) */
	DNS_QUERY_FORMERR,    /* malformed after a readable header */
	DNS_QUERY_NOTIMP,     /* opcode other than QUERY */
	DNS_QUERY_BADVERS,    /* EDNS version above 0 */
};

/* A parsed query. Offsets point into the message handed to dns_query_parse(). */
struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd;
	bool cd;
	bool has_question;        /* the question was read (also set for NOTIMP/BADVERS when it parsed) */
	uint16_t qname_len;       /* wire length of the name, root label included */
	uint8_t n_labels;         /* labels before the root */
	uint8_t label_off[DNS_LABELS_MAX]; /* offset of each length byte, relative to the name's start */
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end;      /* offset just past QTYPE/QCLASS */
	bool has_edns;
	uint8_t edns_version;
	bool edns_do;
	uint16_t edns_udp_size;   /* requester's payload size as sent */
};

/* Offset of the question name in every DNS message. */
#define DNS_QNAME_OFF DNS_HEADER_LEN

/* Parse msg into q and classify it; q is valid for answering as far as the verdict allows. */
enum dns_query_verdict dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);
/* Skip a possibly compressed name at pos in msg; the offset after it, or 0 when it is malformed
 * (runs past len, a reserved label type, or longer than DNS_NAME_MAX_LEN). */
size_t dns_skip_name(const uint8_t *msg, size_t len, size_t pos);
/* Skip n questions from pos; the offset after them, or 0 when one is malformed. */
size_t dns_skip_questions(const uint8_t *msg, size_t len, size_t pos, unsigned int n);

/* A resource record found by dns_next_rr(). */
struct dns_rr_at {
	size_t name_at;     /* its owner name */
	size_t fixed_at;    /* type, class, TTL and rdata length (10 bytes) */
	uint16_t type;
	uint16_t rdlen;     /* the rdata follows at fixed_at + 10 */
};
/* Read the record at *pos (its name, fixed part and rdata all within len) and step past it. False when malformed. */
bool dns_next_rr(const uint8_t *msg, size_t len, size_t *pos, struct dns_rr_at *rr);

#endif
