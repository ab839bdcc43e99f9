// SPDX-License-Identifier: GPL-2.0
/*
 * loadmon's BPF programs.
 *
 * dump_tasks (iter/task): one pass over every thread, like the load_monitor
 * module's walk but with no module. It writes a struct lm_task only for the
 * threads that make the load average (R, and D without TASK_NOLOAD), with
 * their kernel stack, cgroups and, for D, how long they have been off CPU.
 * Every other thread costs a few loads and a counter increment.
 *
 * on_cpu_sample (perf_event, SW_CPU_CLOCK): counts, per thread and user
 * stack, which tasks are on the CPUs; it gives R tasks a user-space stack.
 *
 * on_switch/on_wakeup (sched_switch, sched_wakeup): time blocked in D.
 * on_lock_begin/on_lock_end (lock:contention_begin/end): who waits for
 * which sleeping lock, held by whom.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "loadmon.h"
#include "kfuncs.h"

/* bpf_get_task_stack and bpf_seq_write are GPL-only helpers. */
char LICENSE[] SEC("license") = "GPL";

/* Task state bits (include/linux/sched.h); stable since 4.14. */
#define TASK_RUNNING 0x0000
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_REPORT 0x007f
#define TASK_NOLOAD 0x0400
#define TASK_RTLOCK_WAIT 0x1000
/* task_struct.flags: the per-CPU idle task (swapper/N), include/linux/sched.h. */
#define PF_IDLE 0x00000002

/* Set by the helper before each pass (globals are __u64: see docs/bpf.md). */
__u64 depth = 20;
/* 0: kernel stacks for D tasks only (the recorder's 1 s samples). */
__u64 r_stacks = 1;
__u64 skip_tgid_a;
__u64 skip_tgid_b;
/* Tasks visited that produced no record. Only tasks that write nothing are
 * counted here, so a re-run of the program for a task whose record did not
 * fit in the seq buffer cannot count it twice.
 */
__u64 passed_over;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lm_task);
} scratch SEC(".maps");

/* Kernels before 5.14 call the state field `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* Direct loads, not BPF_CORE_READ: the iterator's task pointer is trusted,
 * and these two reads are all that most tasks cost.
 */
static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___pre514 *)t)->state;
}

/* The letter /proc/PID/stat shows (fs/proc/array.c task_state_index), for the
 * two states loadmon keeps; 0 for every other state.
 */
static __always_inline char load_state(struct task_struct *t)
{
	unsigned int st = task_state(t);
	unsigned int report = st & TASK_REPORT;

	if (st == TASK_RTLOCK_WAIT)
		return 'D';
	/* exit_state is in another cache line of the task_struct: only running
	 * (or dead) tasks read it -- an exiting task is a zombie, not R. Every
	 * sleeping thread, most of a pass, costs one line.
	 */
	/* The idle tasks (swapper/N) are always TASK_RUNNING but never load:
	 * the open-coded walk starts at init_task, swapper/0 itself. flags is
	 * in the same cache line as __state.
	 */
	if (report == TASK_RUNNING)
		return (t->flags & PF_IDLE) || t->exit_state ? 0 : 'R';
	/* D is the highest reported bit; TASK_NOLOAD (idle kthreads, TASK_IDLE)
	 * does not count toward the load average.
	 */
	if ((report & ~(TASK_UNINTERRUPTIBLE | 1)) == 0 && (report & TASK_UNINTERRUPTIBLE) && !(st & TASK_NOLOAD))
		return 'D';
	return 0;
}

/*
 * How long a sleeping task has been off CPU. se.exec_start is set from its
 * run queue's clock_task each time the task's runtime is accounted, the
 * last time being when it was dequeued to sleep; it is not touched while the
 * task sleeps (only a migration, which happens at wakeup, zeroes it). So the
 * time asleep is that run queue's clock_task now minus exec_start. A run
 * queue's clocks only advance when its CPU schedules or ticks, and an idle
 * tickless CPU's are stale, so the staleness is added, measured against the
 * clock of the CPU running this program (busy, so current to one tick):
 * rq->clock is sched_clock_cpu(), comparable across CPUs.
 *
 * The run queue is reached through se.cfs_rq->rq (CONFIG_FAIR_GROUP_SCHED):
 * the `runqueues` per-CPU symbol is not in kallsyms without KALLSYMS_ALL, so
 * it cannot be a __ksym.
 */
