// Query parameters of the audit routes.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const AUDIT_FORMATS = ['json', 'ndjson', 'ocsf', 'cef', 'syslog'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

export const AUDIT_CATEGORIES = [
  'UserManagement',
  'RoleManagement',
  'DirectoryManagement',
  'Policy',
  'SignInLogs',
  'Other',
] as const;

/** A tenant id, or `service` for the service chain (tenant-less records). */
const CHAIN = /^(service|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const POSITION = /^\d{1,15}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

const TENANT_DESCRIPTION =
  'A tenant id, or `service` for the service chain (personal accounts, consumer sign-ins, refusals aimed at no tenant; keys without tenantIds only). Without it: every chain the key may read.';

export class AuditChainQuery {
  @ApiPropertyOptional({ description: TENANT_DESCRIPTION })
  @IsOptional()
  @IsString()
  @Matches(CHAIN)
  tenantId?: string;
}

export class AuditRecordsQuery extends AuditChainQuery {
  @ApiPropertyOptional({
    description: 'Global cursor: records after it (a previous nextCursor or globalPosition)',
  })
  @IsOptional()
  @Matches(POSITION)
  after?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 1000,
    description: 'Default 100 for json; the other formats export every record when it is left out',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ enum: AUDIT_CATEGORIES })
  @IsOptional()
  @IsIn(AUDIT_CATEGORIES)
  category?: string;

  @ApiPropertyOptional({ description: 'RFC 3339; activityDateTime at or after it' })
  @IsOptional()
  @Matches(RFC3339)
  from?: string;

  @ApiPropertyOptional({ description: 'RFC 3339; activityDateTime at or before it' })
  @IsOptional()
  @Matches(RFC3339)
  to?: string;

  @ApiPropertyOptional({ enum: AUDIT_FORMATS, default: 'json' })
  @IsOptional()
  @IsIn(AUDIT_FORMATS)
  format?: AuditFormat;

  @ApiPropertyOptional({ description: 'Wait until the audit read model has reached this global position' })
  @IsOptional()
  @Matches(POSITION)
  minPosition?: string;
}

export class AuditStreamQuery extends AuditChainQuery {
  @ApiPropertyOptional({
    description:
      'Start after this global cursor when there is no Last-Event-ID header; without either the stream starts at the current head (new records only)',
  })
  @IsOptional()
  @Matches(POSITION)
  after?: string;

  @ApiPropertyOptional({ enum: AUDIT_CATEGORIES })
  @IsOptional()
  @IsIn(AUDIT_CATEGORIES)
  category?: string;
}

export class AuditVerifyQuery extends AuditChainQuery {
  @ApiPropertyOptional({ description: 'Wait until the audit read model has reached this global position' })
  @IsOptional()
  @Matches(POSITION)
  minPosition?: string;
}
