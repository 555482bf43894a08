// The write path shared by every aggregate: read the stream, fold, decide (authorisation is part
// of the decider), take or give back uniqueness claims, append everything in one atomic batch under
// expected versions, and decide again on a version conflict (bounded). Commands on one stream are
// queued in-process so they don't burn retries against each other; other processes are kept out
// by the store's expected-version check.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import {
  claimDecider,
  ClaimRequest,
  ClaimsForEvent,
  ClaimState,
  DecideContext,
  Decider,
  DomainEvent,
  fold,
  isRejection,
  Rejection,
} from '#domain';
import {
  EventStore,
  NewEvent,
  ReadStreamResult,
  StreamAppend,
  WrongExpectedVersionError,
} from '#event-store';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { ProblemException } from '../common/problem.js';
import { ClaimStreams } from './claim-streams.js';
import { KeyedLock } from './keyed-lock.js';
import { CLOCK, Clock, EVENT_STORE } from './tokens.js';
import { upcast } from './upcasters.js';

export interface CommandMeta {
  readonly appId: string;
  readonly correlationId: string;
  /** Id of the command (the request); the events' causationId. */
  readonly commandId: string;
  /**
   * The commandId is unique to one command, which may be delivered again (Kafka after a crash
   * between the append and the stored outcome): when the target stream already holds events it
   * caused, it ran; its outcome is read back from them and nothing is decided again.
   */
  readonly once?: boolean;
}

/** If-Match, parsed: the revision the client saw, and how to read the current one off the state. */
export interface Precondition<S> {
  readonly expected: number;
  readonly revisionOf: (state: S, streamVersion: number) => number | undefined;
}

/** Reads other streams during a decision; a guarded read makes the append fail if that stream moves. */
export interface ContextReader {
  read(streamId: string, options?: { guard?: boolean }): Promise<ReadStreamResult>;
}

export interface StreamCommand<C, S, E extends DomainEvent> {
  readonly streamId: string;
  readonly tenantId?: string;
  readonly actingUserId?: string;
  readonly decider: Decider<C, S, E>;
  /** The commands to decide, in order, as one unit; built per attempt so context reads are fresh. */
  readonly commands: (reader: ContextReader, state: S) => Promise<readonly C[]> | readonly C[];
  readonly claimsFor?: (event: E, before: S) => ClaimsForEvent;
  readonly precondition?: Precondition<S>;
}

export interface CommandOutcome<S, E> {
  readonly state: S;
  readonly events: readonly E[];
  /** Global position of the last event written, or of the stream's last event when nothing changed. */
  readonly position: number;
  readonly streamVersion: number;
}

export const MAX_ATTEMPTS = 8;

export class DomainRejectionError extends Error {
  constructor(
    readonly rejection: Rejection,
    /** The command that was refused (its `type` and target ids go to the CommandRejected record). */
    readonly command?: unknown,
  ) {
    super(rejection.message);
  }

  /** False when the target stream does not exist (unknown tenant, refused sign-up). */
  targetExists = true;
}

export const rejectionStreamId = (tenantId: string | undefined): string =>
  `rejections-${tenantId ?? 'service'}`;

/** Ids in a command's data that say what it was aimed at; never names or addresses (personal data). */
const TARGET_KEYS = ['userId', 'accountId', 'invitationId', 'subscriptionId', 'sku', 'role', 'name'] as const;

export function rejectionToProblem(rejection: Rejection): ProblemException {
  if (rejection.category === 'not_found') return ProblemException.of(404, 'not_found', rejection.message);
  if (rejection.category === 'forbidden') return ProblemException.of(403, rejection.code, rejection.message);
  return ProblemException.of(409, rejection.code, rejection.message);
}

interface ClaimStep {
  readonly type: 'Claim' | 'Release';
  readonly request: ClaimRequest;
  readonly command: unknown;
}

const expectedVersionOf = (version: number): StreamAppend['expectedVersion'] =>
  version === -1 ? 'no_stream' : version;

