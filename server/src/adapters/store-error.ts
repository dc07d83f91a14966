/** The error every adapter rejects with when its storage fails. */
import { CodedError, isCodedError } from '@posbridge/protocol/errors';

/** Wraps driver failures in `STORE_FAILED` (details: `operation`), keeping coded errors as they are. */
export function storeError(operation: string, err: unknown): CodedError {
  if (isCodedError(err)) return err;
  return new CodedError('STORE_FAILED', `payment store: ${operation} failed`, { cause: err, details: { operation } });
}
