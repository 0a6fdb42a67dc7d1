/* SPDX-License-Identifier: MIT */
/*
 * The status socket. Each connection sends one command line and gets one
 * reply, then the server closes it. Input is bounded, connections are capped
 * and each has a fixed deadline from accept, and accept pauses briefly when
 * descriptors run out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "control.h"
#include "log.h"
#include "strbuf.h"

#define CONTROL_MAX_CONNS 32
/*
 * From accept to the last byte of the reply, whatever the client does: an
 * idle timeout alone lets a client that drips a byte now and then hold its
 * slot for minutes, and CONTROL_MAX_CONNS of them lock everyone out.
 */
#define CONTROL_CONN_DEADLINE_MS 5000
#define CONTROL_ACCEPT_PAUSE_MS 200

struct control_conn {
	struct control *ctl;
	struct bufferevent *bev;
	struct event *ev_deadline;
	struct control_conn *next;
	bool replied;
};

struct control {
	struct event_base *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct event *ev_accept;
	struct event *ev_resume;
	control_handler_cb cb;
	void *arg;
	struct control_conn *conns;
	unsigned int n_conns;
	bool retired;          /* no longer listening; freed when its last connection ends */
};

static void control_free(struct control *ctl);

/* Free a connection's socket, timer and memory. */
static void control_conn_release(struct control_conn *conn)
{
	if (conn->ev_deadline)
		event_free(conn->ev_deadline);
	if (conn->bev)
		bufferevent_free(conn->bev);
	free(conn);
}

/* Unlink conn from the list and free it. */
static void control_conn_free(struct control_conn *conn)
{
	struct control *ctl = conn->ctl;

	for (struct control_conn **pp = &ctl->conns; *pp; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			break;
		}
	}
	control_conn_release(conn);
	ctl->n_conns--;
	if (ctl->retired) {
		if (ctl->n_conns == 0)
			control_free(ctl);
		return;
	}
	if (ctl->n_conns == CONTROL_MAX_CONNS - 1)
		event_add(ctl->ev_accept, NULL);
}

/* Queue text as the reply and close once it is written. */
static void control_conn_reply(struct control_conn *conn, const char *text, size_t len)
{
	conn->replied = true;
	bufferevent_disable(conn->bev, EV_READ);
	bufferevent_write(conn->bev, text, len);
	if (len == 0 || text[len - 1] != '\n')
		bufferevent_write(conn->bev, "\n", 1);
}

/* A command line (or too much input) arrived. */
static void control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct strbuf reply = STRBUF_INIT;
	size_t len;
	char *line;

	if (conn->replied)
		return;
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) >= CONTROL_LINE_MAX) {
			static const char msg[] = "error: command line too long\n";
			control_conn_reply(conn, msg, sizeof(msg) - 1);
		}
		return;
	}
	enum control_cmd cmd = len < CONTROL_LINE_MAX ? control_cmd_parse(line, len) : CONTROL_CMD_INVALID;
	free(line);
	if (cmd == CONTROL_CMD_INVALID) {
		strbuf_puts(&reply, "error: unknown command (try: status, metrics, reload, version)\n");
	} else {
		conn->ctl->cb(cmd, &reply, conn->ctl->arg);
		if (reply.oom) {
			strbuf_reset(&reply);
			strbuf_puts(&reply, "error: out of memory\n");
		}
	}
	control_conn_reply(conn, strbuf_str(&reply), reply.len);
	strbuf_free(&reply);
}

/* The reply has been written: close. */
static void control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *conn = arg;

	if (conn->replied && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_conn_free(conn);
}

/* EOF, error or timeout on a connection. */
static void control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn *conn = arg;

	(void)bev;
	(void)what;
	control_conn_free(conn);
}

/* The connection's deadline passed: drop it, whatever it was doing. */
static void control_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_conn *conn = arg;

	(void)fd;
	(void)what;
	log_debug("status socket: client dropped at its %d ms deadline", CONTROL_CONN_DEADLINE_MS);
	control_conn_free(conn);
}

/* Resume accepting after a pause for EMFILE. */
static void control_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;

	(void)fd;
	(void)what;
	if (ctl->n_conns < CONTROL_MAX_CONNS)
		event_add(ctl->ev_accept, NULL);
}

