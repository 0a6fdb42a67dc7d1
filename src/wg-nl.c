/* SPDX-License-Identifier: MIT */
/* Kernel WireGuard: generic netlink builders, dump parser/merger, async libmnl glue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "wg-nl.h"

/* Start a generic netlink message in buf. */
static struct nlmsghdr *nl_put_genl(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
				    uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

/* CTRL_CMD_GETFAMILY "wireguard". */
struct nlmsghdr *wg_nl_build_family_req(void *buf, size_t len, uint32_t seq)
{
	struct nlmsghdr *nlh;

	if (len < WG_NL_REQ_BUF_LEN)
		return NULL;
	nlh = nl_put_genl(buf, GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	return nlh;
}

/* WG_CMD_GET_DEVICE as a dump (the kernel splits big devices over many messages). */
struct nlmsghdr *wg_nl_build_get(void *buf, size_t len, uint16_t family, uint32_t seq,
				 const char *ifname)
{
	struct nlmsghdr *nlh;

	if (len < WG_NL_REQ_BUF_LEN || strlen(ifname) >= IFNAMSIZ)
		return NULL;
	nlh = nl_put_genl(buf, family, NLM_F_REQUEST | NLM_F_DUMP, seq, WG_CMD_GET_DEVICE,
			  WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	return nlh;
}

/* Room one allowed IP takes in a request: nest, family, address, mask. */
#define NL_ALLOWEDIP_LEN (MNL_ATTR_HDRLEN + MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(uint16_t)) + \
			  MNL_ALIGN(MNL_ATTR_HDRLEN + 16) + MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(uint8_t)))

/* Append one allowed IP as a WGPEER_A_ALLOWEDIPS element. */
static void nl_put_allowed_ip(struct nlmsghdr *nlh, const struct cidr *c)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, 0);

	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, c->family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, c->family == AF_INET ? 4 : 16, c->addr);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, c->prefix);
	mnl_attr_nest_end(nlh, nest);
}

/*
 * WG_CMD_SET_DEVICE for one peer: WGPEER_F_UPDATE_ONLY for an update,
 * WGPEER_F_REPLACE_ALLOWEDIPS with the allowed IPs for a creation,
 * WGPEER_F_REMOVE_ME alone for a removal.
 */
struct nlmsghdr *wg_nl_build_set_peer(void *buf, size_t len, uint16_t family, uint32_t seq,
				      const char *ifname, const struct wg_peer_update *update)
{
	struct nlattr *peers, *peer, *ips;
	struct nlmsghdr *nlh;
	uint32_t flags;
	size_t n_ips = update->change == WG_PEER_CREATE ? update->n_allowed_ips : 0;

	if (len < WG_NL_REQ_BUF_LEN || strlen(ifname) >= IFNAMSIZ)
		return NULL;
	/* The fixed part fits WG_NL_REQ_BUF_LEN; the allowed IPs need their own room. */
	if (n_ips > (SIZE_MAX - WG_NL_REQ_BUF_LEN) / NL_ALLOWEDIP_LEN ||
	    len < WG_NL_REQ_BUF_LEN + n_ips * NL_ALLOWEDIP_LEN)
		return NULL;
	nlh = nl_put_genl(buf, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE,
			  WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, update->public_key);
	switch (update->change) {
	case WG_PEER_REMOVE:
		flags = WGPEER_F_REMOVE_ME;
		break;
	case WG_PEER_CREATE:
		flags = WGPEER_F_REPLACE_ALLOWEDIPS;
		break;
	case WG_PEER_UPDATE:
	default:
		flags = WGPEER_F_UPDATE_ONLY;
		break;
	}
	mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, flags);
	if (update->change != WG_PEER_REMOVE) {
		if (update->endpoint.sa.sa_family == AF_INET)
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(update->endpoint.in), &update->endpoint.in);
		else if (update->endpoint.sa.sa_family == AF_INET6)
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(update->endpoint.in6), &update->endpoint.in6);
		if (update->persistent_keepalive >= 0)
			mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
					 (uint16_t)update->persistent_keepalive);
	}
	if (n_ips) {
		ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (size_t i = 0; i < n_ips; i++)
			nl_put_allowed_ip(nlh, &update->allowed_ips[i]);
		mnl_attr_nest_end(nlh, ips);
	}
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return nlh;
}

