// Request bodies of the personal-account routes.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { IsDisplayName, IsDomainName, IsUserName, IsUserPrincipalName } from '../common/validators.js';

export class NewMailboxDto {
  @ApiProperty({ example: 'alice.smith', maxLength: 64 })
  @IsString()
  @MaxLength(64)
  @IsUserName()
  localPart!: string;

  @ApiProperty({ example: 'outlook.com', maxLength: 253 })
  @IsString()
  @MaxLength(253)
  @IsDomainName()
  domain!: string;
}

export class RegisterPersonalAccountDto {
  @ApiPropertyOptional({ description: 'An address the person already owns', maxLength: 254 })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  @IsUserPrincipalName({ message: 'email must be a valid e-mail address' })
  email?: string;

  @ApiPropertyOptional({ type: NewMailboxDto, description: 'Or a new mailbox in a consumer domain' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => NewMailboxDto)
  newMailbox?: NewMailboxDto;

  @ApiProperty({ maxLength: 256 })
  @IsString()
  @MaxLength(256)
  @IsDisplayName()
  displayName!: string;
}

export class LinkExternalLoginDto {
  @ApiProperty({ example: 'github', pattern: '^[a-z0-9][a-z0-9_.-]{0,31}$' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_.-]{0,31}$/)
  provider!: string;

  @ApiProperty({ example: '583231', maxLength: 255 })
  @IsString()
  @Matches(/^[\x21-\x7e]{1,255}$/)
  subject!: string;
}
