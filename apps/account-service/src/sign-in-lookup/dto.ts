// Query strings of the sign-in lookup routes. The login's own rules (an address, IDN allowed) are
// checked with the domain's parser in the controller.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { SERVICE_KINDS, type ServiceKind } from '#domain';

export class RealmQuery {
  @ApiProperty({
    example: 'alice@contoso.com',
    description: 'The login name as typed: case, a trailing dot and Unicode domains are normalised',
    maxLength: 320,
  })
  @IsString()
  @MaxLength(320)
  login!: string;

  @ApiPropertyOptional({
    description:
      'Wait until the lookup reflects this global position (from a command response); without it, the log head at request time. 0: no wait.',
  })
  @IsOptional()
  @Matches(/^\d{1,15}$/)
  minPosition?: string;
}

export class RouteQuery extends RealmQuery {
  @ApiProperty({ enum: SERVICE_KINDS })
  @IsIn(SERVICE_KINDS)
  service!: ServiceKind;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The tenant of a business service (required for business)',
  })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}