static __always_inline struct rq *rq_of_task(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->se.cfs_rq))
		return NULL;
	return BPF_CORE_READ(t, se.cfs_rq, rq);
}

static __always_inline __u64 blocked_ns(struct task_struct *t)
{
	__u64 start = BPF_CORE_READ(t, se.exec_start);
	struct rq *rq = rq_of_task(t);
	struct rq *here = rq_of_task(bpf_get_current_task_btf());
	__u64 clock_task, clock, clock_here, stale = 0;

	if (start == 0 || !rq || !here)
		return LM_BLOCKED_UNKNOWN;
	clock_task = BPF_CORE_READ(rq, clock_task);
	clock = BPF_CORE_READ(rq, clock);
	clock_here = BPF_CORE_READ(here, clock);
	if (clock_task < start)
		return LM_BLOCKED_UNKNOWN;
	if (clock_here > clock)
		stale = clock_here - clock;
	return clock_task - start + stale;
}

static __always_inline __u32 read_cgroups(struct task_struct *t, struct lm_task *rec)
{
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	struct list_head *head, *pos;
	__u32 n = 0;

	if (!cs)
		return 0;
	/* The v2 (default) hierarchy's cgroup, then one per mounted v1 hierarchy. */
	rec->cgroups[0].hierarchy = 0;
	rec->cgroups[0].id = BPF_CORE_READ(cs, dfl_cgrp, kn, id);
	n = 1;
	head = &cs->cgrp_links;
	pos = BPF_CORE_READ(cs, cgrp_links.next);
	for (int i = 0; i < LM_MAX_CGROUPS - 1; i++) {
		struct cgrp_cset_link *link;
		struct cgroup *cg;
		int hier;

		if (!pos || pos == head)
			break;
		link = (void *)pos - bpf_core_field_offset(struct cgrp_cset_link, cgrp_link);
		cg = BPF_CORE_READ(link, cgrp);
		hier = BPF_CORE_READ(cg, root, hierarchy_id);
		if (hier != 0 && n < LM_MAX_CGROUPS) {
			rec->cgroups[n & (LM_MAX_CGROUPS - 1)].hierarchy = hier;
			rec->cgroups[n & (LM_MAX_CGROUPS - 1)].id = BPF_CORE_READ(cg, kn, id);
			n++;
		}
		pos = BPF_CORE_READ(pos, next);
	}
	return n;
}

/* Fills rec for an R or D task; returns the bytes of it to emit. */
static __always_inline __u64 fill_task(struct task_struct *t, char st, struct lm_task *rec)
{
	__u64 d, len;
	long n;

	rec->tid = t->pid;
	rec->pid = t->tgid;
	rec->state = st;
	rec->blocked_ns = st == 'D' ? blocked_ns(t) : LM_BLOCKED_UNKNOWN;
	bpf_probe_read_kernel(rec->comm, sizeof(rec->comm), t->comm);
	rec->ncgroups = read_cgroups(t, rec);
	rec->nframes = 0;
	d = depth;
	if (d > LM_MAX_DEPTH)
		d = LM_MAX_DEPTH;
	if (d > 0 && (st == 'D' || r_stacks)) {
		n = bpf_get_task_stack(t, rec->ips, d * sizeof(__u64), 0);
		rec->nframes = n < 0 ? n : n / sizeof(__u64);
	}
	len = LM_TASK_HEADER_SIZE;
	if (rec->nframes > 0)
		len += (__u64)rec->nframes * sizeof(__u64);
	if (len > sizeof(*rec))
		len = sizeof(*rec);
	return len;
}

static __always_inline int skipped(struct task_struct *t)
{
	return t->tgid == skip_tgid_a || t->tgid == skip_tgid_b;
}

SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct lm_task *rec;
	__u32 zero = 0;
	char st;

	if (!t)
		return 0;
	st = load_state(t);
	if (!st || skipped(t)) {
		/* One iterator pass runs on one CPU at a time: no atomic needed. */
		passed_over++;
		return 0;
	}
	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return 0;
	bpf_seq_write(ctx->meta->seq, rec, fill_task(t, st, rec));
	return 0;
}

