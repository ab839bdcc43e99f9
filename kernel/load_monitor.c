// SPDX-License-Identifier: GPL-2.0
/*
 * load_monitor - capture the R and D tasks behind a high load average
 *
 * An hrtimer samples avenrun[0] every interval_ms.  When the 1-minute load
 * reaches the threshold and cooldown_s has passed since the last capture,
 * a work item walks all threads under RCU and records the runnable (R) and
 * uninterruptible (D) ones with their kernel stacks into a buffer that was
 * allocated at load time.  The last "keep" snapshots are shown in
 * /proc/load_monitor (format: docs/kmod.md).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/hrtimer.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/loadavg.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#if !IS_ENABLED(CONFIG_STACKTRACE)
#error "load_monitor needs CONFIG_STACKTRACE"
#endif

#define LM_FORMAT_VERSION	1
#define LM_ENDBR64		0xfa1e0ff3U	/* f3 0f 1e fa */

/* ---- parameters ------------------------------------------------------ */

struct lm_uint_param {
	unsigned int val;
	unsigned int min;
	unsigned int max;
};

static int lm_uint_set(const char *val, const struct kernel_param *kp)
{
	struct lm_uint_param *p = kp->arg;
	unsigned int v;

	if (kstrtouint(val, 10, &v) || v < p->min || v > p->max)
		return -EINVAL;
	WRITE_ONCE(p->val, v);
	return 0;
}

static int lm_uint_get(char *buf, const struct kernel_param *kp)
{
	const struct lm_uint_param *p = kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%u\n", READ_ONCE(p->val));
}

static const struct kernel_param_ops lm_uint_ops = {
	.set = lm_uint_set,
	.get = lm_uint_get,
};

/* run-time tunables */
static struct lm_uint_param lm_interval = { 10, 1, 10000 };
static struct lm_uint_param lm_cooldown = { 20, 0, 86400 };
static struct lm_uint_param lm_printk = { 0, 0, 1 };
/* load-time only: they size the buffers */
static struct lm_uint_param lm_depth = { 20, 1, 64 };
static struct lm_uint_param lm_max_tasks = { 512, 1, 65536 };
static struct lm_uint_param lm_keep = { 4, 1, 64 };

module_param_cb(interval_ms, &lm_uint_ops, &lm_interval, 0644);
MODULE_PARM_DESC(interval_ms, "load sampling period in ms (1..10000, default 10)");
module_param_cb(cooldown_s, &lm_uint_ops, &lm_cooldown, 0644);
MODULE_PARM_DESC(cooldown_s, "minimum seconds between captures (0..86400, default 20)");
module_param_cb(printk, &lm_uint_ops, &lm_printk, 0644);
MODULE_PARM_DESC(printk, "also log each capture to the kernel log, rate-limited (0/1, default 0)");
module_param_cb(depth, &lm_uint_ops, &lm_depth, 0444);
MODULE_PARM_DESC(depth, "kernel stack frames kept per task (1..64, default 20, load time only)");
module_param_cb(max_tasks, &lm_uint_ops, &lm_max_tasks, 0444);
MODULE_PARM_DESC(max_tasks, "tasks kept per capture (1..65536, default 512, load time only)");
module_param_cb(keep, &lm_uint_ops, &lm_keep, 0444);
MODULE_PARM_DESC(keep, "captures kept for /proc/load_monitor (1..64, default 4, load time only)");

/* threshold in hundredths, "3" -> 300, "1.5" -> 150 */
#define LM_THRESHOLD_MAX	(1000000U * 100U)
static unsigned int lm_threshold_centi = 300;

