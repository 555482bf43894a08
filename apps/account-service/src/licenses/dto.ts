// Request bodies of subscriptions and licenses.
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

export const SKU_PATTERN = /^[A-Z0-9_]{1,64}$/;

export class PurchaseSubscriptionDto {
  @ApiProperty({ example: 'O365_BUSINESS_PREMIUM', pattern: SKU_PATTERN.source })
  @IsString()
  @Matches(SKU_PATTERN)
  sku!: string;

  @ApiProperty({ minimum: 1, maximum: 1_000_000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  seats!: number;
}

export class ChangeSeatsDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  seats!: number;
}

export class AssignLicenseDto {
  @ApiProperty({ example: 'O365_BUSINESS_PREMIUM', pattern: SKU_PATTERN.source })
  @IsString()
  @Matches(SKU_PATTERN)
  sku!: string;
}
