/* SPDX-License-Identifier: MIT */
/* TSIG: requests signed as dig/NSD/Knot sign them verify or fail with the right error; our responses verify with ldns. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "check.h"
#include "tsig.h"

#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
#define OTHER_SECRET "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMmJ5dGU="

static struct tsig_key keys[2];

/* An AXFR query for example.com. signed like a secondary signs it (ldns, the first message of a session). */
static size_t signed_query(const char *key_name, const char *secret, const char *alg, uint8_t *out, size_t cap,
			   ldns_rdf **mac)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;
	size_t n = 0;

	if (ldns_pkt_query_new_frm_str(&p, "example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_set_id(p, 0x4242);
	if (ldns_pkt_tsig_sign(p, key_name, secret, 300, alg, NULL) != LDNS_STATUS_OK || ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK || n > cap)
		abort();
	memcpy(out, w, n);
	if (mac)
		*mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
	free(w);
	ldns_pkt_free(p);
	return n;
}

/* find + verify in one step, as the registry does. */
static int check_request(const uint8_t *msg, size_t len, uint64_t now, struct tsig_request *r)
{
	if (tsig_find(msg, len, r) < 0)
		return -EBADMSG;
	CHECK(r->present);
	return tsig_verify(keys, 2, msg, len, now, r);
}

/* Requests: the right key verifies; an unknown key, another secret, an old time each give their error. */
static void test_verify(void)
{
	uint8_t msg[1024];
	struct tsig_request r;
	uint64_t now = (uint64_t)time(NULL);
	size_t n;

	n = signed_query("xfr.example.", SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_NOERROR && r.key == 0);
	CHECK(r.orig_id == 0x4242 && r.mac_len == 32 && r.fudge == 300);
	/* The key name matches whatever its case on the wire. */
	n = signed_query("XFR.Example.", SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_NOERROR && r.key == 0);
	n = signed_query("other.example.", OTHER_SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_NOERROR && r.key == 1);
	/* Unknown key, known key with another algorithm: BADKEY. */
	n = signed_query("nokey.example.", SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_BADKEY && r.key == -1);
	n = signed_query("xfr.example.", SECRET, "hmac-sha1.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_BADKEY);
	/* Signed with another secret, or changed after signing: BADSIG. */
	n = signed_query("xfr.example.", OTHER_SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_BADSIG && r.key == -1);
	n = signed_query("xfr.example.", SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	msg[2] ^= 0x01;   /* RD flipped */
	CHECK(check_request(msg, n, now, &r) == TSIG_BADSIG);
	/* Replayed outside the fudge (either way): BADTIME; at the edge it still holds. */
	msg[2] ^= 0x01;
	CHECK(check_request(msg, n, now + 301 + 5, &r) == TSIG_BADTIME);
	CHECK(check_request(msg, n, now - 301 - 5, &r) == TSIG_BADTIME);
	CHECK(check_request(msg, n, r.time_signed + 300, &r) == TSIG_NOERROR);
}

/* Malformed TSIG records are FORMERR; a message without one is not. */
static void test_find(void)
{
	uint8_t msg[1024], two[2048];
	struct tsig_request r;
	size_t n = signed_query("xfr.example.", SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);

	for (size_t cut = 12; cut < n; cut++)
		CHECK(tsig_find(msg, cut, &r) == -EBADMSG);
	CHECK(tsig_find(msg, 11, &r) == -EBADMSG);
	/* Trailing garbage. */
	memcpy(two, msg, n);
	two[n] = 0;
	CHECK(tsig_find(two, n + 1, &r) == -EBADMSG);
	/* TSIG not the last record: the same record twice. */
	size_t rr = 0;
	CHECK(tsig_find(msg, n, &r) == 0 && r.present);
	rr = r.rr_off;
	memcpy(two, msg, n);
	memcpy(two + n, msg + rr, n - rr);
	two[11] = 2;
	CHECK(tsig_find(two, n + (n - rr), &r) == -EBADMSG);
	/* Class other than ANY. */
	memcpy(two, msg, n);
	size_t cls = rr + 13 + 2;   /* owner "\x03xfr\x07example\x00" is 13 bytes, then type */
	CHECK(two[cls] == 0 && two[cls + 1] == 255);
	two[cls + 1] = 1;
	CHECK(tsig_find(two, n, &r) == -EBADMSG);
	/* An unsigned query has no TSIG and that is fine. */
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;
	size_t wn = 0;
	ldns_pkt_query_new_frm_str(&p, "example.com.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	ldns_pkt2wire(&w, p, &wn);
	CHECK(tsig_find(w, wn, &r) == 0 && !r.present);
	free(w);
	ldns_pkt_free(p);
}

/* A response with an answer, as a primary sends it. */
static size_t response(int id, const char *rr_text, uint8_t *out)
{
	ldns_pkt *p = NULL;
	ldns_rr *rr = NULL;
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_pkt_query_new_frm_str(&p, "example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, (uint16_t)id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	if (ldns_rr_new_frm_str(&rr, rr_text, 0, NULL, NULL) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	ldns_pkt2wire(&w, p, &n);
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

/* Verify a signed message as a secondary does (ldns), against the prior MAC. */
static bool client_verifies(const uint8_t *msg, size_t n, const char *secret, const ldns_rdf *prior, int timers_only)
{
	ldns_pkt *p = NULL;

	if (ldns_wire2pkt(&p, msg, n) != LDNS_STATUS_OK)
		return false;
	bool ok = ldns_pkt_tsig_verify_next(p, msg, n, "xfr.example.", secret, prior, timers_only);
	ldns_pkt_free(p);
	return ok;
}

/* Responses: the first over the request MAC, the next over the prior MAC and timers; both verify as a secondary checks them. */
static void test_sign(void)
{
	uint8_t q[1024], m1[2048], m2[2048], mac1[TSIG_MAC_MAX], mac2[TSIG_MAC_MAX];
	size_t l1, l2, ml1 = 0, ml2 = 0;
	ldns_rdf *qmac = NULL;
	struct tsig_request r;

	size_t qn = signed_query("xfr.example.", SECRET, "hmac-sha256.", q, sizeof(q), &qmac);
	CHECK(tsig_find(q, qn, &r) == 0 && r.present);
	l1 = response(0x4242, "example.com. 30 IN SOA ns1.example.com. hostmaster.example.com. 7 30 5 604800 0", m1);
	int s1 = tsig_sign(&keys[0], m1, l1, sizeof(m1), r.mac, r.mac_len, false, mac1, &ml1);
	CHECK(s1 > (int)l1 && (size_t)s1 <= l1 + tsig_space(&keys[0]) && ml1 == 32);
	CHECK(client_verifies(m1, (size_t)s1, SECRET, qmac, 0));
	CHECK(!client_verifies(m1, (size_t)s1, OTHER_SECRET, qmac, 0));
	ldns_rdf *p1 = ldns_native2rdf_int16_data(ml1, mac1);
	l2 = response(0x4242, "a.example.com. 30 IN A 192.0.2.1", m2);
	int s2 = tsig_sign(&keys[0], m2, l2, sizeof(m2), mac1, ml1, true, mac2, &ml2);
	CHECK(s2 > 0 && client_verifies(m2, (size_t)s2, SECRET, p1, 1));
	CHECK(!client_verifies(m2, (size_t)s2, SECRET, qmac, 1));
	/* No room: -EMSGSIZE, and the message is left as it was. */
	l2 = response(0x4242, "a.example.com. 30 IN A 192.0.2.1", m2);
	uint8_t copy[2048];
	memcpy(copy, m2, l2);
	CHECK(tsig_sign(&keys[0], m2, l2, l2 + 20, mac1, ml1, true, mac2, &ml2) == -EMSGSIZE);
	CHECK(memcmp(copy, m2, l2) == 0);
	CHECK(tsig_sign(&keys[0], m2, 5, sizeof(m2), NULL, 0, false, mac2, &ml2) == -EBADMSG);
	ldns_rdf_deep_free(p1);

	/* Our own signed request (a NOTIFY) and the answer a secondary signs over its MAC. */
	uint8_t n[1024], a[1024], nmac[TSIG_MAC_MAX];
	size_t nl = response(77, "example.com. 30 IN SOA ns1.example.com. hostmaster.example.com. 7 30 5 604800 0", n);
	n[2] = 0x20;   /* opcode NOTIFY, QR=0 */
	size_t nml = 0;
	int sn = tsig_sign(&keys[0], n, nl, sizeof(n), NULL, 0, false, nmac, &nml);
	CHECK(sn > 0);
	CHECK(tsig_find(n, (size_t)sn, &r) == 0 && tsig_verify(keys, 2, n, (size_t)sn, (uint64_t)time(NULL), &r) == TSIG_NOERROR);
	ldns_pkt *ap = NULL;
	ldns_pkt_query_new_frm_str(&ap, "example.com.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(ap, 77);
	ldns_pkt_set_qr(ap, true);
	ldns_pkt_set_opcode(ap, LDNS_PACKET_NOTIFY);
	ldns_rdf *nmac_rdf = ldns_native2rdf_int16_data(nml, nmac);
	ldns_pkt_tsig_sign(ap, "xfr.example.", SECRET, 300, "hmac-sha256.", nmac_rdf);
	uint8_t *w = NULL;
	size_t al = 0;
	ldns_pkt2wire(&w, ap, &al);
	memcpy(a, w, al);
	free(w);
	uint64_t now = (uint64_t)time(NULL);
	CHECK(tsig_verify_response(&keys[0], a, al, now, nmac, nml) == 0);
	CHECK(tsig_verify_response(&keys[1], a, al, now, nmac, nml) == -EACCES);
	CHECK(tsig_verify_response(&keys[0], a, al, now + 1000, nmac, nml) == -EACCES);
	CHECK(tsig_verify_response(&keys[0], a, al, now, mac1, ml1) == -EACCES);
	CHECK(tsig_verify_response(&keys[0], m1, l1, now, nmac, nml) == -EBADMSG);
	ldns_rdf_deep_free(nmac_rdf);
	ldns_pkt_free(ap);
	ldns_rdf_deep_free(qmac);
}

/* Error records: unsigned, with the error, the request's key, algorithm and ID; BADTIME carries our time. */
static void test_error_record(void)
{
	uint8_t q[1024], out[2048];
	struct tsig_request r;
	size_t qn = signed_query("xfr.example.", SECRET, "hmac-sha256.", q, sizeof(q), NULL);

	CHECK(tsig_find(q, qn, &r) == 0);
	size_t n = response(0x4242, "example.com. 30 IN A 192.0.2.1", out);
	out[3] = 9;   /* NOTAUTH */
	CHECK(tsig_append_error(NULL, out, n, n + 10, &r, TSIG_BADSIG, 1000) == 0);
	size_t m = tsig_append_error(NULL, out, n, sizeof(out), &r, TSIG_BADTIME, 1700000000);
	CHECK(m > n);
	ldns_pkt *p = NULL;
	CHECK(ldns_wire2pkt(&p, out, m) == LDNS_STATUS_OK);
	const ldns_rr *t = p ? ldns_pkt_tsig(p) : NULL;
	CHECK(t != NULL);
	if (t) {
		char *owner = ldns_rdf2str(ldns_rr_owner(t));
		CHECK(strcmp(owner, "xfr.example.") == 0);
		free(owner);
		CHECK(ldns_rdf_size(ldns_rr_rdf(t, 3)) == 2);                 /* MAC size 0 */
		CHECK(ldns_rdf2native_int16(ldns_rr_rdf(t, 4)) == 0x4242);
		CHECK(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)) == TSIG_BADTIME);
		CHECK(ldns_rdf_size(ldns_rr_rdf(t, 6)) == 2 + 6);             /* other data: our time */
	}
	ldns_pkt_free(p);
}

/* A 48-bit big-endian time. */
static uint64_t time48(const uint8_t *p)
{
	return (uint64_t)p[0] << 40 | (uint64_t)p[1] << 32 | (uint64_t)p[2] << 24 | (uint64_t)p[3] << 16 |
	       (uint64_t)p[4] << 8 | p[5];
}

/*
 * BADTIME is signed (RFC 8945 5.2.3): ldns, as a secondary, verifies it over
 * the request's MAC; it carries the request's time and ours as other data.
 * With another secret it does not verify; BADSIG stays unsigned.
 */
static void test_badtime_signed(void)
{
	uint8_t q[1024], out[2048];
	struct tsig_request r;
	ldns_rdf *qmac = NULL;
	size_t qn = signed_query("xfr.example.", SECRET, "hmac-sha256.", q, sizeof(q), &qmac);
	uint64_t later = (uint64_t)time(NULL) + 1000;

	CHECK(check_request(q, qn, later, &r) == TSIG_BADTIME && r.key == 0);
	size_t n = response(0x4242, "example.com. 30 IN A 192.0.2.1", out);
	out[3] = 9;   /* NOTAUTH */
	CHECK(tsig_append_error(&keys[0], out, n, n + 40, &r, TSIG_BADTIME, later) == 0);   /* no room for the MAC */
	size_t m = tsig_append_error(&keys[0], out, n, sizeof(out), &r, TSIG_BADTIME, later);
	CHECK(m == n + tsig_space(&keys[0]) + 6);
	ldns_pkt *p = NULL;
	CHECK(ldns_wire2pkt(&p, out, m) == LDNS_STATUS_OK);
	const ldns_rr *t = p ? ldns_pkt_tsig(p) : NULL;
	CHECK(t != NULL);
	if (t) {
		CHECK(ldns_rdf_size(ldns_rr_rdf(t, 3)) == 2 + 32);            /* a MAC */
		CHECK(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)) == TSIG_BADTIME);
		CHECK(ldns_rdf_size(ldns_rr_rdf(t, 1)) == 6 && ldns_rdf_size(ldns_rr_rdf(t, 6)) == 2 + 6);
		CHECK(time48(ldns_rdf_data(ldns_rr_rdf(t, 1))) == r.time_signed);
		CHECK(time48(ldns_rdf_data(ldns_rr_rdf(t, 6)) + 2) == later);
	}
	CHECK(p && ldns_pkt_tsig_verify_next(p, out, m, "xfr.example.", SECRET, qmac, 0));
	ldns_pkt_free(p);
	p = NULL;
	CHECK(ldns_wire2pkt(&p, out, m) == LDNS_STATUS_OK);
	CHECK(p && !ldns_pkt_tsig_verify_next(p, out, m, "xfr.example.", OTHER_SECRET, qmac, 0));
	ldns_pkt_free(p);
	/* A secret longer than the hash block is hashed first, as HMAC wants: still verifies. */
	static const char long_secret[] = "AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSLkp"
					  "mgp661vMPK0djf5u30+wIJEBceJSwzOkFIT1ZdZGtyeYCHjpWco6qxuA==";   /* 100 bytes */
	struct tsig_key lk;
	CHECK(tsig_key_init(&lk, "xfr.example.", long_secret) == 0);
	ldns_rdf_deep_free(qmac);
	qn = signed_query("xfr.example.", long_secret, "hmac-sha256.", q, sizeof(q), &qmac);
	CHECK(tsig_find(q, qn, &r) == 0 && tsig_verify(&lk, 1, q, qn, later, &r) == TSIG_BADTIME);
	n = response(0x4242, "example.com. 30 IN A 192.0.2.1", out);
	m = tsig_append_error(&lk, out, n, sizeof(out), &r, TSIG_BADTIME, later);
	p = NULL;
	CHECK(m > n && ldns_wire2pkt(&p, out, m) == LDNS_STATUS_OK);
	CHECK(p && ldns_pkt_tsig_verify_next(p, out, m, "xfr.example.", long_secret, qmac, 0));
	ldns_pkt_free(p);
	ldns_rdf_deep_free(qmac);
}

/*
 * Replays: the same signed request again is refused while its window runs,
 * a new signature of the same query is not; the ring forgets the oldest
 * first and an entry whose window ended.
 */
static void test_replay(void)
{
	struct tsig_replay *c = calloc(1, sizeof(*c));
	uint8_t msg[1024];
	struct tsig_request r, other;
	uint64_t now = (uint64_t)time(NULL);
	size_t n;

	n = signed_query("xfr.example.", SECRET, "hmac-sha256.", msg, sizeof(msg), NULL);
	CHECK(check_request(msg, n, now, &r) == TSIG_NOERROR);
	CHECK(tsig_replay_check(c, &r, now));
	CHECK(!tsig_replay_check(c, &r, now));
	CHECK(!tsig_replay_check(c, &r, r.time_signed + r.fudge));
	/* Past its window the request is BADTIME anyway: the entry no longer counts. */
	CHECK(tsig_replay_check(c, &r, r.time_signed + r.fudge + 1));
	/* Another request (another MAC) is no replay. */
	other = r;
	other.mac[0] ^= 1;
	CHECK(tsig_replay_check(c, &other, now));
	CHECK(!tsig_replay_check(c, &other, now) && !tsig_replay_check(c, &r, now));
	/* The ring keeps TSIG_REPLAY_SLOTS: after that many newer ones the oldest is forgotten. */
	memset(c, 0, sizeof(*c));
	CHECK(tsig_replay_check(c, &r, now));
	for (int i = 0; i < TSIG_REPLAY_SLOTS - 1; i++) {
		other.mac[1] = (uint8_t)i;
		other.mac[2] = (uint8_t)(i >> 8);
		CHECK(tsig_replay_check(c, &other, now));
	}
	CHECK(!tsig_replay_check(c, &r, now));
	other.mac[1] = 0xee;
	other.mac[2] = 0xee;
	CHECK(tsig_replay_check(c, &other, now));
	CHECK(tsig_replay_check(c, &r, now));
	free(c);
}

int main(void)
{
	CHECK(tsig_key_init(&keys[0], "xfr.example.", SECRET) == 0);
	CHECK(tsig_key_init(&keys[1], "Other.Example", OTHER_SECRET) == 0);
	CHECK(strcmp(keys[1].name, "other.example.") == 0 && keys[1].wire_len == 15);
	CHECK(tsig_key_init(&keys[0], "bad..name", SECRET) == -EINVAL);
	CHECK(tsig_key_init(&keys[0], "xfr.example.", SECRET) == 0);
	test_verify();
	test_find();
	test_sign();
	test_error_record();
	test_replay();
	test_badtime_signed();
	return CHECK_DONE();
}
