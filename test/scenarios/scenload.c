// SPDX-License-Identifier: GPL-2.0
/*
 * scenload: the workloads of loadmon's diagnosis scenarios (test/scenario,
 * bench/accuracy.ts). Each injects one known cause of load:
 *
 *   scenload [-g PROCS]... cpu N SECONDS           N busy-loop threads (R)
 *   scenload [-g PROCS]... vfork N SECONDS         N processes blocked in vfork() (D)
 *   scenload [-g PROCS]... dsync-own N DIR SECONDS N threads, O_DIRECT|O_DSYNC 4 KiB
 *                                                  writes, each to its own file in DIR
 *   scenload [-g PROCS]... dsync-shared N FILE SECONDS
 *                                                  N threads, O_DIRECT|O_DSYNC 4 KiB
 *                                                  appends to one shared FILE
 *   scenload [-g PROCS]... pagecache N FILE SECONDS
 *                                                  N threads reading FILE sequentially
 *                                                  through the page cache, in a loop
 *   scenload [-g PROCS]... dio-write N DIR SECONDS N threads, O_DIRECT 64 KiB writes,
 *                                                  each to its own file in DIR
 *   scenload mkfile FILE MIB                       write FILE with O_DIRECT (so none of
 *                                                  it sits in the page cache) and exit
 *
 * -g PROCS writes the process's pid into a cgroup's cgroup.procs (v1 or v2)
 * BEFORE any load starts, so every page and bio is charged to that cgroup.
 *
 * Prints "ready <pid> <inode>" once the load is in place (inode: the shared
 * file's, else 0). Every mode ends by itself after SECONDS and dies with its
 * parent (PR_SET_PDEATHSIG): a crashed test leaves no load behind. Files
 * never grow without bound: per-thread files wrap at 16 MiB, the shared file
 * is truncated at 256 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SMALL_IO 4096
#define BIG_IO (64 * 1024)
#define OWN_FILE_BYTES (16L << 20)
#define SHARED_FILE_MAX (256L << 20)
#define READ_CHUNK (1 << 20)

static double seconds;
static double end_time;
static const char *target; /* a directory or a file, per mode */
static off_t file_bytes;   /* pagecache: size of the file read; writers: block size */
static int dsync;          /* writers: O_DSYNC, every write waits for the device's flush */
static long nthreads;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_for(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "scenload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *aligned(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n) != 0)
		die("posix_memalign");
	memset(p, 'x', n);
	return p;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags, 0600);

	if (fd < 0) {
		fprintf(stderr, "scenload: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void *spin(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	while (now() < end_time)
		for (int i = 0; i < 1000000; i++)
			n++;
	return NULL;
}

/* Writes `size`-byte blocks at offsets that wrap at OWN_FILE_BYTES. */
static void write_loop(int fd, size_t size)
{
	char *buf = aligned(size);
	off_t off = 0;

	while (now() < end_time) {
		if (pwrite(fd, buf, size, off) < 0 && errno != EINTR)
			die("pwrite");
		off = (off + (off_t)size) % OWN_FILE_BYTES;
	}
	free(buf);
}

static void *own_writer(void *arg)
{
	long i = (long)arg;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/own-%ld", target, i);
	fd = open_or_die(path, O_WRONLY | O_CREAT | O_DIRECT | (dsync ? O_DSYNC : 0));
	write_loop(fd, (size_t)file_bytes);
	close(fd);
	return NULL;
}

/* Appends: every write takes the inode's lock for the whole synchronous I/O. */
static void *shared_appender(void *arg)
{
	char *buf = aligned(SMALL_IO);
	int fd = open_or_die(target, O_WRONLY | O_CREAT | O_APPEND | O_DIRECT | O_DSYNC);
	struct stat st;
	long n = 0;

	(void)arg;
	while (now() < end_time) {
		if (write(fd, buf, SMALL_IO) < 0 && errno != EINTR)
			die("write");
		if (++n % 1024 == 0 && fstat(fd, &st) == 0 && st.st_size > SHARED_FILE_MAX)
			if (ftruncate(fd, 0) < 0)
				die("ftruncate");
	}
	close(fd);
	free(buf);
	return NULL;
}

/*
 * Pages an earlier run read are still cached, charged to the root cgroup
 * once that run's cgroup was removed (v1 reparents them): readers would hit
 * them without ever reaching their own limit. Evict them first (they are
 * clean), so every read is charged to this run's cgroup.
 */
static void drop_cached(const char *path)
{
	int fd = open_or_die(path, O_RDONLY);
	int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);

	if (err)
		fprintf(stderr, "scenload: posix_fadvise: %s\n", strerror(err));
	close(fd);
}

