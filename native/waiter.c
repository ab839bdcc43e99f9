// SPDX-License-Identifier: GPL-2.0-only
/*
 * loadmon-wait: wakes loadmon once per load-average update instead of
 * every few milliseconds, and waits for PSI trigger events (docs/trigger.md).
 *
 * The kernel recomputes /proc/loadavg once per LOAD_FREQ (5 s + 1 tick) and
 * nothing tells user space when, so the update phase is learnt from the first
 * change seen (reads every --interval until then), and from then on the
 * averages are read every --interval only in a small window around each
 * expected update, plus one safety-net read every --idle ms (tickless idle
 * can delay an update; only while every CPU idles, i.e. while the load is
 * near zero and far from any threshold, so 2.5 s is soon enough). The phase
 * is re-learnt at every change and the period's extra tick is measured
 * (period_learn). A wake-up here costs ~60-90 us of CPU on a VM, one of
 * Node's with what it does on it ~0.5-1 ms: hence the waiter, and `hush`.
 *
 * Protocol (lines on stdin/stdout, at most LINE_MAX bytes):
 *   out: "ready 1"                            once, at start
 *   out: "load <l1> <l5> <l15> <t_ms>"        at each update seen
 *   in:  "psi <id> <res> <some|full> <stall_us> <window_us>"
 *   out: "ok psi <id>" | "err psi <id> <text>"
 *   out: "psi <id> <t_ms>"                    the kernel's event (POLLPRI)
 *   out: "err psi <id> gone"                  the trigger died (POLLERR)
 *   in:  "unpsi <id>"  -> "ok unpsi <id>" | "err unpsi <id> <text>"
 *   in:  "rows <period_ms> <phase_ms> <batch> <flush_above> [<spool>]"
 *        -> "ok rows" | "err rows <text>"; then a row per period; with a
 *        spool file, every row is also appended there as it is taken (see
 *        rows_spool: what a SIGKILLed loadmon had not stored survives)
 *   out: "row <epoch_ms> <l1> <l5> <l15> <runnable> <threads> <cpu> <io> <memory>"
 *        each PSI resource "-" (unreadable) or "<some>:<full>", each of
 *        those "-" or "<avg10>,<avg60>,<avg300>,<total>"; written in
 *        batches of <batch> rows, at once when load1 >= <flush_above>
 *   in:  "flush"  -> the pending rows, then "ok flush"
 *   in:  "norows" -> the pending rows, then "ok norows"; rows stop
 *   in:  "hush <below> <every_ms>" -> "ok hush" | "err hush <text>"; from
 *        then on, while load1 < <below>, a load line only every
 *        <every_ms> (at least LOAD_FREQ); at or above it, every one;
 *        "hush 0 0": every line again (see struct hush)
 *   in:  "quit", or EOF: exit 0
 * t_ms is CLOCK_MONOTONIC in milliseconds (3 decimals) at the detecting
 * read or at the poll() return.
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
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define LOAD_FREQ_MS	5000
/* A load period is LOAD_FREQ plus one tick: 1 ms (HZ=1000) to 10 ms (HZ=100). */
#define TICK_MIN_MS	0.5
#define TICK_MAX_MS	10.5
/* How much later than predicted an update may come: a late tick on a VM. */
#define LATE_MS		20
#define LINE_MAX_LEN	256
#define MAX_PSI		16
#define ID_MAX_LEN	32
#define LOADS_MAX_LEN	64
#define ROW_MAX_LEN	600	/* a row line; longer than LINE_MAX_LEN (24 PSI numbers) */
#define ROWS_MAX	60	/* pending rows at most: the batch's bound */
#define PERIOD_MIN_MS	100
#define PERIOD_MAX_MS	60000

struct psi_trigger {
	int fd;
	char id[ID_MAX_LEN + 1];
};

struct phase {
	double interval;	/* fast reads: in the window and while searching */
	double margin;		/* the window opens this early */
	double idle;		/* the safety net outside the window */
	double search;		/* how long to search at the fast rate at start */
	double started;
	double last_read;	/* -1: none yet */
	double phase;		/* earliest the last update can have happened; -1: unknown */
	double slack;		/* how much later it may have been */
	double per_lo, per_hi;	/* bounds of the period's length, learnt (period_learn) */
	double anchor_lo;	/* the update they are measured from, in (anchor_lo, anchor_hi]; */
	double anchor_hi;	/* anchor_lo < 0: none yet */
	char loads[LOADS_MAX_LEN];
};