/* Step through the messages of one received datagram. */
int wg_nl_msg_next(void *buf, size_t len, size_t *off, struct nlmsghdr **out)
{
	struct nlmsghdr *nlh;

	if (*off >= len)
		return 0;
	if (len - *off < sizeof(*nlh))
		return -EBADMSG;
	nlh = (struct nlmsghdr *)((uint8_t *)buf + *off);
	/* Unsigned comparison: libmnl's mnl_nlmsg_ok() lets nlmsg_len >= 2^31 through. */
	if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - *off)
		return -EBADMSG;
	*off += NLMSG_ALIGN(nlh->nlmsg_len);
	*out = nlh;
	return 1;
}

/* Error code of an NLMSG_ERROR message (0 is an acknowledgement), or -EBADMSG if too short or no errno. */
static int nl_error_code(const struct nlmsghdr *nlh)
{
	int code;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return -EBADMSG;
	memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
	/* An errno value, or the message is malformed: a caller's strerror(-code) must not overflow. */
	if (code < -4095 || code > 4095)
		return -EBADMSG;
	return code > 0 ? -code : code;
}

/*
 * Step to the next attribute in [base, base + len). Returns 1 with *out set,
 * 0 at the end, or -EBADMSG when an attribute header or its length runs
 * past the end (a truncated attribute).
 */
static int nl_attr_next(void *base, size_t len, size_t *off, struct nlattr **out)
{
	struct nlattr *a;

	if (*off >= len)
		return 0;
	if (len - *off < sizeof(struct nlattr))
		return -EBADMSG;
	a = (struct nlattr *)((uint8_t *)base + *off);
	if (a->nla_len < sizeof(struct nlattr) || a->nla_len > len - *off)
		return -EBADMSG;
	*off += MNL_ALIGN(a->nla_len);
	*out = a;
	return 1;
}

/* Iterate over the attributes in a payload; body sees `attr`; a truncated attribute sets err. */
#define NL_FOR_EACH_ATTR(attr, base, len, off, ret) \
	for ((off) = 0; ((ret) = nl_attr_next((base), (len), &(off), &(attr))) == 1;)

/* Payload of a nested attribute. */
static void *nl_nest_payload(struct nlattr *a, size_t *len)
{
	*len = mnl_attr_get_payload_len(a);
	return mnl_attr_get_payload(a);
}

/* Feed a reply to the family request. */
int wg_nl_family_feed(const struct nlmsghdr *nlh, uint32_t seq, uint16_t *id)
{
	struct nlattr *attr;
	size_t off, len;
	int ret, code;

	if (nlh->nlmsg_seq != seq)
		return WG_NL_MORE;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		code = nl_error_code(nlh);
		/* ENOENT: the kernel has no such family (module missing or not loadable). */
		if (code == -ENOENT)
			return -EPROTONOSUPPORT;
		return code ? code : WG_NL_MORE;
	}
	if (nlh->nlmsg_type == NLMSG_DONE)
		return -EPROTONOSUPPORT;
	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return nlh->nlmsg_type < NLMSG_MIN_TYPE ? WG_NL_MORE : -EBADMSG;
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -EBADMSG;
	void *base = (uint8_t *)mnl_nlmsg_get_payload(nlh) + GENL_HDRLEN;
	len = mnl_nlmsg_get_payload_len(nlh) - GENL_HDRLEN;
	NL_FOR_EACH_ATTR(attr, base, len, off, ret) {
		if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID) {
			if (mnl_attr_get_payload_len(attr) != sizeof(uint16_t))
				return -EBADMSG;
			*id = mnl_attr_get_u16(attr);
			return *id ? WG_NL_DONE : -EBADMSG;
		}
	}
	return ret < 0 ? ret : -EBADMSG;
}

/* Feed a reply to a request sent with NLM_F_ACK. */
int wg_nl_ack_feed(const struct nlmsghdr *nlh, uint32_t seq)
{
	int code;

	if (nlh->nlmsg_seq != seq)
		return WG_NL_MORE;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		code = nl_error_code(nlh);
		return code ? code : WG_NL_DONE;
	}
	if (nlh->nlmsg_type == NLMSG_DONE)
		return WG_NL_DONE;
	return WG_NL_MORE;
}

