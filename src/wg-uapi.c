/* SPDX-License-Identifier: MIT */
/* Userspace WireGuard: UAPI reply parser, request builder, non-blocking socket glue. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "wg-uapi.h"

/*
 * Bytes read per recv() call, and at most per loop turn, so a huge reply
 * yields to other events: 64 KiB is some 250 peers, about 0.25 ms of parsing
 * on a server core (the registry's snapshot slices are as long).
 */
#define UAPI_READ_CHUNK_LEN 65536
#define UAPI_READ_BATCH_LEN UAPI_READ_CHUNK_LEN
/* Delay before retrying a connect that found the listener's backlog full. */
#define UAPI_CONNECT_RETRY_MS 10

/*
 * Curve25519 (RFC 7748). The UAPI "get" reply carries only the device's
 * private key; its public key is X25519(private, 9). Field elements mod
 * 2^255-19 in five 51-bit limbs.
 */
__extension__ typedef unsigned __int128 u128;
typedef uint64_t fe[5];
#define FE_MASK51 ((UINT64_C(1) << 51) - 1)

/* Load 32 little-endian bytes, ignoring the top bit. */
static void fe_frombytes(fe h, const uint8_t s[32])
{
	uint64_t w[4];

	for (int i = 0; i < 4; i++) {
		w[i] = 0;
		for (int j = 7; j >= 0; j--)
			w[i] = w[i] << 8 | s[8 * i + j];
	}
	h[0] = w[0] & FE_MASK51;
	h[1] = (w[0] >> 51 | w[1] << 13) & FE_MASK51;
	h[2] = (w[1] >> 38 | w[2] << 26) & FE_MASK51;
	h[3] = (w[2] >> 25 | w[3] << 39) & FE_MASK51;
	h[4] = (w[3] >> 12) & FE_MASK51;
}

/* Propagate carries so every limb is below 2^51 (plus a tiny excess in limb 0). */
static void fe_carry(fe h)
{
	for (int i = 0; i < 4; i++) {
		h[i + 1] += h[i] >> 51;
		h[i] &= FE_MASK51;
	}
	h[0] += 19 * (h[4] >> 51);
	h[4] &= FE_MASK51;
}

/* Store the fully reduced value as 32 little-endian bytes. */
static void fe_tobytes(uint8_t s[32], const fe f)
{
	fe h;
	uint64_t q, w[4];

	memcpy(h, f, sizeof(fe));
	fe_carry(h);
	fe_carry(h);
	/* h < 2^255 now; subtract p once if h >= p, i.e. if h + 19 >= 2^255. */
	q = (h[0] + 19) >> 51;
	q = (h[1] + q) >> 51;
	q = (h[2] + q) >> 51;
	q = (h[3] + q) >> 51;
	q = (h[4] + q) >> 51;
	h[0] += 19 * q;
	for (int i = 0; i < 4; i++) {
		h[i + 1] += h[i] >> 51;
		h[i] &= FE_MASK51;
	}
	h[4] &= FE_MASK51;
	w[0] = h[0] | h[1] << 51;
	w[1] = h[1] >> 13 | h[2] << 38;
	w[2] = h[2] >> 26 | h[3] << 25;
	w[3] = h[3] >> 39 | h[4] << 12;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 8; j++)
			s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
	explicit_bzero(h, sizeof(h));
	explicit_bzero(w, sizeof(w));
}

/* h = f + g */
static void fe_add(fe h, const fe f, const fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
	fe_carry(h);
}

/* h = f - g, computed as f + 2p - g so limbs stay positive. */
static void fe_sub(fe h, const fe f, const fe g)
{
	h[0] = f[0] + UINT64_C(0xFFFFFFFFFFFDA) - g[0];
	for (int i = 1; i < 5; i++)
		h[i] = f[i] + UINT64_C(0xFFFFFFFFFFFFE) - g[i];
	fe_carry(h);
}

/* Reduce five 128-bit column sums into h. */
static void fe_reduce_wide(fe h, u128 t[5])
{
	for (int i = 0; i < 4; i++) {
		t[i + 1] += t[i] >> 51;
		h[i] = (uint64_t)t[i] & FE_MASK51;
	}
	h[4] = (uint64_t)t[4] & FE_MASK51;
	h[0] += 19 * (uint64_t)(t[4] >> 51);
	h[1] += h[0] >> 51;
	h[0] &= FE_MASK51;
}

