// SPDX-License-Identifier: GPL-2.0
/*
 * profile-start hz=N: attach on_cpu_sample to a SW_CPU_CLOCK perf event on
 * every online CPU ("ok NCPUS"). profile-stop: detach, then an "s" line per
 * (thread, user stack) counted, a "u" line per user stack, "end"; both maps
 * are emptied for the next window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helper.h"

void lm_profile_detach(struct lm_ctx *ctx)
{
	for (int i = 0; i < ctx->nperf; i++)
		bpf_link__destroy(ctx->perf_links[i]); /* also closes the perf event fd */
	free(ctx->perf_links);
	ctx->perf_links = NULL;
	ctx->nperf = 0;
}

/* The sampler on one CPU: 1 attached, 0 offline, -1 failed (err line printed). */
static int attach_cpu(struct lm_ctx *ctx, FILE *out, struct perf_event_attr *attr, int cpu)
{
	struct bpf_link *l;
	int fd, err;

	fd = syscall(__NR_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && errno == ENODEV)
		return 0;
	if (fd < 0) {
		fprintf(out, "err perf_event_open on CPU %d: %s\n", cpu, strerror(errno));
		return -1;
	}
	l = bpf_program__attach_perf_event(ctx->skel->progs.on_cpu_sample, fd);
	if (!l) {
		err = errno;
		close(fd);
		fprintf(out, "err attaching to the perf event on CPU %d: %s\n", cpu, strerror(err));
		return -1;
	}
	ctx->perf_links[ctx->nperf++] = l;
	return 1;
}

void cmd_profile_start(struct lm_ctx *ctx, FILE *out, const char *line)
{
	unsigned long hz = lm_arg_ul(line, "hz=", 49);
	int ncpus = libbpf_num_possible_cpus();
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = hz ? hz : 49,
	};

	if (ctx->nperf > 0) {
		fputs("err already profiling\n", out);
		return;
	}
	if (ncpus <= 0) {
		fputs("err cannot count CPUs\n", out);
		return;
	}
	ctx->perf_links = calloc(ncpus, sizeof(*ctx->perf_links));
	if (!ctx->perf_links) {
		fputs("err out of memory\n", out);
		return;
	}
	ctx->skel->bss->sample_skip_tgid = getpid();
	for (int cpu = 0; cpu < ncpus; cpu++) {
		if (attach_cpu(ctx, out, &attr, cpu) < 0) {
			lm_profile_detach(ctx);
			return;
		}
	}
	fprintf(out, "ok %d\n", ctx->nperf);
}

static int cmp_id(const void *a, const void *b)
{
	__s64 x = *(const __s64 *)a, y = *(const __s64 *)b;

	return (x > y) - (x < y);
}

/* Sorts the ids and drops repeats: O(n log n); the new count. */
static size_t unique_ids(__s64 *ids, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	return k;
}

/*
 * An "s" line per counted (thread, stack); the user stack ids into ids
 * (room for max), their count. The walk is bounded by max: the sampler is
 * detached, so the map no longer changes.
 */
static size_t print_samples(FILE *out, int counts, __s64 *ids, __u32 max)
{
	struct lm_sample_key key, next, *prev = NULL;
	size_t nids = 0;
	__u32 seen = 0;

	while (seen++ < max && bpf_map_get_next_key(counts, prev, &next) == 0) {
		__u64 c = 0;

		if (bpf_map_lookup_elem(counts, &next, &c) == 0) {
			fprintf(out, "s %u %u %llu ", next.tid, next.pid, (unsigned long long)c);
			if (next.user_stack_id < 0) {
				fputs("-\n", out);
			} else {
				fprintf(out, "%lld\n", (long long)next.user_stack_id);
				if (ids)
					ids[nids++] = next.user_stack_id;
			}
		}
		key = next;
		prev = &key;
	}
	return nids;
}

/* A "u" line per stack, each deleted after. */
static void print_user_stacks(FILE *out, int stacks, const __s64 *ids, size_t n)
{
	static __u64 ips[LM_MAX_USER_DEPTH];

	for (size_t i = 0; i < n; i++) {
		__u32 id = (__u32)ids[i];

		memset(ips, 0, sizeof(ips));
		if (bpf_map_lookup_elem(stacks, &id, ips) == 0) {
			fprintf(out, "u %u ", id);
			for (int k = 0; k < LM_MAX_USER_DEPTH && ips[k]; k++)
				fprintf(out, "%s%llx", k ? "," : "", (unsigned long long)ips[k]);
			fputs("\n", out);
		}
		bpf_map_delete_elem(stacks, &id);
	}
}

/* Empties the counts for the next window (bounded: the map no longer changes). */
static void clear_counts(int counts, __u32 max)
{
	struct lm_sample_key next;

	for (__u32 i = 0; i < max; i++) {
		if (bpf_map_get_next_key(counts, NULL, &next) != 0)
			break;
		bpf_map_delete_elem(counts, &next);
	}
}

void cmd_profile_stop(struct lm_ctx *ctx, FILE *out, const char *line)
{
	struct loadmon_bpf *skel = ctx->skel;
	int counts = bpf_map__fd(skel->maps.samples);
	__u32 max = bpf_map__max_entries(skel->maps.samples);
	__s64 *ids = calloc(max, sizeof(*ids));
	size_t nids;

	(void)line;
	lm_profile_detach(ctx);
	if (!ids)
		fputs("err out of memory: no user stacks\n", out);
	nids = print_samples(out, counts, ids, max);
	clear_counts(counts, max);
	nids = unique_ids(ids, nids);
	print_user_stacks(out, bpf_map__fd(skel->maps.user_stacks), ids, nids);
	free(ids);
	fputs("end\n", out);
}
