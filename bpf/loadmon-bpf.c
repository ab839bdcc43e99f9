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
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "loadmon.h"
#include "loadmon.skel.h"

#define PROTOCOL_VERSION 3

static struct loadmon_bpf *skel;
static struct bpf_link *iter_link;
/* The open-coded pass (dump_all) and its ring buffer, where the kernel has it. */
static struct bpf_link *all_link;
static struct ring_buffer *records_rb;
static struct bpf_link **perf_links;
static int nperf;
static struct bpf_link *offcpu_link, *wakeup_link;
/* lock:contention_begin/end (5.19+): loaded when the kernel has them, attached with the off-CPU tracking. */
static int locks_loaded;
static struct bpf_link *lock_begin_link, *lock_end_link;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (getenv("LOADMON_BPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	(void)level;
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One word for Node to act on: perm (privileges), btf, load (verifier,
 * kernel too old), other. */
static void fatal(const char *kind, int err, const char *what)
{
	printf("fatal %s %s: %s\n", kind, what, strerror(err < 0 ? -err : err));
	fflush(stdout);
	exit(3);
}

static void print_hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void stop_profile(void)
{
	for (int i = 0; i < nperf; i++)
		bpf_link__destroy(perf_links[i]); /* also closes the perf event fd */
	free(perf_links);
	perf_links = NULL;
	nperf = 0;
}

static void cleanup(void)
{
	stop_profile();
	bpf_link__destroy(lock_end_link);
	lock_end_link = NULL;
	bpf_link__destroy(lock_begin_link);
	lock_begin_link = NULL;
	bpf_link__destroy(wakeup_link);
	wakeup_link = NULL;
	bpf_link__destroy(offcpu_link);
	offcpu_link = NULL;
	ring_buffer__free(records_rb);
	records_rb = NULL;
	bpf_link__destroy(all_link);
	all_link = NULL;
	bpf_link__destroy(iter_link);
	iter_link = NULL;
	loadmon_bpf__destroy(skel);
	skel = NULL;
}

/* ---- snapshot ---- */

static void print_task(const struct lm_task *t)
{
	size_t clen = strnlen(t->comm, sizeof(t->comm));

	printf("t %u %u %c ", t->tid, t->pid, (char)t->state);
	if (t->blocked_ns == LM_BLOCKED_UNKNOWN)
		printf("-");
	else
		printf("%llu", (unsigned long long)t->blocked_ns);
	printf(" ");
	if (clen == 0)
		printf("-");
	print_hex((const unsigned char *)t->comm, clen);
	printf(" ");
	if (t->ncgroups == 0)
		printf("-");
	for (__u32 i = 0; i < t->ncgroups && i < LM_MAX_CGROUPS; i++)
		printf("%s%u:%llu", i ? "," : "", t->cgroups[i].hierarchy, (unsigned long long)t->cgroups[i].id);
	printf(" ");
	if (t->nframes < 0)
		printf("!%d", -t->nframes);
	else if (t->nframes == 0)
		printf("-");
	for (int i = 0; i < t->nframes && i < LM_MAX_DEPTH; i++)
		printf("%s%llx", i ? "," : "", (unsigned long long)t->ips[i]);
	printf("\n");
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct lm_task t;

	(void)ctx;
	if (size < LM_TASK_HEADER_SIZE)
		return 0;
	memset(&t, 0, sizeof(t));
	memcpy(&t, data, size < sizeof(t) ? size : sizeof(t));
	if (t.nframes > 0 && LM_TASK_HEADER_SIZE + (size_t)t.nframes * sizeof(__u64) > size)
		t.nframes = (size - LM_TASK_HEADER_SIZE) / sizeof(__u64);
	print_task(&t);
	return 0;
}

/* A new read of an iterator link; on failure the reply (err + end) is printed. */
static int open_iter(struct bpf_link *link)
{
	int fd = bpf_iter_create(bpf_link__fd(link));

	if (fd < 0)
		printf("err bpf_iter_create: %s\nend\n", strerror(errno));
	return fd;
}

/* One pass of dump_all: the program runs once, for our thread, when the iterator is read. */
static void snapshot_all(void)
{
	char buf[256];
	__u64 t0, t1;
	int fd;

	skel->bss->walked = 0;
	skel->bss->lost = 0;
	t0 = now_ns();
	fd = open_iter(all_link);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0)
			printf("err reading the task iterator: %s\n", strerror(errno));
		break;
	}
	close(fd);
	ring_buffer__consume(records_rb);
	t1 = now_ns();
	if (skel->bss->lost)
		printf("err %llu R/D tasks did not fit in the ring buffer\n", (unsigned long long)skel->bss->lost);
	printf("end %llu %llu\n", (unsigned long long)skel->bss->walked, (unsigned long long)(t1 - t0));
}

