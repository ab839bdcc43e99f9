/* SPDX-License-Identifier: GPL-2.0 */
/* Reading whole BPF hash maps from user space (libbpf-tools' map_helpers). */
#ifndef LOADMON_MAP_HELPERS_H
#define LOADMON_MAP_HELPERS_H

#include <stddef.h>
#include <linux/types.h>

/*
 * A buffer of keys and values side by side, sized once for a map's
 * max_entries and kept between reads (the helper reads the same maps
 * every second).
 */
struct lm_map_buf {
	void *keys;
	void *vals;
	size_t ksz;
	size_t vsz;
	__u32 max;
};

int lm_map_buf_init(struct lm_map_buf *b, size_t ksz, size_t vsz, __u32 max);
void lm_map_buf_free(struct lm_map_buf *b);
long lm_map_read(int fd, struct lm_map_buf *b);

static inline void *lm_map_key(const struct lm_map_buf *b, long i)
{
	return (char *)b->keys + (size_t)i * b->ksz;
}

static inline void *lm_map_val(const struct lm_map_buf *b, long i)
{
	return (char *)b->vals + (size_t)i * b->vsz;
}

#endif
