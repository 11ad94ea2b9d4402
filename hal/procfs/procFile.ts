/**
 * A proc or sys file read again and again through one descriptor and one buffer.
 *
 * procfs regenerates a file's text on every read from offset 0 (seq_file restarts at
 * position 0, and sysctl handlers format on each read), so a pread(fd, buf, 0) per tick
 * costs one syscall and allocates nothing.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export class ProcFile {
  private fd = -1;
  private buf: Buffer;
  /** Bytes read by the last successful read(). */
  length = 0;

  constructor(
    readonly path: string,
    initialSize = 4096,
  ) {
    this.buf = Buffer.alloc(initialSize);
  }

  get data(): Buffer {
    return this.buf;
  }

  /**
   * Reads the whole file into `data`. Returns false when the file cannot be read (absent,
   * no permission, module unloaded); the caller decides what that means.
   */
  read(): boolean {
    try {
      if (this.fd < 0) this.fd = openSync(this.path, 'r');
      for (;;) {
        const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
        // A full buffer may mean a longer file (more interfaces, more CPUs): grow and retry.
        if (n < this.buf.length) {
          this.length = n;
          return true;
        }
        this.buf = Buffer.alloc(this.buf.length * 2);
      }
    } catch {
      this.close();
      this.length = 0;
      return false;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // Already gone with the module that owned it.
      }
      this.fd = -1;
    }
  }
}
