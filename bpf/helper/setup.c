// SPDX-License-Identifier: GPL-2.0
/*
 * Loading: choose which programs load for this kernel, load them, attach
 * the task iterator; undone in reverse order by lm_teardown. A failure
 * prints the protocol's "fatal KIND MESSAGE" line, one word for Node to act
 * on: perm (privileges), btf, load (verifier, kernel too old), other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "helper.h"

/* Ring buffer entries of the iter/task pass, which does not use it (the map cannot be empty). */
#define RECORDS_UNUSED_BYTES 4096

static int say_fatal(const char *kind, int err, const char *what)
{
	printf("fatal %s %s: %s\n", kind, what, strerror(err < 0 ? -err : err));
	fflush(stdout);
	return -1;
}

static const char *perm_or_load(int err)
{
	err = err < 0 ? -err : err;
	return err == EPERM || err == EACCES ? "perm" : "load";
}

/* What this kernel has, from its BTF (read once: it is a few MiB). */
struct kernel_features {
	int task_kfuncs; /* the open-coded task iterator (6.7+) */
	int lock_tracepoints; /* lock:contention_begin/end (5.19+) */
};

static void probe_kernel(struct kernel_features *k)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const char *force = getenv("LOADMON_BPF_ITER_TASK");

	k->task_kfuncs = 0;
	k->lock_tracepoints = 0;
	if (!btf)
		return;
	/* LOADMON_BPF_ITER_TASK forces dump_tasks, as on kernels before 6.7. */
	k->task_kfuncs = btf__find_by_name_kind(btf, "bpf_iter_task_new", BTF_KIND_FUNC) >= 0 &&
			 !(force && *force);
	k->lock_tracepoints =
		btf__find_by_name_kind(btf, "btf_trace_contention_begin", BTF_KIND_TYPEDEF) >= 0 &&
		btf__find_by_name_kind(btf, "btf_trace_contention_end", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
}

/* What failed, for the fatal line. */
struct load_fail {
	const char *kind;
	const char *what;
};

/* Opens the skeleton with the programs this kernel can take, and loads it; 0 or a negative errno. */
static int load_skel(struct lm_ctx *ctx, int task_kfuncs, int locks, struct load_fail *f)
{
	struct loadmon_bpf *s = loadmon_bpf__open();
	int err;

	if (!s) {
		f->kind = "load";
		f->what = "opening the BPF object";
		return errno ? -errno : -ENOMEM;
	}
	if (!task_kfuncs) {
		bpf_program__set_autoload(s->progs.dump_all, false);
		bpf_map__set_max_entries(s->maps.records, RECORDS_UNUSED_BYTES);
	}
	if (!locks) {
		bpf_program__set_autoload(s->progs.on_lock_begin, false);
		bpf_program__set_autoload(s->progs.on_lock_end, false);
	}
	err = loadmon_bpf__load(s);
	if (err) {
		loadmon_bpf__destroy(s);
		f->kind = perm_or_load(err);
		f->what = "loading the BPF programs";
		return err;
	}
	ctx->skel = s;
	ctx->locks_loaded = locks;
	return 0;
}

/* A kernel that has the lock tracepoints but refuses their programs: go on without chains. */
static int load_programs(struct lm_ctx *ctx, struct load_fail *f)
{
	struct kernel_features k;
	int err;

	probe_kernel(&k);
	err = load_skel(ctx, k.task_kfuncs, k.lock_tracepoints, f);
	if (err && k.lock_tracepoints)
		err = load_skel(ctx, k.task_kfuncs, 0, f);
	return err;
}

/* dump_all for our own thread only (a task filter on the link, 5.19+); on any failure the pass stays with dump_tasks. */
static void attach_all(struct lm_ctx *ctx)
{
	union bpf_iter_link_info info = { .task.tid = (__u32)syscall(SYS_gettid) };

	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
		    .link_info_len = sizeof(info));

	ctx->all_link = bpf_program__attach_iter(ctx->skel->progs.dump_all, &opts);
	if (!ctx->all_link)
		return;
	if (lm_records_open(ctx)) {
		bpf_link__destroy(ctx->all_link);
		ctx->all_link = NULL;
	}
}

/* 0, or -1 after its fatal line with nothing left loaded. */
int lm_setup(struct lm_ctx *ctx)
{
	struct load_fail f;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return say_fatal("btf", errno, "/sys/kernel/btf/vmlinux");
	err = load_programs(ctx, &f);
	if (err)
		return say_fatal(f.kind, err, f.what);
	ctx->iter_link = bpf_program__attach_iter(ctx->skel->progs.dump_tasks, NULL);
	if (!ctx->iter_link) {
		err = errno;
		loadmon_bpf__destroy(ctx->skel);
		ctx->skel = NULL;
		return say_fatal(perm_or_load(err), err, "attaching the task iterator");
	}
	if (bpf_program__autoload(ctx->skel->progs.dump_all))
		attach_all(ctx);
	return 0;
}

/* Everything, in the reverse order of attaching; also after a partial setup. */
void lm_teardown(struct lm_ctx *ctx)
{
	lm_profile_detach(ctx);
	lm_locks_detach(ctx);
	bpf_link__destroy(ctx->wakeup_link);
	ctx->wakeup_link = NULL;
	bpf_link__destroy(ctx->offcpu_link);
	ctx->offcpu_link = NULL;
	ring_buffer__free(ctx->records_rb);
	ctx->records_rb = NULL;
	bpf_link__destroy(ctx->all_link);
	ctx->all_link = NULL;
	bpf_link__destroy(ctx->iter_link);
	ctx->iter_link = NULL;
	loadmon_bpf__destroy(ctx->skel);
	ctx->skel = NULL;
}