/*
 * The same pass, walking the task list itself (open-coded task iterator,
 * 6.7+): iter/task looks every thread up by pid and takes a reference on
 * it, which costs more than everything this program does per thread. This
 * program is attached for the helper's own thread only, so it runs once per
 * pass, under RCU, and sends its records through a ring buffer (one program
 * run could not fit them in the seq_file buffer).
 */
/* The open-coded task iterator's kfuncs: kfuncs.h. */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LM_RINGBUF_BYTES);
} records SEC(".maps");

/* Threads walked, and records the ring buffer had no room for, in the last pass. */
__u64 walked;
__u64 lost;

SEC("iter/task")
int dump_all(struct bpf_iter__task *ctx)
{
	struct bpf_iter_task it;
	struct task_struct *t;
	struct lm_task *rec;
	__u32 zero = 0;
	char st;

	if (!ctx->task)
		return 0;
	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return 0;
	bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		walked++;
		st = load_state(t);
		if (!st || skipped(t))
			continue;
		if (bpf_ringbuf_output(&records, rec, fill_task(t, st, rec), BPF_RB_NO_WAKEUP))
			lost++;
	}
	bpf_iter_task_destroy(&it);
	return 0;
}

/* ---- on-CPU sampling ---- */

__u64 sample_skip_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LM_MAX_USER_DEPTH * sizeof(__u64));
} user_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct lm_sample_key);
	__type(value, __u64);
} samples SEC(".maps");

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lm_sample_key key = {};
	__u64 one = 1, *count;

	key.tid = (__u32)id;
	key.pid = id >> 32;
	if (key.tid == 0 || key.pid == sample_skip_tgid) /* idle, or the helper */
		return 0;
	key.user_stack_id = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
	count = bpf_map_lookup_elem(&samples, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&samples, &key, &one, BPF_NOEXIST);
	return 0;
}

/* ---- D off-CPU time (sched_switch) ---- */

/*
 * offcputime --state 2, done continuously: a thread switching out in D
 * (not preempted: a preempted task is still runnable) opens an interval
 * stamped with the time, its process and its kernel stack; when it is
 * woken (or, failing that, switched back in), the interval's length is
 * added to the sums of its (thread, stack). The helper reads the sums every sample: switch-ins add to
 * the map offcpu_slot names, and the helper flips the slot before draining
 * the other, so nothing is added to a map while it is being read. The
 * intervals still open are read from offcpu_open.
 */

#define OFFCPU_OPEN_MAX 16384
#define OFFCPU_ACC_MAX 16384

__u64 offcpu_slot;
/* loadmon's own processes (the helper and Node), left out as the iterator leaves them out. */
__u64 offcpu_skip_a;
__u64 offcpu_skip_b;
/* Intervals lost because a map was full. */
__u64 offcpu_dropped;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_OPEN_MAX);
	__type(key, __u32);
	__type(value, struct lm_offcpu_open);
} offcpu_open SEC(".maps");

struct offcpu_sums {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_ACC_MAX);
	__type(key, struct lm_offcpu_key);
	__type(value, struct lm_offcpu_val);
};

struct offcpu_sums offcpu_sums_0 SEC(".maps");
struct offcpu_sums offcpu_sums_1 SEC(".maps");

struct offcpu_scratch {
	struct lm_offcpu_open open;
	struct lm_offcpu_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_scratch);
} offcpu_scratch SEC(".maps");

static __always_inline void offcpu_begin(void *ctx, struct task_struct *prev, struct offcpu_scratch *s)
{
	struct lm_offcpu_open *o = &s->open;
	struct task_struct *leader = prev->group_leader;
	long n;

	o->start_ns = bpf_ktime_get_ns();
	o->tid = prev->pid;
	o->pid = prev->tgid;
	o->cgroup = BPF_CORE_READ(prev, cgroups, dfl_cgrp, kn, id);
	bpf_probe_read_kernel_str(o->comm, sizeof(o->comm), &leader->comm);
	/* bpf_get_stack zero-fills the buffer past the frames it writes. */
	n = bpf_get_stack(ctx, o->ips, sizeof(o->ips), 0);
	o->nframes = n < 0 ? n : n / sizeof(__u64);
	if (bpf_map_update_elem(&offcpu_open, &o->tid, o, BPF_ANY))
		__sync_fetch_and_add(&offcpu_dropped, 1);
}

