// SPDX-License-Identifier: GPL-2.0
/*
 * Every element of a hash map in one batched walk where the kernel has it
 * (5.6+), else key by key. The walk is bounded by the buffer's max entries:
 * a map that keeps changing while it is read cannot make it run forever.
 */
#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>

#include "map_helpers.h"

/* Returns 0, or -ENOMEM with nothing allocated. */
int lm_map_buf_init(struct lm_map_buf *b, size_t ksz, size_t vsz, __u32 max)
{
	if (b->keys)
		return 0;
	b->keys = calloc(max, ksz);
	if (!b->keys)
		return -ENOMEM;
	b->vals = calloc(max, vsz);
	if (!b->vals) {
		free(b->keys);
		b->keys = NULL;
		return -ENOMEM;
	}
	b->ksz = ksz;
	b->vsz = vsz;
	b->max = max;
	return 0;
}

void lm_map_buf_free(struct lm_map_buf *b)
{
	free(b->vals);
	free(b->keys);
	b->vals = NULL;
	b->keys = NULL;
}

static int batch_unsupported(int err)
{
	return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP;
}

/* Batched lookups; -1 (errno set) when the kernel has none. */
static long read_batched(int fd, struct lm_map_buf *b)
{
	__u64 in = 0, out = 0;
	__u32 n = 0, chunk;
	int err, first = 1;

	while (n < b->max) {
		chunk = b->max - n;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out,
					   lm_map_key(b, n), lm_map_val(b, n),
					   &chunk, NULL);
		if (err && errno != ENOENT)
			break;
		n += chunk;
		if (err)
			return n; /* ENOENT: the walk is complete */
		in = out;
		first = 0;
	}
	if (n > 0 || !batch_unsupported(errno))
		return n;
	return -1;
}

/* Key by key; the map may change meanwhile. */
static long read_keys(int fd, struct lm_map_buf *b)
{
	void *prev = NULL, *next;
	__u32 n;

	for (n = 0; n < b->max; n++) {
		next = lm_map_key(b, n);
		if (bpf_map_get_next_key(fd, prev, next) != 0)
			break;
		if (bpf_map_lookup_elem(fd, next, lm_map_val(b, n)) != 0)
			break;
		prev = next;
	}
	return n;
}

/* The element count; the buffer must have been initialised. */
long lm_map_read(int fd, struct lm_map_buf *b)
{
	long n = read_batched(fd, b);

	return n >= 0 ? n : read_keys(fd, b);
}
