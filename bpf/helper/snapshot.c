// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot depth=D skip=PID rstacks=0|1: one pass over every thread, a "t"
 * line per R or D task, then "end THREADS WALK_NS". Where the kernel has the
 * open-coded task iterator (6.7+), dump_all walks the task list in one run
 * and sends its records through a ring buffer; elsewhere dump_tasks runs
 * once per thread and writes them into the iterator's seq_file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helper.h"

/* The iter/task pass's buffer: grown by doubling, from 1 MiB, while less than 64 KiB is free. */
#define ITER_BUF_MIN (1 << 20)
#define ITER_READ_MIN 65536

static void print_cgroups(FILE *out, const struct lm_task *t)
{
	if (t->ncgroups == 0)
		fputs("-", out);
	for (__u32 i = 0; i < t->ncgroups && i < LM_MAX_CGROUPS; i++)
		fprintf(out, "%s%u:%llu", i ? "," : "", t->cgroups[i].hierarchy,
			(unsigned long long)t->cgroups[i].id);
}

static void print_stack(FILE *out, const struct lm_task *t)
{
	if (t->nframes < 0)
		fprintf(out, "!%d", -t->nframes);
	else if (t->nframes == 0)
		fputs("-", out);
	for (int i = 0; i < t->nframes && i < LM_MAX_DEPTH; i++)
		fprintf(out, "%s%llx", i ? "," : "", (unsigned long long)t->ips[i]);
}

static void print_task(FILE *out, const struct lm_task *t)
{
	fprintf(out, "t %u %u %c ", t->tid, t->pid, (char)t->state);
	if (t->blocked_ns == LM_BLOCKED_UNKNOWN)
		fputs("-", out);
	else
		fprintf(out, "%llu", (unsigned long long)t->blocked_ns);
	fputs(" ", out);
	lm_print_comm(out, t->comm);
	fputs(" ", out);
	print_cgroups(out, t);
	fputs(" ", out);
	print_stack(out, t);
	fputs("\n", out);
}

/* The ring buffer's callback: one record of dump_all, maybe cut short. */
static int on_record(void *data, void *rec, size_t size)
{
	struct lm_ctx *ctx = data;
	struct lm_task t;

	if (size < LM_TASK_HEADER_SIZE)
		return 0;
	memset(&t, 0, sizeof(t));
	memcpy(&t, rec, size < sizeof(t) ? size : sizeof(t));
	if (t.nframes > 0 &&
	    LM_TASK_HEADER_SIZE + (size_t)t.nframes * sizeof(__u64) > size)
		t.nframes = (size - LM_TASK_HEADER_SIZE) / sizeof(__u64);
	print_task(ctx->rb_out, &t);
	return 0;
}

/* The ring buffer of dump_all; 0, or a negative errno. */
int lm_records_open(struct lm_ctx *ctx)
{
	int fd = bpf_map__fd(ctx->skel->maps.records);

	ctx->records_rb = ring_buffer__new(fd, on_record, ctx, NULL);
	return ctx->records_rb ? 0 : -errno;
}

/* A new read of an iterator link; on failure the reply (err + end) is printed. */
static int open_iter(FILE *out, struct bpf_link *link)
{
	int fd = bpf_iter_create(bpf_link__fd(link));

	if (fd < 0)
		fprintf(out, "err bpf_iter_create: %s\nend\n", strerror(errno));
	return fd;
}

/* One pass of dump_all: the program runs once, for our thread, when the iterator is read. */
static void pass_all(struct lm_ctx *ctx, FILE *out)
{
	struct loadmon_bpf *skel = ctx->skel;
	char buf[256];
	__u64 t0, t1;
	int fd;

	skel->bss->walked = 0;
	skel->bss->lost = 0;
	t0 = lm_now_ns();
	fd = open_iter(out, ctx->all_link);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0)
			fprintf(out, "err reading the task iterator: %s\n", strerror(errno));
		break;
	}
	close(fd);
	ctx->rb_out = out;
	ring_buffer__consume(ctx->records_rb);
	t1 = lm_now_ns();
	if (skel->bss->lost)
		fprintf(out, "err %llu R/D tasks did not fit in the ring buffer\n",
			(unsigned long long)skel->bss->lost);
	fprintf(out, "end %llu %llu\n", (unsigned long long)skel->bss->walked,
		(unsigned long long)(t1 - t0));
}