/* Start a dump. */
int wg_nl_dump_init(struct wg_nl_dump *d, uint16_t family, uint32_t seq)
{
	memset(d, 0, sizeof(*d));
	d->family = family;
	d->seq = seq;
	d->dev = wg_device_new();
	return d->dev ? 0 : -ENOMEM;
}

/* Free the partial device. */
void wg_nl_dump_clear(struct wg_nl_dump *d)
{
	wg_device_free(d->dev);
	d->dev = NULL;
	d->got_device = false;
}

/* Parse one allowed IP nest and append it to peer. */
static int nl_parse_allowed_ip(struct wg_peer *peer, struct nlattr *nest)
{
	bool have_family = false, have_addr = false, have_mask = false;
	struct cidr c = { 0 };
	size_t alen = 0, off, len;
	void *base = nl_nest_payload(nest, &len), *addr = NULL;
	struct nlattr *attr;
	int ret;

	NL_FOR_EACH_ATTR(attr, base, len, off, ret) {
		size_t plen = mnl_attr_get_payload_len(attr);

		switch (mnl_attr_get_type(attr)) {
		case WGALLOWEDIP_A_FAMILY:
			if (plen != sizeof(uint16_t))
				return -EBADMSG;
			c.family = (uint8_t)mnl_attr_get_u16(attr);
			have_family = true;
			break;
		case WGALLOWEDIP_A_IPADDR:
			alen = plen;
			addr = mnl_attr_get_payload(attr);
			have_addr = true;
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			if (plen != sizeof(uint8_t))
				return -EBADMSG;
			c.prefix = mnl_attr_get_u8(attr);
			have_mask = true;
			break;
		default:
			break;
		}
	}
	if (ret < 0)
		return ret;
	if (!have_family || !have_addr || !have_mask)
		return -EBADMSG;
	if (!((c.family == AF_INET && alen == 4 && c.prefix <= 32) ||
	      (c.family == AF_INET6 && alen == 16 && c.prefix <= 128)))
		return -EBADMSG;
	memcpy(c.addr, addr, alen);
	return wg_peer_add_allowed_ip(peer, &c);
}

/* Parse the peer attributes of nest into peer (the public key is already set). */
static int nl_parse_peer_attrs(struct wg_peer *peer, struct nlattr *nest)
{
	struct nlattr *attr, *ip;
	size_t off, len, ioff, ilen;
	void *base = nl_nest_payload(nest, &len), *ibase;
	int ret, iret;

	NL_FOR_EACH_ATTR(attr, base, len, off, ret) {
		size_t plen = mnl_attr_get_payload_len(attr);
		void *pl = mnl_attr_get_payload(attr);

		switch (mnl_attr_get_type(attr)) {
		case WGPEER_A_PRESHARED_KEY:
			explicit_bzero(pl, plen);
			break;
		case WGPEER_A_ENDPOINT: {
			sa_family_t fam;
			if (plen < sizeof(fam))
				return -EBADMSG;
			memcpy(&fam, pl, sizeof(fam));
			memset(&peer->endpoint, 0, sizeof(peer->endpoint));
			if (fam == AF_INET && plen == sizeof(struct sockaddr_in))
				memcpy(&peer->endpoint.in, pl, plen);
			else if (fam == AF_INET6 && plen == sizeof(struct sockaddr_in6))
				memcpy(&peer->endpoint.in6, pl, plen);
			else
				return -EBADMSG;
			break;
		}
		case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
			if (plen != sizeof(uint16_t))
				return -EBADMSG;
			peer->persistent_keepalive = mnl_attr_get_u16(attr);
			break;
		case WGPEER_A_LAST_HANDSHAKE_TIME: {
			int64_t ts[2];   /* struct __kernel_timespec */
			if (plen != sizeof(ts))
				return -EBADMSG;
			memcpy(ts, pl, sizeof(ts));
			peer->last_handshake_sec = ts[0];
			peer->last_handshake_nsec = ts[1];
			break;
		}
		case WGPEER_A_RX_BYTES:
			if (plen != sizeof(uint64_t))
				return -EBADMSG;
			peer->rx_bytes = mnl_attr_get_u64(attr);
			break;
		case WGPEER_A_TX_BYTES:
			if (plen != sizeof(uint64_t))
				return -EBADMSG;
			peer->tx_bytes = mnl_attr_get_u64(attr);
			break;
		case WGPEER_A_ALLOWEDIPS:
			ibase = nl_nest_payload(attr, &ilen);
			NL_FOR_EACH_ATTR(ip, ibase, ilen, ioff, iret) {
				int r = nl_parse_allowed_ip(peer, ip);
				if (r < 0)
					return r;
			}
			if (iret < 0)
				return iret;
			break;
		default:
			/* Public key (already taken), flags, protocol version, and anything newer. */
			break;
		}
	}
	return ret;
}

