// Request bodies of the tenant routes. Format rules here; domain rules stay in the decider.
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Equals,
  IsBoolean,
  IsDefined,
  IsIn,
  IsObject,
  IsString,
  IsUUID,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { ROLES, TENANT_KINDS } from '#domain';
import type { Role, TenantKind } from '#domain';
import { IsDisplayName, IsDomainName, IsDomainPrefix, IsUserName } from '../common/validators.js';

export class TenantAdminDto {
  @ApiProperty({ example: 'Megan Bowen', maxLength: 256 })
  @IsString()
  @MaxLength(256)
  @IsDisplayName()
  displayName!: string;

  @ApiProperty({
    example: 'megan',
    description: 'Local part of the first work account on the initial domain',
    maxLength: 64,
  })
  @IsString()
  @MaxLength(64)
  @IsUserName()
  userName!: string;
}

export class SignUpTenantDto {
  @ApiProperty({ example: 'Contoso Ltd', maxLength: 256 })
  @IsString()
  @MaxLength(256)
  @IsDisplayName()
  displayName!: string;

  @ApiProperty({ enum: TENANT_KINDS })
  @IsIn(TENANT_KINDS)
  kind!: TenantKind;

  @ApiProperty({
    example: 'contoso',
    description: 'Initial domain prefix: 1-27 letters and digits',
    maxLength: 27,
  })
  @IsString()
  @MaxLength(27)
  @IsDomainPrefix()
  domainPrefix!: string;

  @ApiProperty({ type: TenantAdminDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => TenantAdminDto)
  admin!: TenantAdminDto;
}

export class AddDomainDto {
  @ApiProperty({ example: 'contoso.com', maxLength: 253 })
  @IsString()
  @MaxLength(253)
  @IsDomainName()
  name!: string;
}

export class PatchDomainDto {
  @ApiProperty({ enum: [true], description: 'Only `true` is accepted: make this the primary domain' })
  @IsBoolean()
  @Equals(true)
  isPrimary!: true;
}

export class MfaPolicyDto {
  @ApiProperty()
  @IsBoolean()
  required!: boolean;
}

export class AssignRoleDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  userId!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}
