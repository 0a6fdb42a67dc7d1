/* SPDX-License-Identifier: MIT */
/* Zone transfers, the pure part: access, IXFR requests, and transfer messages built one at a time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "config.h"
#include "registry-xfr.h"
#include "wire.h"

#define QUESTION_MAX (DNS_NAME_MAX_LEN + 4)
#define OPT_RR_LEN 11
#define COMPRESS_SLOTS 4096           /* names remembered per message: a power of two */
#define COMPRESS_HOPS 32

/* Where the records come from, in order. */
enum phase {
	PH_SOA_FIRST = 0,
	PH_NS,
	PH_GLUE,
	PH_ENTRIES,
	PH_DIFF_FROM,         /* IXFR: SOA of the diff's old serial, then its deleted records */
	PH_DIFF_DEL,
	PH_DIFF_TO,           /* SOA of the diff's new serial, then its added records */
	PH_DIFF_ADD,
	PH_SOA_LAST,
	PH_DONE,
};

/* One remembered name in the message being written. */
struct name_slot {
	uint32_t hash;
	uint16_t off;                     /* 0: empty (no name starts at offset 0) */
};

struct xfr_stream {
	enum xfr_kind kind;
	struct zone *z;
	uint32_t ttl;
	uint16_t id;
	bool rd;
	bool edns;
	uint8_t question[QUESTION_MAX];
	size_t question_len;
	struct zone_diff **diffs;
	size_t n_diffs;
	enum phase phase;
	size_t idx;                       /* glue, entry or diff index */
	size_t sub;                       /* record within the entry or the diff list */
	struct zone_rr cur[ZONE_RR_ENTRY_MAX];
	int n_cur;                        /* records of entry idx (-1: not rendered yet) */
	struct zone_rr_scratch entry_scratch;
	struct zone_rr_scratch soa_scratch;
	size_t messages, records, bytes;
	struct name_slot names[COMPRESS_SLOTS];
};

/* Name of a kind. */
const char *registry_xfr_kind_name(enum xfr_kind k)
{
	switch (k) {
	case XFR_AXFR: return "AXFR";
	case XFR_IXFR: return "IXFR";
	case XFR_IXFR_FULL: return "IXFR-AXFR";
	case XFR_IXFR_UPTODATE: return "IXFR-SOA";
	}
	return "?";
}

/* Find the zone whose apex is the query name. */
int registry_xfr_find_zone(struct zone *const *zones, size_t n, const uint8_t *msg, const struct dns_query *q)
{
	for (size_t i = 0; i < n; i++) {
		const struct zone *z = zones[i];
		if (z && z->apex_len == q->qname_len && wire_equal_nocase(msg + DNS_QNAME_OFF, z->apex, z->apex_len))
			return (int)i;
	}
	return -1;
}

/* True when cl is a member of z's mesh as access = peers sees it. */
static bool is_member(const struct zone *z, const struct dns_client *cl)
{
	union sockaddr_any src = *cl->src;

	if (z->ifindex == 0 || cl->ifindex != z->ifindex)
		return false;
	addr_unmap_v4(&src);
	if (src.sa.sa_family == AF_INET)
		return zone_acl_contains(z, AF_INET, (const uint8_t *)&src.in.sin_addr);
	if (src.sa.sa_family == AF_INET6)
		return zone_acl_contains(z, AF_INET6, (const uint8_t *)&src.in6.sin6_addr);
	return false;
}

/* Who may transfer. */
enum xfr_allow registry_xfr_allowed(const struct config_zone *cz, const struct zone *z, const struct dns_client *cl,
				    const char *key)
{
	union sockaddr_any src = *cl->src;

	addr_unmap_v4(&src);
	for (size_t i = 0; i < cz->n_allow_transfer; i++) {
		const struct config_xfr_acl *a = &cz->allow_transfer[i];
		if (!a->any && !cidr_contains(&a->prefix, &src))
			continue;
		if (a->key[0] && (!key || strcmp(a->key, key) != 0))
			continue;
		return XFR_BY_ACL;
	}
	if (cz->peer_transfers && !z->servfail && is_member(z, cl))
		return XFR_BY_PEERS;
	return XFR_DENIED;
}