static void cmd_snapshot(unsigned long depth, unsigned long skip, unsigned long rstacks)
{
	static char *buf;
	static size_t cap;
	size_t len = 0, off = 0;
	__u64 records = 0, t0, t1;
	int fd;

	if (depth > LM_MAX_DEPTH)
		depth = LM_MAX_DEPTH;
	skel->data->depth = depth;
	skel->data->r_stacks = rstacks;
	skel->bss->skip_tgid_a = getpid();
	skel->bss->skip_tgid_b = skip;
	skel->bss->passed_over = 0;
	if (all_link) {
		snapshot_all();
		return;
	}

	t0 = now_ns();
	fd = open_iter(iter_link);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			size_t ncap = cap ? cap * 2 : 1 << 20;
			char *nb = realloc(buf, ncap);

			if (!nb) {
				close(fd);
				printf("err out of memory\nend\n");
				return;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			printf("err reading the task iterator: %s\nend\n", strerror(e));
			return;
		}
		if (n == 0)
			break;
		len += n;
	}
	t1 = now_ns();
	close(fd);

	while (off + LM_TASK_HEADER_SIZE <= len) {
		struct lm_task t;
		size_t rlen = LM_TASK_HEADER_SIZE;

		memcpy(&t, buf + off, LM_TASK_HEADER_SIZE);
		if (t.nframes > 0)
			rlen += (size_t)(t.nframes > LM_MAX_DEPTH ? LM_MAX_DEPTH : t.nframes) * sizeof(__u64);
		if (off + rlen > len)
			break;
		memcpy(&t, buf + off, rlen);
		off += rlen;
		records++;
		print_task(&t);
	}
	printf("end %llu %llu\n", (unsigned long long)(records + skel->bss->passed_over), (unsigned long long)(t1 - t0));
}

/* ---- on-CPU sampling ---- */

static void cmd_profile_start(unsigned long hz)
{
	int ncpus = libbpf_num_possible_cpus();
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = hz ? hz : 49,
	};

	if (nperf > 0) {
		printf("err already profiling\n");
		return;
	}
	if (ncpus <= 0) {
		printf("err cannot count CPUs\n");
		return;
	}
	skel->bss->sample_skip_tgid = getpid();
	perf_links = calloc(ncpus, sizeof(*perf_links));
	for (int cpu = 0; cpu < ncpus; cpu++) {
		int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		struct bpf_link *l;

		if (fd < 0) {
			if (errno == ENODEV) /* offline CPU */
				continue;
			printf("err perf_event_open on CPU %d: %s\n", cpu, strerror(errno));
			stop_profile();
			return;
		}
		l = bpf_program__attach_perf_event(skel->progs.on_cpu_sample, fd);
		if (!l) {
			int e = errno;

			close(fd);
			printf("err attaching to the perf event on CPU %d: %s\n", cpu, strerror(e));
			stop_profile();
			return;
		}
		perf_links[nperf++] = l;
	}
	printf("ok %d\n", nperf);
}