static int lm_parse_centi(const char *s, unsigned int *out)
{
	unsigned long long v = 0;
	int frac_digits = -1;
	bool any = false;

	for (; *s && *s != '\n'; s++) {
		if (*s == '.' && frac_digits < 0) {
			frac_digits = 0;
			continue;
		}
		if (!isdigit(*s) || frac_digits >= 2)
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > LM_THRESHOLD_MAX)
			return -EINVAL;
		if (frac_digits >= 0)
			frac_digits++;
		any = true;
	}
	if (!any || (*s == '\n' && s[1]))
		return -EINVAL;
	for (frac_digits = max(frac_digits, 0); frac_digits < 2; frac_digits++)
		v *= 10;
	if (v > LM_THRESHOLD_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int lm_threshold_set(const char *val, const struct kernel_param *kp)
{
	unsigned int centi;

	if (lm_parse_centi(val, &centi))
		return -EINVAL;
	WRITE_ONCE(lm_threshold_centi, centi);
	return 0;
}

static int lm_threshold_get(char *buf, const struct kernel_param *kp)
{
	unsigned int centi = READ_ONCE(lm_threshold_centi);

	return scnprintf(buf, PAGE_SIZE, "%u.%02u\n", centi / 100, centi % 100);
}

static const struct kernel_param_ops lm_threshold_ops = {
	.set = lm_threshold_set,
	.get = lm_threshold_get,
};

module_param_cb(threshold, &lm_threshold_ops, NULL, 0644);
MODULE_PARM_DESC(threshold, "1-minute load that triggers a capture, e.g. 3 or 1.5 (default 3)");

/*
 * last_seq: the sequence number of the newest snapshot, so that a reader
 * can poll one small sysfs file instead of regenerating /proc/load_monitor.
 */
static u64 lm_published_seq;

static int lm_last_seq_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static int lm_last_seq_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%llu\n", READ_ONCE(lm_published_seq));
}

static const struct kernel_param_ops lm_last_seq_ops = {
	.set = lm_last_seq_set,
	.get = lm_last_seq_get,
};

module_param_cb(last_seq, &lm_last_seq_ops, NULL, 0444);
MODULE_PARM_DESC(last_seq, "sequence number of the newest snapshot (read-only, 0 before the first)");

static bool force_kprobe;
module_param(force_kprobe, bool, 0444);
MODULE_PARM_DESC(force_kprobe, "resolve stack_trace_save_tsk through kprobes even when exported (testing)");

/* ---- snapshots --------------------------------------------------------- */

struct lm_task {
	pid_t tid;
	pid_t pid;
	unsigned int nr_frames;
	char state;
	char comm[TASK_COMM_LEN];
};

struct lm_snap {
	u64 seq;
	u64 time_ns;
	u64 walk_ns;
	unsigned long load[3];
	unsigned int cpus;
	unsigned int threads;
	unsigned int running;
	unsigned int uninterruptible;
	unsigned int dropped;
	unsigned int nr_tasks;
	struct lm_task *tasks;
	unsigned long *frames;	/* nr_tasks rows of lm_nr_depth entries */
};

typedef unsigned int (*lm_save_tsk_t)(struct task_struct *task,
				      unsigned long *store, unsigned int size,
				      unsigned int skipnr);

static lm_save_tsk_t lm_save_tsk;
static unsigned int lm_nr_depth;	/* lm_depth.val at load time */
static unsigned int lm_nr_tasks;	/* lm_max_tasks.val at load time */
static unsigned int lm_nr_keep;		/* lm_keep.val at load time */

static DEFINE_MUTEX(lm_lock);		/* protects the ring and lm_symbuf */
static struct lm_snap **lm_ring;	/* lm_nr_keep published snapshots */
static unsigned int lm_ring_head;	/* next slot to overwrite */
static unsigned int lm_ring_count;
static struct lm_snap *lm_scratch;	/* owned by the work item */
static char lm_symbuf[KSYM_SYMBOL_LEN];

/*
 * LM_BUSY is taken by the timer when it decides to capture and released by
 * the work item when the capture is published (or by the timer if the
 * cooldown has not passed).  Whoever holds it owns the fields below.
 */
