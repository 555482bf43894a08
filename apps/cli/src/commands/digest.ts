// `digest [name|all]`: the digest of each live read-model generation and the position it reflects,
// each read in one snapshot, so that two stores (or a live model and a fresh rebuild) can be compared.
import type { ReadSide } from './read-side.js';

export interface DigestResult {
  readonly name: string;
  readonly digest: string;
  /** Last event the live generation applied. */
  readonly position: number;
  readonly generation: number;
}

export async function digestProjections(
  readSide: Pick<ReadSide, 'runner'>,
  names: readonly string[],
): Promise<DigestResult[]> {
  const results: DigestResult[] = [];
  // Each digest and its position come from one snapshot: a service appending and projecting
  // meanwhile can't tear it.
  for (const name of names) results.push({ name, ...(await readSide.runner.digestAt(name)) });
  return results;
}

export function formatDigestResult(result: DigestResult, head: number): string {
  const lag = head - result.position;
  return `${result.name}: ${result.digest} at position ${result.position}${lag > 0 ? ` (${lag} behind head ${head})` : ''}`;
}
