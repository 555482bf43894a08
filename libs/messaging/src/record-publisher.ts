// The port through which the service hands records to a message broker. The relay owns ordering,
// checkpoints and the long retry; an adapter only has to publish one batch or fail.

export interface OutgoingMessage {
  /** The partitioning key: messages with one key keep their order. */
  readonly key: string;
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RecordPublisher {
  /**
   * Publishes the messages in order (per key) and resolves once the broker has acknowledged every
   * one of them; rejects, in bounded time, when it could not. After a rejection some messages may
   * have been written: the caller re-sends the whole batch (at least once).
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Optional: reaches the broker (and sets up the destination) without sending anything, so that
   * a broker that is away is known before there is something to publish. Rejects in bounded time.
   */
  connect?(): Promise<void>;
  /** Releases connections; publish must not be called afterwards. */
  close(): Promise<void>;
}