/*
 * Parse one peer nest. The kernel splits a peer whose allowed IPs do not
 * fit in one message: the next message repeats the peer with only its
 * public key and the remaining allowed IPs. Such a repeat can only follow
 * the peer it continues, so only the last peer is compared.
 */
static int nl_parse_peer(struct wg_device *dev, struct nlattr *nest)
{
	uint8_t key[WG_KEY_LEN];
	bool have_key = false;
	struct nlattr *attr;
	struct wg_peer *peer;
	size_t off, len;
	void *base = nl_nest_payload(nest, &len);
	int ret;

	NL_FOR_EACH_ATTR(attr, base, len, off, ret) {
		if (mnl_attr_get_type(attr) != WGPEER_A_PUBLIC_KEY)
			continue;
		if (mnl_attr_get_payload_len(attr) != WG_KEY_LEN)
			return -EBADMSG;
		memcpy(key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		have_key = true;
	}
	if (ret < 0)
		return ret;
	if (!have_key)
		return -EBADMSG;
	if (dev->n_peers && memcmp(dev->peers[dev->n_peers - 1].public_key, key, WG_KEY_LEN) == 0) {
		peer = &dev->peers[dev->n_peers - 1];
	} else {
		if (!(peer = wg_device_add_peer(dev)))
			return -ENOMEM;
		memcpy(peer->public_key, key, WG_KEY_LEN);
	}
	return nl_parse_peer_attrs(peer, nest);
}

/* Parse the attributes of one device message. */
static int nl_parse_device(struct wg_device *dev, void *base, size_t len)
{
	struct nlattr *attr, *peer;
	size_t off, poff, plist_len;
	void *plist;
	int ret, pret;

	NL_FOR_EACH_ATTR(attr, base, len, off, ret) {
		size_t plen = mnl_attr_get_payload_len(attr);
		void *pl = mnl_attr_get_payload(attr);

		switch (mnl_attr_get_type(attr)) {
		case WGDEVICE_A_IFINDEX:
			if (plen != sizeof(uint32_t))
				return -EBADMSG;
			dev->ifindex = mnl_attr_get_u32(attr);
			break;
		case WGDEVICE_A_IFNAME: {
			size_t n = strnlen(pl, plen);
			if (n == 0 || n == plen || n >= IFNAMSIZ)
				return -EBADMSG;
			memcpy(dev->name, pl, n + 1);
			break;
		}
		case WGDEVICE_A_PRIVATE_KEY:
			/* Never kept: wipe it from the receive buffer. */
			explicit_bzero(pl, plen);
			break;
		case WGDEVICE_A_PUBLIC_KEY:
			if (plen != WG_KEY_LEN)
				return -EBADMSG;
			memcpy(dev->public_key, pl, WG_KEY_LEN);
			dev->has_public_key = true;
			break;
		case WGDEVICE_A_LISTEN_PORT:
			if (plen != sizeof(uint16_t))
				return -EBADMSG;
			dev->listen_port = mnl_attr_get_u16(attr);
			break;
		case WGDEVICE_A_FWMARK:
			if (plen != sizeof(uint32_t))
				return -EBADMSG;
			dev->fwmark = mnl_attr_get_u32(attr);
			break;
		case WGDEVICE_A_PEERS:
			plist = nl_nest_payload(attr, &plist_len);
			NL_FOR_EACH_ATTR(peer, plist, plist_len, poff, pret) {
				int r = nl_parse_peer(dev, peer);
				if (r < 0)
					return r;
			}
			if (pret < 0)
				return pret;
			break;
		default:
			break;
		}
	}
	return ret;
}

/* Feed one message of a device dump. */
int wg_nl_dump_feed(struct wg_nl_dump *d, struct nlmsghdr *nlh)
{
	int ret;

	if (nlh->nlmsg_len < sizeof(*nlh))
		return -EBADMSG;
	if (nlh->nlmsg_seq != d->seq)
		return WG_NL_MORE;   /* left over from an earlier request */
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		return WG_NL_RESTART;
	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return WG_NL_MORE;
	case NLMSG_ERROR:
		ret = nl_error_code(nlh);
		return ret ? ret : WG_NL_MORE;
	case NLMSG_DONE:
		/* The dump's final status; older kernels may send no payload. */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) && (ret = nl_error_code(nlh)) < 0)
			return ret;
		return d->got_device ? WG_NL_DONE : -EBADMSG;
	default:
		break;
	}
	if (nlh->nlmsg_type != d->family || mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -EBADMSG;
	struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	if (genl->cmd != WG_CMD_GET_DEVICE)
		return -EBADMSG;
	d->got_device = true;
	ret = nl_parse_device(d->dev, (uint8_t *)genl + GENL_HDRLEN,
			      mnl_nlmsg_get_payload_len(nlh) - GENL_HDRLEN);
	return ret < 0 ? ret : WG_NL_MORE;
}

