/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record layouts shared by the BPF programs (loadmon.bpf.c) and the helper
 * (loadmon-bpf.c). Plain fixed-width types only: this header is included
 * both by BPF code (with vmlinux.h) and by the user-space helper.
 */
#ifndef LOADMON_H
#define LOADMON_H

/* Kernel frames kept per task: the /proc/PID/stack limit loadmon uses too. */
#define LM_MAX_DEPTH 64
/* cgroup hierarchies reported per task (the v2 one plus v1 ones). */
#define LM_MAX_CGROUPS 16
/* User frames kept per sample (perf's default max stack is 127). */
#define LM_MAX_USER_DEPTH 127

#define LM_BLOCKED_UNKNOWN (~0ULL)

/* Ring buffer of the open-coded pass: ~10,000 R/D tasks with 20-frame stacks. */
#define LM_RINGBUF_BYTES (8 << 20)

struct lm_cgroup {
	__u32 hierarchy; /* cgroup_root.hierarchy_id: 0 is the v2 (default) hierarchy */
	__u32 pad;
	__u64 id; /* kernfs node id == inode number of the cgroup directory */
};

/* One R or D task, written by the task iterator with bpf_seq_write. */
struct lm_task {
	__u32 tid;
	__u32 pid; /* tgid */
	__u64 blocked_ns; /* D only: time since it went off CPU; LM_BLOCKED_UNKNOWN otherwise */
	__u32 state; /* 'R' or 'D' */
	__u32 ncgroups;
	__s32 nframes; /* < 0: bpf_get_task_stack's error */
	__u32 pad;
	char comm[16];
	struct lm_cgroup cgroups[LM_MAX_CGROUPS];
	__u64 ips[LM_MAX_DEPTH]; /* only nframes of them are written */
};

#define LM_TASK_HEADER_SIZE (sizeof(struct lm_task) - LM_MAX_DEPTH * sizeof(__u64))

/* Key of the on-CPU sample counts map (perf_event program). */
struct lm_sample_key {
	__u32 tid;
	__u32 pid;
	__s64 user_stack_id; /* < 0: no user stack (kernel thread, or unwinding failed) */
};

/* Raw kernel frames kept per off-CPU interval: the scheduler's and the
 * tracepoint's own frames come first and are dropped in Node.
 */
#define LM_OFFCPU_DEPTH 40

/* A thread that went off CPU in D: written at switch-out, read at switch-in
 * (and by the helper for the intervals still open when it reads).
 */
struct lm_offcpu_open {
	__u64 start_ns; /* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	__u64 cgroup; /* kernfs id of the thread's cgroup v2 */
	__u32 tid;
	__u32 pid;
	__s32 nframes;
	__u32 pad;
	char comm[16]; /* the process's (group leader's) comm */
	__u64 ips[LM_OFFCPU_DEPTH];
};

/* Completed D off-CPU time, summed per thread and raw stack. */
struct lm_offcpu_key {
	__u32 tid;
	__u32 pid;
	__u64 ips[LM_OFFCPU_DEPTH]; /* zero-filled past the stack's end */
};

struct lm_offcpu_val {
	__u64 ns;
	__u64 count; /* completed intervals */
	__u64 cgroup;
	char comm[16];
};

/*
 * Sleeping-lock waits (lock:contention_begin/end, 5.19+). The lock's
 * address, the waiter and the owner recorded at the wait's start; addresses
 * go to Node only, which turns them into opaque keys.
 */
#define LM_LOCK_COMM 16

/* A thread waiting for a sleeping lock: written at contention_begin, read at
 * contention_end (and by the helper for the waits still open).
 */
struct lm_lock_open {
	__u64 start_ns; /* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	__u64 lock;
	__u64 ino; /* inode number when the lock is an inode's i_rwsem, else 0 */
	__u32 dev; /* that inode's superblock s_dev (kernel encoding: major << 20 | minor) */
	__u32 flags; /* LCB_F_* */
	__u32 tid;
	__u32 pid;
	__u32 owner_tid; /* 0: no single owner known (readers, percpu, none recorded) */
	__u32 owner_pid;
	char comm[LM_LOCK_COMM]; /* the waiter's process (group leader) */
	char owner_comm[LM_LOCK_COMM]; /* the owner thread's */
	char owner_pcomm[LM_LOCK_COMM]; /* the owner's process (group leader) */
};

/* Completed waits, summed per (lock, waiter, owner). */
struct lm_lock_key {
	__u64 lock;
	__u32 tid;
	__u32 owner_tid;
};

struct lm_lock_val {
	__u64 ns;
	__u64 count; /* completed waits */
	__u64 ino;
	__u32 dev;
	__u32 flags;
	__u32 pid;
	__u32 owner_pid;
	char comm[LM_LOCK_COMM];
	char owner_comm[LM_LOCK_COMM];
	char owner_pcomm[LM_LOCK_COMM];
};

#endif
