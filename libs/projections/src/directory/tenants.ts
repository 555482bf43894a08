// Tenant overview read model: one row per tenant (names, primary domain, MFA policy, the tenant
// stream's version for the ETag), its domains in the order added, and its subscriptions with the
// seats assigned from each. Folds the tenant stream the way the tenant decider's evolve does.
import type { TenantKind } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { ReadModelProjection } from '../read-models.js';
import type { SqlDdl, SqlSession } from '../sql.js';
import { bit, sqlPerPrefix, directoryEventOf } from './events.js';

export interface TenantDomainRecord {
  readonly name: string;
  readonly isInitial: boolean;
  readonly isVerified: boolean;
  /** `ms` + 8 digits; empty for the initial domain. */
  readonly verificationCode: string;
}

export interface SubscriptionRecord {
  readonly subscriptionId: string;
  readonly sku: string;
  readonly seats: number;
  /** Seats taken by license assignments. */
  readonly assigned: number;
  readonly status: 'active' | 'cancelled';
}

export interface TenantOverview {
  readonly tenantId: string;
  readonly displayName: string;
  readonly kind: TenantKind;
  readonly initialDomain: string;
  readonly primaryDomain: string;
  readonly mfaRequired: boolean;
  /** Version of the tenant's stream (its last event's streamVersion): the tenant's ETag. */
  readonly version: number;
  readonly domains: readonly TenantDomainRecord[];
  readonly subscriptions: readonly SubscriptionRecord[];
}

interface TenantRow {
  tenant_id: string;
  display_name: string;
  kind: TenantKind;
  initial_domain: string;
  primary_domain: string;
  mfa_required: number;
  version: number;
}

interface DomainRow {
  name: string;
  is_initial: number;
  is_verified: number;
  verification_code: string;
}

interface SubscriptionRow {
  subscription_id: string;
  sku: string;
  seats: number;
  status: 'active' | 'cancelled';
  assigned: number;
}

function setup(tx: SqlSession, p: string, ddl: SqlDdl): Promise<void> {
  const { int, text, tableOptions } = ddl;
  return tx.exec(`
    CREATE TABLE ${p}tenants (
      tenant_id ${text} PRIMARY KEY,
      display_name ${text} NOT NULL,
      kind ${text} NOT NULL,
      initial_domain ${text} NOT NULL,
      primary_domain ${text} NOT NULL,
      mfa_required ${int} NOT NULL,
      version ${int} NOT NULL
    )${tableOptions};
    CREATE TABLE ${p}domains (
      tenant_id ${text} NOT NULL,
      name ${text} NOT NULL,
      seq ${int} NOT NULL,
      is_initial ${int} NOT NULL,
      is_verified ${int} NOT NULL,
      verification_code ${text} NOT NULL,
      PRIMARY KEY (tenant_id, name)
    )${tableOptions};
    CREATE TABLE ${p}subscriptions (
      tenant_id ${text} NOT NULL,
      subscription_id ${text} NOT NULL,
      seq ${int} NOT NULL,
      sku ${text} NOT NULL,
      seats ${int} NOT NULL,
      status ${text} NOT NULL,
      PRIMARY KEY (tenant_id, subscription_id)
    )${tableOptions};
    CREATE TABLE ${p}license_seats (
      tenant_id ${text} NOT NULL,
      subscription_id ${text} NOT NULL,
      user_id ${text} NOT NULL,
      PRIMARY KEY (tenant_id, subscription_id, user_id)
    )${tableOptions};
  `);
}

const statements = sqlPerPrefix((p) => ({
  createTenant: `INSERT INTO ${p}tenants (tenant_id, display_name, kind, initial_domain, primary_domain, mfa_required, version)
     VALUES (?, ?, ?, ?, ?, 0, ?)
     ON CONFLICT (tenant_id) DO UPDATE SET display_name = excluded.display_name, kind = excluded.kind,
       initial_domain = excluded.initial_domain, primary_domain = excluded.primary_domain`,
  clearDomains: `DELETE FROM ${p}domains WHERE tenant_id = ?`,
  setVersion: `UPDATE ${p}tenants SET version = ? WHERE tenant_id = ?`,
  setPrimary: `UPDATE ${p}tenants SET primary_domain = ? WHERE tenant_id = ?`,
  setMfa: `UPDATE ${p}tenants SET mfa_required = ? WHERE tenant_id = ?`,
  // A name added again keeps its place, as a Map entry does.
  addDomain: `INSERT INTO ${p}domains (tenant_id, name, seq, is_initial, is_verified, verification_code)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, name) DO UPDATE SET is_initial = excluded.is_initial,
       is_verified = excluded.is_verified, verification_code = excluded.verification_code`,
  verifyDomain: `UPDATE ${p}domains SET is_verified = 1 WHERE tenant_id = ? AND name = ?`,
  removeDomain: `DELETE FROM ${p}domains WHERE tenant_id = ? AND name = ?`,
  purchase: `INSERT INTO ${p}subscriptions (tenant_id, subscription_id, seq, sku, seats, status)
     VALUES (?, ?, ?, ?, ?, 'active')
     ON CONFLICT (tenant_id, subscription_id) DO UPDATE SET sku = excluded.sku, seats = excluded.seats,
       status = 'active'`,
  clearSeats: `DELETE FROM ${p}license_seats WHERE tenant_id = ? AND subscription_id = ?`,
  setSeats: `UPDATE ${p}subscriptions SET seats = ? WHERE tenant_id = ? AND subscription_id = ?`,
  cancel: `UPDATE ${p}subscriptions SET status = 'cancelled' WHERE tenant_id = ? AND subscription_id = ?`,
  // Only for a subscription the tenant has, as the decider's evolve does. The casts: PostgreSQL
  // can't tell a bare parameter's type in a select list. (SQLite needs the WHERE to read the
  // ON CONFLICT of an INSERT ... SELECT as the upsert clause.)
  takeSeat: `INSERT INTO ${p}license_seats (tenant_id, subscription_id, user_id)
     SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT) WHERE EXISTS
       (SELECT 1 FROM ${p}subscriptions WHERE tenant_id = ? AND subscription_id = ?)
     ON CONFLICT (tenant_id, subscription_id, user_id) DO NOTHING`,
  freeSeat: `DELETE FROM ${p}license_seats WHERE tenant_id = ? AND subscription_id = ? AND user_id = ?`,
  tenant: `SELECT * FROM ${p}tenants WHERE tenant_id = ?`,
  domains: `SELECT name, is_initial, is_verified, verification_code FROM ${p}domains
     WHERE tenant_id = ? ORDER BY seq, name`,
  subscriptions: `SELECT s.subscription_id, s.sku, s.seats, s.status,
       (SELECT count(*) FROM ${p}license_seats l
        WHERE l.tenant_id = s.tenant_id AND l.subscription_id = s.subscription_id) AS assigned
     FROM ${p}subscriptions s WHERE s.tenant_id = ? ORDER BY s.seq, s.subscription_id`,
}));

