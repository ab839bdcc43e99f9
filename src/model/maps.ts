/**
 * The get-or-create step of every grouping pass (tasks by stack, processes by
 * cgroup, waits by lock…), written once instead of as an assignment inside an
 * expression at each site. Dependency-free.
 */

/** The value under key; made by make() and stored first if there is none (a stored undefined counts as none). */
export function getOrCreate<K, V>(m: Map<K, V>, key: K, make: () => V): V {
  let v = m.get(key);
  if (v === undefined) {
    v = make();
    m.set(key, v);
  }
  return v;
}