/* A client connects. */
static void control_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;
	struct control_conn *conn;
	int cfd;

	(void)what;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			struct timeval tv = { 0, CONTROL_ACCEPT_PAUSE_MS * 1000 };
			log_warn("status socket: accept");
			event_del(ctl->ev_accept);
			evtimer_add(ctl->ev_resume, &tv);
		}
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn || !(conn->bev = bufferevent_socket_new(ctl->base, cfd, BEV_OPT_CLOSE_ON_FREE))) {
		free(conn);
		close(cfd);
		return;
	}
	struct timeval tv = { CONTROL_CONN_DEADLINE_MS / 1000, (CONTROL_CONN_DEADLINE_MS % 1000) * 1000 };
	conn->ev_deadline = evtimer_new(ctl->base, control_deadline_cb, conn);
	if (!conn->ev_deadline || evtimer_add(conn->ev_deadline, &tv) < 0) {
		control_conn_release(conn);
		return;
	}
	conn->ctl = ctl;
	conn->next = ctl->conns;
	ctl->conns = conn;
	if (++ctl->n_conns == CONTROL_MAX_CONNS)
		event_del(ctl->ev_accept);
	bufferevent_setwatermark(conn->bev, EV_READ, 0, CONTROL_LINE_MAX);
	bufferevent_setcb(conn->bev, control_read_cb, control_write_cb, control_event_cb, conn);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
}

/* Remove a stale socket at path; fail for a live one or a non-socket file. */
static int control_clear_path(const char *path, struct strbuf *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		strbuf_printf(err, "status socket %s: exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* Non-blocking: a live daemon with a full backlog answers EAGAIN instead of stalling this loop. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN) {
		strbuf_printf(err, "status socket %s: another wgsd is listening on it", path);
		ret = -EADDRINUSE;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		strbuf_printf(err, "status socket %s: cannot remove stale socket: %s", path, strerror(errno));
	}
	close(fd);
	return ret;
}

/* Create the status socket. */
int control_open(struct event_base *base, const char *path, control_handler_cb cb, void *arg,
		 struct control **out, struct strbuf *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *ctl;
	mode_t old_umask;
	int ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		strbuf_printf(err, "status socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fd = -1;
	ctl->base = base;
	ctl->cb = cb;
	ctl->arg = arg;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);

	ret = control_clear_path(path, err);
	if (ret < 0) {
		if (err->len == 0)
			strbuf_printf(err, "status socket %s: %s", path, strerror(-ret));
		goto fail;
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0) {
		ret = -errno;
		strbuf_printf(err, "status socket: socket: %s", strerror(errno));
		goto fail;
	}
	/* Bind under a umask so the socket never exists with wider permissions than 0660. */
	old_umask = umask(0117);
	ret = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (ret < 0) {
		ret = -errno;
		strbuf_printf(err, "status socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, 0660) < 0 || listen(ctl->fd, 16) < 0) {
		ret = -errno;
		strbuf_printf(err, "status socket %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	ctl->ev_accept = event_new(base, ctl->fd, EV_READ | EV_PERSIST, control_accept_cb, ctl);
	ctl->ev_resume = evtimer_new(base, control_resume_cb, ctl);
	if (!ctl->ev_accept || !ctl->ev_resume) {
		ret = -ENOMEM;
		unlink(path);
		goto fail;
	}
	event_add(ctl->ev_accept, NULL);
	*out = ctl;
	return 0;
fail:
	if (ctl->ev_accept)
		event_free(ctl->ev_accept);
	if (ctl->ev_resume)
		event_free(ctl->ev_resume);
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl);
	return ret;
}

/* Free the object and its events (connections are gone). */
static void control_free(struct control *ctl)
{
	event_free(ctl->ev_accept);
	event_free(ctl->ev_resume);
	free(ctl);
}

/* Stop listening and remove the socket file; the object itself may outlive this call. */
static void control_stop_listening(struct control *ctl)
{
	event_del(ctl->ev_accept);
	event_del(ctl->ev_resume);
	close(ctl->fd);
	ctl->fd = -1;
	unlink(ctl->path);
}

/* Close everything and remove the socket file. */
void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	control_stop_listening(ctl);
	while (ctl->conns) {
		struct control_conn *c = ctl->conns;
		ctl->conns = c->next;
		control_conn_release(c);
	}
	control_free(ctl);
}

/*
 * Stop listening now, but let open connections finish their replies: the
 * reload that retires this socket may be running inside one of them.
 */
void control_retire(struct control *ctl)
{
	if (!ctl)
		return;
	control_stop_listening(ctl);
	if (ctl->n_conns == 0) {
		control_free(ctl);
		return;
	}
	ctl->retired = true;
}
