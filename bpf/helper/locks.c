// SPDX-License-Identifier: GPL-2.0
/*
 * Sleeping-lock waits (lock:contention_begin/end, 5.19+), attached with the
 * off-CPU tracking and read with it: completed waits per (lock, waiter,
 * owner) as "l" lines, waits still open as "w" lines.
 */
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helper.h"
#include "map_helpers.h"

/* Elements read per map and read: the kernel side's map sizes (loadmon.bpf.c). */
#define LOCK_READ_MAX 16384

/* On failure the off-CPU tracking runs without them (locks=0). */
void lm_locks_attach(struct lm_ctx *ctx)
{
	struct loadmon_bpf *skel = ctx->skel;

	if (!ctx->locks_loaded || ctx->lock_begin_link)
		return;
	skel->bss->lock_dropped = 0;
	ctx->lock_begin_link = bpf_program__attach(skel->progs.on_lock_begin);
	if (!ctx->lock_begin_link)
		return;
	ctx->lock_end_link = bpf_program__attach(skel->progs.on_lock_end);
	if (!ctx->lock_end_link) {
		bpf_link__destroy(ctx->lock_begin_link);
		ctx->lock_begin_link = NULL;
	}
}

void lm_locks_detach(struct lm_ctx *ctx)
{
	bpf_link__destroy(ctx->lock_end_link);
	ctx->lock_end_link = NULL;
	bpf_link__destroy(ctx->lock_begin_link);
	ctx->lock_begin_link = NULL;
}

/* A wait: still open (count 0: start time) or summed (count > 0: its time). */
static void print_lock(FILE *out, const char *tag, const struct lm_lock_open *o,
		       __u64 ns, __u64 count)
{
	fprintf(out, "%s %llx %u %u %u %u %u %llu", tag, (unsigned long long)o->lock,
		o->flags, o->tid, o->pid, o->owner_tid, o->owner_pid,
		(unsigned long long)(count ? ns : o->start_ns));
	if (count)
		fprintf(out, " %llu", (unsigned long long)count);
	fprintf(out, " %llu %u ", (unsigned long long)o->ino, o->dev);
	lm_print_comm(out, o->comm);
	fputs(" ", out);
	lm_print_comm(out, o->owner_comm);
	fputs(" ", out);
	lm_print_comm(out, o->owner_pcomm);
	fputs("\n", out);
}

static void print_sum(FILE *out, const struct lm_lock_key *k, const struct lm_lock_val *v)
{
	struct lm_lock_open o = {
		.lock = k->lock, .ino = v->ino, .dev = v->dev, .flags = v->flags,
		.tid = k->tid, .pid = v->pid,
		.owner_tid = k->owner_tid, .owner_pid = v->owner_pid,
	};

	memcpy(o.comm, v->comm, sizeof(o.comm));
	memcpy(o.owner_comm, v->owner_comm, sizeof(o.owner_comm));
	memcpy(o.owner_pcomm, v->owner_pcomm, sizeof(o.owner_pcomm));
	print_lock(out, "l", &o, v->ns, v->count ? v->count : 1);
}

/* Drains the sums map of the slot just left: an "l" line each, deleted after. */
void lm_locks_drain(struct lm_ctx *ctx, FILE *out, int old_slot)
{
	struct loadmon_bpf *skel = ctx->skel;
	int fd = bpf_map__fd(old_slot ? skel->maps.lock_sums_1 : skel->maps.lock_sums_0);
	static struct lm_map_buf b;
	long n;

	if (lm_map_buf_init(&b, sizeof(struct lm_lock_key), sizeof(struct lm_lock_val),
			    LOCK_READ_MAX)) {
		fputs("err out of memory reading the lock sums\n", out);
		return;
	}
	n = lm_map_read(fd, &b);
	for (long i = 0; i < n; i++) {
		print_sum(out, lm_map_key(&b, i), lm_map_val(&b, i));
		bpf_map_delete_elem(fd, lm_map_key(&b, i));
	}
}

/* The lock waits still open: a "w" line each. */
void lm_locks_list_open(struct lm_ctx *ctx, FILE *out)
{
	int fd = bpf_map__fd(ctx->skel->maps.lock_open);
	static struct lm_map_buf b;
	long n;

	if (lm_map_buf_init(&b, sizeof(__u32), sizeof(struct lm_lock_open), LOCK_READ_MAX)) {
		fputs("err out of memory reading the open lock waits\n", out);
		return;
	}
	n = lm_map_read(fd, &b);
	for (long i = 0; i < n; i++) {
		const struct lm_lock_open *o = lm_map_val(&b, i);

		if (o->tid == *(const __u32 *)lm_map_key(&b, i))
			print_lock(out, "w", o, 0, 0);
	}
}