/*
 * The recorder's light rows (docs/trigger.md, "Rows"): /proc/loadavg and the
 * three PSI files read every period at the recorder's phase of the wall
 * clock, kept here and handed over in batches, so that Node wakes once per
 * batch instead of once per row while the load is low.
 */
struct rows {
	int on;
	double period;		/* ms */
	double phase;		/* ms into each period of CLOCK_REALTIME */
	int batch;
	double flush_above;	/* load1 at or above it: written at once */
	double due;		/* CLOCK_MONOTONIC ms of the next row */
	int psi_fd[3];
	int spool_fd;		/* -1: no spool */
	int n;
	char pending[ROWS_MAX][ROW_MAX_LEN];
};

/*
 * Fewer load lines while the load is low (docs/trigger.md, "Hush"): below
 * the level loadmon acts on nothing but the threshold, which no update can
 * cross unseen (a crossing is at or above the level, so it is written at
 * the read that saw it); a heartbeat line keeps its phase, baselines and
 * safety timer alive. Node then wakes twice a minute instead of twelve
 * times; each of its wake-ups costs ~0.5-1 ms of CPU, one of ours ~0.1 ms.
 */
struct hush {
	double below;		/* 0: off */
	double every;		/* ms between lines below the level */
	double last;		/* CLOCK_MONOTONIC ms of the last load line; -1: none */
};

