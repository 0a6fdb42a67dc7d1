/* SPDX-License-Identifier: MIT */
/* A snapshot's records as whole resource records (zone transfers). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "dns-query.h"
#include "zone-rr.h"
#include "wire.h"

static const uint8_t service_labels[] = "\x0a_wireguard\x04_udp";
static const uint8_t cand_service_labels[] = "\x07" CAND_SERVICE_LABEL "\x04_udp";
static const uint8_t hostmaster_label[] = "\x0ahostmaster";

/* Write label (len bytes, length byte included) + apex into out; returns the length or 0 past 255 bytes. */
static uint16_t join(uint8_t *out, const uint8_t *labels, size_t len, const uint8_t *apex, size_t apex_len)
{
	if (len + apex_len > DNS_NAME_MAX_LEN)
		return 0;
	memcpy(out, labels, len);
	memcpy(out + len, apex, apex_len);
	return (uint16_t)(len + apex_len);
}

/* Fill one record. */
static void rr_set(struct zone_rr *rr, const uint8_t *owner, uint16_t owner_len, uint16_t type, const uint8_t *rdata,
		   uint16_t rdlen)
{
	memset(rr, 0, sizeof(*rr));
	rr->owner = owner;
	rr->owner_len = owner_len;
	rr->type = type;
	rr->rdata = rdata;
	rr->rdlen = rdlen;
}

/* Mark the whole rdata as one compressible name. */
static void rr_name_rdata(struct zone_rr *rr)
{
	rr->n_names = 1;
	rr->name_off[0] = 0;
	rr->name_len[0] = rr->rdlen;
}

/*
 * The candidate records of an entry into rrs: the PTR at _wgcand._udp.Z,
 * then per candidate its SRV and its target's address. Returns how many.
 */
static int cand_records(const struct zone *z, const struct zone_entry *e, struct zone_rr_scratch *s,
			struct zone_rr *rrs)
{
	uint8_t label[1 + KEY_B32_LEN + sizeof(cand_service_labels)];
	size_t n_cands = e->n_cands > CAND_PEER_MAX ? CAND_PEER_MAX : e->n_cands;
	uint16_t service_len, inst_len;
	int n = 0;

	if (!n_cands)
		return 0;
	label[0] = KEY_B32_LEN;
	memcpy(label + 1, e->label, KEY_B32_LEN);
	memcpy(label + 1 + KEY_B32_LEN, cand_service_labels, sizeof(cand_service_labels) - 1);
	service_len = join(s->cand_service, cand_service_labels, sizeof(cand_service_labels) - 1, z->apex,
			   z->apex_len);
	inst_len = join(s->cand_instance, label, 1 + KEY_B32_LEN + sizeof(cand_service_labels) - 1, z->apex,
			z->apex_len);
	/* As for the service names: a name that cannot be asked for has no records. */
	if (!service_len || !inst_len)
		return 0;
	rr_set(&rrs[n], s->cand_service, service_len, DNS_TYPE_PTR, s->cand_instance, inst_len);
	rr_name_rdata(&rrs[n++]);
	for (size_t i = 0; i < n_cands; i++) {
		const struct cand_rec *r = &z->cands[e->cand_first + i];
		uint8_t *srv = s->cand_srv[i];
		uint8_t target[1 + CAND_LABEL_MAX + 1 + KEY_B32_LEN];
		size_t llen = cand_label(r, (char *)target + 1);
		uint16_t tlen;

		if (!llen || (r->family != AF_INET && r->family != AF_INET6))
			continue;
		target[0] = (uint8_t)llen;
		target[1 + llen] = KEY_B32_LEN;
		memcpy(target + 2 + llen, e->label, KEY_B32_LEN);
		tlen = join(srv + 6, target, 2 + llen + KEY_B32_LEN, z->apex, z->apex_len);
		if (!tlen)
			continue;
		uint16_t prio = (uint16_t)((r->kind + 1) * 10);
		srv[0] = (uint8_t)(prio >> 8);
		srv[1] = (uint8_t)prio;
		srv[2] = srv[3] = 0;
		srv[4] = (uint8_t)(r->port >> 8);
		srv[5] = (uint8_t)r->port;
		/* RFC 2782: the SRV target is never compressed. */
		rr_set(&rrs[n++], s->cand_instance, inst_len, DNS_TYPE_SRV, srv, (uint16_t)(6 + tlen));
		rr_set(&rrs[n++], srv + 6, tlen, r->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA, r->addr,
		       r->family == AF_INET ? 4 : 16);
	}
	return n;
}

