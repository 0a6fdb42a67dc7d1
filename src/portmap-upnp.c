/* SPDX-License-Identifier: MIT */
/*
 * The loop side and the worker share one struct upnp_shared under its
 * mutex: a deletion flag and a job slot (loop -> worker; the deletion goes
 * first, a new job replaces one not yet started) and a result slot (worker
 * -> loop, tagged with the job's sequence number, announced by writing the
 * eventfd). The loop reads only
 * the result of the job it still waits for. When the loop side is freed,
 * it sets quit and forgets the shared struct; the worker finishes what is
 * queued (a deletion), then frees it and exits. A process-wide count of
 * live workers lets the daemon wait for those deletions at exit.
 *
 * miniupnpc 2.2 reports an IGD whose external address is private or
 * reserved as "not connected" (UPNP_GetValidIGD() == 2); the router may
 * still forward ports (behind a provider's NAT the mapping only helps
 * inside that NAT), so such an IGD is used and its address reported.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>

#include <event2/event.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include "portmap-upnp.h"

#define UPNP_ERR_CONFLICT 718              /* ConflictInMappingEntry */
#define UPNP_ERR_ONLY_PERMANENT 725        /* OnlyPermanentLeasesSupported */

struct upnp_job {
	uint64_t seq;
	struct portmap_req req;
};

struct upnp_shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	bool has_delete;               /* delete what was mapped, before any job */
	bool has_job;                  /* create or renew */
	struct upnp_job job;
	bool quit;
	bool has_result;
	uint64_t result_seq;
	struct portmap_result result;
	/* The worker's own. */
	bool have_igd;
	uint8_t igd_gateway[4];
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lanaddr[64];
	bool mapped;
	char mapped_port[8];
};

struct portmap_upnp {
	struct event_base *base;
	portmap_result_cb cb;
	void *arg;
	struct upnp_shared *sh;
	bool started;
	struct event *ev;
	uint64_t seq;
	uint64_t want;                 /* the job whose result is awaited, 0 none */
};

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cv = PTHREAD_COND_INITIALIZER;
static unsigned int live_workers;

/* Forget the IGD found earlier (worker). */
static void worker_forget_igd(struct upnp_shared *sh)
{
	if (sh->have_igd)
		FreeUPNPUrls(&sh->urls);
	sh->have_igd = false;
	sh->mapped = false;
}

/* Write a failure into res (worker). */
static void worker_fail(struct portmap_result *res, int err, const char *what, int code)
{
	res->err = err;
	if (code)
		snprintf(res->detail, sizeof(res->detail), "%s: %s (%d)", what, strupnperror(code) ? strupnperror(code) : "error", code);
	else
		snprintf(res->detail, sizeof(res->detail), "%s", what);
}

/* True when url's host is the address text host ("http://HOST:port/..." or "http://HOST/..."). */
static bool url_host_is(const char *url, const char *host)
{
	size_t n = strlen(host);

	if (!url || strncmp(url, "http://", 7) != 0)
		return false;
	url += 7;
	return strncmp(url, host, n) == 0 && (url[n] == ':' || url[n] == '/' || url[n] == '\0');
}

/* Move the devices served from the gateway's own address to the front: they are asked first. */
struct UPNPDev *portmap_upnp_gateway_first(struct UPNPDev *list, const uint8_t gw[4])
{
	struct UPNPDev *mine = NULL, **mt = &mine, *rest = NULL, **rt = &rest;
	char host[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, gw, host, sizeof(host));
	while (list) {
		struct UPNPDev *next = list->pNext;

		list->pNext = NULL;
		if (url_host_is(list->descURL, host)) {
			*mt = list;
			mt = &list->pNext;
		} else {
			*rt = list;
			rt = &list->pNext;
		}
		list = next;
	}
	*mt = rest;
	return mine;
}

