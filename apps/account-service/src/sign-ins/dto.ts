// The sign-in report of an authentication front end.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsIP,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { SERVICE_KINDS } from '#domain';
import type { ServiceKind } from '#domain';
import { IsUserPrincipalName } from '../common/validators.js';

export class SignInServiceDto {
  @ApiProperty({ enum: SERVICE_KINDS })
  @IsIn(SERVICE_KINDS)
  kind!: ServiceKind;

  @ApiPropertyOptional({ format: 'uuid', description: 'The tenant of a business service' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}

export class ReportSignInDto {
  @ApiProperty({ example: 'alice@contoso.com', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsUserPrincipalName({ message: 'login must be an e-mail address or user principal name' })
  login!: string;

  @ApiProperty({ type: SignInServiceDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => SignInServiceDto)
  service!: SignInServiceDto;

  @ApiProperty()
  @IsBoolean()
  mfaPerformed!: boolean;

  @ApiProperty({ example: '203.0.113.7' })
  @IsIP()
  ipAddress!: string;

  @ApiProperty({ maxLength: 512 })
  @IsString()
  @MaxLength(512)
  userAgent!: string;
}
