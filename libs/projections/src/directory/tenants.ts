// Tenant overview read model: one row per tenant (names, primary domain, MFA policy, the tenant
// stream's version for the ETag), its domains in the order added, and its subscriptions with the
// seats assigned from each. Folds the tenant stream the way the tenant decider's evolve does.
import type Database from 'better-sqlite3';
import type { TenantKind } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { ReadModelProjection } from '../read-models.js';
import { bit, StatementCache, tenantEventOf } from './events.js';

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

function setup(db: Database.Database, p: string): void {
  db.exec(`
    CREATE TABLE ${p}tenants (
      tenant_id TEXT PRIMARY KEY,
      display_name TEXT NOT NULL,
      kind TEXT NOT NULL,
      initial_domain TEXT NOT NULL,
      primary_domain TEXT NOT NULL,
      mfa_required INTEGER NOT NULL,
      version INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE ${p}domains (
      tenant_id TEXT NOT NULL,
      name TEXT NOT NULL,
      seq INTEGER NOT NULL,
      is_initial INTEGER NOT NULL,
      is_verified INTEGER NOT NULL,
      verification_code TEXT NOT NULL,
      PRIMARY KEY (tenant_id, name)
    ) STRICT;
    CREATE TABLE ${p}subscriptions (
      tenant_id TEXT NOT NULL,
      subscription_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      sku TEXT NOT NULL,
      seats INTEGER NOT NULL,
      status TEXT NOT NULL,
      PRIMARY KEY (tenant_id, subscription_id)
    ) STRICT;
    CREATE TABLE ${p}license_seats (
      tenant_id TEXT NOT NULL,
      subscription_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY (tenant_id, subscription_id, user_id)
    ) STRICT;
  `);
}

function prepare(db: Database.Database, p: string) {
  return {
    createTenant: db.prepare<[string, string, string, string, string, number]>(
      `INSERT INTO ${p}tenants (tenant_id, display_name, kind, initial_domain, primary_domain, mfa_required, version)
       VALUES (?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT (tenant_id) DO UPDATE SET display_name = excluded.display_name, kind = excluded.kind,
         initial_domain = excluded.initial_domain, primary_domain = excluded.primary_domain`,
    ),
    clearDomains: db.prepare<[string]>(`DELETE FROM ${p}domains WHERE tenant_id = ?`),
    setVersion: db.prepare<[number, string]>(`UPDATE ${p}tenants SET version = ? WHERE tenant_id = ?`),
    setPrimary: db.prepare<[string, string]>(`UPDATE ${p}tenants SET primary_domain = ? WHERE tenant_id = ?`),
    setMfa: db.prepare<[number, string]>(`UPDATE ${p}tenants SET mfa_required = ? WHERE tenant_id = ?`),
    // A name added again keeps its place, as a Map entry does.
    addDomain: db.prepare<[string, string, number, number, number, string]>(
      `INSERT INTO ${p}domains (tenant_id, name, seq, is_initial, is_verified, verification_code)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, name) DO UPDATE SET is_initial = excluded.is_initial,
         is_verified = excluded.is_verified, verification_code = excluded.verification_code`,
    ),
    verifyDomain: db.prepare<[string, string]>(
      `UPDATE ${p}domains SET is_verified = 1 WHERE tenant_id = ? AND name = ?`,
    ),
    removeDomain: db.prepare<[string, string]>(`DELETE FROM ${p}domains WHERE tenant_id = ? AND name = ?`),
    purchase: db.prepare<[string, string, number, string, number]>(
      `INSERT INTO ${p}subscriptions (tenant_id, subscription_id, seq, sku, seats, status)
       VALUES (?, ?, ?, ?, ?, 'active')
       ON CONFLICT (tenant_id, subscription_id) DO UPDATE SET sku = excluded.sku, seats = excluded.seats,
         status = 'active'`,
    ),
    clearSeats: db.prepare<[string, string]>(
      `DELETE FROM ${p}license_seats WHERE tenant_id = ? AND subscription_id = ?`,
    ),
    setSeats: db.prepare<[number, string, string]>(
      `UPDATE ${p}subscriptions SET seats = ? WHERE tenant_id = ? AND subscription_id = ?`,
    ),
    cancel: db.prepare<[string, string]>(
      `UPDATE ${p}subscriptions SET status = 'cancelled' WHERE tenant_id = ? AND subscription_id = ?`,
    ),
    // Only for a subscription the tenant has, as the decider's evolve does.
    takeSeat: db.prepare<{ tenantId: string; subscriptionId: string; userId: string }>(
      `INSERT OR IGNORE INTO ${p}license_seats (tenant_id, subscription_id, user_id)
       SELECT @tenantId, @subscriptionId, @userId WHERE EXISTS
         (SELECT 1 FROM ${p}subscriptions WHERE tenant_id = @tenantId AND subscription_id = @subscriptionId)`,
    ),
    freeSeat: db.prepare<[string, string, string]>(
      `DELETE FROM ${p}license_seats WHERE tenant_id = ? AND subscription_id = ? AND user_id = ?`,
    ),
    tenant: db.prepare<[string], TenantRow>(`SELECT * FROM ${p}tenants WHERE tenant_id = ?`),
    domains: db.prepare<[string], DomainRow>(
      `SELECT name, is_initial, is_verified, verification_code FROM ${p}domains
       WHERE tenant_id = ? ORDER BY seq, name`,
    ),
    subscriptions: db.prepare<[string], SubscriptionRow>(
      `SELECT s.subscription_id, s.sku, s.seats, s.status,
         (SELECT count(*) FROM ${p}license_seats l
          WHERE l.tenant_id = s.tenant_id AND l.subscription_id = s.subscription_id) AS assigned
       FROM ${p}subscriptions s WHERE s.tenant_id = ? ORDER BY s.seq, s.subscription_id`,
    ),
  };
}

