// `digest [name|all]`: the digest of each live read-model generation and the position it reflects,
// read in one snapshot, so that two stores (or a live model and a fresh rebuild) can be compared.
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
  const { runner } = readSide;
  const state = runner.db.prepare('SELECT generation, position FROM read_model_state WHERE name = ?');
  // One read transaction: a service appending and projecting meanwhile can't tear the snapshot.
  return runner.db.transaction(() =>
    names.map((name) => {
      const row = state.get(name) as { generation: number; position: number } | undefined;
      return {
        name,
        digest: runner.digest(name),
        position: row?.position ?? 0,
        generation: row?.generation ?? 0,
      };
    }),
  )();
}

export function formatDigestResult(result: DigestResult, head: number): string {
  const lag = head - result.position;
  return `${result.name}: ${result.digest} at position ${result.position}${lag > 0 ? ` (${lag} behind head ${head})` : ''}`;
}