static __always_inline void offcpu_add(void *sums, struct lm_offcpu_key *key, struct lm_offcpu_val *v)
{
	struct lm_offcpu_val *cur = bpf_map_lookup_elem(sums, key);

	if (!cur && bpf_map_update_elem(sums, key, v, BPF_NOEXIST) == 0)
		return;
	if (!cur)
		cur = bpf_map_lookup_elem(sums, key); /* another CPU added it */
	if (!cur) {
		__sync_fetch_and_add(&offcpu_dropped, 1);
		return;
	}
	__sync_fetch_and_add(&cur->ns, v->ns);
	__sync_fetch_and_add(&cur->count, 1);
}

/*
 * The scheduler sets sched_contributes_to_load when a task blocks, from the
 * state it blocks in (D, not TASK_NOLOAD), and leaves it until it blocks
 * again: at a wakeup or switch-in it says whether the task's last blockage
 * was a D one. Almost every wakeup is of a task that slept in S, and this
 * one load spares the hash lookup for all of them.
 */
static __always_inline int blocked_in_d(struct task_struct *t)
{
	/* (Not "p": the macro has a local of that name.) */
	return BPF_CORE_READ_BITFIELD(t, sched_contributes_to_load);
}

static __always_inline void offcpu_end(struct task_struct *p)
{
	__u32 tid = p->pid;
	struct lm_offcpu_open *o;
	struct offcpu_scratch *s;
	struct lm_offcpu_val v = {};
	__u32 zero = 0;
	__u64 now;

	o = bpf_map_lookup_elem(&offcpu_open, &tid);
	if (!o)
		return;
	s = bpf_map_lookup_elem(&offcpu_scratch, &zero);
	if (!s)
		return;
	now = bpf_ktime_get_ns();
	s->key.tid = o->tid;
	s->key.pid = o->pid;
	__builtin_memcpy(s->key.ips, o->ips, sizeof(s->key.ips));
	v.ns = now > o->start_ns ? now - o->start_ns : 0;
	v.count = 1;
	v.cgroup = o->cgroup;
	__builtin_memcpy(v.comm, o->comm, sizeof(v.comm));
	/* Closed before it is counted: the helper, reading the open intervals
	 * after draining the sums, must never see one as both.
	 */
	bpf_map_delete_elem(&offcpu_open, &tid);
	if (offcpu_slot)
		offcpu_add(&offcpu_sums_1, &s->key, &v);
	else
		offcpu_add(&offcpu_sums_0, &s->key, &v);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!preempt && load_state(prev) == 'D' && prev->tgid != offcpu_skip_a && prev->tgid != offcpu_skip_b) {
		struct offcpu_scratch *s;
		__u32 zero = 0;

		s = bpf_map_lookup_elem(&offcpu_scratch, &zero);
		if (s)
			offcpu_begin(ctx, prev, s);
	}
	/* Normally closed at its wakeup already; this catches a wakeup missed
	 * while the programs were being attached.
	 */
	if (blocked_in_d(next))
		offcpu_end(next);
	return 0;
}

/*
 * The interval ends when the thread is woken, not when it gets a CPU again:
 * from then on it is runnable, and the load average counts it as R.
 * sched_wakeup fires after the waker has waited for the task to be fully
 * switched out, so the interval it closes is always already open.
 */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	if (blocked_in_d(p))
		offcpu_end(p);
	return 0;
}

/* ---- sleeping-lock waits (lock:contention_begin / contention_end, 5.19+) ---- */

/*
 * The waiter side of a wait-for chain, as `perf lock contention -o` does it:
 * at contention_begin (in the waiter's context) the lock's owner is read from
 * the lock itself and the wait opens, keyed by the waiter's tid; at
 * contention_end it closes and its length is added to the sums of (lock,
 * waiter, owner), the sums map offcpu_slot names (the off-CPU read flips
 * both). The owner is the one at the wait's start: a lock handed on to
 * another waiter meanwhile is still charged to the first owner.
 *
 * Flags (include/trace/events/lock.h, the same in 5.19, 6.1, 6.12, 6.18).
 */
