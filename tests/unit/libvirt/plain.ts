import { PharosError, formatError } from '../../../lib/errors.js';

/**
 * uvu treats any error with a `details` field as an assertion diff and prints
 * nothing for PharosError; rethrow it as a plain Error so failures are readable.
 */
export function plain(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof PharosError) {
        const x = new Error(formatError(e));
        x.stack = `${x.message}\n${(e.stack ?? '').split('\n').slice(1).join('\n')}`;
        throw x;
      }
      throw e;
    }
  };
}
