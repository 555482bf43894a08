// Commands from upstream services on a Kafka topic: each message is a JSON envelope
// `{ commandId, type, actor: { appId, userId? }, payload }`. A command is validated like the HTTP
// route's body, run through the same CommandPipeline, and answered on the result topic keyed by
// commandId. Invalid or refused commands also go to the dead-letter topic with the reason.
//
// Order per message: (dead letter) → store the outcome by commandId → publish the result → the
// consumer commits the offset. A crash anywhere re-delivers the message; a commandId with a stored
// outcome is answered again with the stored result and nothing else happens (idempotent by
// commandId, duplicates included). A crash between the append and the stored outcome is caught by
// the marker the pipeline appends with the command's events (`once`): the command is answered
// from the events it stored, accepted once, never decided twice (a secret the first run made, an
// invitation's redeem code, can't be shown again then). Dead letters are at least once (header
// `command-id`).
import type { TenantCommand } from '#domain';
import type { IncomingMessage, OutgoingMessage, RecordPublisher } from '#messaging';
import { isUuid } from '../common/auth.js';
import { commandProblem } from '../common/command-problems.js';
import { ProblemException, type FieldError } from '../common/problem.js';
import type { CommandMeta } from '../command-pipeline/command-pipeline.js';
import type { DirectoryOutcome } from '../command-pipeline/directory-command.js';
import type { Clock } from '../command-pipeline/tokens.js';
import { prepareCommand } from './intake-commands.js';
import type { CommandOutcomeStore } from './outcome-store.js';

export interface CommandResult {
  readonly commandId: string;
  readonly status: 'accepted' | 'rejected';
  readonly position?: string;
  readonly code?: string;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  readonly result?: Record<string, unknown>;
}

/** Runs tenant directory commands through the pipeline; throws the write path's typed errors when refused. */
export type TenantExecutor = (
  tenantId: string,
  commands: readonly TenantCommand[],
  meta: CommandMeta,
) => Promise<DirectoryOutcome>;

export interface CommandIntakeDeps {
  readonly outcomes: CommandOutcomeStore;
  readonly results: RecordPublisher;
  readonly deadLetters: RecordPublisher;
  readonly execute: TenantExecutor;
  readonly clock: Clock;
  readonly invitationTtlHours: number;
}

export interface IntakeStats {
  readonly handled: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly deadLettered: number;
  readonly duplicates: number;
}

type Envelope =
  | {
      readonly ok: true;
      readonly commandId: string;
      readonly type: string;
      readonly appId: string;
      readonly userId?: string;
      readonly payload: Record<string, unknown>;
    }
  | {
      readonly ok: false;
      readonly commandId?: string;
      readonly code: string;
      readonly detail: string;
      readonly errors?: readonly FieldError[];
    };

const ENVELOPE_FIELDS = new Set(['commandId', 'type', 'actor', 'payload']);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads the envelope; a readable commandId is kept even when the rest is invalid. */
export function parseEnvelope(value: string): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { ok: false, code: 'malformed_json', detail: 'The message is not valid JSON.' };
  }
  if (!isObject(json))
    return { ok: false, code: 'invalid_envelope', detail: 'The message is not a JSON object.' };
  const commandId =
    typeof json.commandId === 'string' && isUuid(json.commandId) ? json.commandId.toLowerCase() : undefined;
  if (!commandId)
    return { ok: false, code: 'invalid_envelope', detail: 'commandId is missing or not a UUID.' };
  const errors: FieldError[] = [];
  for (const field of Object.keys(json))
    if (!ENVELOPE_FIELDS.has(field)) errors.push({ field, rule: 'unknown_field' });
  if (typeof json.type !== 'string' || json.type.length === 0)
    errors.push({ field: 'type', rule: 'required' });
  const actor = json.actor;
  if (!isObject(actor)) errors.push({ field: 'actor', rule: 'object' });
  else {
    if (typeof actor.appId !== 'string' || actor.appId.length === 0 || actor.appId.length > 200)
      errors.push({ field: 'actor.appId', rule: 'required' });
    if (actor.userId !== undefined && (typeof actor.userId !== 'string' || !isUuid(actor.userId)))
      errors.push({ field: 'actor.userId', rule: 'uuid' });
    for (const field of Object.keys(actor))
      if (field !== 'appId' && field !== 'userId')
        errors.push({ field: `actor.${field}`, rule: 'unknown_field' });
  }
  if (!isObject(json.payload)) errors.push({ field: 'payload', rule: 'object' });
  if (errors.length > 0 || !isObject(actor) || !isObject(json.payload) || typeof json.type !== 'string') {
    return {
      ok: false,
      commandId,
      code: 'validation_failed',
      detail: `The command is invalid (${errors.map((e) => `${e.field}: ${e.rule}`).join('; ')}).`,
      errors,
    };
  }
  return {
    ok: true,
    commandId,
    type: json.type,
    appId: actor.appId as string,
    ...(typeof actor.userId === 'string' ? { userId: actor.userId.toLowerCase() } : {}),
    payload: json.payload,
  };
}