static void cmd_profile_stop(void)
{
	int counts = bpf_map__fd(skel->maps.samples);
	int stacks = bpf_map__fd(skel->maps.user_stacks);
	struct lm_sample_key key, next, *prev = NULL;
	static __u64 ips[LM_MAX_USER_DEPTH];
	__s64 *ids = NULL;
	size_t nids = 0, capids = 0;

	stop_profile();
	while (bpf_map_get_next_key(counts, prev, &next) == 0) {
		__u64 c = 0;

		if (bpf_map_lookup_elem(counts, &next, &c) == 0) {
			printf("s %u %u %llu ", next.tid, next.pid, (unsigned long long)c);
			if (next.user_stack_id < 0) {
				printf("-\n");
			} else {
				printf("%lld\n", (long long)next.user_stack_id);
				if (nids == capids) {
					capids = capids ? capids * 2 : 64;
					ids = realloc(ids, capids * sizeof(*ids));
				}
				ids[nids++] = next.user_stack_id;
			}
		}
		key = next;
		prev = &key;
	}
	/* Empty the maps for the next window. */
	prev = NULL;
	while (bpf_map_get_next_key(counts, NULL, &next) == 0)
		bpf_map_delete_elem(counts, &next);
	for (size_t i = 0; i < nids; i++) {
		__u32 id = (__u32)ids[i];
		int seen = 0;

		for (size_t j = 0; j < i; j++)
			seen |= ids[j] == ids[i];
		if (seen)
			continue;
		memset(ips, 0, sizeof(ips));
		if (bpf_map_lookup_elem(stacks, &id, ips) == 0) {
			printf("u %u ", id);
			for (int k = 0; k < LM_MAX_USER_DEPTH && ips[k]; k++)
				printf("%s%llx", k ? "," : "", (unsigned long long)ips[k]);
			printf("\n");
		}
		bpf_map_delete_elem(stacks, &id);
	}
	free(ids);
	printf("end\n");
}

/* ---- D off-CPU time ---- */

/*
 * Every element of a hash map, keys and values side by side in *keys and
 * *vals (grown as needed), in one batched walk where the kernel has it
 * (5.6+), else key by key. Returns the count, or -1.
 */
static long read_map(int fd, size_t ksz, size_t vsz, __u32 max, void **keys, void **vals)
{
	__u64 in = 0, out = 0;
	__u32 n = 0, chunk;
	void *next = NULL, *prev = NULL;
	int err;

	*keys = realloc(*keys, (size_t)max * ksz);
	*vals = realloc(*vals, (size_t)max * vsz);
	if (!*keys || !*vals)
		return -1;
	for (int first = 1; n < max; first = 0) {
		chunk = max - n;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, (char *)*keys + n * ksz, (char *)*vals + n * vsz, &chunk, NULL);
		if (err && errno != ENOENT)
			break;
		n += chunk;
		if (err)
			return n; /* ENOENT: the walk is complete */
		in = out;
	}
	if (n > 0 || (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP))
		return n;
	/* No batch operations: walk the keys (the map may change meanwhile; bounded by max). */
	for (n = 0; n < max; n++) {
		next = (char *)*keys + n * ksz;
		if (bpf_map_get_next_key(fd, prev, next) != 0)
			break;
		if (bpf_map_lookup_elem(fd, next, (char *)*vals + n * vsz) != 0)
			break;
		prev = next;
	}
	return n;
}

static void print_frames(const __u64 *ips, int n)
{
	if (n <= 0)
		printf("-");
	for (int i = 0; i < n && i < LM_OFFCPU_DEPTH && ips[i]; i++)
		printf("%s%llx", i ? "," : "", (unsigned long long)ips[i]);
}

static void print_comm(const char *comm)
{
	size_t clen = strnlen(comm, 16);

	if (clen == 0)
		printf("-");
	print_hex((const unsigned char *)comm, clen);
}

static int frames_of(const __u64 *ips)
{
	int n = 0;

	while (n < LM_OFFCPU_DEPTH && ips[n])
		n++;
	return n;
}