/* Find an IGD by SSDP discovery (worker); false with res filled on failure. */
static bool worker_discover(struct upnp_shared *sh, const uint8_t gw[4], struct portmap_result *res)
{
	int err = 0, r;
	struct UPNPDev *list = upnpDiscover(PORTMAP_UPNP_DISCOVER_MS, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &err);

	if (!list) {
		worker_fail(res, -ENOENT, "no UPnP device answered the discovery", 0);
		return false;
	}
	list = portmap_upnp_gateway_first(list, gw);
	memset(&sh->urls, 0, sizeof(sh->urls));
	memset(&sh->data, 0, sizeof(sh->data));
	sh->lanaddr[0] = '\0';
	r = UPNP_GetValidIGD(list, &sh->urls, &sh->data, sh->lanaddr, sizeof(sh->lanaddr));
	freeUPNPDevlist(list);
	if (r != 1 && r != 2) {
		if (r != 0)
			FreeUPNPUrls(&sh->urls);
		worker_fail(res, -ENOENT, "no UPnP Internet Gateway Device found", 0);
		return false;
	}
	if (!sh->urls.controlURL || !sh->urls.controlURL[0]) {
		FreeUPNPUrls(&sh->urls);
		worker_fail(res, -ENOENT, "the UPnP gateway has no control URL", 0);
		return false;
	}
	sh->have_igd = true;
	memcpy(sh->igd_gateway, gw, 4);
	return true;
}

/* host:port of the IGD's control URL, for the status. */
static void worker_server(const struct upnp_shared *sh, char *out, size_t len)
{
	const char *u = sh->urls.controlURL, *p;
	size_t n;

	if (strncmp(u, "http://", 7) == 0)
		u += 7;
	p = strchr(u, '/');
	n = p ? (size_t)(p - u) : strlen(u);
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), u);
}

/* AddPortMapping, retried without a lease or on another port when the IGD asks for it (worker). */
static int worker_add(struct upnp_shared *sh, const struct portmap_req *req, char ext[8], uint32_t *lease)
{
	const char *ctl = sh->urls.controlURL, *st = sh->data.first.servicetype;
	char in[8], lease_txt[16], reserved[8] = "";
	int r;

	snprintf(in, sizeof(in), "%u", req->internal_port);
	snprintf(ext, 8, "%u", req->external_port ? req->external_port : req->internal_port);
	snprintf(lease_txt, sizeof(lease_txt), "%u", req->lifetime_s);
	*lease = req->lifetime_s;
	r = UPNP_AddPortMapping(ctl, st, ext, in, sh->lanaddr, req->desc, "UDP", NULL, lease_txt);
	if (r == UPNP_ERR_ONLY_PERMANENT) {
		*lease = 0;
		r = UPNP_AddPortMapping(ctl, st, ext, in, sh->lanaddr, req->desc, "UDP", NULL, "0");
	}
	if (r == UPNP_ERR_CONFLICT) {
		/* Another host holds that port: let an IGD:2 choose one. */
		r = UPNP_AddAnyPortMapping(ctl, st, ext, in, sh->lanaddr, req->desc, "UDP", NULL,
					   *lease ? lease_txt : "0", reserved);
		if (r == 0 && reserved[0])
			snprintf(ext, 8, "%s", reserved);
	}
	return r;
}

