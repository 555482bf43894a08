// The write path every command takes: read what the decision needs (cached folded state, checked
// by the append), decide (authorisation is part of the decider), take or give back uniqueness
// claims, and append everything in one atomic batch under the expected version of every stream the
// decision read — written or not, so a decision never rests on a stream that moved meanwhile. On a
// version conflict it decides again (bounded). A refusal or a "nothing to do" decided on cached
// state is checked against the store before it is answered. Commands on one hot stream queue
// in-process so they don't burn retries against each other; other processes are kept out by the
// expected versions.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import {
  claimDecider,
  isClaimStream,
  isRejection,
  streams,
  type ClaimRequest,
  type DecideContext,
  type DomainEvent,
} from '#domain';
import { EventStore, NewEvent, StreamAppend, WrongExpectedVersionError } from '#event-store';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { DomainRejectionError, PreconditionFailedError, VersionConflictError } from './errors.js';
import { claimFold } from './folds.js';
import { KeyedLock } from './keyed-lock.js';
import { StreamLoader } from './stream-loader.js';
import { StreamNames } from './stream-names.js';
import { StreamReads } from './stream-reads.js';
import { CLOCK, Clock, EVENT_STORE } from './tokens.js';

export interface CommandMeta {
  readonly appId: string;
  readonly correlationId: string;
  /** Id of the command (the request); the events' causationId. */
  readonly commandId: string;
  /**
   * The command may be delivered again (Kafka after a crash between the append and the stored
   * outcome): a marker stream named by the commandId is appended with its events, and a command
   * whose marker exists is answered from the events it stored, not decided again.
   */
  readonly once?: boolean;
}

/** What one attempt at a command works with. */
export interface Attempt {
  readonly reads: StreamReads;
  readonly context: DecideContext;
  /** Queues a decided event on its stream (read, or created, in this attempt). */
  record(streamId: string, event: DomainEvent): void;
  /** Takes (or gives back) a uniqueness claim in the same append; taken by another: rejected. */
  claim(type: 'Claim' | 'Release', request: ClaimRequest, command: unknown): Promise<void>;
}

export interface Written {
  /** Global position of the last event written, or of the latest event read when nothing changed. */
  readonly position: number;
  /** The decided events, in order (claims not included). */
  readonly events: readonly DomainEvent[];
}

/** A command (or several decided as one unit) as the pipeline runs it. */
export interface PipelineCommand<R> {
  /** In-process queue keys: commands sharing one run one after another instead of conflicting. */
  readonly lockKeys: readonly string[];
  /** The stream the command is about, as a refusal record names it (the tenant's, an account's). */
  readonly streamId: string;
  readonly tenantId?: string;
  readonly actingUserId?: string;
  /** Reads, decides and records; throws DomainRejectionError or PreconditionFailedError. */
  run(attempt: Attempt): Promise<void>;
  /** The answer once the events are stored (or nothing changed), from the attempt's final states. */
  answer(attempt: Attempt, written: Written): R;
  /** The answer to a command that ran already (`once`), from the events it stored. */
  replay(reads: StreamReads, written: Written): Promise<R>;
}

/**
 * How long a command keeps deciding again while other writers win the race for a stream it read.
 * A hot stream (a seat ledger under a bulk assignment from two instances) is appended to back to
 * back by whichever instance holds a warm cache; the other needs a few tries, so the budget is
 * time (and a generous count), not a handful of attempts.
 */
export const MAX_ATTEMPTS = 64;
export const RETRY_BUDGET_MS = 10_000;
/** Jittered backoff between attempts: grows with the attempt, capped so a retry stays prompt. */
const backoffMs = (attempt: number): number => randomInt(1, Math.min(50, 2 + 4 * attempt));

/** Ids in a command's data that say what it was aimed at; never names or addresses (personal data). */
const TARGET_KEYS = ['userId', 'accountId', 'invitationId', 'subscriptionId', 'sku', 'role', 'name'] as const;

