// The processor runner on the in-memory store: checkpointed catch-up then live, a handler that
// throws stops its processor, a transient failure (the database away) is retried from the
// checkpoint, and with leases on PostgreSQL one instance runs a processor at a time.
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type RecordedEvent } from '#event-store';
import { newEvent } from '../../event-store/src/testing/events.js';
import { MemoryCheckpointStore } from './checkpoints.js';
import { PostgresCoordination } from './coordination.js';
import { ProcessorRunner, type EventProcessor } from './runner.js';
import { postgresReadModels, READ_MODEL_DATABASE_URL } from './testing/databases.js';

const append = async (store: InMemoryEventStore, count: number, type = 'Happened') => {
  for (let i = 0; i < count; i++)
    await store.append([{ streamId: 's-1', expectedVersion: 'any', events: [newEvent(type)] }]);
  return store.headPosition();
};

class Recording implements EventProcessor {
  readonly name = 'recording';
  readonly seen: number[] = [];
  constructor(private readonly fail?: (event: RecordedEvent) => Error | undefined) {}
  async handle(event: RecordedEvent): Promise<void> {
    const error = this.fail?.(event);
    if (error) throw error;
    this.seen.push(event.globalPosition);
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const runnerOf = (...args: ConstructorParameters<typeof ProcessorRunner>) => {
  const runner = new ProcessorRunner(...args);
  cleanup.push(() => runner.stopAll());
  return runner;
};

describe('ProcessorRunner', () => {
  it('writes its checkpoint at once after an event it acts on; past the others only when the log goes quiet or it stops', async () => {
    const store = new InMemoryEventStore();
    const writes: number[] = [];
    const inner = new MemoryCheckpointStore();
    const checkpoints = {
      get: (name: string) => inner.get(name),
      set: async (name: string, position: number) => {
        writes.push(position);
        await inner.set(name, position);
      },
    };
    const processor = new (class extends Recording {
      handles = (event: RecordedEvent) => event.type === 'Wanted';
    })();
    const runner = runnerOf(store, checkpoints);
    await runner.start(processor);
    await append(store, 20);
    const wanted = await append(store, 1, 'Wanted');
    await runner.caughtUp('recording', wanted);
    // Twenty events passed over cost no write; the one it acted on is checkpointed at once.
    expect(processor.seen).toEqual([wanted]);
    expect(writes).toEqual([wanted]);
    const head = await append(store, 5);
    await runner.caughtUp('recording', head);
    await until(() => writes.at(-1) === head);
    expect(writes).toEqual([wanted, head]);
    const last = await append(store, 3);
    await runner.caughtUp('recording', last);
    await runner.stopAll();
    expect(await inner.get('recording')).toBe(last);
  });

  it('resumes after its checkpoint, then follows live', async () => {
    const store = new InMemoryEventStore();
    const checkpoints = new MemoryCheckpointStore();
    await append(store, 5);
    await checkpoints.set('recording', 3);
    const processor = new Recording();
    const runner = runnerOf(store, checkpoints);
    await runner.start(processor);
    const head = await append(store, 2);
    await runner.caughtUp('recording', head);
    expect(processor.seen).toEqual([4, 5, 6, 7]);
    expect(await checkpoints.get('recording')).toBe(7);
    expect(runner.status()).toEqual([{ name: 'recording', state: 'running', position: 7 }]);
  });

  it('stops on a handler error, keeping the error, and skips nothing', async () => {
    const store = new InMemoryEventStore();
    const checkpoints = new MemoryCheckpointStore();
    await append(store, 2);
    await append(store, 1, 'Poison');
    await append(store, 2);
    const failures: string[] = [];
    const processor = new Recording((e) => (e.type === 'Poison' ? new Error('cannot handle') : undefined));
    const runner = runnerOf(store, checkpoints, (name) => failures.push(name));
    await runner.start(processor);
    await until(() => runner.status()[0]?.state === 'failed');
    expect(runner.status()[0]).toMatchObject({ position: 2, error: 'cannot handle' });
    expect(failures).toEqual(['recording']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processor.seen).toEqual([1, 2]);
    expect(await checkpoints.get('recording')).toBe(2);
  });

  it('retries a transient failure from its checkpoint and carries on', async () => {
    const store = new InMemoryEventStore();
    const checkpoints = new MemoryCheckpointStore();
    await append(store, 4);
    let cuts = 2;
    const processor = new Recording((e) =>
      e.globalPosition === 3 && cuts-- > 0
        ? Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' })
        : undefined,
    );
    const failures: string[] = [];
    const runner = runnerOf(store, checkpoints, (name) => failures.push(name));
    await runner.start(processor);
    const head = await append(store, 1);
    await runner.caughtUp('recording', head);
    expect(processor.seen).toEqual([1, 2, 3, 4, 5]);
    expect(failures).toEqual([]);
    expect(runner.status()[0]).toMatchObject({ state: 'running', position: 5 });
    expect(runner.status()[0]?.error).toBeUndefined();
  });

  it('keeps retrying while its checkpoint store is away, then resumes', async () => {
    const store = new InMemoryEventStore();
    const inner = new MemoryCheckpointStore();
    await append(store, 3);
    let away = 3;
    const checkpoints = {
      get: async (name: string) => {
        if (away-- > 0) throw Object.assign(new Error('too many connections'), { code: '53300' });
        return inner.get(name);
      },
      set: (name: string, position: number) => inner.set(name, position),
    };
    const processor = new Recording();
    const failures: string[] = [];
    const runner = runnerOf(store, checkpoints, (name) => failures.push(name));
    await runner.start(processor);
    expect(runner.status()[0]?.error).toMatch(/retrying: too many connections/);
    await runner.caughtUp('recording', 3);
    expect(processor.seen).toEqual([1, 2, 3]);
    expect(failures).toEqual([]);
    expect(runner.status()[0]).toMatchObject({ state: 'running', position: 3 });
  });
});

describe('ProcessorRunner: two instances with leases on PostgreSQL', () => {
  it('runs a processor in one instance at a time, and in the other once the first is gone', async () => {
    const database = await postgresReadModels.open();
    cleanup.push(() => database.dispose());
    const store = new InMemoryEventStore();
    // The checkpoint store both instances share (PostgreSQL's, in production).
    const checkpoints = new MemoryCheckpointStore();
    const instance = async () => {
      const coordination = new PostgresCoordination(READ_MODEL_DATABASE_URL, database.schema ?? '');
      cleanup.push(() => coordination.close());
      const processor = new Recording();
      const runner = runnerOf(store, checkpoints, undefined, coordination, 100);
      await runner.start(processor);
      return { coordination, processor, runner };
    };
    const a = await instance();
    await until(() => a.runner.status()[0]?.state === 'running');
    const b = await instance();
    await append(store, 6);
    await a.runner.caughtUp('recording', 6);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.runner.status()[0]?.state).toBe('standby');
    expect(b.processor.seen).toEqual([]);

    await a.runner.stopAll(); // a clean stop hands the lease over at once
    await until(() => b.runner.status()[0]?.state === 'running');
    const head = await append(store, 3);
    await b.runner.caughtUp('recording', head);
    expect(a.processor.seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.processor.seen).toEqual([7, 8, 9]);
  });
});
