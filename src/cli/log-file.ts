import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from './usage-error.js';

/** Where log lines go: stderr, and with `--log-file` a file too. */
export interface LogSink {
  write(text: string): unknown;
}

/** The file `--log-file` names, open for appending. */
export interface LogFile extends LogSink {
  readonly path: string;
  close(): void;
}

/**
 * Opens `path` for appending, creating it with mode 0600 (the log holds no secret, but it is this
 * user's business). Throws a {@linkcode UsageError} naming the path and the reason when it cannot
 * be opened. Lines are written synchronously: the process may exit right after its last line,
 * which must not be lost. A write that fails (a full disk) stops the file and is said once, on
 * `onFailure`; stderr carries on.
 */
export function openLogFile(path: string, onFailure: (message: string) => void): LogFile {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--log-file ${path}: cannot open it for appending (${code ?? (error as Error).message})`);
  }
  const file: { fd: number | undefined } = { fd };
  return {
    path,
    write(text) {
      if (file.fd === undefined) return;
      try {
        writeSync(file.fd, text);
      } catch (error) {
        file.fd = undefined;
        onFailure(
          `--log-file ${path}: writing failed (${(error as NodeJS.ErrnoException).code ?? String(error)}); the log goes on on stderr only`,
        );
      }
    },
    close() {
      if (file.fd !== undefined) closeSync(file.fd);
      file.fd = undefined;
    },
  };
}

/** A sink that writes each line to every one of `sinks`, in order. */
export function teeSink(...sinks: readonly LogSink[]): LogSink {
  return {
    write(text) {
      for (const sink of sinks) sink.write(text);
      return true;
    },
  };
}