/* The records of one entry. */
int zone_rr_entry(const struct zone *z, const struct zone_entry *e, struct zone_rr_scratch *s, struct zone_rr *rrs)
{
	uint8_t label[1 + KEY_B32_LEN + sizeof(service_labels)];
	uint16_t service_len, inst_len, host_len;
	int n = 0;

	label[0] = KEY_B32_LEN;
	memcpy(label + 1, e->label, KEY_B32_LEN);
	memcpy(label + 1 + KEY_B32_LEN, service_labels, sizeof(service_labels) - 1);
	service_len = join(s->service, service_labels, sizeof(service_labels) - 1, z->apex, z->apex_len);
	inst_len = join(s->instance, label, 1 + KEY_B32_LEN + sizeof(service_labels) - 1, z->apex, z->apex_len);
	host_len = join(s->host, label, 1 + KEY_B32_LEN, z->apex, z->apex_len);
	bool addr = !e->self_auto && (e->family == AF_INET || e->family == AF_INET6);
	uint16_t addr_type = e->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
	uint16_t addr_len = e->family == AF_INET ? 4 : 16;

	/* A name longer than 255 bytes cannot be asked for: its records do not exist. */
	if (service_len && inst_len) {
		rr_set(&rrs[n], s->service, service_len, DNS_TYPE_PTR, s->instance, inst_len);
		rr_name_rdata(&rrs[n++]);
	}
	if (inst_len && host_len && addr) {
		s->srv[0] = s->srv[1] = s->srv[2] = s->srv[3] = 0;
		s->srv[4] = (uint8_t)(e->port >> 8);
		s->srv[5] = (uint8_t)e->port;
		memcpy(s->srv + 6, s->host, host_len);
		/* RFC 2782: the SRV target is never compressed. */
		rr_set(&rrs[n++], s->instance, inst_len, DNS_TYPE_SRV, s->srv, (uint16_t)(6 + host_len));
	}
	if (inst_len) {
		rr_set(&rrs[n++], s->instance, inst_len, DNS_TYPE_TXT, e->txt, e->txt_len);
		if (addr)
			rr_set(&rrs[n++], s->instance, inst_len, addr_type, e->addr, addr_len);
	}
	if (host_len && addr)
		rr_set(&rrs[n++], s->host, host_len, addr_type, e->addr, addr_len);
	return n + cand_records(z, e, s, rrs + n);
}

/* The SOA record. */
void zone_rr_soa(const struct zone *z, uint32_t serial, uint32_t minimum, struct zone_rr_scratch *s,
		 struct zone_rr *rr)
{
	uint32_t v[5] = { serial, z->refresh_s, z->retry_s, z->expire_s, minimum };
	size_t pos = 0;

	memcpy(s->soa, z->ns, z->ns_len);
	pos = z->ns_len;
	uint16_t rlen = join(s->soa + pos, hostmaster_label, sizeof(hostmaster_label) - 1, z->apex, z->apex_len);
	if (!rlen) {
		/* hostmaster.Z would pass 255 bytes: the apex itself names the responsible mailbox then. */
		memcpy(s->soa + pos, z->apex, z->apex_len);
		rlen = z->apex_len;
	}
	pos += rlen;
	for (int i = 0; i < 5; i++) {
		uint32_t be = htonl(v[i]);
		memcpy(s->soa + pos, &be, 4);
		pos += 4;
	}
	rr_set(rr, z->apex, z->apex_len, DNS_TYPE_SOA, s->soa, (uint16_t)pos);
	rr->n_names = 2;
	rr->name_off[0] = 0;
	rr->name_len[0] = z->ns_len;
	rr->name_off[1] = z->ns_len;
	rr->name_len[1] = rlen;
}

/* The NS record. */
void zone_rr_ns(const struct zone *z, struct zone_rr *rr)
{
	rr_set(rr, z->apex, z->apex_len, DNS_TYPE_NS, z->ns, z->ns_len);
	rr_name_rdata(rr);
}

/* Glue record i. */
bool zone_rr_glue(const struct zone *z, size_t i, struct zone_rr *rr)
{
	if (!z->ns_in_zone)
		return false;
	if (i < z->n_glue4) {
		rr_set(rr, z->ns, z->ns_len, DNS_TYPE_A, z->glue4[i], 4);
		return true;
	}
	i -= z->n_glue4;
	if (i < z->n_glue6) {
		rr_set(rr, z->ns, z->ns_len, DNS_TYPE_AAAA, z->glue6[i], 16);
		return true;
	}
	return false;
}

/* Equal records. */
bool zone_rr_equal(const struct zone_rr *a, const struct zone_rr *b)
{
	return a->type == b->type && a->owner_len == b->owner_len && a->rdlen == b->rdlen &&
	       wire_equal_nocase(a->owner, b->owner, a->owner_len) && memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

/* Uncompressed size on the wire. */
size_t zone_rr_wire_size(const struct zone_rr *rr)
{
	return (size_t)rr->owner_len + 10 + rr->rdlen;
}