/* The lock-wait programs; on failure the off-CPU tracking runs without them. */
static void attach_locks(void)
{
	if (!locks_loaded || lock_begin_link)
		return;
	skel->bss->lock_dropped = 0;
	lock_begin_link = bpf_program__attach(skel->progs.on_lock_begin);
	if (!lock_begin_link)
		return;
	lock_end_link = bpf_program__attach(skel->progs.on_lock_end);
	if (!lock_end_link) {
		bpf_link__destroy(lock_begin_link);
		lock_begin_link = NULL;
	}
}

static void cmd_offcpu_start(unsigned long skip)
{
	if (!offcpu_link) {
		skel->bss->offcpu_skip_a = getpid();
		skel->bss->offcpu_skip_b = skip;
		skel->bss->offcpu_slot = 0;
		skel->bss->offcpu_dropped = 0;
		offcpu_link = bpf_program__attach(skel->progs.on_switch);
		if (!offcpu_link) {
			printf("err attaching to sched_switch: %s\n", strerror(errno));
			return;
		}
		wakeup_link = bpf_program__attach(skel->progs.on_wakeup);
		if (!wakeup_link) {
			printf("err attaching to sched_wakeup: %s\n", strerror(errno));
			bpf_link__destroy(offcpu_link);
			offcpu_link = NULL;
			return;
		}
		attach_locks();
	}
	printf("ok %llu locks=%d\n", (unsigned long long)now_ns(), lock_end_link != NULL);
}

/* Drains one sums map: prints and deletes every element. */
static void drain_sums(int fd)
{
	static void *keys, *vals;
	long n = read_map(fd, sizeof(struct lm_offcpu_key), sizeof(struct lm_offcpu_val), 16384, &keys, &vals);

	for (long i = 0; i < n; i++) {
		const struct lm_offcpu_key *k = (const struct lm_offcpu_key *)keys + i;
		const struct lm_offcpu_val *v = (const struct lm_offcpu_val *)vals + i;

		printf("o %u %u %llu %llu %llu ", k->tid, k->pid, (unsigned long long)v->ns,
		       (unsigned long long)v->count, (unsigned long long)v->cgroup);
		print_comm(v->comm);
		printf(" ");
		print_frames(k->ips, frames_of(k->ips));
		printf("\n");
		bpf_map_delete_elem(fd, k);
	}
}

static void print_lock(const char *tag, const struct lm_lock_open *o, __u64 ns, __u64 count)
{
	printf("%s %llx %u %u %u %u %u %llu", tag, (unsigned long long)o->lock, o->flags, o->tid, o->pid, o->owner_tid, o->owner_pid,
	       (unsigned long long)(count ? ns : o->start_ns));
	if (count)
		printf(" %llu", (unsigned long long)count);
	printf(" %llu %u ", (unsigned long long)o->ino, o->dev);
	print_comm(o->comm);
	printf(" ");
	print_comm(o->owner_comm);
	printf(" ");
	print_comm(o->owner_pcomm);
	printf("\n");
}

/* Drains one lock sums map: an "l" line per (lock, waiter, owner), deleted after. */
static void drain_lock_sums(int fd)
{
	static void *keys, *vals;
	long n = read_map(fd, sizeof(struct lm_lock_key), sizeof(struct lm_lock_val), 16384, &keys, &vals);

	for (long i = 0; i < n; i++) {
		const struct lm_lock_key *k = (const struct lm_lock_key *)keys + i;
		const struct lm_lock_val *v = (const struct lm_lock_val *)vals + i;
		struct lm_lock_open o = {
			.lock = k->lock, .ino = v->ino, .dev = v->dev, .flags = v->flags,
			.tid = k->tid, .pid = v->pid, .owner_tid = k->owner_tid, .owner_pid = v->owner_pid,
		};

		memcpy(o.comm, v->comm, sizeof(o.comm));
		memcpy(o.owner_comm, v->owner_comm, sizeof(o.owner_comm));
		memcpy(o.owner_pcomm, v->owner_pcomm, sizeof(o.owner_pcomm));
		print_lock("l", &o, v->ns, v->count ? v->count : 1);
		bpf_map_delete_elem(fd, k);
	}
}