static const char *const psi_names[] = { "cpu", "io", "memory", NULL };
static struct hush hush = { .last = -1 };
static struct rows rows = { .psi_fd = { -1, -1, -1 }, .spool_fd = -1 };
static struct psi_trigger psi[MAX_PSI];
static int npsi;
static const char *proc_root = "/proc";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One whole line per write(2), so a reader never sees half of one. */
static void out(const char *fmt, ...)
{
	char buf[LINE_MAX_LEN + 64];
	va_list ap;
	ssize_t n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	do {
		n = write(STDOUT_FILENO, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		exit(0);	/* the reader is gone (EPIPE: SIGPIPE is ignored) */
}

/* The three averages' text ("0.52 0.58 0.59"); 0 when unreadable. */
static int read_loads(int fd, char *loads, size_t size)
{
	char buf[128];
	ssize_t n;
	int spaces = 0;
	ssize_t i;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (buf[i] == ' ' && ++spaces == 3)
			break;
	}
	if (spaces < 3 || (size_t)i >= size)
		return 0;
	memcpy(loads, buf, i);
	loads[i] = '\0';
	return 1;
}

static void period_reset(struct phase *p, double lo, double hi)
{
	p->per_lo = LOAD_FREQ_MS + TICK_MIN_MS;
	p->per_hi = LOAD_FREQ_MS + TICK_MAX_MS;
	p->anchor_lo = lo;
	p->anchor_hi = hi;
}

/*
 * The period's length: LOAD_FREQ is 5 s plus one tick, and HZ is not known
 * here (CLK_TCK is USER_HZ). Without it a prediction k periods ahead is k
 * ticks early: at HZ=250, 8 periods whose averages printed the same (an idle
 * machine) put the update past the window's margin, and the safety net saw it
 * up to 2.5 s late. So the length is measured: an update seen precisely in
 * (lo, hi], k periods after the anchor, bounds it to [(lo - anchor_hi) / k,
 * (hi - anchor_lo) / k]; the bounds narrow as k grows (to ~0.5 ms after 40
 * periods). Bounds that exclude each other mean the grid moved (a paused VM,
 * an update tickless idle applied late): this update is the new anchor.
 */
static void period_learn(struct phase *p, double lo, double hi)
{
	double k, len_lo, len_hi;

	if (p->anchor_lo < 0) {
		period_reset(p, lo, hi);
		return;
	}
	k = (double)(long)((lo + hi - p->anchor_lo - p->anchor_hi) / (p->per_lo + p->per_hi) + 0.5);
	if (k < 1)
		return;
	len_lo = (lo - p->anchor_hi) / k;
	len_hi = (hi - p->anchor_lo) / k;
	if (len_lo > p->per_hi || len_hi < p->per_lo) {
		period_reset(p, lo, hi);
		return;
	}
	if (len_lo > p->per_lo)
		p->per_lo = len_lo;
	if (len_hi < p->per_hi)
		p->per_hi = len_hi;
}

/*
 * The update happened in (lo, hi]: the last read that did not see it and the
 * one that did. Where the phase was known, the update also lies where the
 * old phase predicts it (k periods of the learnt length later, or a late tick
 * after that); the intersection is kept, so a change first seen by a coarse
 * safety-net read (an update whose averages printed the same, at a load near
 * zero) does not widen the next window to seconds. An empty intersection
 * (the phase moved) takes the new interval as it is. Only an update seen
 * by reads in the window teaches the period: a coarse read may have seen one
 * that tickless idle applied late.
 */
static void phase_learn(struct phase *p, double lo, double hi)
{
	double k, pred_lo, pred_hi;

	if (p->phase >= 0) {
		k = (double)(long)((lo - p->phase) / p->per_lo + 0.5);
		pred_lo = p->phase + k * p->per_lo;
		pred_hi = p->phase + p->slack + k * p->per_hi + LATE_MS;
		if (k >= 1 && pred_lo < hi && pred_hi > lo) {
			lo = lo > pred_lo ? lo : pred_lo;
			hi = hi < pred_hi ? hi : pred_hi;
		}
	}
	if (hi - lo <= 2 * p->interval + 1)
		period_learn(p, lo, hi);
	p->phase = lo;
	p->slack = hi - lo;
}

/* Records a read; 1 when the averages changed since the previous one. */
static int phase_observe(struct phase *p, const char *loads, double now)
{
	int changed = p->loads[0] && strcmp(loads, p->loads) != 0;

	if (changed)
		phase_learn(p, p->last_read >= 0 ? p->last_read : now, now);
	snprintf(p->loads, sizeof(p->loads), "%s", loads);
	p->last_read = now;
	return changed;
}

/* When the next read is due (CLOCK_MONOTONIC ms). */
static double phase_next(const struct phase *p, double now)
{
	double periods, open, close;

	if (p->phase < 0) {
		if (now - p->started < p->search)
			return now + p->interval;
		return now + p->idle;
	}
	/* The first window that has not closed yet. */
	periods = (now - p->phase - p->slack - p->margin) / p->per_hi;
	periods = periods < 1 ? 1 : (double)(long)(periods + 0.999999);
	open = p->phase + periods * p->per_lo - p->margin;
	close = p->phase + p->slack + periods * p->per_hi + p->margin;
	/* The period too uncertain that far ahead (the averages printed the same for hours): the net finds it. */
	if (periods * (p->per_hi - p->per_lo) > p->idle)
		return now + p->idle;
	if (now >= open && now <= close)
		return now + p->interval;
	if (open - now < p->idle)
		return open > now + p->interval ? open : now + p->interval;
	return now + p->idle;
}

/*
 * Whether the load line of an update read at `t` is left out. Updates come
 * every LOAD_FREQ, so half of one is the tolerance: a 30 s heartbeat is every
 * 6th update, not every 7th.
 */
static int hushed(const char *loads, double t)
{
	if (hush.below <= 0 || strtod(loads, NULL) >= hush.below || hush.last < 0)
		return 0;
	return t - hush.last < hush.every - LOAD_FREQ_MS / 2;
}

/* Records a read of the averages, and writes the load line of an update. */
static void loads_seen(struct phase *p, const char *loads, double t)
{
	if (phase_observe(p, loads, t) && !hushed(loads, t)) {
		out("load %s %.3f", loads, t);
		hush.last = t;
	}
}

/* What the kernel's EINVAL for a PSI trigger means (kernel/sched/psi.c). */
static const char psi_rules[] =
	" (window 500000..10000000 us, 0 < stall <= window; without CAP_SYS_RESOURCE the window must be a multiple of 2000000 us)";

static struct psi_trigger *psi_find(const char *id)
{
	int i;

	for (i = 0; i < npsi; i++) {
		if (strcmp(psi[i].id, id) == 0)
			return &psi[i];
	}
	return NULL;
}

static void psi_drop(struct psi_trigger *t)
{
	close(t->fd);
	*t = psi[--npsi];
}

static int valid_word(const char *s, const char *const *words)
{
	for (; *words; words++) {
		if (strcmp(s, *words) == 0)
			return 1;
	}
	return 0;
}

static int valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > ID_MAX_LEN)
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:") == n;
}