/* The client's serial from an IXFR request. */
int registry_xfr_client_serial(const uint8_t *msg, size_t len, const struct dns_query *q, uint32_t *serial)
{
	size_t pos = q->question_end;

	/* RFC 1995 3: exactly one record in authority, the client's SOA. */
	if (len < DNS_HEADER_LEN || wire_get16(msg + 8) != 1 || wire_get16(msg + 6) != 0)
		return -EBADMSG;
	struct dns_rr_at rr;
	if (!dns_next_rr(msg, len, &pos, &rr) || rr.type != DNS_TYPE_SOA)
		return -EBADMSG;
	size_t end = pos;
	pos = dns_skip_name(msg, end, rr.fixed_at + 10);
	pos = pos ? dns_skip_name(msg, end, pos) : 0;
	if (pos == 0 || end - pos != 20)
		return -EBADMSG;
	*serial = wire_get32(msg + pos);
	return 0;
}

/* A response without records. */
size_t registry_xfr_error(const uint8_t *query, const struct dns_query *q, uint16_t rcode, uint8_t *out, size_t cap)
{
	size_t qlen = q->has_question ? q->question_end - DNS_HEADER_LEN : 0;

	if (cap < DNS_HEADER_LEN + qlen)
		return 0;
	memset(out, 0, DNS_HEADER_LEN);
	wire_set16(out, q->id);
	out[2] = (uint8_t)(0x80 | q->opcode << 3 | (q->rd ? 0x01 : 0));
	out[3] = (uint8_t)(rcode & 0x0f);
	if (qlen) {
		wire_set16(out + 4, 1);
		memcpy(out + DNS_HEADER_LEN, query + DNS_HEADER_LEN, qlen);
	}
	size_t len = DNS_HEADER_LEN + qlen;
	/* RFC 6891 6.1.1: a request with OPT gets one back. */
	if (q->has_edns && cap - len >= OPT_RR_LEN) {
		uint8_t o[OPT_RR_LEN] = { 0, 0, DNS_TYPE_OPT, DEFAULT_EDNS_SIZE >> 8, DEFAULT_EDNS_SIZE & 0xff, 0, 0, 0, 0, 0, 0 };
		memcpy(out + len, o, sizeof(o));
		len += sizeof(o);
		wire_set16(out + 10, 1);
	}
	return len;
}

/* A stream with the parts every kind shares. */
static struct xfr_stream *stream_new(enum xfr_kind kind, struct zone *z, const uint8_t *query,
				     const struct dns_query *q, uint32_t ttl)
{
	struct xfr_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	s->z = zone_ref(z);
	s->ttl = ttl;
	s->id = q->id;
	s->rd = q->rd;
	s->edns = q->has_edns;
	s->question_len = q->question_end - DNS_HEADER_LEN;
	memcpy(s->question, query + DNS_HEADER_LEN, s->question_len);
	s->n_cur = -1;
	return s;
}

/* AXFR (or IXFR answered in full). */
struct xfr_stream *registry_xfr_axfr(struct zone *z, const uint8_t *query, const struct dns_query *q, uint32_t ttl)
{
	return stream_new(q->qtype == DNS_TYPE_IXFR ? XFR_IXFR_FULL : XFR_AXFR, z, query, q, ttl);
}

/* IXFR from the diffs, or the current SOA alone. */
struct xfr_stream *registry_xfr_ixfr(struct zone *z, struct zone_diff *const *diffs, size_t n, const uint8_t *query,
				     const struct dns_query *q, uint32_t ttl)
{
	struct xfr_stream *s = stream_new(n ? XFR_IXFR : XFR_IXFR_UPTODATE, z, query, q, ttl);

	if (!s || !n)
		return s;
	s->diffs = calloc(n, sizeof(*s->diffs));
	if (!s->diffs) {
		registry_xfr_free(s);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		s->diffs[i] = zone_diff_ref(diffs[i]);
	s->n_diffs = n;
	return s;
}

/* Free a stream. */
void registry_xfr_free(struct xfr_stream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_diffs; i++)
		zone_diff_free(s->diffs[i]);
	free(s->diffs);
	zone_free(s->z);
	free(s);
}

/* Kind. */
enum xfr_kind registry_xfr_kind(const struct xfr_stream *s)
{
	return s->kind;
}