/* The lock waits still open: a "w" line each. */
static void list_lock_open(void)
{
	static void *keys, *vals;
	long n = read_map(bpf_map__fd(skel->maps.lock_open), sizeof(__u32), sizeof(struct lm_lock_open), 16384, &keys, &vals);

	for (long i = 0; i < n; i++) {
		const struct lm_lock_open *o = (const struct lm_lock_open *)vals + i;

		if (o->tid == ((const __u32 *)keys)[i])
			print_lock("w", o, 0, 0);
	}
}

/*
 * Completed intervals since the last read (o lines), completed lock waits
 * (l lines), then the intervals still open (p lines) and the lock waits
 * still open (w lines), then "e NOW DROPPED LOCK_DROPPED". Switch-ins are first pointed
 * at the other sums map, so the drained one no longer changes; an interval
 * that closes between the drain and the read of the open ones is in neither
 * and shows up in the next read's sums (Node accounts for that).
 */
static void offcpu_read(void)
{
	static void *keys, *vals;
	const struct timespec grace = { 0, 1000000 };
	__u64 old = skel->bss->offcpu_slot, now;
	long n;

	skel->bss->offcpu_slot = !old;
	/* A switch-in that read the old slot finishes within microseconds
	 * (it runs with interrupts off, under the run queue lock). */
	nanosleep(&grace, NULL);
	drain_sums(bpf_map__fd(old ? skel->maps.offcpu_sums_1 : skel->maps.offcpu_sums_0));
	if (lock_end_link)
		drain_lock_sums(bpf_map__fd(old ? skel->maps.lock_sums_1 : skel->maps.lock_sums_0));
	now = now_ns();
	n = read_map(bpf_map__fd(skel->maps.offcpu_open), sizeof(__u32), sizeof(struct lm_offcpu_open), 16384, &keys, &vals);
	for (long i = 0; i < n; i++) {
		const struct lm_offcpu_open *o = (const struct lm_offcpu_open *)vals + i;

		if (o->tid != ((const __u32 *)keys)[i])
			continue; /* an element reused while it was read */
		printf("p %u %u %llu %llu ", o->tid, o->pid, (unsigned long long)o->start_ns, (unsigned long long)o->cgroup);
		print_comm(o->comm);
		printf(" ");
		print_frames(o->ips, o->nframes);
		printf("\n");
	}
	if (lock_end_link)
		list_lock_open();
	printf("e %llu %llu %llu\n", (unsigned long long)now, (unsigned long long)skel->bss->offcpu_dropped,
	       (unsigned long long)skel->bss->lock_dropped);
}

/* The recorder's per-sample command: the off-CPU read (ended by an "e"
 * line) when the tracking runs, then a pass without R stacks. One round
 * trip instead of two.
 *
 * The pass runs first and its lines are held back until the read is out:
 * the read's map walks keep this CPU busy for a while, and threads woken
 * meanwhile would queue behind it and be seen as R by a pass that came
 * after (the observer inflating the very R count it measures). */
static void cmd_sample(unsigned long depth, unsigned long skip)
{
	FILE *out = stdout, *held;
	char *text = NULL;
	size_t len = 0;

	held = offcpu_link ? open_memstream(&text, &len) : NULL;
	if (!held) {
		if (offcpu_link)
			offcpu_read();
		cmd_snapshot(depth, skip, 0);
		return;
	}
	stdout = held;
	cmd_snapshot(depth, skip, 0);
	stdout = out;
	fclose(held);
	offcpu_read();
	fwrite(text, 1, len, stdout);
	free(text);
}

/* ---- /proc/PID/maps, read with a deadline ---- */