struct wg_nl_op {
	TAILQ_ENTRY(wg_nl_op) entry;
	struct wg_nl *nl;
	bool is_set;
	bool resolving;           /* waiting for the family id */
	bool family_retried;      /* the cached family id was already refreshed once */
	char ifname[IFNAMSIZ];
	struct wg_peer_update update;
	struct cidr *allowed_ips;   /* the op's own copy of update.allowed_ips */
	struct wg_nl_dump dump;
	uint32_t seq;
	wg_nl_done_cb cb;
	void *arg;
};

struct wg_nl {
	struct event_base *base;
	struct mnl_socket *sock;
	struct event *rev;
	struct event *kick;       /* starts the next queued operation from the loop */
	uint16_t family;          /* 0: not resolved yet */
	uint32_t seq;
	uint32_t portid;
	TAILQ_HEAD(, wg_nl_op) queue;
	struct wg_nl_op *cur;     /* the operation on the wire */
	uint8_t *buf;             /* WG_NL_RECV_BUF_LEN bytes, for requests and replies */
};

/* What the read callback does once the current datagram is processed. */
enum nl_action { NL_CONTINUE, NL_STOP, NL_FINISH };

struct nl_result {
	enum nl_action action;
	int err;
	struct wg_device *dev;
	bool reset;               /* close the socket (a reply may still be in flight) */
};