/* Progress counters. */
void registry_xfr_progress(const struct xfr_stream *s, size_t *messages, size_t *records, size_t *bytes)
{
	*messages = s->messages;
	*records = s->records;
	*bytes = s->bytes;
}

/* Serial being sent. */
uint32_t registry_xfr_serial(const struct xfr_stream *s)
{
	return s->z->serial;
}

/* The record at the stream's position into *rr; false when there is none left. */
static bool cursor_peek(struct xfr_stream *s, struct zone_rr *rr)
{
	const struct zone *z = s->z;

	for (;;) {
		switch (s->phase) {
		case PH_SOA_FIRST:
		case PH_SOA_LAST:
			zone_rr_soa(z, z->serial, s->ttl, &s->soa_scratch, rr);
			return true;
		case PH_NS:
			zone_rr_ns(z, rr);
			return true;
		case PH_GLUE:
			if (zone_rr_glue(z, s->idx, rr))
				return true;
			s->phase = PH_ENTRIES;
			s->idx = 0;
			s->n_cur = -1;
			continue;
		case PH_ENTRIES:
			if (s->idx >= z->n_entries) {
				s->phase = PH_SOA_LAST;
				continue;
			}
			if (s->n_cur < 0) {
				s->n_cur = zone_rr_entry(z, &z->entries[s->idx], &s->entry_scratch, s->cur);
				s->sub = 0;
			}
			if (s->sub < (size_t)s->n_cur) {
				*rr = s->cur[s->sub];
				return true;
			}
			s->idx++;
			s->n_cur = -1;
			continue;
		case PH_DIFF_FROM:
		case PH_DIFF_TO: {
			const struct zone_diff *d = s->diffs[s->idx];
			zone_rr_soa(z, s->phase == PH_DIFF_FROM ? d->from : d->to, s->ttl, &s->soa_scratch, rr);
			return true;
		}
		case PH_DIFF_DEL:
		case PH_DIFF_ADD: {
			const struct zone_diff *d = s->diffs[s->idx];
			bool del = s->phase == PH_DIFF_DEL;
			if (s->sub < (del ? d->n_del : d->n_add)) {
				*rr = del ? d->del[s->sub] : d->add[s->sub];
				return true;
			}
			s->sub = 0;
			if (del) {
				s->phase = PH_DIFF_TO;
			} else if (++s->idx < s->n_diffs) {
				s->phase = PH_DIFF_FROM;
			} else {
				s->phase = PH_SOA_LAST;
			}
			continue;
		}
		case PH_DONE:
			return false;
		}
	}
}

/* Move past the record cursor_peek() returned. */
static void cursor_next(struct xfr_stream *s)
{
	switch (s->phase) {
	case PH_SOA_FIRST:
		if (s->kind == XFR_IXFR_UPTODATE)
			s->phase = PH_DONE;
		else if (s->kind == XFR_IXFR)
			s->phase = PH_DIFF_FROM;
		else
			s->phase = PH_NS;
		s->idx = s->sub = 0;
		break;
	case PH_NS:
		s->phase = PH_GLUE;
		s->idx = 0;
		break;
	case PH_GLUE:
		s->idx++;
		break;
	case PH_ENTRIES:
	case PH_DIFF_DEL:
	case PH_DIFF_ADD:
		s->sub++;
		break;
	case PH_DIFF_FROM:
		s->phase = PH_DIFF_DEL;
		s->sub = 0;
		break;
	case PH_DIFF_TO:
		s->phase = PH_DIFF_ADD;
		s->sub = 0;
		break;
	case PH_SOA_LAST:
	case PH_DONE:
		s->phase = PH_DONE;
		break;
	}
}

/* Case-insensitive hash of a wire name. */
static uint32_t name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ wire_lower(name[i])) * 16777619u;
	return h ? h : 1;
}

/* True when the (possibly compressed) name at off in msg equals the uncompressed name. */
static bool name_at_equal(const uint8_t *msg, size_t msg_len, size_t off, const uint8_t *name, size_t len)
{
	size_t pos = 0;

	for (int hops = 0; hops < COMPRESS_HOPS;) {
		if (off >= msg_len)
			return false;
		uint8_t l = msg[off];
		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= msg_len)
				return false;
			off = (size_t)(l & 0x3f) << 8 | msg[off + 1];
			hops++;
			continue;
		}
		if (pos >= len || name[pos] != l || off + 1u + l > msg_len || pos + 1u + l > len ||
		    !wire_equal_nocase(msg + off + 1, name + pos + 1, l))
			return false;
		if (l == 0)
			return pos + 1 == len;
		off += 1u + l;
		pos += 1u + l;
	}
	return false;
}

