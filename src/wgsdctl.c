/* SPDX-License-Identifier: MIT */
/* wgsdctl: ask a running wgsd for its status, metrics, or a reload, over the status socket. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "ctl-status.h"
#include "json.h"
#include "strbuf.h"

/* Exit codes: the daemon answered (0) or reported an error (1); usage (2); daemon unreachable (3). */
#define EXIT_DAEMON_ERROR 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define REPLY_MAX (64 * 1024 * 1024)
#define IO_TIMEOUT_S 10

/* Print usage. */
static void usage(FILE *f)
{
	fprintf(f, "usage: wgsdctl [-s SOCKET] COMMAND\n"
		   "commands:\n"
		   "  status [--json] [-v] [-i DEVICE] [-p PEER]  state of the daemon and its roles\n"
		   "  metrics                                 Prometheus text exposition\n"
		   "  reload                                  re-read the configuration (like SIGHUP)\n"
		   "  version                                 daemon version\n"
		   "  -s SOCKET  status socket (default %s)\n"
		   "exit codes: 0 ok, 1 the daemon reported an error, 2 usage, 3 daemon unreachable\n",
		WGSD_STATUS_SOCKET);
}

/* Send one command and read the whole reply. Returns 0, or EXIT_UNREACHABLE after printing why. */
static int request(const char *path, const char *cmd, struct strbuf *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	char buf[65536];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "wgsdctl: socket path too long: %s\n", path);
		return EXIT_UNREACHABLE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "wgsdctl: cannot reach wgsd at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_UNREACHABLE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t len = strlen(cmd);
	if (send(fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "wgsdctl: sending to %s: %s\n", path, strerror(errno));
		close(fd);
		return EXIT_UNREACHABLE;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (reply->len + (size_t)n > REPLY_MAX) {
			fprintf(stderr, "wgsdctl: reply too large\n");
			close(fd);
			return EXIT_UNREACHABLE;
		}
		strbuf_append(reply, buf, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		fprintf(stderr, "wgsdctl: reading from %s: %s\n", path, strerror(errno));
		return EXIT_UNREACHABLE;
	}
	return 0;
}

/* Render the status document for people. */
static int print_status(const struct strbuf *reply, const struct ctl_status_opts *o)
{
	size_t off = 0;
	struct json *doc = json_parse(reply->data, reply->len, &off);

	if (!doc || doc->type != JSON_OBJECT) {
		fprintf(stderr, "wgsdctl: the daemon's status is not valid JSON (at byte %zu)\n", off);
		json_free(doc);
		return EXIT_DAEMON_ERROR;
	}
	ctl_status_print(stdout, doc, o, time(NULL));
	json_free(doc);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = WGSD_STATUS_SOCKET;
	struct strbuf reply = STRBUF_INIT;
	struct ctl_status_opts view = { 0 };
	bool json = false;
	const char *cmd;
	int ch, rc;

	while ((ch = getopt(argc, argv, "+s:h")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "status") == 0) {
		static const struct option opts[] = {
			{ "json", no_argument, NULL, 'j' },
			{ "device", required_argument, NULL, 'i' },
			{ "peer", required_argument, NULL, 'p' },
			{ "verbose", no_argument, NULL, 'v' },
			{ NULL, 0, NULL, 0 },
		};
		optind--;
		argv[optind] = "status";
		argc -= optind;
		argv += optind;
		optind = 1;
		while ((ch = getopt_long(argc, argv, "ji:p:v", opts, NULL)) != -1) {
			switch (ch) {
			case 'j':
				json = true;
				break;
			case 'i':
				view.device = optarg;
				break;
			case 'p':
				view.peer = optarg;
				break;
			case 'v':
				view.verbose = true;
				break;
			default:
				usage(stderr);
				return EXIT_USAGE;
			}
		}
	} else if (strcmp(cmd, "metrics") && strcmp(cmd, "reload") && strcmp(cmd, "version")) {
		fprintf(stderr, "wgsdctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "wgsdctl: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	rc = request(path, cmd, &reply);
	if (rc)
		goto out;
	if (strncmp(strbuf_str(&reply), "error:", 6) == 0) {
		fputs(strbuf_str(&reply), stderr);
		rc = EXIT_DAEMON_ERROR;
	} else if (strcmp(cmd, "status") == 0 && !json) {
		rc = print_status(&reply, &view);
	} else {
		fputs(strbuf_str(&reply), stdout);
	}
out:
	strbuf_free(&reply);
	return rc;
}