static void psi_add(char *args)
{
	static const char *const resources[] = { "cpu", "io", "memory", NULL };
	static const char *const kinds[] = { "some", "full", NULL };
	char *id, *res, *kind, *stall, *window, *extra, *end;
	char path[4096], spec[64];
	unsigned long s, w;
	int fd, len;

	id = strtok(args, " ");
	res = strtok(NULL, " ");
	kind = strtok(NULL, " ");
	stall = strtok(NULL, " ");
	window = strtok(NULL, " ");
	extra = strtok(NULL, " ");
	if (!id || !valid_id(id)) {
		out("err psi - bad id");
		return;
	}
	if (!window || extra) {
		out("err psi %s usage: psi <id> <cpu|io|memory> <some|full> <stall_us> <window_us>", id);
		return;
	}
	if (!valid_word(res, resources) || !valid_word(kind, kinds)) {
		out("err psi %s unknown resource or kind", id);
		return;
	}
	errno = 0;
	s = strtoul(stall, &end, 10);
	if (errno || *end || !*stall || stall[0] == '-') {
		out("err psi %s bad stall", id);
		return;
	}
	w = strtoul(window, &end, 10);
	if (errno || *end || !*window || window[0] == '-') {
		out("err psi %s bad window", id);
		return;
	}
	if (psi_find(id)) {
		out("err psi %s id in use", id);
		return;
	}
	if (npsi == MAX_PSI) {
		out("err psi %s too many triggers (%d)", id, MAX_PSI);
		return;
	}
	snprintf(path, sizeof(path), "%s/pressure/%s", proc_root, res);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		out("err psi %s %s: %s", id, path, strerror(errno));
		return;
	}
	/* The kernel wants the trigger with its terminating NUL. */
	len = snprintf(spec, sizeof(spec), "%s %lu %lu", kind, s, w);
	if (write(fd, spec, len + 1) < 0) {
		/* The kernel says only EINVAL: name its rules (kernel/sched/psi.c). */
		out("err psi %s %s%s", id, strerror(errno), errno != EINVAL ? "" : psi_rules);
		close(fd);
		return;
	}
	psi[npsi].fd = fd;
	snprintf(psi[npsi].id, sizeof(psi[npsi].id), "%s", id);
	npsi++;
	out("ok psi %s", id);
}

static void psi_remove(char *args)
{
	char *id = strtok(args, " ");
	struct psi_trigger *t;

	if (!id || !valid_id(id)) {
		out("err unpsi - bad id");
		return;
	}
	t = psi_find(id);
	if (!t) {
		out("err unpsi %s no such trigger", id);
		return;
	}
	psi_drop(t);
	out("ok unpsi %s", id);
}

static double real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * The next row's CLOCK_MONOTONIC time: the next instant k x period + phase
 * of the wall clock, strictly after now (recorder.ts untilPhase()).
 */
static double rows_next(void)
{
	double real = real_ms();
	double wait = rows.phase - (real - (double)(long long)(real / rows.period) * rows.period);

	while (wait <= 0)
		wait += rows.period;
	return now_ms() + wait;
}

/* Writes it all, however many write(2) calls the pipe takes. */
static void out_all(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDOUT_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(0);	/* the reader is gone */
		buf += n;
		len -= n;
	}
}

/*
 * The spool holds the rows of the last batch handed over and those taken
 * since: loadmon stores a batch some milliseconds after it reads it, so a
 * loadmon killed with SIGKILL in between, or while rows are pending here,
 * finds them in the spool when it starts again (rows it did store are told
 * apart by their time). Best effort: a failed write loses the spool's
 * guarantee, never a row handed over on the pipe.
 */
