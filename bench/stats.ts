/**
 * Sampling for the benchmarks: warm-up rounds that are thrown away, then
 * rounds whose samples are kept, with baseline and subject interleaved in each
 * round so that a machine getting slower or faster affects both alike.
 */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no samples");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Rounds {
  /** Rounds whose samples are kept. */
  runs: number;
  /** Rounds run first and thrown away (caches, JIT, page cache). */
  warmups: number;
}

/**
 * Runs every measurement once per round, in the order given, for
 * `warmups + runs` rounds; returns each one's kept samples.
 */
export async function interleaved<K extends string>(
  rounds: Rounds,
  measure: Record<K, () => Promise<number>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(measure) as K[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds.warmups + rounds.runs; round++) {
    for (const name of names) {
      const value = await measure[name]();
      if (round >= rounds.warmups) samples[name].push(value);
    }
  }
  return samples;
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}