#define LCB_F_SPIN 1
#define LCB_F_READ 2
#define LCB_F_WRITE 4
#define LCB_F_RT 8
#define LCB_F_PERCPU 16
#define LCB_F_MUTEX 32

/* Low bits of the owner words: mutex MUTEX_FLAGS (0x07); rwsem
 * RWSEM_OWNER_FLAGS_MASK (0x03) with RWSEM_READER_OWNED (0x01: readers hold
 * it, the pointer is only a hint); rt_mutex RT_MUTEX_HAS_WAITERS (0x01).
 */
#define MUTEX_FLAGS 0x07UL
#define RWSEM_READER_OWNED 0x01UL
#define RWSEM_OWNER_FLAGS 0x03UL
#define RT_MUTEX_FLAGS 0x01UL

#define LOCK_OPEN_MAX 16384
#define LOCK_ACC_MAX 16384

/* Waits lost because a map was full. */
__u64 lock_dropped;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LOCK_OPEN_MAX);
	__type(key, __u32);
	__type(value, struct lm_lock_open);
} lock_open SEC(".maps");

struct lock_sums {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LOCK_ACC_MAX);
	__type(key, struct lm_lock_key);
	__type(value, struct lm_lock_val);
};

struct lock_sums lock_sums_0 SEC(".maps");
struct lock_sums lock_sums_1 SEC(".maps");

/* Kernels with PREEMPT_RT or before 5.15 lack some of these: every read is guarded. */
struct rt_mutex_base___lm {
	struct task_struct *owner;
} __attribute__((preserve_access_index));

/* The owner word of a sleeping lock, flag bits masked; 0 when no single task holds it. */
static __always_inline unsigned long lock_owner(void *lock, unsigned int flags)
{
	unsigned long owner = 0;

	if (flags & LCB_F_PERCPU)
		return 0; /* percpu_rw_semaphore: no owner field */
	if (flags & LCB_F_MUTEX) {
		struct mutex *m = lock;

		if (bpf_core_field_exists(m->owner))
			owner = BPF_CORE_READ(m, owner.counter) & ~MUTEX_FLAGS;
	} else if (flags & LCB_F_RT) {
		/* A plain rt_mutex (LCB_F_RT alone); with READ/WRITE it is an rwbase_rt, no owner. */
		struct rt_mutex_base___lm *r = lock;

		if (!(flags & (LCB_F_READ | LCB_F_WRITE)) && bpf_core_type_exists(struct rt_mutex_base___lm))
			owner = (unsigned long)BPF_CORE_READ(r, owner) & ~RT_MUTEX_FLAGS;
	} else if (flags & (LCB_F_READ | LCB_F_WRITE)) {
		struct rw_semaphore *sem = lock;

		if (bpf_core_field_exists(sem->owner)) {
			owner = BPF_CORE_READ(sem, owner.counter);
			owner = (owner & RWSEM_READER_OWNED) ? 0 : owner & ~RWSEM_OWNER_FLAGS;
		}
	}
	return owner;
}

/*
 * An rwsem that is an inode's i_rwsem: the inode around it points its
 * i_mapping at its own i_data (regular files, directories, symlinks); any
 * other rwsem read this way fails the test (the reads are probe reads, a bad
 * guess costs nothing).
 */
static __always_inline void lock_inode(void *lock, unsigned int flags, struct lm_lock_open *o)
{
	struct inode *inode;
	void *mapping;

	o->ino = 0;
	o->dev = 0;
	if (!(flags & (LCB_F_READ | LCB_F_WRITE)) || (flags & (LCB_F_PERCPU | LCB_F_RT | LCB_F_MUTEX)))
		return;
	if (!bpf_core_field_exists(inode->i_rwsem) || !bpf_core_field_exists(inode->i_data))
		return;
	inode = lock - bpf_core_field_offset(struct inode, i_rwsem);
	mapping = BPF_CORE_READ(inode, i_mapping);
	if (mapping != (void *)inode + bpf_core_field_offset(struct inode, i_data))
		return;
	o->ino = BPF_CORE_READ(inode, i_ino);
	o->dev = BPF_CORE_READ(inode, i_sb, s_dev);
}

