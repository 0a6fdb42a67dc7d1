/* SPDX-License-Identifier: MIT */
/* TSIG (RFC 8945): find and read the record ourselves, let ldns compute and check the MAC. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns-pkt.h"
#include "dns-query.h"
#include "tsig.h"
#include "wire.h"

#define HEADER_LEN 12
#define NAME_HOPS_MAX 64
/* "\x0bhmac-sha256\x00" */
#define ALG_WIRE_LEN 13
/* Base64 secrets as config.c takes them (at most 512 bytes) and room for them decoded. */
#define SECRET_B64_MAX 700
#define SECRET_MAX 528
#define TSIG_SHA256_LEN 32

static const uint8_t alg_wire[ALG_WIRE_LEN] = "\x0bhmac-sha256";

/*
 * Read the name at pos into out (wire, lower case), following compression
 * pointers (at most NAME_HOPS_MAX, each to an earlier offset). Returns the
 * offset after the name as written at pos, 0 when malformed.
 */
static size_t read_name(const uint8_t *msg, size_t len, size_t pos, uint8_t out[TSIG_NAME_MAX], uint8_t *out_len)
{
	size_t end = 0, n = 0;
	int hops = 0;

	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 2 > len || ++hops > NAME_HOPS_MAX)
				return 0;
			size_t target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			if (!end)
				end = pos + 2;
			if (target >= pos)
				return 0;
			pos = target;
			continue;
		}
		if (l & 0xc0 || n + 1u + l > TSIG_NAME_MAX || pos + 1u + l > len)
			return 0;
		out[n++] = l;
		for (size_t i = 0; i < l; i++) {
			uint8_t c = msg[pos + 1 + i];
			out[n++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
		}
		pos += 1u + l;
		if (l == 0)
			break;
	}
	*out_len = (uint8_t)n;
	return end ? end : pos;
}