/* Create or renew the mapping (worker). */
static void worker_map(struct upnp_shared *sh, const struct portmap_req *req, struct portmap_result *res)
{
	char ext[8] = "", extip[40] = "", status[64] = "", lasterr[64] = "";
	unsigned int uptime = 0;
	uint32_t lease = 0;
	int r = UPNPCOMMAND_UNKNOWN_ERROR;

	if (sh->have_igd && memcmp(sh->igd_gateway, req->gateway, 4) != 0)
		worker_forget_igd(sh);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!sh->have_igd && !worker_discover(sh, req->gateway, res))
			return;
		r = worker_add(sh, req, ext, &lease);
		if (r >= 0 || attempt == 1)
			break;
		/* No HTTP answer: the IGD may have restarted on another port. Discover again. */
		worker_forget_igd(sh);
	}
	worker_server(sh, res->server, sizeof(res->server));
	if (r != 0) {
		worker_fail(res, r < 0 ? -EIO : -EREMOTEIO, "AddPortMapping failed", r);
		return;
	}
	sh->mapped = true;
	snprintf(sh->mapped_port, sizeof(sh->mapped_port), "%s", ext);
	r = UPNP_GetExternalIPAddress(sh->urls.controlURL, sh->data.first.servicetype, extip);
	res->external.in.sin_family = AF_INET;
	if (r != 0 || inet_pton(AF_INET, extip, &res->external.in.sin_addr) != 1) {
		memset(&res->external, 0, sizeof(res->external));
		worker_fail(res, r ? -EREMOTEIO : -EBADMSG, "GetExternalIPAddress gave no IPv4 address", r);
		return;
	}
	res->external.in.sin_port = htons((uint16_t)strtoul(ext, NULL, 10));
	res->internal.in.sin_family = AF_INET;
	if (inet_pton(AF_INET, sh->lanaddr, &res->internal.in.sin_addr) != 1)
		memset(&res->internal, 0, sizeof(res->internal));
	else
		res->internal.in.sin_port = htons(req->internal_port);
	res->lifetime_s = lease;
	if (UPNP_GetStatusInfo(sh->urls.controlURL, sh->data.first.servicetype, status, &uptime, lasterr) == 0) {
		res->has_epoch = true;
		res->epoch_s = uptime;
	}
	res->err = 0;
}

/* Delete the mapping made (worker). */
static void worker_delete(struct upnp_shared *sh, struct portmap_result *res)
{
	int r;

	if (!sh->have_igd || !sh->mapped)
		return;
	sh->mapped = false;
	r = UPNP_DeletePortMapping(sh->urls.controlURL, sh->data.first.servicetype, sh->mapped_port, "UDP", NULL);
	if (r != 0)
		worker_fail(res, -EREMOTEIO, "DeletePortMapping failed", r);
}

/* The worker thread. */
static void *worker_main(void *arg)
{
	struct upnp_shared *sh = arg;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		struct upnp_job job;
		struct portmap_result res;

		while (!sh->has_delete && !sh->has_job && !sh->quit)
			pthread_cond_wait(&sh->cv, &sh->mu);
		if (sh->has_delete) {
			sh->has_delete = false;
			pthread_mutex_unlock(&sh->mu);
			memset(&res, 0, sizeof(res));
			worker_delete(sh, &res);
			pthread_mutex_lock(&sh->mu);
			continue;   /* nobody waits for a deletion's result */
		}
		if (!sh->has_job)
			break;
		job = sh->job;
		sh->has_job = false;
		pthread_mutex_unlock(&sh->mu);
		memset(&res, 0, sizeof(res));
		worker_map(sh, &job.req, &res);
		pthread_mutex_lock(&sh->mu);
		sh->result = res;
		sh->result_seq = job.seq;
		sh->has_result = true;
		if (!sh->quit) {
			uint64_t one = 1;

			if (write(sh->efd, &one, sizeof(one)) < 0) {
				/* The counter cannot overflow with one write per job; nothing to do. */
			}
		}
	}
	pthread_mutex_unlock(&sh->mu);
	worker_forget_igd(sh);
	close(sh->efd);
	pthread_cond_destroy(&sh->cv);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
	pthread_mutex_lock(&live_mu);
	live_workers--;
	pthread_cond_broadcast(&live_cv);
	pthread_mutex_unlock(&live_mu);
	return NULL;
}

/* A result is ready (loop). */
static void result_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap_upnp *u = arg;
	struct portmap_result res;
	uint64_t count, seq = 0;
	bool have;

	(void)what;
	if (read(fd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&u->sh->mu);
	have = u->sh->has_result;
	if (have) {
		res = u->sh->result;
		seq = u->sh->result_seq;
		u->sh->has_result = false;
	}
	pthread_mutex_unlock(&u->sh->mu);
	if (have && u->want && seq == u->want) {
		u->want = 0;
		u->cb(&res, u->arg);
	}
}

