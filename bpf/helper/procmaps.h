/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LOADMON_PROCMAPS_H
#define LOADMON_PROCMAPS_H

/* The maps command's child: writes its lines to out, then exits. */
void lm_procmaps_child(int out, const unsigned long *pids, int n);

#endif