#define LM_BUSY			0
static unsigned long lm_flags;
static u64 lm_seq;
static ktime_t lm_last_capture;		/* start of the last capture */
static bool lm_captured;

static struct hrtimer lm_timer;
static struct work_struct lm_work;
static struct proc_dir_entry *lm_proc;

static DEFINE_RATELIMIT_STATE(lm_printk_rs, 5 * HZ, 1);

static void lm_snap_free(struct lm_snap *s)
{
	if (!s)
		return;
	kvfree(s->frames);
	kvfree(s->tasks);
	kfree(s);
}

static struct lm_snap *lm_snap_alloc(void)
{
	struct lm_snap *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->tasks = kvcalloc(lm_nr_tasks, sizeof(*s->tasks), GFP_KERNEL);
	s->frames = kvcalloc(array_size(lm_nr_tasks, lm_nr_depth),
			     sizeof(*s->frames), GFP_KERNEL);
	if (!s->tasks || !s->frames) {
		lm_snap_free(s);
		return NULL;
	}
	return s;
}

static void lm_buffers_free(void)
{
	unsigned int i;

	if (lm_ring) {
		for (i = 0; i < lm_nr_keep; i++)
			lm_snap_free(lm_ring[i]);
		kfree(lm_ring);
		lm_ring = NULL;
	}
	lm_snap_free(lm_scratch);
	lm_scratch = NULL;
}

static int lm_buffers_alloc(void)
{
	unsigned int i;

	lm_nr_depth = lm_depth.val;
	lm_nr_tasks = lm_max_tasks.val;
	lm_nr_keep = lm_keep.val;

	lm_ring = kcalloc(lm_nr_keep, sizeof(*lm_ring), GFP_KERNEL);
	if (!lm_ring)
		return -ENOMEM;
	for (i = 0; i < lm_nr_keep; i++) {
		lm_ring[i] = lm_snap_alloc();
		if (!lm_ring[i])
			goto err;
	}
	lm_scratch = lm_snap_alloc();
	if (!lm_scratch)
		goto err;
	return 0;
err:
	lm_buffers_free();
	return -ENOMEM;
}

/* ---- the walk ---------------------------------------------------------- */

static unsigned int lm_task_state(struct task_struct *p)
{
#ifdef LM_HAVE_TASK_DUNDER_STATE
	return READ_ONCE(p->__state);
#else
	return READ_ONCE(p->state);
#endif
}

/* 'R', 'D' or 0; D mirrors task_contributes_to_load() */
static char lm_classify(struct task_struct *p)
{
	unsigned int state = lm_task_state(p);

	if (state == TASK_RUNNING)
		return 'R';
	if (!(state & TASK_UNINTERRUPTIBLE) || (state & TASK_NOLOAD))
		return 0;
#ifdef TASK_FROZEN
	if (state & TASK_FROZEN)
		return 0;
#else
	if (READ_ONCE(p->flags) & PF_FROZEN)
		return 0;
#endif
	return 'D';
}

static void lm_record(struct lm_snap *s, struct task_struct *p, char state)
{
	struct lm_task *t = &s->tasks[s->nr_tasks];
	unsigned long *frames = s->frames + (size_t)s->nr_tasks * lm_nr_depth;

	t->tid = task_pid_nr(p);
	t->pid = task_tgid_nr(p);
	t->state = state;
	get_task_comm(t->comm, p);
	t->nr_frames = lm_save_tsk(p, frames, lm_nr_depth, 0);
	s->nr_tasks++;
}

static void lm_walk(struct lm_snap *s)
{
	struct task_struct *g, *p;
	char state;

	rcu_read_lock();
	for_each_process_thread(g, p) {
		/* the worker running this walk is not what makes the load */
		if (p == current)
			continue;
		s->threads++;
		state = lm_classify(p);
		if (!state)
			continue;
		if (state == 'R')
			s->running++;
		else
			s->uninterruptible++;
		if (s->nr_tasks < lm_nr_tasks)
			lm_record(s, p, state);
		else
			s->dropped++;
	}
	rcu_read_unlock();
}

