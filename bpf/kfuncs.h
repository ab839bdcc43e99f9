/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel functions (kfuncs) the BPF programs call, declared weak: on a
 * kernel without them (before 6.7) the program that calls them is not loaded
 * (the helper looks for bpf_iter_task_new in the kernel's BTF first).
 * Included by loadmon.bpf.c only, after vmlinux.h.
 */
#ifndef LOADMON_KFUNCS_H
#define LOADMON_KFUNCS_H

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;

#endif
