// SPDX-License-Identifier: GPL-2.0
/*
 * loadmon-bpf: the helper process behind `loadmon --source bpf`.
 *
 * Node starts it, writes one command a line on its stdin, and reads the
 * answers, one record a line, on its stdout (docs/bpf.md, "Helper
 * protocol"). It holds the loaded BPF programs between captures so that a
 * capture costs one iterator pass and a pipe round trip.
 *
 * Everything it attaches is owned by file descriptors (iterator link, perf
 * event links; nothing is pinned), so however it ends -- quit, EOF on stdin,
 * SIGINT/SIGTERM, SIGKILL -- the kernel detaches it all.
 *
 * Kernel and user addresses go to Node only, which symbolises them; the
 * helper prints them in hex on the pipe and nowhere else.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include <bpf/libbpf.h>

#include "helper.h"
#include "linebuf.h"

/* Exit status when the programs could not be loaded (after the fatal line). */
#define EXIT_FATAL 3

struct command {
	const char *name;
	bool exact; /* the whole line, else a prefix */
	void (*run)(struct lm_ctx *ctx, FILE *out, const char *line);
};

/* Matched in this order, as the protocol has always matched them. */
static const struct command commands[] = {
	{ "snapshot", false, cmd_snapshot },
	{ "profile-start", false, cmd_profile_start },
	{ "profile-stop", true, cmd_profile_stop },
	{ "offcpu-start", false, cmd_offcpu_start },
	{ "sample", false, cmd_sample },
	{ "maps ", false, cmd_maps },
};

/* Set by SIGINT/SIGTERM; a lock-free atomic is safe to set in a handler. */
static atomic_int stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (getenv("LOADMON_BPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* Node starts us in our own process group (so a terminal's Ctrl-C reaches
 * Node, which then says quit); if Node dies without a word, so do we.
 */
static void setup_process(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* No SA_RESTART: a signal interrupts the read of the next command. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(quiet_print);
}

static const struct command *find_command(const char *line)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		if (c->exact ? strcmp(line, c->name) == 0
			     : strncmp(line, c->name, strlen(c->name)) == 0)
			return c;
	}
	return NULL;
}

/* Runs one command line; false for quit. */
static bool run_line(struct lm_ctx *ctx, const char *line)
{
	const struct command *c;

	if (strcmp(line, "quit") == 0)
		return false;
	c = find_command(line);
	if (c)
		c->run(ctx, stdout, line);
	else
		fputs("err unknown command\n", stdout);
	return true;
}

/* Commands until quit, EOF on stdin, or a signal. */
static void serve(struct lm_ctx *ctx)
{
	static struct lm_linebuf in;
	enum lm_line got;
	char *line;
	ssize_t n;

	lm_linebuf_init(&in, STDIN_FILENO);
	while (!stopping) {
		got = lm_linebuf_next(&in, &line);
		if (got == LM_LINE_OK && !run_line(ctx, line))
			return;
		if (got == LM_LINE_TOO_LONG)
			fputs("err command too long\n", stdout);
		if (got != LM_LINE_NONE) {
			fflush(stdout);
			continue;
		}
		n = lm_linebuf_fill(&in);
		if (n == 0 || (n < 0 && errno != EINTR))
			return; /* EOF, or stdin failed */
	}
}

int main(void)
{
	struct lm_ctx ctx = { 0 };

	setup_process();
	if (lm_setup(&ctx))
		return EXIT_FATAL;
	printf("ready %d cpus=%d pass=%s locks=%d\n", PROTOCOL_VERSION,
	       libbpf_num_possible_cpus(), ctx.all_link ? "task-list" : "iter-task",
	       ctx.locks_loaded);
	fflush(stdout);
	serve(&ctx);
	lm_teardown(&ctx);
	return 0;
}
