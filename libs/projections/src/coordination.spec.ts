// LeaseHolder on the sole-instance coordination: work that fails to start is not left half running.
import { describe, expect, it } from 'vitest';
import { LeaseHolder, SoleInstance } from './coordination.js';

describe('LeaseHolder', () => {
  it('lets go of the lease when the work fails to start, and tries again', async () => {
    const errors: string[] = [];
    let attempts = 0;
    let running = false;
    const holder = new LeaseHolder(
      new SoleInstance(),
      'relay/test',
      {
        start: () => {
          attempts += 1;
          if (attempts < 3) throw new Error(`start ${attempts} failed`);
          running = true;
        },
        stop: () => {
          running = false;
        },
      },
      20,
      (error) => errors.push(error instanceof Error ? error.message : String(error)),
    );
    await holder.start();
    expect(holder.active).toBe(false);
    const deadline = Date.now() + 2000;
    while (!holder.active && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(holder.active).toBe(true);
    expect(running).toBe(true);
    expect(attempts).toBe(3);
    expect(errors).toEqual(['start 1 failed', 'start 2 failed']);
    await holder.stop();
    expect(running).toBe(false);
    expect(holder.active).toBe(false);
  });
});