/* Sequential reads from a per-thread starting point, round and round the file. */
static void *reader(void *arg)
{
	long i = (long)arg;
	char *buf = aligned(READ_CHUNK);
	int fd = open_or_die(target, O_RDONLY);
	off_t off = (file_bytes / nthreads) * i / READ_CHUNK * READ_CHUNK;

	while (now() < end_time) {
		ssize_t n = pread(fd, buf, READ_CHUNK, off);

		if (n < 0 && errno != EINTR)
			die("pread");
		off = (n <= 0 || off + n >= file_bytes) ? 0 : off + n;
	}
	close(fd);
	free(buf);
	return NULL;
}

static void start_threads(void *(*fn)(void *))
{
	for (long i = 0; i < nthreads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, fn, (void *)i) != 0)
			die("pthread_create");
	}
}

/* N processes, each blocked in vfork() (D) until its child's sleep ends. */
static void start_vforkers(void)
{
	for (long i = 0; i < nthreads; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (vfork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				sleep_for(end_time - now());
				_exit(0);
			}
			_exit(0);
		}
	}
}

static int mkfile(const char *path, long mib)
{
	char *buf = aligned(READ_CHUNK);
	int fd = open_or_die(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT);

	for (long i = 0; i < mib; i++)
		if (write(fd, buf, READ_CHUNK) != READ_CHUNK)
			die("write");
	if (fsync(fd) < 0)
		die("fsync");
	close(fd);
	return 0;
}

static void join_cgroup(const char *procs)
{
	FILE *f = fopen(procs, "w");

	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0) {
		fprintf(stderr, "scenload: joining %s: %s\n", procs, strerror(errno));
		exit(1);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: scenload [-g CGROUP_PROCS]... cpu|vfork N SECONDS\n"
			"       scenload [-g CGROUP_PROCS]... dsync-own|dsync-shared|pagecache|dio-write N PATH SECONDS\n"
			"       scenload mkfile FILE MIB\n");
	return 2;
}

static unsigned long start_mode(const char *mode)
{
	struct stat st;

	if (!strcmp(mode, "cpu")) {
		start_threads(spin);
	} else if (!strcmp(mode, "vfork")) {
		start_vforkers();
	} else if (!strcmp(mode, "dsync-own") || !strcmp(mode, "dio-write")) {
		dsync = !strcmp(mode, "dsync-own");
		file_bytes = dsync ? SMALL_IO : BIG_IO;
		start_threads(own_writer);
	} else if (!strcmp(mode, "dsync-shared")) {
		close(open_or_die(target, O_WRONLY | O_CREAT | O_TRUNC));
		if (stat(target, &st) < 0)
			die("stat");
		start_threads(shared_appender);
		return (unsigned long)st.st_ino;
	} else if (!strcmp(mode, "pagecache")) {
		if (stat(target, &st) < 0)
			die("stat");
		file_bytes = st.st_size;
		if (file_bytes < (off_t)READ_CHUNK * nthreads)
			exit(usage());
		drop_cached(target);
		start_threads(reader);
	} else {
		exit(usage());
	}
	return 0;
}

int main(int argc, char **argv)
{
	int a = 1;
	unsigned long ino;
	char comm[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc == 4 && !strcmp(argv[1], "mkfile"))
		return mkfile(argv[2], atol(argv[3]));
	while (a + 1 < argc && !strcmp(argv[a], "-g")) {
		join_cgroup(argv[a + 1]);
		a += 2;
	}
	if (argc - a < 3)
		return usage();
	nthreads = atol(argv[a + 1]);
	if (argc - a == 4)
		target = argv[a + 2];
	else if (argc - a != 3)
		return usage();
	seconds = atof(argv[argc - 1]);
	if (nthreads <= 0 || seconds <= 0)
		return usage();
	/* The mode in the comm: a report names the scenario in its evidence. */
	snprintf(comm, sizeof(comm), "scen-%s", argv[a]);
	prctl(PR_SET_NAME, comm);
	end_time = now() + seconds;
	ino = start_mode(argv[a]);
	printf("ready %d %lu\n", getpid(), ino);
	fflush(stdout);
	sleep_for(seconds);
	/* vfork children end with the time; reap their parents. */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