export class CommandIntake {
  private counts = { handled: 0, accepted: 0, rejected: 0, deadLettered: 0, duplicates: 0 };

  constructor(private readonly deps: CommandIntakeDeps) {}

  stats(): IntakeStats {
    return { ...this.counts };
  }

  /** Handles one message; resolves once its outcome is stored and its result (and dead letter) published. */
  async handle(message: IncomingMessage): Promise<void> {
    const envelope = parseEnvelope(message.value);
    const { commandId } = envelope;
    if (commandId === undefined) {
      // Nothing to key a result or an outcome on: only the dead letter.
      if (!envelope.ok) await this.deadLetter(message, undefined, envelope.code, envelope.detail);
      this.counts.handled += 1;
      return;
    }
    const stored = await this.deps.outcomes.find(commandId);
    if (stored) {
      await this.publishResult(commandId, stored.result);
      this.counts.duplicates += 1;
      this.counts.handled += 1;
      return;
    }
    const result: CommandResult = envelope.ok
      ? await this.run(envelope)
      : {
          commandId,
          status: 'rejected',
          code: envelope.code,
          detail: envelope.detail,
          ...(envelope.errors ? { errors: envelope.errors } : {}),
        };
    if (result.status === 'rejected')
      await this.deadLetter(message, commandId, result.code ?? 'rejected', result.detail ?? '');
    const kept = await this.deps.outcomes.saveIfAbsent({
      commandId,
      result: JSON.stringify(result),
      createdAt: this.deps.clock.now().toISOString(),
    });
    await this.publishResult(commandId, kept.result);
    this.counts[result.status] += 1;
    this.counts.handled += 1;
  }

  private async run(envelope: Extract<Envelope, { ok: true }>): Promise<CommandResult> {
    const { commandId } = envelope;
    const prepared = await prepareCommand(envelope.type, envelope.payload, envelope.userId, {
      now: this.deps.clock.now(),
      invitationTtlHours: this.deps.invitationTtlHours,
    });
    if (!prepared.ok)
      return {
        commandId,
        status: 'rejected',
        code: prepared.code,
        detail: prepared.detail,
        ...(prepared.errors ? { errors: prepared.errors } : {}),
      };
    const { tenantId, commands, result } = prepared.command;
    try {
      const outcome = await this.deps.execute(tenantId, commands, {
        appId: envelope.appId,
        correlationId: commandId,
        commandId,
        // A crash after the append but before the outcome was stored re-delivers the message:
        // its events are then found through its marker, and the command is not decided again.
        once: true,
      });
      return {
        commandId,
        status: 'accepted',
        position: String(outcome.position),
        ...(result ? { result: result(outcome) } : {}),
      };
    } catch (error) {
      const problem = error instanceof ProblemException ? error.problem : commandProblem(error);
      // Anything else (the store away, a bug) is not an outcome: thrown, nothing stored, re-delivered.
      if (!problem || problem.status >= 500) throw error;
      return { commandId, status: 'rejected', code: problem.code, detail: problem.detail };
    }
  }

  private publishResult(commandId: string, body: string): Promise<void> {
    return this.deps.results.publish([{ key: commandId, value: body, headers: { 'command-id': commandId } }]);
  }

  private async deadLetter(
    message: IncomingMessage,
    commandId: string | undefined,
    code: string,
    reason: string,
  ): Promise<void> {
    const letter: OutgoingMessage = {
      key: commandId ?? message.key ?? '',
      value: message.value,
      headers: {
        code,
        reason,
        ...(commandId ? { 'command-id': commandId } : {}),
        'source-topic': message.topic,
        'source-partition': String(message.partition),
        'source-offset': message.offset,
      },
    };
    await this.deps.deadLetters.publish([letter]);
    this.counts.deadLettered += 1;
  }
}
