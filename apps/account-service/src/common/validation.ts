// One validation policy for every DTO: whitelist, unknown fields refused, errors named by field and rule.
import { ArgumentMetadata, Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError, ProblemException } from './problem.js';

const RULE_NAMES: Record<string, string> = { whitelistValidation: 'unknown_field' };

export function flattenValidationErrors(errors: readonly ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.keys(error.constraints ?? {}).map((rule) => ({
      field,
      rule: RULE_NAMES[rule] ?? rule,
    }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

export function validationProblem(errors: readonly FieldError[]): ProblemException {
  const summary = errors.map((e) => `${e.field}: ${e.rule}`).join('; ');
  return ProblemException.of(400, 'validation_failed', `The request is invalid (${summary}).`, errors);
}

@Injectable()
export class StrictValidationPipe implements PipeTransform {
  private readonly inner = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationProblem(flattenValidationErrors(errors)),
  });

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw validationProblem([{ field: 'body', rule: 'object' }]);
    }
    return this.inner.transform(value, metadata);
  }
}