/*
 * Reading maps takes the target's mmap_lock, which a sick process may hold
 * for minutes. The reads run in a forked child the helper kills at the
 * deadline (mmap_lock is taken killably), so neither the helper nor Node
 * can hang on it. The child sends "m" lines (executable mappings only) and
 * "d PID" when a process is done; pids not done by the deadline get "x PID
 * timeout".
 */
static void maps_child(int out, const unsigned long *pids, int n)
{
	FILE *o = fdopen(out, "w");
	char path[64], line[4096 + 256];

	for (int i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%lu/maps", pids[i]);
		f = fopen(path, "re");
		if (!f) {
			fprintf(o, "x %lu %s\nd %lu\n", pids[i], errno == ENOENT ? "gone" : "denied", pids[i]);
			fflush(o);
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			unsigned long long start, end, offset;
			char perms[8];
			int name_at = 0;

			if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &name_at) < 4)
				continue;
			if (perms[2] != 'x')
				continue;
			line[strcspn(line, "\n")] = 0;
			fprintf(o, "m %lu %llx %llx %llx ", pids[i], start, end, offset);
			if (name_at > 0 && line[name_at]) {
				for (const unsigned char *p = (const unsigned char *)line + name_at; *p; p++)
					fprintf(o, "%02x", *p);
			} else {
				fprintf(o, "-");
			}
			fprintf(o, "\n");
		}
		fclose(f);
		fprintf(o, "d %lu\n", pids[i]);
		fflush(o);
	}
	fclose(o);
	_exit(0);
}

static void cmd_maps(char *args)
{
	unsigned long pids[256], timeout_ms;
	int done[256] = { 0 };
	int n = 0, p[2];
	char *tok, *save = NULL;
	pid_t child;
	FILE *in;
	char line[16384];
	__u64 deadline;

	tok = strtok_r(args, " ", &save);
	timeout_ms = tok ? strtoul(tok, NULL, 10) : 500;
	while ((tok = strtok_r(NULL, " ", &save)) && n < 256)
		pids[n++] = strtoul(tok, NULL, 10);
	if (n == 0) {
		printf("end\n");
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		printf("err pipe: %s\nend\n", strerror(errno));
		return;
	}
	fflush(stdout);
	child = fork();
	if (child < 0) {
		printf("err fork: %s\nend\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (child == 0) {
		close(p[0]);
		maps_child(p[1], pids, n);
	}
	close(p[1]);
	deadline = now_ns() + timeout_ms * 1000000ull;
	in = fdopen(p[0], "r");
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		__u64 t = now_ns();
		int r;

		if (t >= deadline)
			break;
		/* stdio may hold buffered lines: only poll when it has none. */
		if (in->_IO_read_ptr >= in->_IO_read_end) {
			r = poll(&pfd, 1, (int)((deadline - t) / 1000000ull) + 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
		}
		if (!fgets(line, sizeof(line), in))
			break;
		if (line[0] == 'd') {
			unsigned long pid = strtoul(line + 2, NULL, 10);

			for (int i = 0; i < n; i++)
				if (pids[i] == pid)
					done[i] = 1;
			continue;
		}
		fputs(line, stdout);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	fclose(in);
	for (int i = 0; i < n; i++)
		if (!done[i])
			printf("x %lu timeout\n", pids[i]);
	printf("end\n");
}

/* ---- choosing the pass ---- */

/* The open-coded task iterator's kfuncs (6.7+), looked up in the kernel's BTF. */
static int has_task_kfuncs(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const char *force;
	int found;

	if (!btf)
		return 0;
	found = btf__find_by_name_kind(btf, "bpf_iter_task_new", BTF_KIND_FUNC) >= 0;
	btf__free(btf);
	force = getenv("LOADMON_BPF_ITER_TASK");
	return found && !(force && *force);
}

/* lock:contention_begin (5.19+) in the kernel's BTF: the lock programs can load. */
static int has_lock_tracepoints(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int found;

	if (!btf)
		return 0;
	found = btf__find_by_name_kind(btf, "btf_trace_contention_begin", BTF_KIND_TYPEDEF) >= 0 &&
		btf__find_by_name_kind(btf, "btf_trace_contention_end", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	return found;
}

/* Opens the skeleton and chooses which programs load. */
static struct loadmon_bpf *open_skel(int task_kfuncs, int locks)
{
	struct loadmon_bpf *s = loadmon_bpf__open();

	if (!s)
		fatal("load", errno, "opening the BPF object");
	if (!task_kfuncs) {
		bpf_program__set_autoload(s->progs.dump_all, false);
		bpf_map__set_max_entries(s->maps.records, 4096);
	}
	if (!locks) {
		bpf_program__set_autoload(s->progs.on_lock_begin, false);
		bpf_program__set_autoload(s->progs.on_lock_end, false);
	}
	return s;
}

/* dump_all for our own thread only (a task filter on the link, 5.19+); on any failure the pass stays with dump_tasks. */
static void attach_all(void)
{
	union bpf_iter_link_info info = { .task.tid = (__u32)syscall(SYS_gettid) };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));

	all_link = bpf_program__attach_iter(skel->progs.dump_all, &opts);
	if (!all_link)
		return;
	records_rb = ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, NULL, NULL);
	if (!records_rb) {
		bpf_link__destroy(all_link);
		all_link = NULL;
	}
}

