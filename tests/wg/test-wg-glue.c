/* SPDX-License-Identifier: MIT */
/*
 * The asynchronous UAPI path through wg.c against fake UAPI servers on the
 * same loop (sockets in a temporary WGSD_UAPI_DIR; no root needed): slow
 * chunked replies, time limit, early EOF, garbage, errno= replies, stale and
 * missing sockets, the exact set request, cancel, argument checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "wg-uapi.h"

#define ALICE_PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUB "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define PEER1 "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"

enum behaviour { REPLY, SILENT, CLOSE };

/* A fake UAPI server: accepts one connection, reads a request, answers as told. */
struct fake {
	struct event_base *base;
	int lfd, cfd;
	struct event *accept_ev, *read_ev, *write_ev;
	enum behaviour behaviour;
	const char *reply;
	size_t reply_off, chunk;
	char request[4096];
	size_t request_len;
};

/* Write the next chunk of the reply, one chunk per loop turn. */
static void fake_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	size_t left = strlen(f->reply) - f->reply_off, n = left < f->chunk ? left : f->chunk;
	ssize_t w = send(fd, f->reply + f->reply_off, n, MSG_NOSIGNAL);

	if (w > 0)
		f->reply_off += (size_t)w;
	if (f->reply_off == strlen(f->reply) || w < 0)
		event_del(f->write_ev);
}

/* Collect the request until its blank line, then act. */
static void fake_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	ssize_t n = read(fd, f->request + f->request_len, sizeof(f->request) - 1 - f->request_len);

	if (n <= 0) {
		event_del(f->read_ev);
		return;
	}
	f->request_len += (size_t)n;
	f->request[f->request_len] = '\0';
	if (!strstr(f->request, "\n\n"))
		return;
	event_del(f->read_ev);
	if (f->behaviour == CLOSE) {
		close(f->cfd);
		f->cfd = -1;
	} else if (f->behaviour == REPLY) {
		f->write_ev = event_new(f->base, fd, EV_WRITE | EV_PERSIST, fake_write_cb, f);
		event_add(f->write_ev, NULL);
	}
}

/* Accept the client. */
static void fake_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;

	f->cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (f->cfd < 0)
		return;
	event_del(f->accept_ev);
	f->read_ev = event_new(f->base, f->cfd, EV_READ | EV_PERSIST, fake_read_cb, f);
	event_add(f->read_ev, NULL);
}

/* Listen on DIR/ifname.sock. */
static void fake_start(struct fake *f, struct event_base *base, const char *ifname,
		       enum behaviour b, const char *reply, size_t chunk)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->base = base;
	f->cfd = -1;
	f->behaviour = b;
	f->reply = reply;
	f->chunk = chunk;
	if (wg_uapi_socket_path(ifname, sun.sun_path, sizeof(sun.sun_path)) < 0)
		abort();
	unlink(sun.sun_path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(f->lfd, 4) < 0)
		abort();
	f->accept_ev = event_new(base, f->lfd, EV_READ | EV_PERSIST, fake_accept_cb, f);
	event_add(f->accept_ev, NULL);
}

/* Stop the fake and remove its socket. */
static void fake_stop(struct fake *f, const char *ifname)
{
	char path[108];

	if (f->accept_ev)
		event_free(f->accept_ev);
	if (f->read_ev)
		event_free(f->read_ev);
	if (f->write_ev)
		event_free(f->write_ev);
	if (f->cfd >= 0)
		close(f->cfd);
	close(f->lfd);
	if (wg_uapi_socket_path(ifname, path, sizeof(path)) == 0)
		unlink(path);
}

/* Outcome of one operation. */
struct result {
	bool called;
	int err;
	struct wg_device *dev;
};

/* Get completion. */
static void get_cb(int err, struct wg_device *dev, void *arg)
{
	struct result *r = arg;

	r->called = true;
	r->err = err;
	r->dev = dev;
}

/* Set completion. */
static void set_cb(int err, void *arg)
{
	struct result *r = arg;

	r->called = true;
	r->err = err;
}

/* Run the loop until r is reported (bounded by the op's own time limit). */
static void run_until(struct event_base *base, struct result *r)
{
	for (int i = 0; i < 1000000 && !r->called; i++)
		event_base_loop(base, EVLOOP_ONCE);
}

static const char good_reply[] =
	"private_key=" ALICE_PRIV "\n"
	"listen_port=51820\n"
	"public_key=" PEER1 "\n"
	"endpoint=[2001:db8::1]:51820\n"
	"allowed_ip=10.0.0.0/8\n"
	"errno=0\n\n";

