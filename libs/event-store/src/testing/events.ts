// Test factory for NewEvents: every field filled with something valid, ids unique (UUID v7).
import { v7 } from 'uuid';
import type { NewEvent } from '../port.js';

export function newEvent(
  type: string,
  data: Readonly<Record<string, unknown>> = {},
  overrides: Partial<NewEvent> = {},
): NewEvent {
  return {
    eventId: v7(),
    type,
    schemaVersion: 1,
    data,
    occurredAt: new Date().toISOString(),
    correlationId: v7(),
    actor: { appId: 'event-store-tests' },
    ...overrides,
  };
}