export class TenantsProjection implements ReadModelProjection {
  readonly name = 'tenants';
  readonly version = 1;
  readonly tables = ['tenants', 'domains', 'subscriptions', 'license_seats'] as const;
  private readonly statements = new StatementCache(prepare);

  setup(db: Database.Database, prefix: string): void {
    setup(db, prefix);
  }

  apply(recorded: RecordedEvent, db: Database.Database, prefix: string): void {
    const found = tenantEventOf(recorded);
    if (found === undefined) return;
    const { tenantId, event } = found;
    const s = this.statements.for(db, prefix);
    const seq = recorded.globalPosition;
    switch (event.type) {
      case 'TenantCreated': {
        const { displayName, kind, initialDomain } = event.data;
        s.createTenant.run(tenantId, displayName, kind, initialDomain, initialDomain, recorded.streamVersion);
        s.clearDomains.run(tenantId);
        s.addDomain.run(tenantId, initialDomain, seq, 1, 1, '');
        break;
      }
      case 'DomainAdded':
        s.addDomain.run(tenantId, event.data.name, seq, 0, 0, event.data.verificationCode);
        break;
      case 'DomainVerified':
        s.verifyDomain.run(tenantId, event.data.name);
        break;
      case 'PrimaryDomainChanged':
        s.setPrimary.run(event.data.domain, tenantId);
        break;
      case 'DomainRemoved':
        s.removeDomain.run(tenantId, event.data.name);
        break;
      case 'MfaRequirementChanged':
        s.setMfa.run(bit(event.data.required), tenantId);
        break;
      case 'SubscriptionPurchased':
        s.purchase.run(tenantId, event.data.subscriptionId, seq, event.data.sku, event.data.seats);
        s.clearSeats.run(tenantId, event.data.subscriptionId);
        break;
      case 'SeatsChanged':
        s.setSeats.run(event.data.seats, tenantId, event.data.subscriptionId);
        break;
      case 'SubscriptionCancelled':
        s.cancel.run(tenantId, event.data.subscriptionId);
        break;
      case 'LicenseAssigned':
        s.takeSeat.run({ tenantId, subscriptionId: event.data.subscriptionId, userId: event.data.userId });
        break;
      case 'LicenseRemoved':
        s.freeSeat.run(tenantId, event.data.subscriptionId, event.data.userId);
        break;
      default:
        break;
    }
    // Every event of the stream moves its version, whatever its type.
    s.setVersion.run(recorded.streamVersion, tenantId);
  }

  /** The tenant as of the projection's position; undefined when no such tenant exists. */
  get(db: Database.Database, prefix: string, tenantId: string): TenantOverview | undefined {
    const s = this.statements.for(db, prefix);
    const row = s.tenant.get(tenantId);
    if (row === undefined) return undefined;
    return {
      tenantId: row.tenant_id,
      displayName: row.display_name,
      kind: row.kind,
      initialDomain: row.initial_domain,
      primaryDomain: row.primary_domain,
      mfaRequired: row.mfa_required === 1,
      version: row.version,
      domains: s.domains.all(tenantId).map((d) => ({
        name: d.name,
        isInitial: d.is_initial === 1,
        isVerified: d.is_verified === 1,
        verificationCode: d.verification_code,
      })),
      subscriptions: s.subscriptions.all(tenantId).map((x) => ({
        subscriptionId: x.subscription_id,
        sku: x.sku,
        seats: x.seats,
        assigned: x.assigned,
        status: x.status,
      })),
    };
  }
}