/* h = f * g */
static void fe_mul(fe h, const fe f, const fe g)
{
	uint64_t g19[5];
	u128 t[5];

	for (int i = 1; i < 5; i++)
		g19[i] = 19 * g[i];
	t[0] = (u128)f[0] * g[0] + (u128)f[1] * g19[4] + (u128)f[2] * g19[3] +
	       (u128)f[3] * g19[2] + (u128)f[4] * g19[1];
	t[1] = (u128)f[0] * g[1] + (u128)f[1] * g[0] + (u128)f[2] * g19[4] +
	       (u128)f[3] * g19[3] + (u128)f[4] * g19[2];
	t[2] = (u128)f[0] * g[2] + (u128)f[1] * g[1] + (u128)f[2] * g[0] +
	       (u128)f[3] * g19[4] + (u128)f[4] * g19[3];
	t[3] = (u128)f[0] * g[3] + (u128)f[1] * g[2] + (u128)f[2] * g[1] +
	       (u128)f[3] * g[0] + (u128)f[4] * g19[4];
	t[4] = (u128)f[0] * g[4] + (u128)f[1] * g[3] + (u128)f[2] * g[2] +
	       (u128)f[3] * g[1] + (u128)f[4] * g[0];
	fe_reduce_wide(h, t);
}

/* h = f * n for a small constant n. */
static void fe_mul_small(fe h, const fe f, uint32_t n)
{
	u128 t[5];

	for (int i = 0; i < 5; i++)
		t[i] = (u128)f[i] * n;
	fe_reduce_wide(h, t);
}

/* h = z^(p-2) = 1/z (Fermat): p-2 = 2^255-21 has every bit from 254 down set except bits 4 and 2. */
static void fe_invert(fe h, const fe z)
{
	fe c;

	memcpy(c, z, sizeof(fe));
	for (int bit = 253; bit >= 0; bit--) {
		fe_mul(c, c, c);
		if (bit != 2 && bit != 4)
			fe_mul(c, c, z);
	}
	memcpy(h, c, sizeof(fe));
	explicit_bzero(c, sizeof(c));
}

/* Swap f and g when swap is 1, in constant time. */
static void fe_cswap(fe f, fe g, uint64_t swap)
{
	uint64_t mask = 0 - swap;

	for (int i = 0; i < 5; i++) {
		uint64_t x = mask & (f[i] ^ g[i]);
		f[i] ^= x;
		g[i] ^= x;
	}
}

/* X25519(priv, 9): the Montgomery ladder of RFC 7748 section 5. */
void wg_uapi_public_from_private(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	uint8_t k[32], base[32] = { 9 };
	fe x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb;
	uint64_t swap = 0;

	memcpy(k, priv, 32);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	fe_frombytes(x1, base);
	memset(x2, 0, sizeof(fe));
	x2[0] = 1;
	memset(z2, 0, sizeof(fe));
	memcpy(x3, x1, sizeof(fe));
	memset(z3, 0, sizeof(fe));
	z3[0] = 1;
	for (int t = 254; t >= 0; t--) {
		uint64_t kt = (k[t / 8] >> (t % 8)) & 1;

		swap ^= kt;
		fe_cswap(x2, x3, swap);
		fe_cswap(z2, z3, swap);
		swap = kt;
		fe_add(a, x2, z2);
		fe_mul(aa, a, a);
		fe_sub(b, x2, z2);
		fe_mul(bb, b, b);
		fe_sub(e, aa, bb);
		fe_add(c, x3, z3);
		fe_sub(d, x3, z3);
		fe_mul(da, d, a);
		fe_mul(cb, c, b);
		fe_add(x3, da, cb);
		fe_mul(x3, x3, x3);
		fe_sub(z3, da, cb);
		fe_mul(z3, z3, z3);
		fe_mul(z3, z3, x1);
		fe_mul(x2, aa, bb);
		fe_mul_small(z2, e, 121665);
		fe_add(z2, z2, aa);
		fe_mul(z2, z2, e);
	}
	fe_cswap(x2, x3, swap);
	fe_cswap(z2, z3, swap);
	fe_invert(z2, z2);
	fe_mul(x2, x2, z2);
	fe_tobytes(pub, x2);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(x2, sizeof(fe));
	explicit_bzero(z2, sizeof(fe));
	explicit_bzero(x3, sizeof(fe));
	explicit_bzero(z3, sizeof(fe));
	explicit_bzero(a, sizeof(fe));
	explicit_bzero(aa, sizeof(fe));
	explicit_bzero(b, sizeof(fe));
	explicit_bzero(bb, sizeof(fe));
	explicit_bzero(e, sizeof(fe));
	explicit_bzero(c, sizeof(fe));
	explicit_bzero(d, sizeof(fe));
	explicit_bzero(da, sizeof(fe));
	explicit_bzero(cb, sizeof(fe));
}

