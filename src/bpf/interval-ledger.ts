/**
 * Crediting intervals the kernel side only reports whole. The BPF programs
 * add an interval's length to a sum when it ends (a D blockage at its
 * wakeup, a lock wait at its contention_end); a sample window wants the time
 * within it. So an interval still open at a read is credited up to that read
 * here, and what was credited is a debt its full length pays back when it
 * arrives in the sums (this read, or -- when it ended between the helper's
 * drain of the sums and its read of the open intervals -- the next one).
 * The off-CPU and the lock accounting (offcpu.ts, locks.ts) both keep one.
 */

/** Reads a debt waits for its sum (one is enough; two allow for a late close). */
const DEBT_READS = 2;

export interface OpenInterval {
  tid: number;
  startNs: number;
}

interface Credited {
  /** Tells this interval of the thread from its next one. */
  id: string;
  credited: number;
  /** Where its full length will be summed. */
  key: string;
}

export class IntervalLedger {
  private readonly open = new Map<number, Credited>();
  private readonly debts = new Map<string, { ns: number; reads: number }>();

  /**
   * The intervals open at this read (one per thread): the time of each not
   * credited yet, up to `nowNs`. `id` names an interval (its start, and what
   * it waits for); `key` is the sum its full length will be added to.
   */
  credit<T extends OpenInterval>(
    open: readonly T[],
    nowNs: number,
    id: (o: T) => string,
    key: (o: T) => string,
  ): Array<{ interval: T; ns: number }> {
    const now = new Map(open.map((o) => [o.tid, o]));
    for (const [tid, st] of this.open) {
      const o = now.get(tid);
      if (o && id(o) === st.id) continue;
      // It ended: its full length is in these sums, or the next ones.
      this.open.delete(tid);
      if (st.credited > 0) {
        const d = this.debts.get(st.key) ?? { ns: 0, reads: 0 };
        d.ns += st.credited;
        d.reads = 0;
        this.debts.set(st.key, d);
      }
    }
    const out: Array<{ interval: T; ns: number }> = [];
    for (const o of now.values()) {
      const st = this.open.get(o.tid) ?? { id: id(o), credited: 0, key: key(o) };
      const upTo = Math.max(0, nowNs - o.startNs);
      out.push({ interval: o, ns: upTo - st.credited });
      st.credited = Math.max(st.credited, upTo);
      this.open.set(o.tid, st);
    }
    return out;
  }

  /** A completed interval's sum, less what was credited while it was open. */
  settle(key: string, ns: number): number {
    const debt = this.debts.get(key);
    if (!debt) return ns;
    const paid = Math.min(ns, debt.ns);
    debt.ns -= paid;
    if (debt.ns <= 0) this.debts.delete(key);
    return ns - paid;
  }

  /** After a read's sums: debts whose sums never came are dropped after DEBT_READS reads. */
  endRead(): void {
    for (const [key, d] of this.debts) if (++d.reads > DEBT_READS) this.debts.delete(key);
  }

  /** Whether a thread has an interval open as of the last read. */
  isOpen(tid: number): boolean {
    return this.open.has(tid);
  }
}
