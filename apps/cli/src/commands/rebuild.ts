// `rebuild <name|all>`: replays the whole log into the next generation of each read model, beside
// the live one (a running service keeps answering from it), then switches; reports speed and digest.
import { CliError } from '../errors.js';
import type { ReadSide } from './read-side.js';

export interface RebuildResult {
  readonly name: string;
  /** Events applied (the log is gap-free from 1, so this is the position reached). */
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Absent when skipped (`--skip-digest`). */
  readonly digest?: string;
}

export interface ProgressSink {
  update(position: number, head: number): void;
  done(position: number, head: number): void;
}

export interface RebuildOptions {
  /** A progress display per projection (the CLI draws a bar on stderr; tests pass nothing). */
  readonly progress?: (name: string) => ProgressSink | undefined;
  /** Digest each rebuilt read model (default true); reading every row costs time on a big store. */
  readonly digest?: boolean;
  /** Called as each read model is done (the CLI prints its line at once). */
  readonly onResult?: (result: RebuildResult) => void;
}

async function digestOf(readSide: Pick<ReadSide, 'runner'>, name: string): Promise<string> {
  try {
    return await readSide.runner.digest(name);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`${name} was rebuilt and is live, but its digest failed: ${reason}`);
  }
}

export async function rebuildProjections(
  readSide: Pick<ReadSide, 'runner' | 'store'>,
  names: readonly string[],
  options: RebuildOptions = {},
): Promise<RebuildResult[]> {
  const results: RebuildResult[] = [];
  for (const name of names) {
    const sink = options.progress?.(name);
    let position = 0;
    let head = await readSide.store.headPosition();
    const started = performance.now();
    await readSide.runner.rebuild(name, (progress) => {
      position = progress.position;
      head = progress.head;
      sink?.update(position, head);
    });
    const seconds = (performance.now() - started) / 1000;
    sink?.done(position, Math.max(head, position));
    const result: RebuildResult = {
      name,
      events: position,
      seconds,
      eventsPerSecond: seconds > 0 ? position / seconds : 0,
      ...(options.digest === false ? {} : { digest: await digestOf(readSide, name) }),
    };
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

export function formatRebuildResult(result: RebuildResult): string {
  return (
    `${result.name}: ${result.events} events in ${result.seconds.toFixed(2)} s ` +
    `(${Math.round(result.eventsPerSecond)} events/s)` +
    (result.digest === undefined ? '' : `, digest ${result.digest}`)
  );
}