/* Parse an unsigned decimal number (digits only) no larger than max. */
static int uapi_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EBADMSG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EBADMSG;
		unsigned int digit = (unsigned int)(*s - '0');
		if (v > (max - digit) / 10)
			return -EBADMSG;
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

/* Parse "ip:port", "[ipv6]:port" or "[ipv6%zone]:port" as wireguard-go prints endpoints. */
static int uapi_parse_endpoint(const char *s, union sockaddr_any *out)
{
	const char *pct = strchr(s, '%');
	char tmp[ADDR_STRLEN];
	uint32_t scope = 0;

	if (!pct)
		return addr_parse(s, -1, out) == 0 ? 0 : -EBADMSG;
	/* A zone: parse the address without it, then set the scope id. */
	const char *close = strchr(pct, ']');
	size_t head = (size_t)(pct - s), zone_len;
	char zone[IFNAMSIZ];

	if (s[0] != '[' || !close || head + strlen(close) >= sizeof(tmp))
		return -EBADMSG;
	zone_len = (size_t)(close - pct - 1);
	if (zone_len == 0 || zone_len >= sizeof(zone))
		return -EBADMSG;
	memcpy(zone, pct + 1, zone_len);
	zone[zone_len] = '\0';
	memcpy(tmp, s, head);
	memcpy(tmp + head, close, strlen(close) + 1);
	if (addr_parse(tmp, -1, out) < 0 || out->sa.sa_family != AF_INET6)
		return -EBADMSG;
	uint64_t v;
	if (uapi_parse_u64(zone, UINT32_MAX, &v) == 0)
		scope = (uint32_t)v;
	else
		scope = if_nametoindex(zone);
	out->in6.sin6_scope_id = scope;
	return 0;
}

/* True when the key of klen bytes is s (lengths first: most keys differ in length). */
static inline bool key_is(const char *key, size_t klen, const char *s)
{
	size_t n = strlen(s);

	return klen == n && memcmp(key, s, n) == 0;
}

/* Handle a "key=value" line inside a peer section. */
static int uapi_parse_peer_line(struct wg_uapi_parser *p, const char *key, size_t klen, char *value)
{
	struct wg_peer *peer = &p->dev->peers[p->dev->n_peers - 1];
	uint64_t v;
	int ret = 0;

	if (key_is(key, klen, "preshared_key")) {
		explicit_bzero(value, strlen(value));
	} else if (key_is(key, klen, "endpoint")) {
		ret = uapi_parse_endpoint(value, &peer->endpoint);
	} else if (key_is(key, klen, "last_handshake_time_sec")) {
		if ((ret = uapi_parse_u64(value, INT64_MAX, &v)) == 0)
			peer->last_handshake_sec = (int64_t)v;
	} else if (key_is(key, klen, "last_handshake_time_nsec")) {
		if ((ret = uapi_parse_u64(value, INT64_MAX, &v)) == 0)
			peer->last_handshake_nsec = (int64_t)v;
	} else if (key_is(key, klen, "tx_bytes")) {
		ret = uapi_parse_u64(value, UINT64_MAX, &peer->tx_bytes);
	} else if (key_is(key, klen, "rx_bytes")) {
		ret = uapi_parse_u64(value, UINT64_MAX, &peer->rx_bytes);
	} else if (key_is(key, klen, "persistent_keepalive_interval")) {
		if ((ret = uapi_parse_u64(value, UINT16_MAX, &v)) == 0)
			peer->persistent_keepalive = (uint16_t)v;
	} else if (key_is(key, klen, "allowed_ip")) {
		struct cidr c;
		if (cidr_parse(value, true, &c) < 0)
			return -EBADMSG;
		ret = wg_peer_add_allowed_ip(peer, &c);
	} else if (key_is(key, klen, "protocol_version")) {
		ret = uapi_parse_u64(value, UINT32_MAX, &v);
	}
	/* Unknown keys are newer protocol additions: ignored. */
	return ret;
}

