// The port through which the service takes records from a message broker. The consumer owns
// ordering and offsets: a record's offset is committed only after `handle` has resolved for it.

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key?: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface RecordConsumer {
  /**
   * Starts consuming: `handle` is called for each record, one at a time per partition, in partition
   * order. The record's offset is committed (for the group) only once `handle` has resolved; if it
   * rejects, the record is delivered again (at least once).
   */
  start(handle: (message: IncomingMessage) => Promise<void>): Promise<void>;
  /** Stops consuming and leaves the group; offsets of handled records are committed first. */
  stop(): Promise<void>;
}
