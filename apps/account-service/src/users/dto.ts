// Request bodies and queries of the user routes.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { MFA_METHOD_KINDS } from '#domain';
import type { MfaMethodKind } from '#domain';
import { IsDisplayName, IsUserPrincipalName } from '../common/validators.js';

export class CreateMemberDto {
  @ApiProperty({ example: 'alice@contoso.com', maxLength: 113 })
  @IsString()
  @MaxLength(113)
  @IsUserPrincipalName()
  userPrincipalName!: string;

  @ApiProperty({ example: 'Alice Wilber', maxLength: 256 })
  @IsString()
  @MaxLength(256)
  @IsDisplayName()
  displayName!: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @IsDisplayName()
  displayName?: string;

  @ApiPropertyOptional({ maxLength: 113 })
  @IsOptional()
  @IsString()
  @MaxLength(113)
  @IsUserPrincipalName()
  userPrincipalName?: string;
}

export class RegisterMfaMethodDto {
  @ApiProperty({ enum: MFA_METHOD_KINDS })
  @IsIn(MFA_METHOD_KINDS)
  kind!: MfaMethodKind;
}

export class ListUsersQuery {
  @ApiPropertyOptional({ enum: ['Member', 'Guest'] })
  @IsOptional()
  @IsIn(['Member', 'Guest'])
  userType?: 'Member' | 'Guest';

  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,200}$/)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'Wait until the read side has reached this global position' })
  @IsOptional()
  @Matches(/^\d{1,15}$/)
  minPosition?: string;
}
