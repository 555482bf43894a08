// Request bodies of the invitation routes.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IDENTITY_KINDS } from '#domain';
import type { IdentityKind } from '#domain';
import { IsDisplayName, IsUserPrincipalName } from '../common/validators.js';

export class InviteGuestDto {
  @ApiProperty({ example: 'bob@gmail.example', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsUserPrincipalName({ message: 'email must be a valid e-mail address' })
  email!: string;

  @ApiPropertyOptional({ maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @IsDisplayName()
  displayName?: string;

  @ApiPropertyOptional({ example: 'https://myapps.example/contoso', maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsUrl({ protocols: ['https'], require_protocol: true, require_tld: true })
  redirectUrl?: string;
}

export class RedeemingIdentityDto {
  @ApiProperty({ enum: IDENTITY_KINDS })
  @IsIn(IDENTITY_KINDS)
  kind!: IdentityKind;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiProperty({ maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsUserPrincipalName({ message: 'email must be a valid e-mail address' })
  email!: string;
}

export class RedeemInvitationDto {
  @ApiProperty({ description: 'The code returned when the invitation was created or resent' })
  @IsString()
  @Matches(/^rc_[A-Za-z0-9_-]{32}$/)
  redeemCode!: string;

  @ApiProperty({ type: RedeemingIdentityDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => RedeemingIdentityDto)
  identity!: RedeemingIdentityDto;
}