@Injectable()
export class CommandPipeline {
  private readonly lock = new KeyedLock();
  private readonly logger = new Logger('CommandPipeline');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ClaimStreams) private readonly claims: ClaimStreams,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Reads and folds one stream. */
  async load<S, E>(
    decider: Pick<Decider<unknown, S, E>, 'initialState' | 'evolve'>,
    streamId: string,
  ): Promise<{ state: S; stream: ReadStreamResult }> {
    const stream = await this.store.readStream(streamId);
    return {
      state: fold(
        decider,
        stream.events.map((e) => upcast(e) as E),
      ),
      stream,
    };
  }

  async execute<C, S, E extends DomainEvent>(
    command: StreamCommand<C, S, E>,
    meta: CommandMeta,
  ): Promise<CommandOutcome<S, E>> {
    return this.lock.run(command.streamId, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.attempt(command, meta);
        } catch (error) {
          if (error instanceof DomainRejectionError) await this.recordRejection(command, meta, error);
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          if (attempt >= MAX_ATTEMPTS) {
            throw ProblemException.of(
              409,
              'version_conflict',
              'The resource kept changing; retry the request.',
            );
          }
          // Another process won the race: back off briefly, then decide again on the new state.
          await new Promise((resolve) => setTimeout(resolve, randomInt(1, 10 * attempt)));
        }
      }
    });
  }

  private async attempt<C, S, E extends DomainEvent>(
    command: StreamCommand<C, S, E>,
    meta: CommandMeta,
  ): Promise<CommandOutcome<S, E>> {
    const { decider, streamId } = command;
    const { state: initial, stream } = await this.load(decider, streamId);
    if (meta.once) {
      const ran = this.outcomeOfEarlierRun(decider, stream, meta.commandId);
      if (ran) return ran;
    }
    if (command.precondition) {
      const actual = command.precondition.revisionOf(initial, stream.version);
      if (actual !== undefined && actual !== command.precondition.expected) {
        throw ProblemException.of(
          412,
          'precondition_failed',
          `If-Match "${command.precondition.expected}" does not match the current ETag "${actual}".`,
        );
      }
    }
    const guards = new Map<string, number>();
    const reader: ContextReader = {
      read: async (id, options) => {
        const result = await this.store.readStream(id);
        if (options?.guard && id !== streamId) guards.set(id, result.version);
        return result;
      },
    };
    try {
      return await this.decideAndAppend(command, meta, initial, stream, reader, guards);
    } catch (error) {
      if (error instanceof DomainRejectionError) error.targetExists = stream.version >= 0;
      throw error;
    }
  }

  /**
   * The outcome a command had, from the events it caused in the stream; undefined if it caused none.
   * Its position is that of its last event in this stream: claim events appended with it come
   * after, but no read model waits on those.
   */
  private outcomeOfEarlierRun<S, E>(
    decider: Pick<Decider<unknown, S, E>, 'initialState' | 'evolve'>,
    stream: ReadStreamResult,
    commandId: string,
  ): CommandOutcome<S, E> | undefined {
    const last = stream.events.findLastIndex((e) => e.causationId === commandId);
    const lastEvent = stream.events[last];
    if (lastEvent === undefined) return undefined;
    const upTo = stream.events.slice(0, last + 1);
    return {
      state: fold(
        decider,
        upTo.map((e) => upcast(e) as E),
      ),
      events: upTo.filter((e) => e.causationId === commandId).map((e) => upcast(e) as E),
      position: lastEvent.globalPosition,
      streamVersion: lastEvent.streamVersion,
    };
  }

  private async decideAndAppend<C, S, E extends DomainEvent>(
    command: StreamCommand<C, S, E>,
    meta: CommandMeta,
    initial: S,
    stream: ReadStreamResult,
    reader: ContextReader,
    guards: ReadonlyMap<string, number>,
  ): Promise<CommandOutcome<S, E>> {
    const { decider, streamId } = command;
    const commands = await command.commands(reader, initial);
    const context = this.context();
    let state = initial;
    const decided: E[] = [];
    const claimRequests: ClaimStep[] = [];
    for (const each of commands) {
      const decision = decider.decide(each, state, context);
      if (isRejection(decision)) throw new DomainRejectionError(decision, each);
      for (const event of decision) {
        const effects = command.claimsFor?.(event, state);
        effects?.releases.forEach((request) =>
          claimRequests.push({ type: 'Release', request, command: each }),
        );
        effects?.claims.forEach((request) => claimRequests.push({ type: 'Claim', request, command: each }));
        state = decider.evolve(state, event);
        decided.push(event);
      }
    }
    if (decided.length === 0) {
      return {
        state,
        events: [],
        position: stream.events.at(-1)?.globalPosition ?? 0,
        streamVersion: stream.version,
      };
    }

    const envelope = (event: DomainEvent): NewEvent => ({
      eventId: uuidv7(),
      type: event.type,
      schemaVersion: 1,
      data: event.data as Record<string, unknown>,
      occurredAt: context.now.toISOString(),
      ...(command.tenantId ? { tenantId: command.tenantId } : {}),
      correlationId: meta.correlationId,
      causationId: meta.commandId,
      actor: { appId: meta.appId, ...(command.actingUserId ? { userId: command.actingUserId } : {}) },
    });
    const claimAppends = await this.claimAppends(claimRequests, context, envelope);
    const appends: StreamAppend[] = [
      { streamId, expectedVersion: expectedVersionOf(stream.version), events: decided.map(envelope) },
      ...claimAppends,
      ...[...guards]
        .filter(([id]) => !claimAppends.some((a) => a.streamId === id))
        .map(([id, version]) => ({ streamId: id, expectedVersion: expectedVersionOf(version), events: [] })),
    ];
    const result = await this.store.append(appends);
    const written = result.streams[0];
    return {
      state,
      events: decided,
      position: result.lastGlobalPosition,
      streamVersion: written ? written.nextExpectedVersion : stream.version + decided.length,
    };
  }

  private async claimAppends(
    requests: readonly ClaimStep[],
    context: DecideContext,
    envelope: (event: DomainEvent) => NewEvent,
  ): Promise<StreamAppend[]> {
    const byStream = new Map<string, { version: number; state: ClaimState; events: NewEvent[] }>();
    for (const { type, request, command } of requests) {
      const streamId = this.claims.streamId(request.kind, request.value);
      let entry = byStream.get(streamId);
      if (!entry) {
        const { state, stream } = await this.load(claimDecider, streamId);
        entry = { version: stream.version, state, events: [] };
        byStream.set(streamId, entry);
      }
      const decision = claimDecider.decide({ type, request }, entry.state, context);
      if (isRejection(decision)) throw new DomainRejectionError(decision, command);
      for (const event of decision) {
        entry.state = claimDecider.evolve(entry.state, event);
        entry.events.push(envelope(event));
      }
    }
    return [...byStream]
      .filter(([, entry]) => entry.events.length > 0)
      .map(([streamId, entry]) => ({
        streamId,
        expectedVersion: expectedVersionOf(entry.version),
        events: entry.events,
      }));
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
    const occurredAt = this.clock.now().toISOString();
    const result = await this.store.append([
      {
        streamId,
        expectedVersion,
        events: events.map((event) => ({
          eventId: uuidv7(),
          type: event.type,
          schemaVersion: 1,
          data: event.data as Record<string, unknown>,
          occurredAt,
          ...(options.tenantId ? { tenantId: options.tenantId } : {}),
          correlationId: meta.correlationId,
          causationId: meta.commandId,
          actor: { appId: meta.appId, ...(options.actingUserId ? { userId: options.actingUserId } : {}) },
        })),
      },
    ]);
    return result.lastGlobalPosition;
  }

  /**
   * A refused command changes no aggregate, but the attempt is a security fact: it is appended to
   * the tenant's (or the service's) rejection stream, where the audit feed reads it. Recording is
   * best effort: a failure here must not turn the client's 4xx into a 500.
   */
  private async recordRejection<C, S, E extends DomainEvent>(
    command: StreamCommand<C, S, E>,
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
        rejectionStreamId(tenantId),
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