/* Handle one complete line (NUL-terminated at len, newline removed). */
static int uapi_parse_line(struct wg_uapi_parser *p, char *line, size_t len)
{
	uint8_t key[WG_KEY_LEN];
	uint64_t v;
	int ret = 0;

	if (len == 0) {
		if (!p->have_errno)
			return -EBADMSG;
		p->done = true;
		return p->err ? p->err : WG_UAPI_DONE;
	}
	char *eq = memchr(line, '=', len);
	if (!eq || eq == line || p->have_errno)
		return -EBADMSG;
	*eq = '\0';
	size_t klen = (size_t)(eq - line);
	char *value = eq + 1;
	if (key_is(line, klen, "errno")) {
		if (uapi_parse_u64(value, INT32_MAX, &v) < 0)
			return -EBADMSG;
		p->have_errno = true;
		p->err = -(int)v;
		return WG_UAPI_MORE;
	}
	if (!p->dev)
		return -EBADMSG;
	if (key_is(line, klen, "private_key")) {
		ret = key_from_hex(value, strlen(value), key) < 0 ? -EBADMSG : 0;
		explicit_bzero(value, strlen(value));
		if (ret == 0) {
			p->dev->has_public_key = !key_is_zero(key);
			if (p->dev->has_public_key)
				wg_uapi_public_from_private(p->dev->public_key, key);
		}
		explicit_bzero(key, sizeof(key));
	} else if (key_is(line, klen, "listen_port")) {
		if ((ret = uapi_parse_u64(value, UINT16_MAX, &v)) == 0)
			p->dev->listen_port = (uint16_t)v;
	} else if (key_is(line, klen, "fwmark")) {
		if ((ret = uapi_parse_u64(value, UINT32_MAX, &v)) == 0)
			p->dev->fwmark = (uint32_t)v;
	} else if (key_is(line, klen, "public_key")) {
		struct wg_peer *peer;
		if (key_from_hex(value, strlen(value), key) < 0)
			return -EBADMSG;
		if (!(peer = wg_device_add_peer(p->dev)))
			return -ENOMEM;
		memcpy(peer->public_key, key, WG_KEY_LEN);
		p->in_peer = true;
	} else if (p->in_peer) {
		ret = uapi_parse_peer_line(p, line, klen, value);
	} else if (key_is(line, klen, "preshared_key") || key_is(line, klen, "endpoint") ||
		   key_is(line, klen, "allowed_ip")) {
		/* A peer attribute before any public_key line. */
		explicit_bzero(value, strlen(value));
		ret = -EBADMSG;
	}
	return ret < 0 ? ret : WG_UAPI_MORE;
}

/* Start a parser. */
void wg_uapi_parser_init(struct wg_uapi_parser *p, struct wg_device *dev)
{
	memset(p, 0, sizeof(*p));
	p->dev = dev;
}

/* Zero the carried line. */
void wg_uapi_parser_clear(struct wg_uapi_parser *p)
{
	explicit_bzero(p->line, sizeof(p->line));
	p->line_len = 0;
}

/* Feed bytes: complete lines are parsed where they lie, only a line split across feeds is copied. */
int wg_uapi_parser_feed(struct wg_uapi_parser *p, char *data, size_t len, size_t *used)
{
	size_t pos = 0;
	int ret = WG_UAPI_MORE;

	if (p->done) {
		*used = 0;
		return p->err ? p->err : WG_UAPI_DONE;
	}
	while (pos < len && ret == WG_UAPI_MORE) {
		char *start = data + pos;
		char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		if (p->line_len + n >= WG_UAPI_LINE_MAX) {
			ret = -EBADMSG;
			break;
		}
		/* A carried line is copied and wiped from data: it may hold a key. */
		if (!nl) {
			memcpy(p->line + p->line_len, start, n);
			explicit_bzero(start, n);
			p->line_len += n;
			pos = len;
			break;
		}
		if (p->line_len) {
			memcpy(p->line + p->line_len, start, n);
			explicit_bzero(start, n);
			p->line_len += n;
			p->line[p->line_len] = '\0';
			ret = uapi_parse_line(p, p->line, p->line_len);
			wg_uapi_parser_clear(p);
		} else {
			*nl = '\0';
			ret = uapi_parse_line(p, start, n);
		}
		pos += n + 1;
	}
	if (ret < 0)
		wg_uapi_parser_clear(p);
	*used = pos;
	return ret;
}

/* Check the end of input. */
int wg_uapi_parser_finish(const struct wg_uapi_parser *p)
{
	if (!p->done)
		return -EBADMSG;
	return p->err ? p->err : 0;
}