/* A reply trickling in 5 bytes per loop turn parses completely. */
static void test_slow_reply(struct event_base *base, struct wg_ctx *ctx)
{
	struct fake f;
	struct result r = { 0 };
	uint8_t pub[WG_KEY_LEN];

	fake_start(&f, base, "slow0", REPLY, good_reply, 5);
	CHECK(wg_get_device(ctx, "slow0", WG_BACKEND_AUTO, get_cb, &r) != NULL);
	CHECK(!r.called);
	run_until(base, &r);
	CHECK(r.called && r.err == 0 && r.dev);
	CHECK(strcmp(f.request, "get=1\n\n") == 0);
	if (r.dev) {
		key_from_hex(ALICE_PUB, KEY_HEX_LEN, pub);
		CHECK(r.dev->has_public_key && memcmp(r.dev->public_key, pub, WG_KEY_LEN) == 0);
		CHECK(r.dev->listen_port == 51820 && r.dev->n_peers == 1);
		CHECK(strcmp(r.dev->name, "slow0") == 0);
		CHECK(r.dev->backend == WG_BACKEND_USERSPACE);
		CHECK(r.dev->n_peers == 1 && r.dev->peers[0].n_allowed_ips == 1);
	}
	wg_device_free(r.dev);
	fake_stop(&f, "slow0");
}

/* Server behaviours that must end in a given error. */
static void expect_get_error(struct event_base *base, struct wg_ctx *ctx, enum behaviour b,
			     const char *reply, int err, int line)
{
	struct fake f;
	struct result r = { 0 };

	fake_start(&f, base, "bad0", b, reply, 64);
	CHECK(wg_get_device(ctx, "bad0", WG_BACKEND_USERSPACE, get_cb, &r) != NULL);
	run_until(base, &r);
	if (!r.called || r.err != err || r.dev) {
		check_failures++;
		fprintf(stderr, "%s:%d: expected %d (%s), got %d\n", __FILE__, line, err, wg_strerror(err), r.err);
	}
	check_count++;
	wg_device_free(r.dev);
	fake_stop(&f, "bad0");
}

