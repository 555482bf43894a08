// Every read-model projection the service runs. Add a projection here and it is set up, caught
// up, checkpointed, rebuildable and reported by /readyz.
import type { ReadModelProjection } from '#projections';

export function readModelProjections(): ReadModelProjection[] {
  return [];
}