/* "get=1" and the blank line ending the request. */
void wg_uapi_build_get(struct strbuf *sb)
{
	strbuf_puts(sb, "get=1\n\n");
}

/*
 * "set=1" for one peer. The flag line (update_only, remove) follows
 * public_key directly; a creation replaces the allowed IPs before listing
 * them.
 */
void wg_uapi_build_set_peer(struct strbuf *sb, const struct wg_peer_update *update)
{
	char hex[KEY_HEX_LEN + 1], ep[ADDR_STRLEN], ip[CIDR_STRLEN];

	key_to_hex(update->public_key, hex);
	strbuf_printf(sb, "set=1\npublic_key=%s\n", hex);
	if (update->change == WG_PEER_REMOVE) {
		strbuf_puts(sb, "remove=true\n\n");
		return;
	}
	if (update->change == WG_PEER_CREATE)
		strbuf_puts(sb, "replace_allowed_ips=true\n");
	else
		strbuf_puts(sb, "update_only=true\n");
	if (update->endpoint.sa.sa_family == AF_INET || update->endpoint.sa.sa_family == AF_INET6)
		strbuf_printf(sb, "endpoint=%s\n", addr_format(&update->endpoint, ep, sizeof(ep)));
	if (update->persistent_keepalive >= 0)
		strbuf_printf(sb, "persistent_keepalive_interval=%d\n", update->persistent_keepalive);
	if (update->change == WG_PEER_CREATE)
		for (size_t i = 0; i < update->n_allowed_ips; i++)
			strbuf_printf(sb, "allowed_ip=%s\n", cidr_format(&update->allowed_ips[i], ip, sizeof(ip)));
	strbuf_puts(sb, "\n");
}

/* Socket directory. */
const char *wg_uapi_dir(void)
{
	const char *dir = getenv("WGSD_UAPI_DIR");

	return dir && *dir ? dir : WG_UAPI_DIR_DEFAULT;
}

/* DIR/ifname.sock */
int wg_uapi_socket_path(const char *ifname, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.sock", wg_uapi_dir(), ifname);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Does the socket file exist? */
bool wg_uapi_socket_exists(const char *ifname)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (wg_uapi_socket_path(ifname, path, sizeof(path)) < 0)
		return false;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

struct wg_uapi_op {
	struct event_base *base;
	int fd;
	struct event *wev;
	struct event *rev;
	struct event *retry;
	struct sockaddr_un sun;
	struct strbuf req;
	size_t req_off;
	struct wg_uapi_parser parser;
	struct wg_device *dev;           /* NULL for a set */
	wg_uapi_done_cb cb;
	void *arg;
};

/* Close the socket and its events. */
static void uapi_op_close(struct wg_uapi_op *op)
{
	if (op->wev)
		event_free(op->wev);
	if (op->rev)
		event_free(op->rev);
	op->wev = op->rev = NULL;
	if (op->fd >= 0)
		close(op->fd);
	op->fd = -1;
}

/* Free an operation. */
void wg_uapi_cancel(struct wg_uapi_op *op)
{
	if (!op)
		return;
	uapi_op_close(op);
	if (op->retry)
		event_free(op->retry);
	wg_uapi_parser_clear(&op->parser);
	strbuf_free(&op->req);
	wg_device_free(op->dev);
	free(op);
}

/* Free op, then report (the callback may free everything around it). */
static void uapi_op_finish(struct wg_uapi_op *op, int err)
{
	wg_uapi_done_cb cb = op->cb;
	void *arg = op->arg;
	struct wg_device *dev = NULL;

	if (err == 0) {
		dev = op->dev;
		op->dev = NULL;
	}
	wg_uapi_cancel(op);
	cb(err, dev, arg);
}

/* Read what is available (up to one batch) and feed the parser. */
static void uapi_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wg_uapi_op *op = arg;
	char buf[UAPI_READ_CHUNK_LEN];
	size_t total = 0, used;
	int ret = WG_UAPI_MORE;

	while (total < UAPI_READ_BATCH_LEN) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = wg_uapi_parser_finish(&op->parser);
			if (ret == 0)
				ret = WG_UAPI_DONE;
			break;
		}
		total += (size_t)n;
		ret = wg_uapi_parser_feed(&op->parser, buf, (size_t)n, &used);
		explicit_bzero(buf, (size_t)n);
		if (ret != WG_UAPI_MORE)
			break;
	}
	if (ret == WG_UAPI_MORE)
		return;   /* batch done: let other events run, the read event fires again */
	uapi_op_finish(op, ret == WG_UAPI_DONE ? 0 : ret);
}