/* Stale and missing sockets are "device not found", reported from the loop. */
static void test_missing(struct event_base *base, struct wg_ctx *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct result r = { 0 };
	int fd;

	CHECK(wg_get_device(ctx, "none0", WG_BACKEND_USERSPACE, get_cb, &r) != NULL);
	CHECK(!r.called);
	run_until(base, &r);
	CHECK(r.called && r.err == -ENODEV);

	/* A socket file whose server is gone. */
	wg_uapi_socket_path("stale0", sun.sun_path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(fd);
	CHECK(wg_uapi_socket_exists("stale0"));
	memset(&r, 0, sizeof(r));
	CHECK(wg_get_device(ctx, "stale0", WG_BACKEND_AUTO, get_cb, &r) != NULL);
	run_until(base, &r);
	CHECK(r.called && r.err == -ENODEV);
	unlink(sun.sun_path);
}

/* The set request is exactly the update-only text, and errno= results come back. */
static void test_set(struct event_base *base, struct wg_ctx *ctx)
{
	struct wg_peer_update u = { .persistent_keepalive = 25 };
	struct fake f;
	struct result r = { 0 };

	key_from_hex(PEER1, KEY_HEX_LEN, u.public_key);
	CHECK(addr_parse("192.0.2.7:4500", -1, &u.endpoint) == 0);
	fake_start(&f, base, "set0", REPLY, "errno=0\n\n", 3);
	CHECK(wg_set_peer(ctx, "set0", WG_BACKEND_AUTO, &u, set_cb, &r) != NULL);
	run_until(base, &r);
	CHECK(r.called && r.err == 0);
	CHECK(strcmp(f.request, "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
		     "endpoint=192.0.2.7:4500\npersistent_keepalive_interval=25\n\n") == 0);
	fake_stop(&f, "set0");

	memset(&r, 0, sizeof(r));
	fake_start(&f, base, "set0", REPLY, "errno=22\n\n", 100);
	CHECK(wg_set_peer(ctx, "set0", WG_BACKEND_USERSPACE, &u, set_cb, &r) != NULL);
	run_until(base, &r);
	CHECK(r.called && r.err == -EINVAL);
	fake_stop(&f, "set0");

	/* Arguments checked before anything starts. */
	u.persistent_keepalive = 65536;
	CHECK(wg_set_peer(ctx, "set0", WG_BACKEND_AUTO, &u, set_cb, &r) == NULL && errno == EINVAL);
	u.persistent_keepalive = -2;
	CHECK(wg_set_peer(ctx, "set0", WG_BACKEND_AUTO, &u, set_cb, &r) == NULL && errno == EINVAL);
}

/* Names that cannot be interfaces (or would escape the socket directory) are refused. */
static void test_bad_names(struct wg_ctx *ctx)
{
	struct result r = { 0 };

	CHECK(wg_get_device(ctx, "", WG_BACKEND_AUTO, get_cb, &r) == NULL && errno == EINVAL);
	CHECK(wg_get_device(ctx, "../etc", WG_BACKEND_AUTO, get_cb, &r) == NULL && errno == EINVAL);
	CHECK(wg_get_device(ctx, "..", WG_BACKEND_USERSPACE, get_cb, &r) == NULL && errno == EINVAL);
	CHECK(wg_get_device(ctx, "0123456789abcdef", WG_BACKEND_AUTO, get_cb, &r) == NULL && errno == EINVAL);
	CHECK(wg_get_device(ctx, "a b", WG_BACKEND_AUTO, get_cb, &r) == NULL && errno == EINVAL);
	CHECK(!r.called);
}

/* A cancelled read never calls back; a context freed with reads pending neither. */
static void test_cancel(struct event_base *base)
{
	struct wg_ctx *ctx = wg_ctx_new(base);
	struct fake f;
	struct result r = { 0 }, r2 = { 0 };
	struct wg_op *op;

	fake_start(&f, base, "can0", REPLY, good_reply, 1);
	op = wg_get_device(ctx, "can0", WG_BACKEND_AUTO, get_cb, &r);
	CHECK(op != NULL);
	/* Single passes: the 1-byte-per-turn reply is still far from complete. */
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	CHECK(!r.called);
	wg_op_cancel(op);
	for (int i = 0; i < 200; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(!r.called);
	fake_stop(&f, "can0");

	fake_start(&f, base, "can0", SILENT, NULL, 1);
	CHECK(wg_get_device(ctx, "can0", WG_BACKEND_AUTO, get_cb, &r2) != NULL);
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	/* A start failure waiting to be reported from the loop is dropped too. */
	CHECK(wg_get_device(ctx, "none1", WG_BACKEND_USERSPACE, get_cb, &r2) != NULL);
	CHECK(!r2.called);
	wg_ctx_free(ctx);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(!r2.called);
	fake_stop(&f, "can0");
}

/* Backend names, error texts. */
static void test_names(void)
{
	enum wg_backend b;

	CHECK(wg_backend_parse("kernel", &b) == 0 && b == WG_BACKEND_KERNEL);
	CHECK(wg_backend_parse("userspace", &b) == 0 && b == WG_BACKEND_USERSPACE);
	CHECK(wg_backend_parse("auto", &b) == 0 && b == WG_BACKEND_AUTO);
	CHECK(wg_backend_parse("Kernel", &b) == -EINVAL);
	CHECK(strcmp(wg_backend_name(WG_BACKEND_USERSPACE), "userspace") == 0);
	CHECK(strstr(wg_strerror(-ENODEV), "not found") != NULL);
	CHECK(strstr(wg_strerror(-EPROTONOSUPPORT), "module") != NULL);
	CHECK(strstr(wg_strerror(-ETIMEDOUT), "timed out") != NULL);
	CHECK(strstr(wg_strerror(-EBADMSG), "malformed") != NULL);
	CHECK(strstr(wg_strerror(-EACCES), "permission") != NULL);
}

/* Run all cases in a private socket directory. */
int main(void)
{
	char dir[] = "/tmp/wgsd-glue-XXXXXX";
	struct event_base *base = event_base_new();
	struct wg_ctx *ctx = wg_ctx_new(base);

	if (!mkdtemp(dir))
		return 1;
	setenv("WGSD_UAPI_DIR", dir, 1);
	wg_ctx_set_timeout(ctx, 300);

	test_names();
	test_slow_reply(base, ctx);
	expect_get_error(base, ctx, SILENT, NULL, -ETIMEDOUT, __LINE__);
	expect_get_error(base, ctx, CLOSE, NULL, -EBADMSG, __LINE__);
	expect_get_error(base, ctx, REPLY, "hello\n\n", -EBADMSG, __LINE__);
	expect_get_error(base, ctx, REPLY, "listen_port=1\n", -ETIMEDOUT, __LINE__);
	expect_get_error(base, ctx, REPLY, "errno=19\n\n", -ENODEV, __LINE__);
	expect_get_error(base, ctx, REPLY, "errno=13\n\n", -EACCES, __LINE__);
	test_missing(base, ctx);
	test_set(base, ctx);
	test_bad_names(ctx);
	test_cancel(base);

	wg_ctx_free(ctx);
	event_base_free(base);
	rmdir(dir);
	return CHECK_DONE();
}
