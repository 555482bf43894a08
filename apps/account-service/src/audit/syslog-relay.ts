// Sends the audit feed to a syslog receiver: RFC 5424 messages (MSG = the record's CEF line, or its
// JSON) framed by octet counting (RFC 6587 §3.4.1) over one TCP connection.
//
// A checkpointed loop (key 'audit-syslog' in the CheckpointStore): it reads the feed after its
// checkpoint a page at a time, writes the page's frames in one write, and moves the checkpoint only
// once the write callback has reported success; then the next page. A receiver that is down or
// drops the connection is retried with a capped, doubling back-off, and sending resumes from the
// checkpoint: nothing is skipped, a page may be sent twice (each message carries the record id and
// hash for de-duplication).
//
// The limit of plain TCP syslog: it has no acknowledgements. The write callback says the kernel
// took the bytes, not that the receiver stored them; a page written in the instant a receiver
// dies can be lost. The relay narrows that window (it never writes to a connection the peer has
// closed) but cannot close it; RELP or a broker with acknowledgements can (see the Kafka relay).
import net from 'node:net';
import os from 'node:os';
import { setTimeout as wait } from 'node:timers/promises';
import { frameOctetCounted, toSyslog, type SyslogOptions } from '#audit';
import { type CheckpointStore, PositionWaiters } from '#projections';
import { type AuditFeed, lagBehind } from './audit-feed.js';

/** The relay's checkpoint key. */
export const AUDIT_SYSLOG = 'audit-syslog';

export interface SyslogTarget {
  readonly host: string;
  readonly port: number;
}

/** `standby`: another instance holds the relay's lease and runs it. */
export type SyslogRelayState = 'starting' | 'connecting' | 'connected' | 'retrying' | 'stopped' | 'standby';

export interface SyslogRelayStatus {
  readonly name: string;
  readonly state: SyslogRelayState;
  /** host:port of the receiver. */
  readonly target: string;
  /** Global cursor of the last record written (the checkpoint). */
  readonly position: number;
  /** The feed's head when asked; undefined if the feed did not answer. */
  readonly head?: number;
  /** head - position. */
  readonly lag?: number;
  /** Failed attempts since the last success. */
  readonly failures: number;
  readonly lastError?: string;
  /** When the current run of failures began (RFC 3339). */
  readonly failingSince?: string;
  /** Records written since start (re-sends included). */
  readonly sent: number;
}

export interface SyslogRelayOptions {
  readonly target: SyslogTarget;
  /** MSG: the CEF line (default) or the record's canonical JSON. */
  readonly format?: 'cef' | 'json';
  /** HOSTNAME of the messages; default: this machine's name. */
  readonly hostname?: string;
  readonly name?: string;
  readonly pageSize?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long one wait for new records lasts before the loop looks again. */
  readonly idleWaitMs?: number;
  readonly connectTimeoutMs?: number;
  readonly log?: { warn(message: string): void; log(message: string): void };
}

class ConnectionLost extends Error {}

export class SyslogRelay {
  private readonly name: string;
  private readonly message: SyslogOptions;
  private state: SyslogRelayState = 'starting';
  private position = 0;
  private failures = 0;
  private lastError: string | undefined;
  private failingSince: string | undefined;
  private sent = 0;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private socket: net.Socket | undefined;
  private readonly waiters = new PositionWaiters();

  constructor(
    private readonly feed: AuditFeed,
    private readonly checkpoints: CheckpointStore,
    private readonly options: SyslogRelayOptions,
  ) {
    this.name = options.name ?? AUDIT_SYSLOG;
    this.message = {
      hostname: options.hostname ?? os.hostname(),
      procId: String(process.pid),
      msg: options.format ?? 'cef',
    };
  }

  get target(): string {
    const { host, port } = this.options.target;
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.socket?.destroy();
    await this.loop;
    this.state = 'stopped';
  }