/* Start the worker (loop). */
static int start_worker(struct portmap_upnp *u)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int rc;

	u->ev = event_new(u->base, u->sh->efd, EV_READ | EV_PERSIST, result_cb, u);
	if (!u->ev)
		return -ENOMEM;
	event_add(u->ev, NULL);
	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals stay with the loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&live_mu);
	live_workers++;
	pthread_mutex_unlock(&live_mu);
	rc = pthread_create(&t, &attr, worker_main, u->sh);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_lock(&live_mu);
		live_workers--;
		pthread_mutex_unlock(&live_mu);
		return -rc;
	}
	u->started = true;
	return 0;
}

/* Create a client. */
struct portmap_upnp *portmap_upnp_new(struct event_base *base, portmap_result_cb cb, void *arg)
{
	struct portmap_upnp *u = calloc(1, sizeof(*u));
	struct upnp_shared *sh = calloc(1, sizeof(*sh));

	if (!u || !sh)
		goto fail;
	sh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sh->efd < 0)
		goto fail;
	if (pthread_mutex_init(&sh->mu, NULL) != 0) {
		close(sh->efd);
		goto fail;
	}
	if (pthread_cond_init(&sh->cv, NULL) != 0) {
		pthread_mutex_destroy(&sh->mu);
		close(sh->efd);
		goto fail;
	}
	u->base = base;
	u->cb = cb;
	u->arg = arg;
	u->sh = sh;
	return u;
fail:
	free(sh);
	free(u);
	return NULL;
}

/* Put a create or renew in the slot, or (req NULL) ask for the deletion (loop). */
static void post(struct portmap_upnp *u, const struct portmap_req *req)
{
	pthread_mutex_lock(&u->sh->mu);
	if (req) {
		u->sh->job.seq = ++u->seq;
		u->sh->job.req = *req;
		u->sh->has_job = true;
	} else {
		u->sh->has_delete = true;
	}
	pthread_cond_signal(&u->sh->cv);
	pthread_mutex_unlock(&u->sh->mu);
}

/* Queue a create or renew. */
int portmap_upnp_map(struct portmap_upnp *u, const struct portmap_req *req)
{
	int rc;

	if (!u->started && (rc = start_worker(u)) < 0)
		return rc;
	post(u, req);
	u->want = u->seq;
	return 0;
}

/* Drop the request in flight. */
void portmap_upnp_cancel(struct portmap_upnp *u)
{
	u->want = 0;
	if (!u->started)
		return;
	pthread_mutex_lock(&u->sh->mu);
	u->sh->has_job = false;
	pthread_mutex_unlock(&u->sh->mu);
}

/* Queue the deletion. */
void portmap_upnp_delete(struct portmap_upnp *u)
{
	portmap_upnp_cancel(u);
	if (u->started)
		post(u, NULL);
}

/* Free the loop side. */
void portmap_upnp_free(struct portmap_upnp *u)
{
	if (!u)
		return;
	if (u->ev)
		event_free(u->ev);
	if (u->started) {
		pthread_mutex_lock(&u->sh->mu);
		u->sh->has_job = false;
		u->sh->quit = true;
		pthread_cond_signal(&u->sh->cv);
		pthread_mutex_unlock(&u->sh->mu);
	} else {
		close(u->sh->efd);
		pthread_cond_destroy(&u->sh->cv);
		pthread_mutex_destroy(&u->sh->mu);
		free(u->sh);
	}
	free(u);
}

/* Wait for the workers at exit. */
void portmap_upnp_wait_all(unsigned int timeout_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(timeout_ms / 1000);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&live_mu);
	while (live_workers > 0)
		if (pthread_cond_timedwait(&live_cv, &live_mu, &deadline) != 0)
			break;
	pthread_mutex_unlock(&live_mu);
}