static void rows_spool(const char *buf, size_t len, int restart)
{
	ssize_t n;

	if (rows.spool_fd < 0)
		return;
	if (restart && ftruncate(rows.spool_fd, 0) < 0)
		return;
	do {
		n = write(rows.spool_fd, buf, len);
	} while (n < 0 && errno == EINTR);
}

/* The pending rows and then `tail` (may be NULL), in one write when they fit. */
static void rows_flush(const char *tail)
{
	static char buf[ROWS_MAX * ROW_MAX_LEN + LINE_MAX_LEN];
	size_t used = 0, len;
	int i;

	for (i = 0; i < rows.n; i++) {
		len = strlen(rows.pending[i]);
		memcpy(buf + used, rows.pending[i], len);
		used += len;
		buf[used++] = '\n';
	}
	if (rows.n > 0)
		rows_spool(buf, used, 1);
	rows.n = 0;
	if (tail) {
		len = strlen(tail);
		memcpy(buf + used, tail, len);
		used += len;
		buf[used++] = '\n';
	}
	out_all(buf, used);
}

/*
 * "some avg10=0.47 avg60=5.73 avg300=12.86 total=6694810442" -> its numbers'
 * text, as the kernel wrote them, "0.47,5.73,12.86,6694810442"; "-" for a
 * line that is not there or not in this form.
 */
static void psi_line(const char *text, const char *kind, char *outp, size_t size)
{
	char a[16], b[16], c[16], t[24];
	const char *line = text;

	snprintf(outp, size, "-");
	while (line && *line) {
		if (strncmp(line, kind, 4) == 0 && line[4] == ' ' &&
		    sscanf(line + 5, "avg10=%15[0-9.] avg60=%15[0-9.] avg300=%15[0-9.] total=%23[0-9]",
			   a, b, c, t) == 4) {
			snprintf(outp, size, "%s,%s,%s,%s", a, b, c, t);
			return;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
}

/* One resource's field: "-" when unreadable, else "<some>:<full>". */
static void psi_field(int fd, char *outp, size_t size)
{
	char buf[256], some[80], full[80];
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0) {
		snprintf(outp, size, "-");
		return;
	}
	buf[n] = '\0';
	psi_line(buf, "some", some, sizeof(some));
	psi_line(buf, "full", full, sizeof(full));
	snprintf(outp, size, "%s:%s", some, full);
}

/* Takes one row; 1 when load1 is at or above flush_above (write at once). */
static int rows_take(int loadavg_fd, struct phase *p)
{
	char buf[128], loads[LOADS_MAX_LEN], res[3][180], line[1024];
	char l1[16], l5[16], l15[16];
	int len;
	unsigned long runnable, threads;
	double t_real = real_ms(), t = now_ms();
	ssize_t n = pread(loadavg_fd, buf, sizeof(buf) - 1, 0);
	int i;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%15[0-9.] %15[0-9.] %15[0-9.] %lu/%lu", l1, l5, l15, &runnable, &threads) != 5)
		return 0;
	/* The read may be the one that sees an update: it teaches the phase too. */
	snprintf(loads, sizeof(loads), "%s %s %s", l1, l5, l15);
	loads_seen(p, loads, t);
	for (i = 0; i < 3; i++)
		psi_field(rows.psi_fd[i], res[i], sizeof(res[i]));
	len = snprintf(line, sizeof(line), "row %.0f %s %s %s %lu %lu %s %s %s",
		       t_real, l1, l5, l15, runnable, threads, res[0], res[1], res[2]);
	if (len < 0 || len >= ROW_MAX_LEN)
		return 0;	/* not with the kernel's numbers (< 560 bytes at most); never a cut row */
	if (rows.n == ROWS_MAX)
		rows_flush(NULL);	/* cannot happen with batch <= ROWS_MAX; bounds it anyway */
	memcpy(rows.pending[rows.n++], line, len + 1);
	line[len] = '\n';
	rows_spool(line, len + 1, 0);
	return strtod(l1, NULL) >= rows.flush_above;
}

static void rows_close_files(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (rows.psi_fd[i] >= 0)
			close(rows.psi_fd[i]);
		rows.psi_fd[i] = -1;
	}
	if (rows.spool_fd >= 0)
		close(rows.spool_fd);
	rows.spool_fd = -1;
}

