/** Online CPU count from /proc/stat ("cpuN ..." lines; the aggregate "cpu " line is skipped). */
export function countCpus(procStat: string): number {
  let n = 0;
  for (const line of procStat.split('\n')) {
    if (line.startsWith('cpu') && line.charCodeAt(3) >= 48 && line.charCodeAt(3) <= 57) n++;
  }
  return n;
}
