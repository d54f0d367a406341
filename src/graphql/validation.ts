import {
  registerDecorator,
  type ValidationError as ClassValidatorError,
  type ValidationOptions,
} from 'class-validator';
import type { FieldErrors } from '../errors/index.js';

// C0 and C1 control characters and DEL; tab, newline and carriage return are allowed only in
// multi-line text (descriptions, notes, addresses).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_CHARACTERS_EXCEPT_NEWLINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Rejects control characters (REQ 2.4): text is stored as given, so it must be clean text. */
export function NoControlCharacters(options: { multiline?: boolean } & ValidationOptions = {}): PropertyDecorator {
  const pattern = options.multiline ? CONTROL_CHARACTERS_EXCEPT_NEWLINES : CONTROL_CHARACTERS;
  return (target, propertyName) =>
    registerDecorator({
      name: 'noControlCharacters',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must not contain control characters`, ...options },
      validator: { validate: (value: unknown) => typeof value !== 'string' || !pattern.test(value) },
    });
}

/** Rejects strings that are empty or only white space. */
export function NotBlank(options: ValidationOptions = {}): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'notBlank',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must not be blank`, ...options },
      validator: { validate: (value: unknown) => typeof value !== 'string' || value.trim().length > 0 },
    });
}

/**
 * Flattens class-validator's tree into `{ "input.email": ["email must be an email"] }`: every
 * violation of the request, keyed by its argument path (REQ 2.3).
 */
export function toFieldErrors(errors: readonly ClassValidatorError[], prefix = ''): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) fields[path] = Object.values(error.constraints);
    if (error.children && error.children.length > 0) Object.assign(fields, toFieldErrors(error.children, path));
  }
  return fields;
}