/* Write the request; once it is all out, wait for the reply. */
static void uapi_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wg_uapi_op *op = arg;

	while (op->req_off < op->req.len) {
		ssize_t n = send(fd, op->req.data + op->req_off, op->req.len - op->req_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			/* A connect still in progress fails here with its real error. */
			uapi_op_finish(op, errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -errno);
			return;
		}
		op->req_off += (size_t)n;
	}
	event_del(op->wev);
	if (event_add(op->rev, NULL) < 0)
		uapi_op_finish(op, -ENOMEM);
}

/* Open a socket and connect; 0 (connected or in progress), -EAGAIN (retry later) or -errno. */
static int uapi_connect(struct wg_uapi_op *op)
{
	int err = 0;

	op->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (op->fd < 0)
		return -errno;
	if (connect(op->fd, (struct sockaddr *)&op->sun, sizeof(op->sun)) < 0 && errno != EINPROGRESS) {
		/* ENOENT: no socket; ECONNREFUSED: a stale socket whose daemon is gone. */
		err = (errno == ENOENT || errno == ECONNREFUSED) ? -ENODEV : -errno;
		goto out;
	}
	op->wev = event_new(op->base, op->fd, EV_WRITE | EV_PERSIST, uapi_write_cb, op);
	op->rev = event_new(op->base, op->fd, EV_READ | EV_PERSIST, uapi_read_cb, op);
	if (!op->wev || !op->rev || event_add(op->wev, NULL) < 0) {
		err = -ENOMEM;
		goto out;
	}
out:
	if (err)
		uapi_op_close(op);
	return err;
}

/* The listener's backlog was full: try again. */
static void uapi_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wg_uapi_op *op = arg;
	int err = uapi_connect(op);

	if (err == -EAGAIN) {
		struct timeval tv = { 0, UAPI_CONNECT_RETRY_MS * 1000 };
		evtimer_add(op->retry, &tv);
	} else if (err) {
		uapi_op_finish(op, err);
	}
}

/* Common start of a get or set. */
static struct wg_uapi_op *uapi_start(struct event_base *base, const char *ifname,
				     const struct wg_peer_update *update, wg_uapi_done_cb cb, void *arg)
{
	struct wg_uapi_op *op = calloc(1, sizeof(*op));
	int err = 0;

	if (!op) {
		errno = ENOMEM;
		return NULL;
	}
	op->base = base;
	op->fd = -1;
	op->cb = cb;
	op->arg = arg;
	op->sun.sun_family = AF_UNIX;
	if ((err = wg_uapi_socket_path(ifname, op->sun.sun_path, sizeof(op->sun.sun_path))) < 0)
		goto out;
	if (update) {
		wg_uapi_build_set_peer(&op->req, update);
		wg_uapi_parser_init(&op->parser, NULL);
	} else {
		wg_uapi_build_get(&op->req);
		if (!(op->dev = wg_device_new())) {
			err = -ENOMEM;
			goto out;
		}
		snprintf(op->dev->name, sizeof(op->dev->name), "%s", ifname);
		wg_uapi_parser_init(&op->parser, op->dev);
	}
	if (op->req.oom) {
		err = -ENOMEM;
		goto out;
	}
	err = uapi_connect(op);
	if (err == -EAGAIN) {
		struct timeval tv = { 0, UAPI_CONNECT_RETRY_MS * 1000 };
		op->retry = evtimer_new(base, uapi_retry_cb, op);
		err = op->retry ? evtimer_add(op->retry, &tv) < 0 ? -ENOMEM : 0 : -ENOMEM;
	}
out:
	if (err) {
		wg_uapi_cancel(op);
		errno = -err;
		return NULL;
	}
	return op;
}

/* Start a device read. */
struct wg_uapi_op *wg_uapi_get(struct event_base *base, const char *ifname, wg_uapi_done_cb cb,
			       void *arg)
{
	return uapi_start(base, ifname, NULL, cb, arg);
}

/* Start a peer update. */
struct wg_uapi_op *wg_uapi_set_peer(struct event_base *base, const char *ifname,
				    const struct wg_peer_update *update, wg_uapi_done_cb cb, void *arg)
{
	return uapi_start(base, ifname, update, cb, arg);
}