export class TenantsProjection implements ReadModelProjection {
  readonly name = 'tenants';
  readonly version = 1;
  readonly tables = ['tenants', 'domains', 'subscriptions', 'license_seats'] as const;

  setup(tx: SqlSession, prefix: string, ddl: SqlDdl): Promise<void> {
    return setup(tx, prefix, ddl);
  }

  async apply(recorded: RecordedEvent, tx: SqlSession, prefix: string): Promise<void> {
    const found = directoryEventOf(recorded);
    if (found === undefined) return;
    const { tenantId, event, stream } = found;
    const s = statements(prefix);
    const seq = recorded.globalPosition;
    switch (event.type) {
      case 'TenantCreated': {
        const { displayName, kind, initialDomain } = event.data;
        await tx.run(s.createTenant, [
          tenantId,
          displayName,
          kind,
          initialDomain,
          initialDomain,
          recorded.streamVersion,
        ]);
        await tx.run(s.clearDomains, [tenantId]);
        await tx.run(s.addDomain, [tenantId, initialDomain, seq, 1, 1, '']);
        break;
      }
      case 'DomainAdded':
        await tx.run(s.addDomain, [tenantId, event.data.name, seq, 0, 0, event.data.verificationCode]);
        break;
      case 'DomainVerified':
        await tx.run(s.verifyDomain, [tenantId, event.data.name]);
        break;
      case 'PrimaryDomainChanged':
        await tx.run(s.setPrimary, [event.data.domain, tenantId]);
        break;
      case 'DomainRemoved':
        await tx.run(s.removeDomain, [tenantId, event.data.name]);
        break;
      case 'MfaRequirementChanged':
        await tx.run(s.setMfa, [bit(event.data.required), tenantId]);
        break;
      case 'SubscriptionPurchased':
        await tx.run(s.purchase, [
          tenantId,
          event.data.subscriptionId,
          seq,
          event.data.sku,
          event.data.seats,
        ]);
        await tx.run(s.clearSeats, [tenantId, event.data.subscriptionId]);
        break;
      case 'SeatsChanged':
        await tx.run(s.setSeats, [event.data.seats, tenantId, event.data.subscriptionId]);
        break;
      case 'SubscriptionCancelled':
        await tx.run(s.cancel, [tenantId, event.data.subscriptionId]);
        break;
      case 'LicenseAssigned': {
        const { subscriptionId, userId } = event.data;
        await tx.run(s.takeSeat, [tenantId, subscriptionId, userId, tenantId, subscriptionId]);
        break;
      }
      case 'LicenseRemoved':
        await tx.run(s.freeSeat, [tenantId, event.data.subscriptionId, event.data.userId]);
        break;
      default:
        break;
    }
    // Every event of the tenant's own stream moves its version (the ETag), whatever its type.
    if (stream === 'tenant') await tx.run(s.setVersion, [recorded.streamVersion, tenantId]);
  }

  /**
   * The tenant as of the projection's position; undefined when no such tenant exists. Three
   * queries: pass a snapshot for the version (the ETag) to be that of the rows sent with it. Without
   * one, the tenant's row comes first, so the rest is never older than the ETag, and a write made
   * with it can only be refused as stale.
   */
  async get(db: SqlSession, prefix: string, tenantId: string): Promise<TenantOverview | undefined> {
    const s = statements(prefix);
    const row = await db.get<TenantRow>(s.tenant, [tenantId]);
    if (row === undefined) return undefined;
    const domains = await db.all<DomainRow>(s.domains, [tenantId]);
    const subscriptions = await db.all<SubscriptionRow>(s.subscriptions, [tenantId]);
    return {
      tenantId: row.tenant_id,
      displayName: row.display_name,
      kind: row.kind,
      initialDomain: row.initial_domain,
      primaryDomain: row.primary_domain,
      mfaRequired: row.mfa_required === 1,
      version: row.version,
      domains: domains.map((d) => ({
        name: d.name,
        isInitial: d.is_initial === 1,
        isVerified: d.is_verified === 1,
        verificationCode: d.verification_code,
      })),
      subscriptions: subscriptions.map((x) => ({
        subscriptionId: x.subscription_id,
        sku: x.sku,
        seats: x.seats,
        assigned: x.assigned,
        status: x.status,
      })),
    };
  }
}