/* The spool is loadmon's own file next to its store: never follow a link planted there. */
static int rows_open_spool(const char *path)
{
	if (!path)
		return 0;
	rows.spool_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (rows.spool_fd >= 0)
		return 0;
	out("err rows spool %s: %s", path, strerror(errno));
	return -1;
}

/*
 * Splits a command's arguments at spaces into a[0..words-1] (NULL past the
 * last) and reads the first `nums` as numbers >= 0 into v; -1 when one of
 * those is missing or not such a number.
 */
static int split_numbers(char *args, char **a, int words, double *v, int nums)
{
	char *end;
	int i;

	for (i = 0; i < words; i++)
		a[i] = strtok(i ? NULL : args, " ");
	for (i = 0; i < nums; i++) {
		v[i] = a[i] ? strtod(a[i], &end) : -1;
		if (!a[i] || *end || v[i] < 0)
			return -1;
	}
	return 0;
}

static void rows_start(char *args)
{
	char *a[6];
	double v[4];
	char path[4096];
	int i;

	if (split_numbers(args, a, 6, v, 4) < 0) {
		out("err rows usage: rows <period_ms> <phase_ms> <batch> <flush_above> [<spool>]");
		return;
	}
	if (a[5] || v[0] < PERIOD_MIN_MS || v[0] > PERIOD_MAX_MS || v[1] >= v[0] ||
	    v[2] < 1 || v[2] > ROWS_MAX || v[2] != (int)v[2]) {
		out("err rows period %d..%d ms, 0 <= phase < period, batch 1..%d",
		    PERIOD_MIN_MS, PERIOD_MAX_MS, ROWS_MAX);
		return;
	}
	/* A change of period or phase: what was taken at the old one goes first. */
	rows_flush(NULL);
	rows_close_files();
	if (rows_open_spool(a[4]) < 0)
		return;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/pressure/%s", proc_root, psi_names[i]);
		rows.psi_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
	}
	rows.period = v[0];
	rows.phase = v[1];
	rows.batch = (int)v[2];
	rows.flush_above = v[3];
	rows.on = 1;
	rows.due = rows_next();
	out("ok rows");
}

static void rows_stop(void)
{
	rows.on = 0;
	rows_close_files();
	rows_flush("ok norows");
}

static void rows_tick(int loadavg_fd, struct phase *p)
{
	if (rows_take(loadavg_fd, p) || rows.n >= rows.batch)
		rows_flush(NULL);
	rows.due = rows_next();
}

static void hush_set(char *args)
{
	char *a[3];
	double v[2];

	if (split_numbers(args, a, 3, v, 2) < 0 || a[2]) {
		out("err hush usage: hush <below> <every_ms>");
		return;
	}
	if (v[0] > 0 && (v[1] < LOAD_FREQ_MS || v[1] > PERIOD_MAX_MS * 10)) {
		out("err hush every %d..%d ms", LOAD_FREQ_MS, PERIOD_MAX_MS * 10);
		return;
	}
	hush.below = v[0];
	hush.every = v[1];
	out("ok hush");
}

/* One command; 0 when the waiter should exit. */
static int run_command(char *line)
{
	if (strcmp(line, "quit") == 0)
		return 0;
	if (strncmp(line, "psi ", 4) == 0)
		psi_add(line + 4);
	else if (strncmp(line, "unpsi ", 6) == 0)
		psi_remove(line + 6);
	else if (strncmp(line, "rows ", 5) == 0)
		rows_start(line + 5);
	else if (strcmp(line, "flush") == 0)
		rows_flush("ok flush");
	else if (strcmp(line, "norows") == 0)
		rows_stop();
	else if (strncmp(line, "hush ", 5) == 0)
		hush_set(line + 5);
	else if (line[0])
		out("err unknown command");
	return 1;
}

/* Reads what stdin has; 0 at EOF or quit. Over-long lines are refused whole. */
static int read_commands(void)
{
	static char buf[LINE_MAX_LEN + 1];
	static size_t used;
	static int skipping;
	char chunk[512];
	ssize_t n, i;

	n = read(STDIN_FILENO, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = chunk[i];

		if (c == '\n') {
			buf[used] = '\0';
			used = 0;
			if (skipping) {
				skipping = 0;
				out("err line too long");
				continue;
			}
			if (!run_command(buf))
				return 0;
		} else if (skipping) {
			continue;
		} else if (used == LINE_MAX_LEN) {
			skipping = 1;
		} else {
			buf[used++] = c;
		}
	}
	return 1;
}

