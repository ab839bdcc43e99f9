/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State and commands of loadmon-bpf, the user-space helper behind
 * `loadmon --source bpf` (docs/bpf.md, "Helper protocol"). One file per
 * command of the line protocol; main.c reads the commands and calls them.
 *
 * Every command writes its whole reply to the FILE it is given: stdout,
 * except when the sample command holds a pass back (sample.c).
 */
#ifndef LOADMON_HELPER_H
#define LOADMON_HELPER_H

#include <stdio.h>
#include <linux/types.h>

#include "loadmon.h"
#include "loadmon.skel.h"

/* The line protocol's version, in the ready line; src/bpf/protocol.ts has its twin. */
#define PROTOCOL_VERSION 3

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Everything the helper holds between commands; each link is owned by a file descriptor. */
struct lm_ctx {
	struct loadmon_bpf *skel;
	/* dump_tasks: one program run per thread (every kernel with iter/task) */
	struct bpf_link *iter_link;
	/* dump_all and its ring buffer: one run walks every thread (6.7+) */
	struct bpf_link *all_link;
	struct ring_buffer *records_rb;
	/* where the ring buffer's callback prints: the reply being written */
	FILE *rb_out;
	/* on-CPU sampling: one perf event + link per online CPU */
	struct bpf_link **perf_links;
	int nperf;
	/* D off-CPU tracking (sched_switch, sched_wakeup) */
	struct bpf_link *offcpu_link;
	struct bpf_link *wakeup_link;
	/* lock:contention_begin/end (5.19+), loaded when the kernel has them */
	int locks_loaded;
	struct bpf_link *lock_begin_link;
	struct bpf_link *lock_end_link;
};

/* setup.c: load the programs, attach the iterator; unwind in reverse. */
int lm_setup(struct lm_ctx *ctx);
void lm_teardown(struct lm_ctx *ctx);

/* The commands; `line` is the whole command line without its newline. */
void cmd_snapshot(struct lm_ctx *ctx, FILE *out, const char *line);
void cmd_sample(struct lm_ctx *ctx, FILE *out, const char *line);
void cmd_profile_start(struct lm_ctx *ctx, FILE *out, const char *line);
void cmd_profile_stop(struct lm_ctx *ctx, FILE *out, const char *line);
void cmd_offcpu_start(struct lm_ctx *ctx, FILE *out, const char *line);
void cmd_maps(struct lm_ctx *ctx, FILE *out, const char *line);

/* snapshot.c: one pass; rstacks 0 leaves out the kernel stacks of R tasks. */
void lm_pass(struct lm_ctx *ctx, FILE *out, unsigned long depth,
	     unsigned long skip, unsigned long rstacks);
/* snapshot.c: dump_all's ring buffer; 0, or a negative errno. */
int lm_records_open(struct lm_ctx *ctx);
/* profile.c: detach the sampler (also at teardown). */
void lm_profile_detach(struct lm_ctx *ctx);
/* offcpu.c: the off-CPU read, ended by its "e" line. */
void lm_offcpu_read(struct lm_ctx *ctx, FILE *out);
/* locks.c: the lock-wait programs, attached with the off-CPU tracking. */
void lm_locks_attach(struct lm_ctx *ctx);
void lm_locks_detach(struct lm_ctx *ctx);
void lm_locks_drain(struct lm_ctx *ctx, FILE *out, int old_slot);
void lm_locks_list_open(struct lm_ctx *ctx, FILE *out);

/* output.c: the fields of the protocol's lines. */
__u64 lm_now_ns(void);
unsigned long lm_arg_ul(const char *line, const char *name, unsigned long def);
void lm_print_hex(FILE *out, const unsigned char *p, size_t n);
void lm_print_comm(FILE *out, const char *comm);
void lm_print_frames(FILE *out, const __u64 *ips, int n);
int lm_frames_of(const __u64 *ips);

#endif