/* ---- main loop ---- */

static unsigned long arg_ul(const char *line, const char *name, unsigned long def)
{
	const char *p = strstr(line, name);

	if (!p)
		return def;
	return strtoul(p + strlen(name), NULL, 10);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char line[4096];
	int err, kfuncs;

	/* Node starts us in our own process group (so a terminal's Ctrl-C reaches
	 * Node, which then says quit); if Node dies without a word, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* No SA_RESTART: a signal interrupts the read of the next command. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(quiet_print);

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		fatal("btf", errno, "/sys/kernel/btf/vmlinux");
	kfuncs = has_task_kfuncs();
	locks_loaded = has_lock_tracepoints();
	skel = open_skel(kfuncs, locks_loaded);
	err = loadmon_bpf__load(skel);
	if (err && locks_loaded) {
		/* A kernel that has the tracepoints but refuses the lock programs: go on without chains. */
		loadmon_bpf__destroy(skel);
		locks_loaded = 0;
		skel = open_skel(kfuncs, 0);
		err = loadmon_bpf__load(skel);
	}
	if (err)
		fatal(err == -EPERM || err == -EACCES ? "perm" : "load", err, "loading the BPF programs");
	iter_link = bpf_program__attach_iter(skel->progs.dump_tasks, NULL);
	if (!iter_link)
		fatal(errno == EPERM || errno == EACCES ? "perm" : "load", errno, "attaching the task iterator");
	if (bpf_program__autoload(skel->progs.dump_all))
		attach_all();

	printf("ready %d cpus=%d pass=%s locks=%d\n", PROTOCOL_VERSION, libbpf_num_possible_cpus(), all_link ? "task-list" : "iter-task",
	       locks_loaded);
	fflush(stdout);
	while (!stopping && fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "snapshot", 8) == 0)
			cmd_snapshot(arg_ul(line, "depth=", 20), arg_ul(line, "skip=", 0), arg_ul(line, "rstacks=", 1));
		else if (strncmp(line, "profile-start", 13) == 0)
			cmd_profile_start(arg_ul(line, "hz=", 49));
		else if (strcmp(line, "profile-stop") == 0)
			cmd_profile_stop();
		else if (strncmp(line, "offcpu-start", 12) == 0)
			cmd_offcpu_start(arg_ul(line, "skip=", 0));
		else if (strncmp(line, "sample", 6) == 0)
			cmd_sample(arg_ul(line, "depth=", 20), arg_ul(line, "skip=", 0));
		else if (strncmp(line, "maps ", 5) == 0)
			cmd_maps(line + 5);
		else if (strcmp(line, "quit") == 0)
			break;
		else
			printf("err unknown command\n");
		fflush(stdout);
	}
	cleanup();
	return 0;
}
