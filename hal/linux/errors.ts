/**
 * Errors the kernel sources report through their `done` callbacks. Created only on the
 * error path, so the steady-state tick allocates none of them.
 */
import { constants as os } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(os.errno).map(([name, value]) => [value, name]),
);

export class KernelSourceError extends Error {
  constructor(
    message: string,
    /** errno name (EPERM, ENOBUFS, …) or one of ours: EMALFORMED, ESUPERSEDED. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'KernelSourceError';
  }
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

export function errnoError(request: string, errno: number): KernelSourceError {
  const name = errnoName(errno);
  return new KernelSourceError(`${request}: kernel answered ${name}`, name);
}

export function malformedError(what: string, problem: string): KernelSourceError {
  return new KernelSourceError(`${what} rejected: ${problem}`, 'EMALFORMED');
}

export function supersededError(request: string): KernelSourceError {
  return new KernelSourceError(`${request}: no answer before the next tick`, 'ESUPERSEDED');
}