/* frame text without raw addresses; "?" when there is no symbol */
static const char *lm_sym(unsigned long addr)
{
	sprint_symbol(lm_symbuf, addr);
	if (!lm_symbuf[0] || !strncmp(lm_symbuf, "0x", 2))
		return "?";
	return lm_symbuf;
}

static void lm_printk_snap(const struct lm_snap *s)
{
	const struct lm_task *t;
	unsigned int i, f, pass;
	unsigned long *frames;

	pr_info("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
	pr_info("Load: %lu.%02lu, %lu.%02lu, %lu.%02lu\n",
		LOAD_INT(s->load[0]), LOAD_FRAC(s->load[0]),
		LOAD_INT(s->load[1]), LOAD_FRAC(s->load[1]),
		LOAD_INT(s->load[2]), LOAD_FRAC(s->load[2]));
	for (pass = 0; pass < 2; pass++) {
		pr_info("dump %s task.\n", pass ? "uninterrupted" : "running");
		for (i = 0; i < s->nr_tasks; i++) {
			t = &s->tasks[i];
			if (t->state != (pass ? 'D' : 'R'))
				continue;
			pr_info("%s task, comm: %s, pid %d\n",
				pass ? "uninterrupted" : "running",
				t->comm, t->tid);
			frames = s->frames + (size_t)i * lm_nr_depth;
			for (f = 0; f < t->nr_frames; f++)
				pr_info(" %s\n", lm_sym(frames[f]));
		}
	}
	if (s->dropped)
		pr_info("%u tasks not shown (max_tasks)\n", s->dropped);
}

/* publish the scratch snapshot: it replaces the oldest one in the ring */
static void lm_publish(void)
{
	struct lm_snap *old;

	mutex_lock(&lm_lock);
	old = lm_ring[lm_ring_head];
	lm_ring[lm_ring_head] = lm_scratch;
	lm_ring_head = (lm_ring_head + 1) % lm_nr_keep;
	if (lm_ring_count < lm_nr_keep)
		lm_ring_count++;
	WRITE_ONCE(lm_published_seq, lm_scratch->seq);
	if (READ_ONCE(lm_printk.val) && __ratelimit(&lm_printk_rs))
		lm_printk_snap(lm_scratch);
	mutex_unlock(&lm_lock);
	lm_scratch = old;
}

static void lm_capture(struct work_struct *work)
{
	struct lm_snap *s = lm_scratch;
	ktime_t start = ktime_get();

	lm_last_capture = start;
	lm_captured = true;

	s->seq = ++lm_seq;
	s->time_ns = ktime_get_real_ns();
	s->load[0] = avenrun[0];
	s->load[1] = avenrun[1];
	s->load[2] = avenrun[2];
	s->cpus = num_online_cpus();
	s->threads = 0;
	s->running = 0;
	s->uninterruptible = 0;
	s->dropped = 0;
	s->nr_tasks = 0;

	lm_walk(s);
	s->walk_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	lm_publish();

	clear_bit_unlock(LM_BUSY, &lm_flags);
}

/* ---- the timer (hardirq context: only decide and queue) -------------- */

static bool lm_load_high(void)
{
	u64 threshold = (u64)READ_ONCE(lm_threshold_centi) * FIXED_1;

	/* avenrun[0] >= threshold, compared in FIXED_1 units */
	return (u64)READ_ONCE(avenrun[0]) * 100 >= threshold;
}

/* called with LM_BUSY held: the last capture's fields are stable */
static bool lm_cooled_down(void)
{
	u64 cooldown = (u64)READ_ONCE(lm_cooldown.val) * NSEC_PER_SEC;

	if (!lm_captured)
		return true;
	return ktime_to_ns(ktime_sub(ktime_get(), lm_last_capture)) >= cooldown;
}

static enum hrtimer_restart lm_timer_fn(struct hrtimer *timer)
{
	if (lm_load_high() && !test_and_set_bit_lock(LM_BUSY, &lm_flags)) {
		if (lm_cooled_down())
			queue_work(system_unbound_wq, &lm_work);
		else
			clear_bit_unlock(LM_BUSY, &lm_flags);
	}
	hrtimer_forward_now(timer, ms_to_ktime(READ_ONCE(lm_interval.val)));
	return HRTIMER_RESTART;
}

static void lm_timer_start(void)
{
#ifdef LM_HAVE_HRTIMER_SETUP
	hrtimer_setup(&lm_timer, lm_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
#else
	hrtimer_init(&lm_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	lm_timer.function = lm_timer_fn;
#endif
	hrtimer_start(&lm_timer, ms_to_ktime(READ_ONCE(lm_interval.val)),
		      HRTIMER_MODE_REL);
}

/* ---- /proc/load_monitor ------------------------------------------------ */

static void lm_show_comm(struct seq_file *m, const char *comm)
{
	unsigned int i;
	unsigned char c;

	for (i = 0; i < TASK_COMM_LEN && comm[i]; i++) {
		c = comm[i];
		if (c >= 0x21 && c <= 0x7e && c != '\\')
			seq_putc(m, c);
		else
			seq_printf(m, "\\x%02x", c);
	}
}

static void lm_show_snap(struct seq_file *m, const struct lm_snap *s)
{
	const struct lm_task *t;
	unsigned long *frames;
	unsigned int i, f;

	seq_printf(m, "snapshot seq=%llu time_ns=%llu load1=%lu.%02lu load5=%lu.%02lu load15=%lu.%02lu cpus=%u threads=%u running=%u uninterruptible=%u dropped=%u walk_ns=%llu depth=%u\n",
		   s->seq, s->time_ns,
		   LOAD_INT(s->load[0]), LOAD_FRAC(s->load[0]),
		   LOAD_INT(s->load[1]), LOAD_FRAC(s->load[1]),
		   LOAD_INT(s->load[2]), LOAD_FRAC(s->load[2]),
		   s->cpus, s->threads, s->running, s->uninterruptible,
		   s->dropped, s->walk_ns, lm_nr_depth);
	for (i = 0; i < s->nr_tasks; i++) {
		t = &s->tasks[i];
		seq_printf(m, "task tid=%d pid=%d state=%c comm=",
			   t->tid, t->pid, t->state);
		lm_show_comm(m, t->comm);
		seq_putc(m, '\n');
		frames = s->frames + (size_t)i * lm_nr_depth;
		for (f = 0; f < t->nr_frames; f++)
			seq_printf(m, "frame %s\n", lm_sym(frames[f]));
	}
	seq_printf(m, "end seq=%llu\n", s->seq);
}

/*
 * The whole file is produced by one call under lm_lock (seq_file retries
 * with a larger buffer until it fits), so a reader always sees the ring as
 * it was at one instant: complete snapshots, oldest first, at most "keep".
 */
static int lm_proc_show(struct seq_file *m, void *v)
{
	unsigned int i, slot;

	seq_printf(m, "load_monitor %d\n", LM_FORMAT_VERSION);
	mutex_lock(&lm_lock);
	for (i = 0; i < lm_ring_count; i++) {
		slot = (lm_ring_head + lm_nr_keep - lm_ring_count + i) %
		       lm_nr_keep;
		lm_show_snap(m, lm_ring[slot]);
	}
	mutex_unlock(&lm_lock);
	return 0;
}

/* ---- resolving stack_trace_save_tsk ------------------------------------ */

#ifdef LM_HAVE_STACK_TRACE_SAVE_TSK_EXPORT
static lm_save_tsk_t lm_exported(void)
{
	return stack_trace_save_tsk;
}
#else
static lm_save_tsk_t lm_exported(void)
{
	return NULL;
}
#endif

#if IS_ENABLED(CONFIG_KPROBES)
/*
 * With X86_KERNEL_IBT, kprobes reports the address after the ENDBR64 that
 * starts the function; a function whose ENDBR was sealed (never called
 * indirectly) must not be called through a pointer.
 */
static unsigned long lm_ibt_entry(unsigned long addr)
{
	u32 insn;

	if (!IS_ENABLED(CONFIG_X86_KERNEL_IBT))
		return addr;
	if (copy_from_kernel_nofault(&insn, (void *)(addr - 4), sizeof(insn)))
		return 0;
	return insn == LM_ENDBR64 ? addr - 4 : 0;
}

static lm_save_tsk_t lm_kprobe_lookup(const char *name)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,	/* never armed */
	};
	unsigned long addr;
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("cannot find %s: register_kprobe() = %d\n", name, ret);
		return NULL;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);

	addr = lm_ibt_entry(addr);
	if (!addr) {
		pr_err("%s has no ENDBR64 (sealed for IBT): refusing to call it\n",
		       name);
		return NULL;
	}
	return (lm_save_tsk_t)addr;
}
#else
static lm_save_tsk_t lm_kprobe_lookup(const char *name)
{
	pr_err("%s is not exported and CONFIG_KPROBES is off\n", name);
	return NULL;
}
#endif

