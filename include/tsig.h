/* SPDX-License-Identifier: MIT */
/*
 * TSIG (RFC 8945, hmac-sha256) for zone transfers, NOTIFY and the SOA
 * queries of secondaries, with ldns doing the MAC: ldns_pkt_tsig_verify_next()
 * on requests, ldns_pkt_tsig_sign_next() on responses (every message of a
 * multi-message transfer, the later ones over the prior MAC and the timers
 * only, RFC 8945 5.3.1). Locating and reading the TSIG record is done here,
 * bounds-checked, before ldns sees the message.
 *
 * Signing re-encodes a message through ldns (wire -> ldns_pkt -> wire), so
 * the signed message may be shorter than the unsigned one (ldns compresses
 * names our writers left whole, never the SRV target); tsig_space() is what
 * the TSIG record adds at most.
 *
 * Error responses carry a TSIG record with the error: unsigned for BADKEY
 * and BADSIG (RFC 8945 5.3.2), signed for BADTIME (5.2.3: the request's time
 * signed, the server's time as other data, so a secondary can tell its clock
 * is off). ldns signs only with error 0: tsig_append_error() lays out that
 * MAC's input itself and has OpenSSL's HMAC-SHA256 compute it.
 *
 * Replays: a signed request stays valid for anyone who captured it until
 * its time is more than the fudge (300 s) off. RFC 8945 5.2.3 suggests
 * remembering the latest Time Signed per key and answering BADTIME to an
 * earlier one; that would fail secondaries sharing a key whose clocks differ
 * by a second. struct tsig_replay instead remembers the MACs of accepted
 * requests per key until their window ends: the same request again (same
 * ID, time and MAC) is answered NOTAUTH with BADTIME, the error the RFC
 * gives its own replay rule. It is bounded (TSIG_REPLAY_SLOTS per key,
 * oldest forgotten first, nothing allocated per request); only requests
 * that verified fill it, so only holders of the key can push entries out.
 *
 * No allocation outlives a call, nothing is logged.
 */
#ifndef WGSD_TSIG_H
#define WGSD_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSIG_NAME_MAX 255
#define TSIG_MAC_MAX 64
#define TSIG_FUDGE_S 300
#define TSIG_ALGORITHM "hmac-sha256."
#define TSIG_TYPE 250
#define TSIG_CLASS_ANY 255

/* TSIG error codes (RFC 8945 3). */
enum {
	TSIG_NOERROR = 0,
	TSIG_BADSIG = 16,
	TSIG_BADKEY = 17,
	TSIG_BADTIME = 18,
};

/* One key: its name (lower case, absolute) and base64 secret. */
struct tsig_key {
	char name[TSIG_NAME_MAX + 1];
	uint8_t wire[TSIG_NAME_MAX];
	uint8_t wire_len;
	const char *secret;               /* base64; the caller keeps it alive */
};

/* The TSIG record of a request, as read by tsig_find(). */
struct tsig_request {
	bool present;
	size_t rr_off;                    /* where the TSIG record starts */
	uint8_t owner[TSIG_NAME_MAX];     /* key name, wire form, lower case */
	uint8_t owner_len;
	uint8_t alg[TSIG_NAME_MAX];       /* algorithm name, wire form, lower case */
	uint8_t alg_len;
	uint64_t time_signed;
	uint16_t fudge;
	uint8_t mac[TSIG_MAC_MAX];
	uint16_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	int key;                          /* index of the matching key after tsig_verify(), -1: none */
};

/* Accepted requests remembered per key against replays. */
#define TSIG_REPLAY_SLOTS 64

struct tsig_replay_entry {
	uint64_t expires;                 /* time signed + fudge: later the request is BADTIME anyway */
	uint16_t mac_len;                 /* 0: empty */
	uint8_t mac[TSIG_MAC_MAX];
};

/* One key's recently accepted request MACs, a ring: the oldest is overwritten first. */
struct tsig_replay {
	struct tsig_replay_entry e[TSIG_REPLAY_SLOTS];
	unsigned int next;
};

/* Fill a key from its name (presentation) and base64 secret. 0 or -EINVAL. */
int tsig_key_init(struct tsig_key *k, const char *name, const char *secret);
/* Bytes a TSIG record signed with k adds to a message. */
size_t tsig_space(const struct tsig_key *k);
/*
 * Find the TSIG record of msg: 0 with r->present telling whether there is
 * one, -EBADMSG when the message cannot be walked or its TSIG is malformed or
 * not the last record (FORMERR, RFC 8945 5.1).
 */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_request *r);
/*
 * Check a request whose TSIG tsig_find() read: the key by name and algorithm
 * (BADKEY), the MAC with ldns (BADSIG), then the time, now within
 * time_signed +- fudge (BADTIME). Returns TSIG_NOERROR with r->key set, or
 * the error to answer with.
 */
int tsig_verify(const struct tsig_key *keys, size_t n_keys, const uint8_t *msg, size_t len, uint64_t now,
		struct tsig_request *r);
/*
 * After tsig_verify() accepted r at now: false when a request with the same
 * MAC was accepted with c (r->key's ring) and its window has not ended (a
 * replay: answer BADTIME); otherwise remember r and return true.
 */
bool tsig_replay_check(struct tsig_replay *c, const struct tsig_request *r, uint64_t now);
/*
 * Sign msg (len bytes, cap bytes of room) in place with k. prior is the
 * request's MAC for the first (or only) response, the previous message's MAC
 * for the later messages of a transfer (then timers_only); NULL for a
 * request. The new MAC goes to mac_out (TSIG_MAC_MAX bytes) and *mac_len.
 * Returns the signed length, -EMSGSIZE when it does not fit cap, -EBADMSG or
 * -ENOMEM.
 */
int tsig_sign(const struct tsig_key *k, uint8_t *msg, size_t len, size_t cap, const uint8_t *prior,
	      size_t prior_len, bool timers_only, uint8_t *mac_out, size_t *mac_len);
/*
 * Verify a response signed by the other side (NOTIFY answers): prior is the
 * request's MAC. 0, or -EBADMSG (no TSIG or malformed), -EACCES (another key,
 * a bad MAC or a time outside the fudge).
 */
int tsig_verify_response(const struct tsig_key *k, const uint8_t *msg, size_t len, uint64_t now,
			 const uint8_t *prior, size_t prior_len);
/*
 * Append the TSIG record of an error response to request r (key name and
 * algorithm copied from it; BADTIME carries r's time signed and now as its
 * other data). k NULL: unsigned, MAC empty (BADKEY, BADSIG); otherwise
 * signed with k, the key r verified with, over r's MAC (BADTIME). Returns the
 * new length, or 0 when it does not fit cap (or k's secret is unusable).
 */
size_t tsig_append_error(const struct tsig_key *k, uint8_t *msg, size_t len, size_t cap, const struct tsig_request *r,
			 uint16_t error, uint64_t now);

#endif