/* Close the socket; the next operation opens a new one. */
static void nl_sock_close(struct wg_nl *nl)
{
	if (nl->rev)
		event_free(nl->rev);
	nl->rev = NULL;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* Read callback, declared for nl_sock_open. */
static void nl_read_cb(evutil_socket_t fd, short what, void *arg);

/* Open and bind a non-blocking generic netlink socket watched for reading. */
static int nl_sock_open(struct wg_nl *nl)
{
	int err = 0, one = 1;

	nl->sock = mnl_socket_open2(NETLINK_GENERIC, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	/* Errors need not echo our request back. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->rev = event_new(nl->base, mnl_socket_get_fd(nl->sock), EV_READ | EV_PERSIST, nl_read_cb, nl);
	if (!nl->rev || event_add(nl->rev, NULL) < 0)
		err = -ENOMEM;
out:
	if (err)
		nl_sock_close(nl);
	return err;
}

/* Send the current operation's next request (family lookup, dump or set). */
static int nl_send(struct wg_nl *nl)
{
	struct wg_nl_op *op = nl->cur;
	struct nlmsghdr *nlh;
	int err;

	if (!nl->sock && (err = nl_sock_open(nl)) < 0)
		return err;
	op->seq = ++nl->seq;
	if (op->seq == 0)
		op->seq = ++nl->seq;
	op->resolving = nl->family == 0;
	if (op->resolving) {
		nlh = wg_nl_build_family_req(nl->buf, WG_NL_RECV_BUF_LEN, op->seq);
	} else if (op->is_set) {
		nlh = wg_nl_build_set_peer(nl->buf, WG_NL_RECV_BUF_LEN, nl->family, op->seq, op->ifname,
					   &op->update);
	} else {
		wg_nl_dump_clear(&op->dump);
		if ((err = wg_nl_dump_init(&op->dump, nl->family, op->seq)) < 0)
			return err;
		nlh = wg_nl_build_get(nl->buf, WG_NL_RECV_BUF_LEN, nl->family, op->seq, op->ifname);
	}
	if (!nlh)
		return -EINVAL;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		nl_sock_close(nl);
		return err;
	}
	return 0;
}

/* Free an operation's memory. */
static void nl_op_free(struct wg_nl_op *op)
{
	wg_nl_dump_clear(&op->dump);
	free(op->allowed_ips);
	explicit_bzero(op, sizeof(*op));
	free(op);
}

/* End the current operation and report; nothing of nl is touched after the callback. */
static void nl_finish(struct wg_nl *nl, int err, struct wg_device *dev, bool reset)
{
	struct wg_nl_op *op = nl->cur;
	wg_nl_done_cb cb = op->cb;
	void *arg = op->arg;

	nl->cur = NULL;
	if (reset)
		nl_sock_close(nl);
	if (!TAILQ_EMPTY(&nl->queue))
		event_active(nl->kick, EV_TIMEOUT, 0);
	nl_op_free(op);
	cb(err, dev, arg);
}

/* Start the next queued operation. */
static void nl_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wg_nl *nl = arg;
	int err;

	if (nl->cur || TAILQ_EMPTY(&nl->queue))
		return;
	nl->cur = TAILQ_FIRST(&nl->queue);
	TAILQ_REMOVE(&nl->queue, nl->cur, entry);
	if ((err = nl_send(nl)) < 0)
		nl_finish(nl, err, NULL, false);
}

/* The kernel reported err for a request: refresh a vanished family once, else finish. */
static void nl_request_failed(struct wg_nl *nl, int err, struct nl_result *r)
{
	struct wg_nl_op *op = nl->cur;

	/* ENOENT for a request to a cached id: the family went away (module reloaded). */
	if (err == -ENOENT && !op->family_retried) {
		op->family_retried = true;
		nl->family = 0;
		err = nl_send(nl);
		if (err == 0) {
			r->action = NL_STOP;
			return;
		}
	}
	r->action = NL_FINISH;
	r->err = err;
	r->reset = true;
}

/* Process one datagram for the current operation. */
static void nl_process(struct wg_nl *nl, size_t n, struct nl_result *r)
{
	struct wg_nl_op *op = nl->cur;
	struct nlmsghdr *nlh;
	size_t off = 0;
	int ret = WG_NL_MORE, step;
	uint16_t id = 0;

	while ((step = wg_nl_msg_next(nl->buf, n, &off, &nlh)) == 1) {
		if (nlh->nlmsg_pid != nl->portid && nlh->nlmsg_pid != 0)
			continue;
		if (op->resolving)
			ret = wg_nl_family_feed(nlh, op->seq, &id);
		else if (op->is_set)
			ret = wg_nl_ack_feed(nlh, op->seq);
		else
			ret = wg_nl_dump_feed(&op->dump, nlh);
		if (ret != WG_NL_MORE)
			break;
	}
	if (ret == WG_NL_MORE && step < 0)
		ret = step;   /* a message running past the datagram */
	if (ret == WG_NL_MORE)
		return;
	if (ret < 0) {
		if (op->resolving) {
			r->action = NL_FINISH;
			r->err = ret;
			r->reset = true;
		} else {
			nl_request_failed(nl, ret, r);
		}
		return;
	}
	if (ret == WG_NL_RESTART) {
		/* The device changed during the dump: drop the socket (and the rest of the dump), ask again. */
		nl_sock_close(nl);
		ret = nl_send(nl);
		if (ret == 0) {
			r->action = NL_STOP;
		} else {
			r->action = NL_FINISH;
			r->err = ret;
		}
		return;
	}
	/* WG_NL_DONE */
	if (op->resolving) {
		nl->family = id;
		ret = nl_send(nl);
		if (ret == 0) {
			r->action = NL_STOP;
		} else {
			r->action = NL_FINISH;
			r->err = ret;
			r->reset = true;
		}
		return;
	}
	r->action = NL_FINISH;
	r->err = 0;
	if (!op->is_set) {
		r->dev = op->dump.dev;
		op->dump.dev = NULL;
	}
}

/* Read up to a batch of datagrams; the callback of a finished operation runs last. */
static void nl_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wg_nl *nl = arg;
	struct nl_result r = { NL_CONTINUE, 0, NULL, false };

	for (int i = 0; i < WG_NL_READ_BATCH && r.action == NL_CONTINUE; i++) {
		ssize_t n = recv(fd, nl->buf, WG_NL_RECV_BUF_LEN, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 || n == 0) {
			r = (struct nl_result){ NL_FINISH, n < 0 ? -errno : -EBADMSG, NULL, true };
			break;
		}
		if (nl->cur)
			nl_process(nl, (size_t)n, &r);
		explicit_bzero(nl->buf, (size_t)n);
	}
	if (r.action != NL_FINISH)
		return;
	if (nl->cur)
		nl_finish(nl, r.err, r.dev, r.reset);
	else
		nl_sock_close(nl);
}