/* Remember that the name suffix with hash h starts at off. */
static void names_add(struct xfr_stream *s, uint32_t h, size_t off)
{
	if (off >= 0x4000)
		return;
	for (size_t i = h & (COMPRESS_SLOTS - 1), n = 0; n < COMPRESS_SLOTS / 4; i = (i + 1) & (COMPRESS_SLOTS - 1), n++) {
		if (s->names[i].off == 0) {
			s->names[i].hash = h;
			s->names[i].off = (uint16_t)off;
			return;
		}
	}
}

/* Offset of an earlier occurrence of the name, 0 if none. */
static size_t names_find(const struct xfr_stream *s, const uint8_t *msg, size_t msg_len, const uint8_t *name,
			 size_t len, uint32_t h)
{
	for (size_t i = h & (COMPRESS_SLOTS - 1), n = 0; n < COMPRESS_SLOTS / 4; i = (i + 1) & (COMPRESS_SLOTS - 1), n++) {
		const struct name_slot *e = &s->names[i];
		if (e->off == 0)
			return 0;
		if (e->hash == h && name_at_equal(msg, msg_len, e->off, name, len))
			return e->off;
	}
	return 0;
}

/*
 * Write a name at out + *len, compressed against the names of this message
 * when compress is set, and remember its suffixes. The caller checked that
 * the uncompressed name fits.
 */
static void put_name(struct xfr_stream *s, uint8_t *out, size_t *len, const uint8_t *name, size_t nlen, bool compress)
{
	size_t pos = 0, target = 0, start = *len;

	while (compress && pos < nlen && name[pos] != 0) {
		target = names_find(s, out, *len, name + pos, nlen - pos, name_hash(name + pos, nlen - pos));
		if (target)
			break;
		pos += 1u + name[pos];
	}
	if (!compress || !target)
		pos = nlen;
	memcpy(out + *len, name, pos);
	*len += pos;
	if (target) {
		wire_set16(out + *len, (uint16_t)(0xc000 | target));
		*len += 2;
	}
	for (size_t p = 0; p < pos && name[p] != 0; p += 1u + name[p])
		names_add(s, name_hash(name + p, nlen - p), start + p);
}

/* Write one record; the caller checked that its uncompressed size fits. */
static void put_rr(struct xfr_stream *s, uint8_t *out, size_t *len, const struct zone_rr *rr)
{
	uint32_t ttl = htonl(s->ttl);

	put_name(s, out, len, rr->owner, rr->owner_len, true);
	wire_set16(out + *len, rr->type);
	wire_set16(out + *len + 2, DNS_CLASS_IN);
	memcpy(out + *len + 4, &ttl, 4);
	size_t rdlen_at = *len + 8;
	*len += 10;
	size_t rstart = *len, done = 0;
	for (uint8_t i = 0; i < rr->n_names; i++) {
		memcpy(out + *len, rr->rdata + done, rr->name_off[i] - done);
		*len += rr->name_off[i] - done;
		put_name(s, out, len, rr->rdata + rr->name_off[i], rr->name_len[i], true);
		done = (size_t)rr->name_off[i] + rr->name_len[i];
	}
	memcpy(out + *len, rr->rdata + done, rr->rdlen - done);
	*len += rr->rdlen - done;
	wire_set16(out + rdlen_at, (uint16_t)(*len - rstart));
}

/* Start a message: header and question; the question's name is the first remembered one. */
static size_t begin_message(struct xfr_stream *s, uint8_t *out)
{
	memset(s->names, 0, sizeof(s->names));
	memset(out, 0, DNS_HEADER_LEN);
	wire_set16(out, s->id);
	out[2] = (uint8_t)(0x80 | 0x04 | (s->rd ? 0x01 : 0));   /* QR, AA */
	wire_set16(out + 4, 1);
	memcpy(out + DNS_HEADER_LEN, s->question, s->question_len);
	size_t qname_len = s->question_len - 4;
	for (size_t p = 0; p < qname_len && s->question[p] != 0; p += 1u + s->question[p])
		names_add(s, name_hash(s->question + p, qname_len - p), DNS_HEADER_LEN + p);
	return DNS_HEADER_LEN + s->question_len;
}

