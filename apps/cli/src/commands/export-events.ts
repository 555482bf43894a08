// `export-events`: the global log as NDJSON, one RecordedEvent per line, read page by page so that
// memory stays flat whatever the size of the log. Its output is what `replay` reads.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { EventStore } from '#event-store';

export interface ExportOptions {
  /** Export events after this global position (0: from the beginning). */
  readonly after?: number;
  readonly pageSize?: number;
  readonly onPage?: (position: number) => void;
}

/** Writes every event after `after` and returns how many it wrote and the last position. */
export async function exportEvents(
  store: Pick<EventStore, 'readAll'>,
  out: Writable,
  options: ExportOptions = {},
): Promise<{ readonly events: number; readonly lastPosition: number }> {
  const pageSize = options.pageSize ?? 1000;
  let position = options.after ?? 0;
  let count = 0;
  for (;;) {
    const page = await store.readAll(position, pageSize);
    if (page.length === 0) break;
    let chunk = '';
    for (const event of page) chunk += `${JSON.stringify(event)}\n`;
    // Respect backpressure: a slow pipe must not make the whole log pile up in memory.
    if (!out.write(chunk)) await once(out, 'drain');
    count += page.length;
    position = page.at(-1)?.globalPosition ?? position;
    options.onPage?.(position);
  }
  return { events: count, lastPosition: position };
}