/* Create the netlink side. */
struct wg_nl *wg_nl_new(struct event_base *base)
{
	struct wg_nl *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return NULL;
	nl->base = base;
	TAILQ_INIT(&nl->queue);
	nl->seq = (uint32_t)time(NULL);
	nl->buf = calloc(1, WG_NL_RECV_BUF_LEN);
	nl->kick = event_new(base, -1, 0, nl_kick_cb, nl);
	if (!nl->buf || !nl->kick) {
		wg_nl_free(nl);
		return NULL;
	}
	return nl;
}

/* Free everything without calling back. */
void wg_nl_free(struct wg_nl *nl)
{
	struct wg_nl_op *op;

	if (!nl)
		return;
	if (nl->cur)
		nl_op_free(nl->cur);
	while ((op = TAILQ_FIRST(&nl->queue))) {
		TAILQ_REMOVE(&nl->queue, op, entry);
		nl_op_free(op);
	}
	nl_sock_close(nl);
	if (nl->kick)
		event_free(nl->kick);
	if (nl->buf)
		explicit_bzero(nl->buf, WG_NL_RECV_BUF_LEN);
	free(nl->buf);
	free(nl);
}

/* Queue an operation and make sure the queue moves. */
static struct wg_nl_op *nl_submit(struct wg_nl *nl, const char *ifname,
				  const struct wg_peer_update *update, wg_nl_done_cb cb, void *arg)
{
	struct wg_nl_op *op;

	if (strlen(ifname) >= IFNAMSIZ) {
		errno = EINVAL;
		return NULL;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		errno = ENOMEM;
		return NULL;
	}
	op->nl = nl;
	memcpy(op->ifname, ifname, strlen(ifname) + 1);
	if (update) {
		op->is_set = true;
		op->update = *update;
		op->update.allowed_ips = NULL;
		op->update.n_allowed_ips = 0;
		if (update->change == WG_PEER_CREATE && update->n_allowed_ips) {
			op->allowed_ips = calloc(update->n_allowed_ips, sizeof(*op->allowed_ips));
			if (!op->allowed_ips) {
				free(op);
				errno = ENOMEM;
				return NULL;
			}
			memcpy(op->allowed_ips, update->allowed_ips,
			       update->n_allowed_ips * sizeof(*op->allowed_ips));
			op->update.allowed_ips = op->allowed_ips;
			op->update.n_allowed_ips = update->n_allowed_ips;
		}
	}
	op->cb = cb;
	op->arg = arg;
	TAILQ_INSERT_TAIL(&nl->queue, op, entry);
	if (!nl->cur)
		event_active(nl->kick, EV_TIMEOUT, 0);
	return op;
}

/* Queue a device read. */
struct wg_nl_op *wg_nl_get(struct wg_nl *nl, const char *ifname, wg_nl_done_cb cb, void *arg)
{
	return nl_submit(nl, ifname, NULL, cb, arg);
}

/* Queue a peer update. */
struct wg_nl_op *wg_nl_set_peer(struct wg_nl *nl, const char *ifname,
				const struct wg_peer_update *update, wg_nl_done_cb cb, void *arg)
{
	return nl_submit(nl, ifname, update, cb, arg);
}

/* Cancel: a queued op just leaves the queue; the running one also drops the socket. */
void wg_nl_cancel(struct wg_nl_op *op)
{
	struct wg_nl *nl;

	if (!op)
		return;
	nl = op->nl;
	if (nl->cur == op) {
		/* Its reply may still be coming (a dump blocks new dumps): start over on a new socket. */
		nl->cur = NULL;
		nl_sock_close(nl);
		if (!TAILQ_EMPTY(&nl->queue))
			event_active(nl->kick, EV_TIMEOUT, 0);
	} else {
		TAILQ_REMOVE(&nl->queue, op, entry);
	}
	nl_op_free(op);
}
