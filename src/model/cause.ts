/** The causes a wait is classified into (src/analyze/causes.ts holds the table and its rules). */
export type CauseId = 'vfork' | 'cgroup' | 'memory' | 'netfs' | 'journal' | 'block-io' | 'lock' | 'unknown';