static __always_inline void lock_owner_task(unsigned long owner, struct lm_lock_open *o)
{
	struct task_struct *t = (struct task_struct *)owner;
	struct task_struct *leader;

	o->owner_tid = 0;
	o->owner_pid = 0;
	o->owner_comm[0] = 0;
	o->owner_pcomm[0] = 0;
	if (!owner)
		return;
	o->owner_tid = BPF_CORE_READ(t, pid);
	o->owner_pid = BPF_CORE_READ(t, tgid);
	bpf_core_read_str(o->owner_comm, sizeof(o->owner_comm), &t->comm);
	leader = BPF_CORE_READ(t, group_leader);
	if (leader)
		bpf_core_read_str(o->owner_pcomm, sizeof(o->owner_pcomm), &leader->comm);
}

/* Spinning waits (spinlocks, rwlocks, a mutex's optimistic spin) are CPU time, not sleeping: left out. */
SEC("tp_btf/contention_begin")
int BPF_PROG(on_lock_begin, void *lock, unsigned int flags)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct task_struct *leader;
	struct lm_lock_open o = {};

	if ((flags & LCB_F_SPIN) || cur->tgid == offcpu_skip_a || cur->tgid == offcpu_skip_b || cur->pid == 0)
		return 0;
	o.start_ns = bpf_ktime_get_ns();
	o.lock = (__u64)lock;
	o.flags = flags;
	o.tid = cur->pid;
	o.pid = cur->tgid;
	leader = cur->group_leader;
	bpf_probe_read_kernel_str(o.comm, sizeof(o.comm), &leader->comm);
	lock_owner_task(lock_owner(lock, flags), &o);
	lock_inode(lock, flags, &o);
	if (bpf_map_update_elem(&lock_open, &o.tid, &o, BPF_ANY))
		__sync_fetch_and_add(&lock_dropped, 1);
	return 0;
}

static __always_inline void lock_add(void *sums, struct lm_lock_key *key, struct lm_lock_val *v)
{
	struct lm_lock_val *cur = bpf_map_lookup_elem(sums, key);

	if (!cur && bpf_map_update_elem(sums, key, v, BPF_NOEXIST) == 0)
		return;
	if (!cur)
		cur = bpf_map_lookup_elem(sums, key); /* another CPU added it */
	if (!cur) {
		__sync_fetch_and_add(&lock_dropped, 1);
		return;
	}
	__sync_fetch_and_add(&cur->ns, v->ns);
	__sync_fetch_and_add(&cur->count, 1);
}

/*
 * contention_end also fires for the spinlocks taken inside a sleeping lock's
 * slow path (its wait_lock): only the end of the lock the thread's open wait
 * is for closes it.
 */
SEC("tp_btf/contention_end")
int BPF_PROG(on_lock_end, void *lock, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lm_lock_open *o = bpf_map_lookup_elem(&lock_open, &tid);
	struct lm_lock_key key = {};
	struct lm_lock_val v = {};
	__u64 now;

	if (!o || o->lock != (__u64)lock)
		return 0;
	now = bpf_ktime_get_ns();
	key.lock = o->lock;
	key.tid = o->tid;
	key.owner_tid = o->owner_tid;
	v.ns = now > o->start_ns ? now - o->start_ns : 0;
	v.count = 1;
	v.ino = o->ino;
	v.dev = o->dev;
	v.flags = o->flags;
	v.pid = o->pid;
	v.owner_pid = o->owner_pid;
	__builtin_memcpy(v.comm, o->comm, sizeof(v.comm));
	__builtin_memcpy(v.owner_comm, o->owner_comm, sizeof(v.owner_comm));
	__builtin_memcpy(v.owner_pcomm, o->owner_pcomm, sizeof(v.owner_pcomm));
	/* Closed before it is counted, as offcpu_end does. */
	bpf_map_delete_elem(&lock_open, &tid);
	if (offcpu_slot)
		lock_add(&lock_sums_1, &key, &v);
	else
		lock_add(&lock_sums_0, &key, &v);
	return 0;
}
