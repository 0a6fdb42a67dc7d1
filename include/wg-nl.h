/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard over generic netlink (libmnl): pure message builders, a
 * dump parser fed one nlmsghdr at a time, and the asynchronous socket glue
 * used by wg.c (one cached socket and family id per context, one operation
 * on the wire at a time, the others queued).
 */
#ifndef WGSD_WG_NL_H
#define WGSD_WG_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#include "wg.h"

#if defined(__has_include)
#if __has_include(<linux/wireguard.h>)
#include <linux/wireguard.h>
#define WGSD_HAVE_LINUX_WIREGUARD_H 1
#endif
#endif

#ifndef WGSD_HAVE_LINUX_WIREGUARD_H
/*
 * The system has no <linux/wireguard.h> (kernel headers older than 5.6):
 * the generic netlink protocol constants, as the kernel's UAPI header
 * defines them. Values are part of the kernel ABI and never change.
 */
#define WG_GENL_NAME "wireguard"
#define WG_GENL_VERSION 1
enum wg_cmd { WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE };
enum wgdevice_flag { WGDEVICE_F_REPLACE_PEERS = 1U << 0 };
enum wgdevice_attribute {
	WGDEVICE_A_UNSPEC,
	WGDEVICE_A_IFINDEX,
	WGDEVICE_A_IFNAME,
	WGDEVICE_A_PRIVATE_KEY,
	WGDEVICE_A_PUBLIC_KEY,
	WGDEVICE_A_FLAGS,
	WGDEVICE_A_LISTEN_PORT,
	WGDEVICE_A_FWMARK,
	WGDEVICE_A_PEERS,
};
enum wgpeer_flag {
	WGPEER_F_REMOVE_ME = 1U << 0,
	WGPEER_F_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_F_UPDATE_ONLY = 1U << 2,
};
enum wgpeer_attribute {
	WGPEER_A_UNSPEC,
	WGPEER_A_PUBLIC_KEY,
	WGPEER_A_PRESHARED_KEY,
	WGPEER_A_FLAGS,
	WGPEER_A_ENDPOINT,
	WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
	WGPEER_A_LAST_HANDSHAKE_TIME,
	WGPEER_A_RX_BYTES,
	WGPEER_A_TX_BYTES,
	WGPEER_A_ALLOWEDIPS,
	WGPEER_A_PROTOCOL_VERSION,
};
enum wgallowedip_attribute {
	WGALLOWEDIP_A_UNSPEC,
	WGALLOWEDIP_A_FAMILY,
	WGALLOWEDIP_A_IPADDR,
	WGALLOWEDIP_A_CIDR_MASK,
};
#endif

/* Receive buffer for dumps: the kernel fills dump messages up to 32 KiB. */
#define WG_NL_RECV_BUF_LEN 32768
/*
 * Datagrams read per loop turn: a big dump is processed a batch at a time,
 * 2 x 32 KiB like the userspace backend's 64 KiB per turn.
 */
#define WG_NL_READ_BATCH 2
/* Smallest buffer the request builders accept. */
#define WG_NL_REQ_BUF_LEN 1024

/* Results of the feed functions besides -errno. */
enum {
	WG_NL_MORE = 0,     /* message consumed, the reply goes on */
	WG_NL_DONE = 1,     /* reply complete */
	WG_NL_RESTART = 2,  /* dump interrupted (NLM_F_DUMP_INTR): start it again */
};

/* Build a CTRL_CMD_GETFAMILY request for "wireguard" in buf; NULL if len is too small. */
struct nlmsghdr *wg_nl_build_family_req(void *buf, size_t len, uint32_t seq);
/* Build a WG_CMD_GET_DEVICE dump request for ifname; NULL if len is too small. */
struct nlmsghdr *wg_nl_build_get(void *buf, size_t len, uint16_t family, uint32_t seq,
				 const char *ifname);
/*
 * Build a WG_CMD_SET_DEVICE request changing one peer as update->change says
 * (see wg_set_peer). NULL if len is too small: WG_NL_REQ_BUF_LEN plus about
 * 40 bytes per allowed IP of a creation.
 */
struct nlmsghdr *wg_nl_build_set_peer(void *buf, size_t len, uint16_t family, uint32_t seq,
				      const char *ifname, const struct wg_peer_update *update);

/*
 * Step through the messages of one received datagram (buf, len) from *off:
 * 1 with *out set, 0 at the end, -EBADMSG when a message header or length
 * runs past the datagram. Use it instead of mnl_nlmsg_ok(), which accepts
 * nlmsg_len values of 2^31 and more.
 */
int wg_nl_msg_next(void *buf, size_t len, size_t *off, struct nlmsghdr **out);
/* Feed one reply message to a family request: MORE, DONE (id set) or -errno (-EPROTONOSUPPORT: no such family). */
int wg_nl_family_feed(const struct nlmsghdr *nlh, uint32_t seq, uint16_t *id);
/* Feed one reply message to a request sent with NLM_F_ACK: MORE, DONE or -errno. */
int wg_nl_ack_feed(const struct nlmsghdr *nlh, uint32_t seq);

/* State of one device dump being parsed and merged. */
struct wg_nl_dump {
	struct wg_device *dev;   /* the device so far; taken by the caller after DONE */
	uint16_t family;
	uint32_t seq;
	bool got_device;         /* at least one device message seen */
};

/* Start parsing a dump of seq; 0 or -ENOMEM. */
int wg_nl_dump_init(struct wg_nl_dump *d, uint16_t family, uint32_t seq);
/* Free what the dump holds. */
void wg_nl_dump_clear(struct wg_nl_dump *d);
/*
 * Feed one message of the dump (its nlmsg_len already checked against the
 * datagram). Secret attributes (private and preshared keys) are zeroed in
 * place. Returns WG_NL_MORE, WG_NL_DONE, WG_NL_RESTART or -errno.
 */
int wg_nl_dump_feed(struct wg_nl_dump *d, struct nlmsghdr *nlh);

/* Netlink side of a wg_ctx: cached socket and family id, queue of operations. */
struct wg_nl;
/* One queued or running netlink operation. */
struct wg_nl_op;
/* Completion of a netlink operation: dev is set (and owned by the callee) for a successful get. */
typedef void (*wg_nl_done_cb)(int err, struct wg_device *dev, void *arg);

/* Create the netlink side on base (the socket is opened on first use); NULL on ENOMEM. */
struct wg_nl *wg_nl_new(struct event_base *base);
/* Cancel all operations without calling back and free everything. */
void wg_nl_free(struct wg_nl *nl);
/* Queue a device read; NULL with errno set on failure. */
struct wg_nl_op *wg_nl_get(struct wg_nl *nl, const char *ifname, wg_nl_done_cb cb, void *arg);
/* Queue a peer update; NULL with errno set on failure. */
struct wg_nl_op *wg_nl_set_peer(struct wg_nl *nl, const char *ifname,
				const struct wg_peer_update *update, wg_nl_done_cb cb, void *arg);
/* Cancel an operation (no callback); a running one resets the socket. */
void wg_nl_cancel(struct wg_nl_op *op);

#endif