static void check_psi(struct pollfd *fds, int n)
{
	int i;

	/* Backwards: psi_drop() moves the last trigger into the dropped slot. */
	for (i = n - 1; i >= 0; i--) {
		if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			out("err psi %s gone", psi[i].id);
			psi_drop(&psi[i]);
		} else if (fds[i].revents & POLLPRI) {
			out("psi %s %.3f", psi[i].id, now_ms());
		}
	}
}

/* poll() until `due` (CLOCK_MONOTONIC ms), to the microsecond rather than poll()'s ms. */
static int wait_until(struct pollfd *fds, int n, double due)
{
	double left = due - now_ms();
	struct timespec ts = { 0, 0 };

	if (left > 0) {
		ts.tv_sec = (time_t)(left / 1e3);
		ts.tv_nsec = (long)((left - ts.tv_sec * 1e3) * 1e6);
	}
	return ppoll(fds, n, &ts, NULL);
}

static double arg_ms(const char *name, const char *v, double min, double max)
{
	char *end;
	double x = strtod(v, &end);

	if (*end || x < min || x > max) {
		fprintf(stderr, "loadmon-wait: %s must be %g..%g ms\n", name, min, max);
		exit(2);
	}
	return x;
}

static void parse_args(int argc, char **argv, struct phase *p)
{
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--proc-root") == 0)
			proc_root = argv[i + 1];
		else if (strcmp(argv[i], "--interval") == 0)
			p->interval = arg_ms("--interval", argv[i + 1], 1, 1000);
		else if (strcmp(argv[i], "--margin") == 0)
			p->margin = arg_ms("--margin", argv[i + 1], 0, 1000);
		else if (strcmp(argv[i], "--idle") == 0)
			p->idle = arg_ms("--idle", argv[i + 1], 10, 5000);
		else
			break;
	}
	if (i != argc) {
		fprintf(stderr,
			"usage: loadmon-wait [--proc-root DIR] [--interval MS] [--margin MS] [--idle MS]\n");
		exit(2);
	}
}

static int open_loadavg(void)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/loadavg", proc_root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "loadmon-wait: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void on_load_read(int fd, struct phase *p)
{
	char loads[LOADS_MAX_LEN];
	double t = now_ms();

	if (!read_loads(fd, loads, sizeof(loads)))
		return;
	loads_seen(p, loads, t);
}

int main(int argc, char **argv)
{
	struct phase p = { .interval = 10, .margin = 30, .idle = 2500,
			   .search = LOAD_FREQ_MS + 1000, .last_read = -1, .phase = -1 };
	struct pollfd fds[MAX_PSI + 1];
	double due;
	pid_t parent;
	int fd, i, n;

	parse_args(argc, argv, &p);
	period_reset(&p, -1, -1);
	/*
	 * Never outlive loadmon. The parent may have died before the prctl: then
	 * we were re-parented and getppid() changed. (Not "getppid() == 1": in a
	 * container loadmon itself can be pid 1.) A pipe whose reader is gone is
	 * an exit, not a signal.
	 */
	parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	fd = open_loadavg();
	p.started = now_ms();
	on_load_read(fd, &p);
	out("ready 1");
	due = phase_next(&p, now_ms());
	for (;;) {
		for (i = 0; i < npsi; i++)
			fds[i] = (struct pollfd){ .fd = psi[i].fd, .events = POLLPRI };
		fds[npsi] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		if (wait_until(fds, npsi + 1, rows.on && rows.due < due ? rows.due : due) < 0 && errno != EINTR)
			return 1;
		/* Events first: a command may add or drop triggers (and reorder fds). */
		n = npsi;
		check_psi(fds, n);
		if (fds[n].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!read_commands())
				return 0;
		}
		if (rows.on && now_ms() >= rows.due)
			rows_tick(fd, &p);
		if (now_ms() >= due) {
			on_load_read(fd, &p);
			due = phase_next(&p, now_ms());
		}
	}
}
