/*
 * hangfs: a FUSE file system with one regular file, "stack", whose read()
 * is never answered. The reader waits in the kernel like a /proc/PID/stack
 * read behind a task that holds its exec lock: a regular file (lstat and
 * open succeed, O_NONBLOCK changes nothing), and once the request has been
 * read by this server even SIGKILL leaves the reader in D until the server
 * exits (the kernel then aborts the connection and the read fails).
 *
 * Speaks the FUSE protocol on /dev/fuse directly (no libfuse). Root only.
 *   hangfs MOUNTPOINT     prints "ready" once mounted; exit (any signal) unmounts lazily
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int fuse_fd;
static const char *mnt;

static void reply(uint64_t unique, int error, const void *data, size_t len)
{
	struct fuse_out_header h = { .len = (uint32_t)(sizeof(h) + len), .error = error, .unique = unique };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };

	if (writev(fuse_fd, iov, data ? 2 : 1) < 0 && errno != ENOENT) /* ENOENT: the request was interrupted */
		perror("hangfs: writev");
}

static void fill_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0555 : S_IFREG | 0444;
	a->nlink = ino == FUSE_ROOT_ID ? 2 : 1;
	a->blksize = 4096;
}

static void on_signal(int sig)
{
	(void)sig;
	umount2(mnt, MNT_DETACH);
	_exit(0);
}

static void handle(struct fuse_in_header *in, void *arg)
{
	switch (in->opcode) {
	case FUSE_INIT: {
		struct fuse_init_in *ii = arg;
		struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION };

		o.max_readahead = ii->max_readahead;
		o.max_write = 4096;
		o.max_background = 16;
		o.congestion_threshold = 12;
		o.time_gran = 1;
		reply(in->unique, 0, &o, sizeof(o));
		printf("ready\n");
		fflush(stdout);
		break;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out e = { .nodeid = 2, .generation = 1 };

		if (in->nodeid != FUSE_ROOT_ID || strcmp((const char *)arg, "stack") != 0) {
			reply(in->unique, -ENOENT, NULL, 0);
			break;
		}
		fill_attr(&e.attr, 2);
		reply(in->unique, 0, &e, sizeof(e));
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a = { 0 };

		fill_attr(&a.attr, in->nodeid);
		reply(in->unique, 0, &a, sizeof(a));
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		/* Direct I/O: every read() comes here, none is served from the page cache. */
		struct fuse_open_out o = { .open_flags = FOPEN_DIRECT_IO };

		reply(in->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_READ:
		/* Never answered: this is the hang. */
		break;
	case FUSE_INTERRUPT:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
		/* No reply is expected (an unanswered interrupt keeps the read waiting). */
		break;
	case FUSE_READDIR:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
		reply(in->unique, 0, NULL, 0);
		break;
	default:
		reply(in->unique, -ENOSYS, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	static char buf[(1 << 20) + 4096];
	char opts[128];

	if (argc != 2) {
		fprintf(stderr, "usage: hangfs MOUNTPOINT\n");
		return 2;
	}
	mnt = argv[1];
	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0) {
		perror("hangfs: /dev/fuse");
		return 1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fuse_fd);
	if (mount("loadmon-hangfs", mnt, "fuse.loadmon-hangfs", MS_NOSUID | MS_NODEV, opts) != 0) {
		perror("hangfs: mount");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (;;) {
		ssize_t n = read(fuse_fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue;
			if (errno == ENODEV) /* unmounted */
				return 0;
			perror("hangfs: read");
			return 1;
		}
		if ((size_t)n < sizeof(struct fuse_in_header))
			continue;
		handle((struct fuse_in_header *)buf, buf + sizeof(struct fuse_in_header));
	}
}
