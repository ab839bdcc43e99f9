// SPDX-License-Identifier: GPL-2.0
/*
 * offcpu-start skip=PID: attach on_switch and on_wakeup (and the lock-wait
 * programs where they loaded); idempotent; "ok NOW_NS locks=0|1". The
 * tracking stays attached until the helper exits.
 *
 * The off-CPU read (part of the sample command): completed intervals since
 * the last read ("o" lines), completed lock waits ("l"), the intervals still
 * open ("p") and the lock waits still open ("w"), then "e NOW DROPPED
 * LOCK_DROPPED". Switch-ins are first pointed at the other sums map, so the
 * drained one no longer changes; an interval that closes between the drain
 * and the read of the open ones is in neither and shows up in the next
 * read's sums (Node accounts for that).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helper.h"
#include "map_helpers.h"

/* Elements read per map and read: the kernel side's map sizes (loadmon.bpf.c). */
#define OFFCPU_READ_MAX 16384

/* 0, or -1 with an err line and nothing left attached. */
static int attach_tracking(struct lm_ctx *ctx, FILE *out, unsigned long skip)
{
	struct loadmon_bpf *skel = ctx->skel;

	skel->bss->offcpu_skip_a = getpid();
	skel->bss->offcpu_skip_b = skip;
	skel->bss->offcpu_slot = 0;
	skel->bss->offcpu_dropped = 0;
	ctx->offcpu_link = bpf_program__attach(skel->progs.on_switch);
	if (!ctx->offcpu_link) {
		fprintf(out, "err attaching to sched_switch: %s\n", strerror(errno));
		return -1;
	}
	ctx->wakeup_link = bpf_program__attach(skel->progs.on_wakeup);
	if (!ctx->wakeup_link) {
		fprintf(out, "err attaching to sched_wakeup: %s\n", strerror(errno));
		bpf_link__destroy(ctx->offcpu_link);
		ctx->offcpu_link = NULL;
		return -1;
	}
	lm_locks_attach(ctx);
	return 0;
}

void cmd_offcpu_start(struct lm_ctx *ctx, FILE *out, const char *line)
{
	if (!ctx->offcpu_link &&
	    attach_tracking(ctx, out, lm_arg_ul(line, "skip=", 0)) < 0)
		return;
	fprintf(out, "ok %llu locks=%d\n", (unsigned long long)lm_now_ns(),
		ctx->lock_end_link != NULL);
}

/* Drains one sums map: an "o" line per (thread, stack), deleted after. */
static void drain_sums(FILE *out, int fd)
{
	static struct lm_map_buf b;
	long n;

	if (lm_map_buf_init(&b, sizeof(struct lm_offcpu_key),
			    sizeof(struct lm_offcpu_val), OFFCPU_READ_MAX)) {
		fputs("err out of memory reading the off-CPU sums\n", out);
		return;
	}
	n = lm_map_read(fd, &b);
	for (long i = 0; i < n; i++) {
		const struct lm_offcpu_key *k = lm_map_key(&b, i);
		const struct lm_offcpu_val *v = lm_map_val(&b, i);

		fprintf(out, "o %u %u %llu %llu %llu ", k->tid, k->pid,
			(unsigned long long)v->ns, (unsigned long long)v->count,
			(unsigned long long)v->cgroup);
		lm_print_comm(out, v->comm);
		fputs(" ", out);
		lm_print_frames(out, k->ips, lm_frames_of(k->ips));
		fputs("\n", out);
		bpf_map_delete_elem(fd, k);
	}
}

/* The intervals still open: a "p" line each. */
static void list_open(FILE *out, int fd)
{
	static struct lm_map_buf b;
	long n;

	if (lm_map_buf_init(&b, sizeof(__u32), sizeof(struct lm_offcpu_open),
			    OFFCPU_READ_MAX)) {
		fputs("err out of memory reading the open off-CPU intervals\n", out);
		return;
	}
	n = lm_map_read(fd, &b);
	for (long i = 0; i < n; i++) {
		const struct lm_offcpu_open *o = lm_map_val(&b, i);

		if (o->tid != *(const __u32 *)lm_map_key(&b, i))
			continue; /* an element reused while it was read */
		fprintf(out, "p %u %u %llu %llu ", o->tid, o->pid,
			(unsigned long long)o->start_ns, (unsigned long long)o->cgroup);
		lm_print_comm(out, o->comm);
		fputs(" ", out);
		lm_print_frames(out, o->ips, o->nframes);
		fputs("\n", out);
	}
}

void lm_offcpu_read(struct lm_ctx *ctx, FILE *out)
{
	struct loadmon_bpf *skel = ctx->skel;
	/* A switch-in that read the old slot finishes within microseconds
	 * (it runs with interrupts off, under the run queue lock).
	 */
	const struct timespec grace = { 0, 1000000 };
	__u64 old = skel->bss->offcpu_slot, now;

	skel->bss->offcpu_slot = !old;
	nanosleep(&grace, NULL);
	drain_sums(out, bpf_map__fd(old ? skel->maps.offcpu_sums_1 : skel->maps.offcpu_sums_0));
	if (ctx->lock_end_link)
		lm_locks_drain(ctx, out, old);
	now = lm_now_ns();
	list_open(out, bpf_map__fd(skel->maps.offcpu_open));
	if (ctx->lock_end_link)
		lm_locks_list_open(ctx, out);
	fprintf(out, "e %llu %llu %llu\n", (unsigned long long)now,
		(unsigned long long)skel->bss->offcpu_dropped,
		(unsigned long long)skel->bss->lock_dropped);
}