/* Presentation form of a lower-case wire name (letters, digits, '-', '_' as they are; others escaped). */
static void name_text(const uint8_t *wire, size_t len, char *out, size_t size)
{
	size_t o = 0, pos = 0;

	while (pos < len && wire[pos] && o + 5 < size) {
		uint8_t l = wire[pos++];
		for (uint8_t i = 0; i < l && pos < len && o + 5 < size; i++, pos++) {
			uint8_t c = wire[pos];
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
				out[o++] = (char)c;
			else
				o += (size_t)snprintf(out + o, size - o, "\\%03u", c);
		}
		out[o++] = '.';
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
}

/* Fill a key. */
int tsig_key_init(struct tsig_key *k, const char *name, const char *secret)
{
	ldns_rdf *rdf = NULL;
	int ret = -EINVAL;

	memset(k, 0, sizeof(*k));
	if (ldns_str2rdf_dname(&rdf, name) != LDNS_STATUS_OK || !rdf)
		goto out;
	ldns_dname2canonical(rdf);
	if (ldns_rdf_size(rdf) > TSIG_NAME_MAX)
		goto out;
	memcpy(k->wire, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	k->wire_len = (uint8_t)ldns_rdf_size(rdf);
	name_text(k->wire, k->wire_len, k->name, sizeof(k->name));
	k->secret = secret;
	ret = 0;
out:
	ldns_rdf_deep_free(rdf);
	return ret;
}

/* Owner, type/class/TTL/length, algorithm, time, fudge, MAC size and MAC, original ID, error, other length. */
size_t tsig_space(const struct tsig_key *k)
{
	return (size_t)k->wire_len + 10 + ALG_WIRE_LEN + 6 + 2 + 2 + 32 + 2 + 2 + 2;
}

/* Read the rdata of a TSIG record at pos (rdlen bytes). 0 or -EBADMSG. */
static int read_rdata(const uint8_t *msg, size_t pos, size_t rdlen, struct tsig_request *r)
{
	size_t end = pos + rdlen;
	size_t p = read_name(msg, end, pos, r->alg, &r->alg_len);

	/* RFC 8945 4.2: the algorithm name is not compressed; read_name would follow a pointer, so refuse one. */
	if (p == 0 || p - pos != r->alg_len || end - p < 10)
		return -EBADMSG;
	r->time_signed = (uint64_t)wire_get16(msg + p) << 32 | (uint64_t)wire_get16(msg + p + 2) << 16 | wire_get16(msg + p + 4);
	r->fudge = wire_get16(msg + p + 6);
	r->mac_len = wire_get16(msg + p + 8);
	p += 10;
	if (r->mac_len > TSIG_MAC_MAX || end - p < (size_t)r->mac_len + 6)
		return -EBADMSG;
	memcpy(r->mac, msg + p, r->mac_len);
	p += r->mac_len;
	r->orig_id = wire_get16(msg + p);
	r->error = wire_get16(msg + p + 2);
	size_t other = wire_get16(msg + p + 4);
	p += 6;
	return end - p == other ? 0 : -EBADMSG;
}

/* Find the TSIG record. */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_request *r)
{
	memset(r, 0, sizeof(*r));
	r->key = -1;
	if (len < HEADER_LEN)
		return -EBADMSG;
	unsigned int rrs = (unsigned int)wire_get16(msg + 6) + wire_get16(msg + 8) + wire_get16(msg + 10);
	size_t pos = dns_skip_questions(msg, len, HEADER_LEN, wire_get16(msg + 4));
	struct dns_rr_at rr;

	if (pos == 0)
		return -EBADMSG;
	for (unsigned int i = 0; i < rrs; i++) {
		if (!dns_next_rr(msg, len, &pos, &rr))
			return -EBADMSG;
		if (rr.type == TSIG_TYPE) {
			const uint8_t *f = msg + rr.fixed_at;
			/* RFC 8945 5.1: only one, the last record, in additional, class ANY, TTL 0. */
			if (i + 1 != rrs || wire_get16(msg + 10) == 0 || wire_get16(f + 2) != TSIG_CLASS_ANY ||
			    wire_get16(f + 4) != 0 || wire_get16(f + 6) != 0)
				return -EBADMSG;
			if (read_name(msg, len, rr.name_at, r->owner, &r->owner_len) == 0 ||
			    read_rdata(msg, rr.fixed_at + 10, rr.rdlen, r) < 0)
				return -EBADMSG;
			r->present = true;
			r->rr_off = rr.name_at;
		}
	}
	return pos == len ? 0 : -EBADMSG;
}

/* A MAC as the length-prefixed rdf ldns takes for the prior MAC (ldns wants a writable copy). */
static ldns_rdf *mac_rdf(const uint8_t *mac, size_t len)
{
	uint8_t copy[TSIG_MAC_MAX];

	if (len > sizeof(copy))
		return NULL;
	memcpy(copy, mac, len);
	return ldns_native2rdf_int16_data(len, copy);
}

/* Parse msg with ldns (TSIG included, as ldns_pkt_tsig()); NULL when ldns cannot read it. */
static ldns_pkt *parse(const uint8_t *msg, size_t len)
{
	ldns_pkt *pkt = NULL;

	if (dns_pkt_from_wire(&pkt, msg, len) != LDNS_STATUS_OK)
		return NULL;
	if (!ldns_pkt_tsig(pkt)) {
		ldns_pkt_free(pkt);
		return NULL;
	}
	return pkt;
}

/* True when now lies within the signed time +- fudge. */
static bool time_ok(uint64_t signed_at, uint16_t fudge, uint64_t now)
{
	return now + fudge >= signed_at && now <= signed_at + fudge;
}

/* Verify a request. */
int tsig_verify(const struct tsig_key *keys, size_t n_keys, const uint8_t *msg, size_t len, uint64_t now,
		struct tsig_request *r)
{
	const struct tsig_key *k = NULL;

	r->key = -1;
	for (size_t i = 0; i < n_keys && !k; i++)
		if (keys[i].wire_len == r->owner_len && memcmp(keys[i].wire, r->owner, r->owner_len) == 0) {
			k = &keys[i];
			r->key = (int)i;
		}
	if (!k || r->alg_len != ALG_WIRE_LEN || memcmp(r->alg, alg_wire, ALG_WIRE_LEN) != 0) {
		r->key = -1;
		return TSIG_BADKEY;
	}
	ldns_pkt *pkt = parse(msg, len);
	bool ok = pkt && ldns_pkt_tsig_verify_next(pkt, msg, len, k->name, k->secret, NULL, 0);
	ldns_pkt_free(pkt);
	if (!ok) {
		r->key = -1;
		return TSIG_BADSIG;
	}
	return time_ok(r->time_signed, r->fudge, now) ? TSIG_NOERROR : TSIG_BADTIME;
}

/* Check a request against the replay ring and remember it. */
bool tsig_replay_check(struct tsig_replay *c, const struct tsig_request *r, uint64_t now)
{
	if (r->mac_len == 0 || r->mac_len > TSIG_MAC_MAX)
		return true;
	for (size_t i = 0; i < TSIG_REPLAY_SLOTS; i++) {
		const struct tsig_replay_entry *e = &c->e[i];
		if (e->mac_len == r->mac_len && e->expires >= now && memcmp(e->mac, r->mac, r->mac_len) == 0)
			return false;
	}
	struct tsig_replay_entry *e = &c->e[c->next % TSIG_REPLAY_SLOTS];
	e->expires = r->time_signed + r->fudge;
	e->mac_len = r->mac_len;
	memcpy(e->mac, r->mac, r->mac_len);
	c->next = (c->next + 1) % TSIG_REPLAY_SLOTS;
	return true;
}

/* Sign a message. */
int tsig_sign(const struct tsig_key *k, uint8_t *msg, size_t len, size_t cap, const uint8_t *prior,
	      size_t prior_len, bool timers_only, uint8_t *mac_out, size_t *mac_len)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *prior_rdf = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	int ret = -EBADMSG;

	/* msg is one this daemon built (a request, a response, a transfer message): no outside guard needed. */
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		goto out;
	ret = -ENOMEM;
	if (prior && !(prior_rdf = mac_rdf(prior, prior_len)))
		goto out;
	ret = -EBADMSG;
	if (ldns_pkt_tsig_sign_next(pkt, k->name, k->secret, TSIG_FUDGE_S, TSIG_ALGORITHM, prior_rdf,
				    timers_only ? 1 : 0) != LDNS_STATUS_OK)
		goto out;
	const ldns_rr *t = ldns_pkt_tsig(pkt);
	const ldns_rdf *mac = t && ldns_rr_rd_count(t) > 3 ? ldns_rr_rdf(t, 3) : NULL;
	if (!mac || ldns_rdf_size(mac) < 2 || ldns_rdf_size(mac) - 2 > TSIG_MAC_MAX)
		goto out;
	*mac_len = ldns_rdf_size(mac) - 2;
	memcpy(mac_out, ldns_rdf_data(mac) + 2, *mac_len);
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK)
		goto out;
	ret = -EMSGSIZE;
	if (wlen > cap)
		goto out;
	memcpy(msg, wire, wlen);
	ret = (int)wlen;
