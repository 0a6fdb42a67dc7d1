/* SPDX-License-Identifier: MIT */
/* The status socket: a Unix stream socket answering one command line per connection. */
#ifndef WGSD_CONTROL_H
#define WGSD_CONTROL_H

#include "control-cmd.h"

struct event_base;
struct strbuf;
struct control;

/* Produces the reply to a valid command. */
typedef void (*control_handler_cb)(enum control_cmd cmd, struct strbuf *reply, void *arg);

/* Create the socket at path (mode 0660; a stale socket is replaced, a live one or a non-socket file is an error).
 * 0 or -errno with a message in err. */
int control_open(struct event_base *base, const char *path, control_handler_cb cb, void *arg,
		 struct control **out, struct strbuf *err);
/* Close all connections, remove the socket file, free. */
void control_close(struct control *ctl);
/* Stop listening and remove the socket file now; free once the open connections have their replies.
 * Safe to call from inside a command handler of this very socket. */
void control_retire(struct control *ctl);

#endif