/* @fn must be the very start of stack_trace_save_tsk() */
static bool lm_check_entry(lm_save_tsk_t fn)
{
	static const char want[] = "stack_trace_save_tsk+0x0/";
	bool ok;

	mutex_lock(&lm_lock);
	sprint_symbol(lm_symbuf, (unsigned long)fn);
	ok = !strncmp(lm_symbuf, want, sizeof(want) - 1);
	mutex_unlock(&lm_lock);
	return ok;
}

static int lm_resolve(void)
{
	lm_save_tsk_t fn = NULL;
	bool via_kprobe = false;

	if (!force_kprobe)
		fn = lm_exported();
	if (!fn) {
		fn = lm_kprobe_lookup("stack_trace_save_tsk");
		via_kprobe = true;
	}
	if (!fn)
		return -ENOENT;
	if (!lm_check_entry(fn)) {
		pr_err("stack_trace_save_tsk resolved to a wrong address: refusing to load\n");
		return -ENOENT;
	}
	lm_save_tsk = fn;
	pr_info("stack_trace_save_tsk %s\n",
		via_kprobe ? "found through kprobes" : "is exported");
	return 0;
}

/* ---- module init/exit -------------------------------------------------- */

static int __init lm_init(void)
{
	int ret;

	ret = lm_resolve();
	if (ret)
		return ret;

	ret = lm_buffers_alloc();
	if (ret) {
		pr_err("cannot allocate %u x %u-task buffers\n",
		       lm_keep.val + 1, lm_max_tasks.val);
		return ret;
	}

	INIT_WORK(&lm_work, lm_capture);

	lm_proc = proc_create_single(KBUILD_MODNAME, 0400, NULL, lm_proc_show);
	if (!lm_proc) {
		pr_err("cannot create /proc/%s\n", KBUILD_MODNAME);
		lm_buffers_free();
		return -ENOMEM;
	}

	lm_timer_start();
	pr_info("loaded: threshold %u.%02u, interval %u ms, cooldown %u s\n",
		lm_threshold_centi / 100, lm_threshold_centi % 100,
		lm_interval.val, lm_cooldown.val);
	return 0;
}

static void __exit lm_exit(void)
{
	hrtimer_cancel(&lm_timer);
	cancel_work_sync(&lm_work);
	proc_remove(lm_proc);
	lm_buffers_free();
	pr_info("unloaded\n");
}

module_init(lm_init);
module_exit(lm_exit);

MODULE_DESCRIPTION("Capture R and D tasks with kernel stacks when the load average is high");
MODULE_AUTHOR("loadmon contributors");
MODULE_LICENSE("GPL");
