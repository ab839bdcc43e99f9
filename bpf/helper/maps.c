// SPDX-License-Identifier: GPL-2.0
/*
 * maps TIMEOUT_MS PID...: the executable mappings of up to 256 processes,
 * read in a forked child (procmaps.c) that is killed at the deadline, so
 * that neither the helper nor Node can hang on a process's mmap_lock. The
 * child's "m" and "x" lines are passed on; a process without its "d" line by
 * the deadline gets "x PID timeout"; "end" closes the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "helper.h"
#include "linebuf.h"
#include "procmaps.h"

#define MAPS_MAX_PIDS 256
#define MAPS_DEFAULT_TIMEOUT_MS 500

struct maps_req {
	unsigned long timeout_ms;
	unsigned long pids[MAPS_MAX_PIDS];
	int done[MAPS_MAX_PIDS];
	int n;
};

static void parse_req(struct maps_req *r, const char *args)
{
	const char *p = args;
	char *end;

	r->n = 0;
	r->timeout_ms = strtoul(p, &end, 10);
	if (end == p)
		r->timeout_ms = MAPS_DEFAULT_TIMEOUT_MS;
	for (p = end; r->n < MAPS_MAX_PIDS; p = end) {
		unsigned long pid = strtoul(p, &end, 10);

		if (end == p)
			break;
		r->done[r->n] = 0;
		r->pids[r->n++] = pid;
	}
}

/* A line of the child's: "d PID" marks a process done, the others are passed on. */
static void take_line(struct maps_req *r, FILE *out, const char *line)
{
	if (line[0] == 'd') {
		unsigned long pid = strtoul(line + 2, NULL, 10);

		for (int i = 0; i < r->n; i++)
			if (r->pids[i] == pid)
				r->done[i] = 1;
		return;
	}
	fprintf(out, "%s\n", line);
}

/* Passes the child's lines on until it is done or the deadline. */
static void relay(struct maps_req *r, FILE *out, struct lm_linebuf *lb)
{
	__u64 deadline = lm_now_ns() + r->timeout_ms * 1000000ull;
	struct pollfd pfd = { .fd = lb->fd, .events = POLLIN };
	char *line;

	for (;;) {
		enum lm_line got;
		__u64 t;
		ssize_t n;
		int rc;

		while ((got = lm_linebuf_next(lb, &line)) != LM_LINE_NONE)
			if (got == LM_LINE_OK)
				take_line(r, out, line);
		t = lm_now_ns();
		if (t >= deadline)
			return;
		rc = poll(&pfd, 1, (int)((deadline - t) / 1000000ull) + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return;
		n = lm_linebuf_fill(lb);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the child is done (EOF) or the pipe failed */
	}
}

/* Forks the reader and relays its lines; 0, or -1 with an err line. */
static int read_maps(struct maps_req *r, FILE *out)
{
	static struct lm_linebuf lb;
	pid_t child;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(out, "err pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(out); /* the child must not inherit buffered lines */
	child = fork();
	if (child < 0) {
		fprintf(out, "err fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (child == 0) {
		close(p[0]);
		lm_procmaps_child(p[1], r->pids, r->n);
	}
	close(p[1]);
	lm_linebuf_init(&lb, p[0]);
	relay(r, out, &lb);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(p[0]);
	return 0;
}

void cmd_maps(struct lm_ctx *ctx, FILE *out, const char *line)
{
	static struct maps_req r;

	(void)ctx;
	parse_req(&r, line + strlen("maps"));
	if (r.n > 0 && read_maps(&r, out) == 0) {
		for (int i = 0; i < r.n; i++)
			if (!r.done[i])
				fprintf(out, "x %lu timeout\n", r.pids[i]);
	}
	fputs("end\n", out);
}
