/**
 * Whether a kernel source is answering, logged on transitions only: a source failing at
 * 10 Hz must produce one warning, not ten a second.
 */
export interface HealthLogger {
  warn(message: string): void;
  info(message: string): void;
}

export class SourceHealth {
  ok = true;
  /** Message of the failure in progress, or of the last one. */
  lastError: string | null = null;
  /** errno-style code of that failure ('ENOENT', 'EPERM'…), when it had one. */
  lastErrorCode: string | null = null;
  failures = 0;
  /** Consecutive failed reads of the failure in progress. */
  private failedReads = 0;
  constructor(
    readonly name: string,
    private readonly log: HealthLogger,
  ) {}

  report(error: Error | null): void {
    if (error) {
      this.failures++;
      if (this.ok || this.lastError !== error.message) {
        this.log.warn(`${this.name}: ${error.message}`);
      }
      this.ok = false;
      this.lastError = error.message;
      this.lastErrorCode = (error as { code?: unknown }).code === undefined ? null : String((error as { code?: unknown }).code);
      this.failedReads++;
      return;
    }
    if (!this.ok) {
      this.log.info(`${this.name}: answering again after ${this.failedReads} failed reads`);
      this.ok = true;
      this.failedReads = 0;
    }
  }
}