/* Room for one more read in the iter/task buffer; -ENOMEM leaves it as it was. */
static int iter_buf_room(char **buf, size_t *cap, size_t len)
{
	size_t ncap;
	char *nb;

	if (*cap - len >= ITER_READ_MIN)
		return 0;
	ncap = *cap ? *cap * 2 : ITER_BUF_MIN;
	nb = realloc(*buf, ncap);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Reads the whole iter/task output into buf; its length, or a negative errno. */
static long read_iter(int fd, char **buf, size_t *cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;

		if (iter_buf_room(buf, cap, len))
			return -ENOMEM;
		n = read(fd, *buf + len, *cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return len;
		len += n;
	}
}

/* The records in the iterator's output (lm_task, cut after its nframes frames); their count. */
static __u64 print_records(FILE *out, const char *buf, size_t len)
{
	size_t off = 0;
	__u64 records = 0;

	while (off + LM_TASK_HEADER_SIZE <= len) {
		struct lm_task t;
		size_t rlen = LM_TASK_HEADER_SIZE;

		memcpy(&t, buf + off, LM_TASK_HEADER_SIZE);
		if (t.nframes > 0)
			rlen += (size_t)(t.nframes > LM_MAX_DEPTH ? LM_MAX_DEPTH : t.nframes) *
				sizeof(__u64);
		if (off + rlen > len)
			break;
		memcpy(&t, buf + off, rlen);
		off += rlen;
		records++;
		print_task(out, &t);
	}
	return records;
}

/* One pass of dump_tasks: a program run per thread. */
static void pass_tasks(struct lm_ctx *ctx, FILE *out)
{
	/* Kept between passes: a pass at 10,000 threads writes a few MiB. */
	static char *buf;
	static size_t cap;
	__u64 records, t0, t1;
	long len;
	int fd;

	t0 = lm_now_ns();
	fd = open_iter(out, ctx->iter_link);
	if (fd < 0)
		return;
	len = read_iter(fd, &buf, &cap);
	t1 = lm_now_ns();
	close(fd);
	if (len == -ENOMEM) {
		fputs("err out of memory\nend\n", out);
		return;
	}
	if (len < 0) {
		fprintf(out, "err reading the task iterator: %s\nend\n", strerror(-len));
		return;
	}
	records = print_records(out, buf, len);
	fprintf(out, "end %llu %llu\n",
		(unsigned long long)(records + ctx->skel->bss->passed_over),
		(unsigned long long)(t1 - t0));
}

void lm_pass(struct lm_ctx *ctx, FILE *out, unsigned long depth,
	     unsigned long skip, unsigned long rstacks)
{
	struct loadmon_bpf *skel = ctx->skel;

	if (depth > LM_MAX_DEPTH)
		depth = LM_MAX_DEPTH;
	skel->data->depth = depth;
	skel->data->r_stacks = rstacks;
	skel->bss->skip_tgid_a = getpid();
	skel->bss->skip_tgid_b = skip;
	skel->bss->passed_over = 0;
	if (ctx->all_link)
		pass_all(ctx, out);
	else
		pass_tasks(ctx, out);
}

void cmd_snapshot(struct lm_ctx *ctx, FILE *out, const char *line)
{
	lm_pass(ctx, out, lm_arg_ul(line, "depth=", 20), lm_arg_ul(line, "skip=", 0),
		lm_arg_ul(line, "rstacks=", 1));
}
