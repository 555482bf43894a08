// A relay of the audit feed that runs only in the instance holding its lease: created and started
// when this instance takes the lease, stopped when it loses it or the app stops. Each run is a new
// relay (a stopped one has closed its connection), resuming from the shared checkpoint.
import type { Logger } from '@nestjs/common';
import { type Coordination, LeaseHolder } from '#projections';

export interface Relay {
  start(): void;
  stop(): Promise<void>;
}

export class LeasedRelay<R extends Relay> {
  private current?: R;
  private readonly lease: LeaseHolder;

  constructor(coordination: Coordination, name: string, create: () => R, logger: Logger) {
    this.lease = new LeaseHolder(
      coordination,
      `relay/${name}`,
      {
        start: () => {
          this.current = create();
          this.current.start();
        },
        stop: async () => {
          const relay = this.current;
          this.current = undefined;
          await relay?.stop();
        },
      },
      1000,
      (error) => logger.error(`relay lease: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  /** The relay while it runs in this instance; undefined while another instance holds the lease. */
  get relay(): R | undefined {
    return this.current;
  }

  start(): Promise<void> {
    return this.lease.start();
  }

  stop(): Promise<void> {
    return this.lease.stop();
  }
}