/** The marker a `once` command appends with its events: where to find them again. */
interface CommandProcessedData {
  readonly streams: ReadonlyArray<{ readonly streamId: string; readonly fromVersion: number }>;
}

@Injectable()
export class CommandPipeline {
  private readonly lock = new KeyedLock();
  private readonly logger = new Logger('CommandPipeline');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(StreamNames) private readonly names: StreamNames,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(StreamLoader) private readonly loader: StreamLoader,
  ) {}

  async execute<R>(command: PipelineCommand<R>, meta: CommandMeta): Promise<R> {
    return this.lock.run(command.lockKeys, async () => {
      const deadline = Date.now() + RETRY_BUDGET_MS;
      for (let attempt = 1; ; attempt++) {
        const reads = new StreamReads(this.loader);
        try {
          return await this.attempt(command, meta, reads, attempt < MAX_ATTEMPTS);
        } catch (error) {
          if (error === STALE) continue;
          if (error instanceof DomainRejectionError) await this.recordRejection(command, meta, error);
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          reads.forget();
          if (attempt >= MAX_ATTEMPTS || Date.now() >= deadline) throw new VersionConflictError();
          // Another writer won the race: back off briefly, then decide again on the new state.
          await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
        }
      }
    });
  }

  private async attempt<R>(
    command: PipelineCommand<R>,
    meta: CommandMeta,
    reads: StreamReads,
    mayRetry: boolean,
  ): Promise<R> {
    if (meta.once) {
      const earlier = await this.earlierRun(command, meta, reads);
      if (earlier !== undefined) return earlier;
    }
    const decided: DomainEvent[] = [];
    const context = this.context();
    const envelope = (event: DomainEvent): NewEvent => this.envelope(event, context.now, command, meta);
    const attempt: Attempt = {
      reads,
      context,
      record: (streamId, event) => {
        reads.apply(streamId, event, envelope(event));
        decided.push(event);
      },
      claim: async (type, request, refused) => {
        const streamId = this.names.claim(request.kind, request.value);
        const state = await reads.get(streamId, claimFold);
        const decision = claimDecider.decide({ type, request }, state, context);
        if (isRejection(decision)) throw new DomainRejectionError(decision, refused);
        for (const event of decision) reads.apply(streamId, event, envelope(event));
      },
    };
    try {
      await command.run(attempt);
    } catch (error) {
      // A refusal decided on cached state must hold on what the store holds.
      const refusal = error instanceof DomainRejectionError || error instanceof PreconditionFailedError;
      if (refusal && mayRetry && (await reads.refresh())) throw STALE;
      throw error;
    }
    const appends = reads.appends();
    if (appends.every((append) => append.events.length === 0)) {
      if (mayRetry && (await reads.refresh())) throw STALE;
      return command.answer(attempt, { position: reads.position(), events: [] });
    }
    if (meta.once) appends.push(this.marker(meta.commandId, appends, envelope));
    const result = await this.store.append(appends);
    reads.commit(result.lastGlobalPosition, command.tenantId);
    return command.answer(attempt, { position: result.lastGlobalPosition, events: decided });
  }

  private marker(
    commandId: string,
    appends: readonly StreamAppend[],
    envelope: (event: DomainEvent) => NewEvent,
  ): StreamAppend {
    const data: CommandProcessedData = {
      streams: appends
        .filter((append) => append.events.length > 0)
        .map((append) => ({
          streamId: append.streamId,
          fromVersion: typeof append.expectedVersion === 'number' ? append.expectedVersion + 1 : 0,
        })),
    };
    return {
      streamId: streams.command(commandId),
      expectedVersion: 'no_stream',
      events: [envelope({ type: 'CommandProcessed', data })],
    };
  }

  /** The answer of a `once` command that already ran: its events, found through its marker. */
  private async earlierRun<R>(
    command: PipelineCommand<R>,
    meta: CommandMeta,
    reads: StreamReads,
  ): Promise<R | undefined> {
    const marker = (await this.store.readStream(streams.command(meta.commandId))).events[0];
    if (marker === undefined) return undefined;
    const { streams: written } = marker.data as unknown as CommandProcessedData;
    const events: DomainEvent[] = [];
    for (const { streamId, fromVersion } of written) {
      if (isClaimStream(streamId)) continue;
      const { events: stored } = await this.store.readStream(streamId, { fromVersion });
      for (const event of stored) {
        if (event.causationId === meta.commandId) events.push({ type: event.type, data: event.data });
      }
    }
    return command.replay(reads, { position: marker.globalPosition, events });
  }

  private envelope<R>(
    event: DomainEvent,
    now: Date,
    command: Pick<PipelineCommand<R>, 'tenantId' | 'actingUserId'>,
    meta: CommandMeta,
  ): NewEvent {
    return {
      eventId: uuidv7(),
      type: event.type,
      schemaVersion: 1,
      data: event.data as Record<string, unknown>,
      occurredAt: now.toISOString(),
      ...(command.tenantId ? { tenantId: command.tenantId } : {}),
      correlationId: meta.correlationId,
      causationId: meta.commandId,
      actor: { appId: meta.appId, ...(command.actingUserId ? { userId: command.actingUserId } : {}) },
    };
  }

  /**
   * Appends facts that no decider folds (a sign-in attempt, a refusal), with the same envelope as
   * decided events. The caller chooses the stream and the expected version.
   */
  async record(
    streamId: string,
    expectedVersion: StreamAppend['expectedVersion'],
    events: readonly DomainEvent[],
    meta: CommandMeta,
    options: { tenantId?: string; actingUserId?: string } = {},
  ): Promise<number> {
    const now = this.clock.now();
    const result = await this.store.append([
      {
        streamId,
        expectedVersion,
        events: events.map((event) => this.envelope(event, now, options, meta)),
      },
    ]);
    return result.lastGlobalPosition;
  }

  /**
   * A refused command changes no aggregate, but the attempt is a security fact: it is appended to
   * the tenant's (or the service's) rejection stream, where the audit feed reads it. Recording is
   * best effort: a failure here must not turn the client's 4xx into a 500.
   */
  private async recordRejection<R>(
    command: PipelineCommand<R>,
    meta: CommandMeta,
    error: DomainRejectionError,
  ): Promise<void> {
    const refused = (error.command ?? {}) as { type?: unknown; data?: Record<string, unknown> };
    const target: Record<string, string> = {};
    for (const key of TARGET_KEYS) {
      const value = refused.data?.[key];
      if (typeof value === 'string') target[key] = value;
    }
    try {
      // A refusal aimed at no existing tenant (an unknown id, a refused sign-up) is the service's.
      const tenantId = error.targetExists ? command.tenantId : undefined;
      await this.record(
        streams.rejections(tenantId),
        'any',
        [
          {
            type: 'CommandRejected',
            data: {
              commandType: typeof refused.type === 'string' ? refused.type : 'unknown',
              code: error.rejection.code,
              category: error.rejection.category,
              reason: error.rejection.message,
              streamId: command.streamId,
              target,
            },
          },
        ],
        meta,
        {
          ...(tenantId ? { tenantId } : {}),
          ...(command.actingUserId ? { actingUserId: command.actingUserId } : {}),
        },
      );
    } catch (failure) {
      this.logger.error(`could not record a CommandRejected: ${String(failure)}`);
    }
  }

  private context(): DecideContext {
    return {
      now: this.clock.now(),
      newId: () => uuidv7(),
      randomDigits: (length) => Array.from({ length }, () => randomInt(0, 10)).join(''),
      config: {
        initialDomainSuffix: this.config.initialDomainSuffix,
        consumerDomains: this.config.consumerDomains,
      },
    };
  }
}

/** Thrown inside an attempt whose refusal rested on state that had moved: decide again. */
const STALE = Symbol('stale');