/* Write the next message of the transfer. */
int registry_xfr_next(struct xfr_stream *s, uint8_t *out, size_t cap, size_t reserve)
{
	struct zone_rr rr;
	size_t opt = s->edns ? OPT_RR_LEN : 0;
	size_t an = 0;

	if (s->phase == PH_DONE || !cursor_peek(s, &rr))
		return 0;
	if (cap < reserve + opt + DNS_HEADER_LEN + s->question_len)
		return -EMSGSIZE;
	size_t room = cap - reserve - opt;
	size_t target = XFR_MSG_TARGET < room ? XFR_MSG_TARGET : room;
	size_t len = begin_message(s, out);
	do {
		size_t need = zone_rr_wire_size(&rr);
		/* A message holds what fits its target; a larger record goes alone in one as large as allowed. */
		if (len + need > (an ? target : room))
			break;
		put_rr(s, out, &len, &rr);
		an++;
		cursor_next(s);
	} while (an < 0xffff && cursor_peek(s, &rr));
	if (an == 0)
		return -EMSGSIZE;
	wire_set16(out + 6, (uint16_t)an);
	if (opt) {
		uint8_t o[OPT_RR_LEN] = { 0, 0, DNS_TYPE_OPT, DEFAULT_EDNS_SIZE >> 8, DEFAULT_EDNS_SIZE & 0xff, 0, 0, 0, 0, 0, 0 };
		memcpy(out + len, o, sizeof(o));
		len += sizeof(o);
		wire_set16(out + 10, 1);
	}
	s->messages++;
	s->records += an;
	s->bytes += len;
	return (int)len;
}

/* A NOTIFY message. */
size_t registry_xfr_notify(const struct zone *z, uint32_t serial, uint32_t ttl, uint16_t id, uint8_t *out, size_t cap)
{
	struct zone_rr_scratch scratch;
	struct zone_rr soa;
	uint32_t t = htonl(ttl);

	zone_rr_soa(z, serial, ttl, &scratch, &soa);
	size_t need = DNS_HEADER_LEN + z->apex_len + 4 + zone_rr_wire_size(&soa);
	if (cap < need)
		return 0;
	memset(out, 0, DNS_HEADER_LEN);
	wire_set16(out, id);
	out[2] = (uint8_t)(4 << 3 | 0x04);   /* opcode NOTIFY, AA */
	wire_set16(out + 4, 1);
	wire_set16(out + 6, 1);
	size_t len = DNS_HEADER_LEN;
	memcpy(out + len, z->apex, z->apex_len);
	len += z->apex_len;
	wire_set16(out + len, DNS_TYPE_SOA);
	wire_set16(out + len + 2, DNS_CLASS_IN);
	len += 4;
	memcpy(out + len, soa.owner, soa.owner_len);
	len += soa.owner_len;
	wire_set16(out + len, DNS_TYPE_SOA);
	wire_set16(out + len + 2, DNS_CLASS_IN);
	memcpy(out + len + 4, &t, 4);
	wire_set16(out + len + 8, soa.rdlen);
	len += 10;
	memcpy(out + len, soa.rdata, soa.rdlen);
	return len + soa.rdlen;
}

/* Read a reply to our NOTIFY. */
int registry_xfr_notify_reply(const uint8_t *msg, size_t len, uint16_t id, const uint8_t *apex, size_t apex_len)
{
	size_t qend = DNS_HEADER_LEN + apex_len + 4;

	/* RFC 1996 4.7: the reply echoes the question (some servers leave it out: QDCOUNT 0 is accepted). */
	if (len < DNS_HEADER_LEN || wire_get16(msg) != id || !(msg[2] & 0x80) || ((msg[2] >> 3) & 0x0f) != 4)
		return -EBADMSG;
	if (wire_get16(msg + 4) == 1 && (len < qend || !wire_equal_nocase(msg + DNS_HEADER_LEN, apex, apex_len) ||
				    wire_get16(msg + qend - 4) != DNS_TYPE_SOA))
		return -EBADMSG;
	if (wire_get16(msg + 4) > 1)
		return -EBADMSG;
	return msg[3] & 0x0f;
}