out:
	free(wire);
	ldns_rdf_deep_free(prior_rdf);
	ldns_pkt_free(pkt);
	return ret;
}

/* Verify a response to our signed request. */
int tsig_verify_response(const struct tsig_key *k, const uint8_t *msg, size_t len, uint64_t now,
			 const uint8_t *prior, size_t prior_len)
{
	struct tsig_request r;
	ldns_rdf *prior_rdf = NULL;
	int ret = -EBADMSG;

	if (tsig_find(msg, len, &r) < 0 || !r.present)
		return -EBADMSG;
	ret = -EACCES;
	if (r.owner_len != k->wire_len || memcmp(r.owner, k->wire, k->wire_len) != 0 || r.error != TSIG_NOERROR ||
	    !time_ok(r.time_signed, r.fudge, now))
		return ret;
	ldns_pkt *pkt = parse(msg, len);
	if (!pkt)
		return -EBADMSG;
	if (prior && !(prior_rdf = mac_rdf(prior, prior_len)))
		ret = -ENOMEM;
	else if (ldns_pkt_tsig_verify_next(pkt, msg, len, k->name, k->secret, prior_rdf, 0))
		ret = 0;
	ldns_rdf_deep_free(prior_rdf);
	ldns_pkt_free(pkt);
	return ret;
}

/* HMAC-SHA256 in steps, by OpenSSL (ldns's own signer writes only error-free TSIG records). */
struct hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

/* Release a MAC's OpenSSL objects. */
static void hmac_free(struct hmac *h)
{
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
	h->ctx = NULL;
	h->mac = NULL;
}

/* Start a MAC with the base64 secret. 0, -EINVAL (bad secret) or -ENOMEM. */
static int hmac_init(struct hmac *h, const char *secret_b64)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	ldns_rdf *key = NULL;
	int ret = 0;

	memset(h, 0, sizeof(*h));
	if (strlen(secret_b64) > SECRET_B64_MAX || ldns_str2rdf_b64(&key, secret_b64) != LDNS_STATUS_OK || !key ||
	    ldns_rdf_size(key) == 0 || ldns_rdf_size(key) > SECRET_MAX) {
		ldns_rdf_deep_free(key);
		return -EINVAL;
	}
	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
	if (!h->ctx || !EVP_MAC_init(h->ctx, ldns_rdf_data(key), ldns_rdf_size(key), params)) {
		hmac_free(h);
		ret = -ENOMEM;
	}
	OPENSSL_cleanse(ldns_rdf_data(key), ldns_rdf_size(key));
	ldns_rdf_deep_free(key);
	return ret;
}