  async status(): Promise<SyslogRelayStatus> {
    const behind = await lagBehind(this.feed, this.position);
    return {
      name: this.name,
      state: this.state,
      target: this.target,
      position: this.position,
      ...behind,
      failures: this.failures,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.failingSince !== undefined ? { failingSince: this.failingSince } : {}),
      sent: this.sent,
    };
  }

  /** Resolves once everything up to `position` has been written (tests, operations). */
  caughtUp(position: number, timeoutMs = 10_000): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    return this.waiters.wait(
      position,
      timeoutMs,
      () =>
        new Error(
          `${this.name} is at ${this.position}, not yet at ${position} (${this.lastError ?? this.state})`,
        ),
    );
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 30_000;
    let backoff = initial;
    while (!this.stopped) {
      try {
        this.position = await this.checkpoints.get(this.name);
        this.state = 'connecting';
        const socket = await this.connect();
        this.socket = socket;
        this.state = 'connected';
        if (this.failures > 0) this.options.log?.log(`${this.name}: connected to ${this.target} again`);
        await this.pump(socket, () => {
          // A successful write ends a run of failures.
          backoff = initial;
          this.failures = 0;
          this.lastError = undefined;
          this.failingSince = undefined;
        });
      } catch (error) {
        if (this.stopped) break;
        this.failures += 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.failingSince ??= new Date().toISOString();
        this.state = 'retrying';
        if (this.failures === 1 || this.failures % 20 === 0)
          this.options.log?.warn(`${this.name}: ${this.target}: ${this.lastError}; retrying`);
        await wait(backoff, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, max);
      } finally {
        this.socket?.destroy();
        this.socket = undefined;
      }
    }
    this.state = 'stopped';
  }

  private connect(): Promise<net.Socket> {
    const { host, port } = this.options.target;
    return new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      const fail = (error: Error) => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`connect timed out after ${this.options.connectTimeoutMs ?? 5000} ms`)),
        this.options.connectTimeoutMs ?? 5000,
      );
      const onAbort = () => fail(new Error('stopped'));
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('error', fail);
        this.stopping.signal.removeEventListener('abort', onAbort);
      };
      socket.once('error', fail);
      this.stopping.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        cleanup();
        // Errors are handled by pump() and the write callbacks; this one keeps a late error (after
        // pump has let go of the socket) from crashing the process.
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  /** Sends pages until stopped; throws when the connection is lost. */
  private async pump(socket: net.Socket, onSuccess: () => void): Promise<void> {
    // The receiver closing its end (or any error) ends this connection: the idle wait wakes up
    // and the next page goes to a new connection.
    const lost = new AbortController();
    let reason: Error | undefined;
    const onError = (error: Error) => {
      reason ??= error;
      lost.abort();
    };
    const onEnd = () => {
      reason ??= new ConnectionLost(`${this.target} closed the connection`);
      lost.abort();
      socket.destroy();
    };
    socket.on('error', onError);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    const signal = AbortSignal.any([lost.signal, this.stopping.signal]);
    const pageSize = this.options.pageSize ?? 500;
    try {
      while (!this.stopped) {
        if (lost.signal.aborted || socket.destroyed) throw reason ?? new ConnectionLost('connection lost');
        const page = await this.feed.after({ after: this.position, limit: pageSize });
        if (page.length === 0) {
          await this.feed.waitForMore(this.position, this.options.idleWaitMs ?? 5000, signal);
          continue;
        }
        if (lost.signal.aborted || socket.destroyed) throw reason ?? new ConnectionLost('connection lost');
        const data = page.map((record) => frameOctetCounted(toSyslog(record, this.message))).join('');
        await new Promise<void>((resolve, reject) =>
          socket.write(data, 'utf8', (error) => (error ? reject(error) : resolve())),
        );
        const last = page.at(-1)?.globalPosition ?? this.position;
        await this.checkpoints.set(this.name, last);
        this.position = last;
        this.sent += page.length;
        onSuccess();
        this.release();
      }
    } finally {
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    }
  }

  private release(): void {
    this.waiters.release(this.position);
  }
}