/* Add bytes to the MAC (a failure shows at the end). */
static void hmac_update(struct hmac *h, const uint8_t *p, size_t n)
{
	if (h->ctx && !EVP_MAC_update(h->ctx, p, n))
		hmac_free(h);
}

/* Finish the MAC into out and release it. 0 or -ENOMEM. */
static int hmac_final(struct hmac *h, uint8_t out[TSIG_SHA256_LEN])
{
	size_t n = 0;
	int ret = h->ctx && EVP_MAC_final(h->ctx, out, &n, TSIG_SHA256_LEN) && n == TSIG_SHA256_LEN ? 0 : -ENOMEM;

	hmac_free(h);
	return ret;
}

/*
 * The MAC of an error response (RFC 8945 4.3.3, 5.3.2): the request MAC with
 * its size, the response as it is before its TSIG record, then the TSIG
 * variables (key name, class, TTL, algorithm, time, fudge, error, other data).
 */
static int error_mac(const struct tsig_key *k, const struct tsig_request *r, const uint8_t *msg, size_t len,
		     const uint8_t *timers, const uint8_t *tail, size_t tail_len, uint8_t out[TSIG_SHA256_LEN])
{
	struct hmac h;
	uint8_t b[8];

	if (hmac_init(&h, k->secret) < 0)
		return -EINVAL;
	wire_set16(b, r->mac_len);
	hmac_update(&h, b, 2);
	hmac_update(&h, r->mac, r->mac_len);
	hmac_update(&h, msg, len);
	hmac_update(&h, r->owner, r->owner_len);
	wire_set16(b, TSIG_CLASS_ANY);
	memset(b + 2, 0, 4);              /* TTL */
	hmac_update(&h, b, 6);
	hmac_update(&h, r->alg, r->alg_len);
	hmac_update(&h, timers, 8);       /* time signed, fudge */
	hmac_update(&h, tail, tail_len);  /* error, other length, other data */
	return hmac_final(&h, out);
}

/* Append the TSIG record of an error response: signed with k (BADTIME), or unsigned (k NULL). */
size_t tsig_append_error(const struct tsig_key *k, uint8_t *msg, size_t len, size_t cap, const struct tsig_request *r,
			 uint16_t error, uint64_t now)
{
	size_t other = error == TSIG_BADTIME ? 6 : 0;
	size_t mac_len = k ? TSIG_SHA256_LEN : 0;
	size_t rdlen = (size_t)r->alg_len + 16 + mac_len + other;
	size_t need = (size_t)r->owner_len + 10 + rdlen;
	/* BADTIME keeps the request's time; the server's time goes to other data (RFC 8945 5.2.3). */
	uint64_t t = error == TSIG_BADTIME ? r->time_signed : now;
	uint8_t timers[8], tail[10], mac[TSIG_SHA256_LEN];
	uint8_t *p = msg + len;

	if (len < HEADER_LEN || cap < len || cap - len < need || wire_get16(msg + 10) == 0xffff)
		return 0;
	wire_set16(timers, (uint16_t)(t >> 32));
	wire_set16(timers + 2, (uint16_t)(t >> 16));
	wire_set16(timers + 4, (uint16_t)t);
	wire_set16(timers + 6, TSIG_FUDGE_S);
	wire_set16(tail, error);
	wire_set16(tail + 2, (uint16_t)other);
	wire_set16(tail + 4, (uint16_t)(now >> 32));
	wire_set16(tail + 6, (uint16_t)(now >> 16));
	wire_set16(tail + 8, (uint16_t)now);
	/* Only a request whose MAC verified gets a signed answer; BADKEY and BADSIG stay unsigned (5.3.2). */
	if (k && (r->alg_len != ALG_WIRE_LEN || memcmp(r->alg, alg_wire, ALG_WIRE_LEN) != 0 ||
		  error_mac(k, r, msg, len, timers, tail, 4 + other, mac) < 0))
		return 0;
	memcpy(p, r->owner, r->owner_len);
	p += r->owner_len;
	wire_set16(p, TSIG_TYPE);
	wire_set16(p + 2, TSIG_CLASS_ANY);
	memset(p + 4, 0, 4);
	wire_set16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, r->alg, r->alg_len);
	p += r->alg_len;
	memcpy(p, timers, 8);
	wire_set16(p + 8, (uint16_t)mac_len);
	p += 10;
	memcpy(p, mac, mac_len);
	p += mac_len;
	wire_set16(p, r->orig_id);
	memcpy(p + 2, tail, 4 + other);
	wire_set16(msg + 10, (uint16_t)(wire_get16(msg + 10) + 1));
	return len + need;
}
