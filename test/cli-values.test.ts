// The values a user types (src/cli/values.ts): one grammar for sizes and one for durations, and a
// flag meaning what its config key means.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseCommand } from '../src/cli/args.js';
import { parseServeCommand, type ServeCommand } from '../src/cli/serve-args.js';
import { UsageError } from '../src/cli/usage-error.js';
import { parseChoice, parseCount, parseDuration, parseSeconds, parseSize, parseUrl } from '../src/cli/values.js';
import { tempFile } from './helpers/gateway.js';

/** `serve` with one upstream, from a config file holding `yaml`. */
function fromConfig(yaml: string): ServeCommand {
  const file = tempFile('values.yaml', `upstreams: [{ url: "http://127.0.0.1:1/mcp" }]\n${yaml}\n`);
  try {
    return parseServeCommand(['--config', file]);
  } finally {
    rmSync(file, { force: true });
  }
}

/** `serve` with one upstream and `flags`. */
function fromFlags(...flags: string[]): ServeCommand {
  return parseServeCommand(['http://127.0.0.1:1/mcp', ...flags]);
}

// Every `serve` flag that takes a duration, its config key, and where the parsed value lands.
const DURATION_PAIRS = [
  ['--session-ttl', 'sessionTtl', 'sessionIdleTtlMs'],
  ['--session-max-age', 'sessionMaxAge', 'sessionMaxAgeMs'],
  ['--headers-timeout', 'headersTimeout', 'headersTimeoutMs'],
  ['--idle-timeout', 'idleTimeout', 'idleTimeoutMs'],
  ['--body-timeout', 'bodyTimeout', 'bodyTimeoutMs'],
  ['--store-timeout', 'storeTimeout', 'storeTimeoutMs'],
  ['--timeout', 'timeout', 'timeoutMs'],
  ['--drain-timeout', 'drainTimeout', 'drainTimeoutMs'],
] as const;

describe('serve: a duration flag and its config key read a value the same way', () => {
  for (const [flag, key, field] of DURATION_PAIRS) {
    it(`${flag} and ${key}: a bare number is seconds in both; units mean the same`, () => {
      // The YAML number (not a string) is what a config file most often holds.
      assert.equal(fromConfig(`${key}: 3600`)[field], 3_600_000, `${key}: 3600`);
      assert.equal(fromFlags(flag, '3600')[field], 3_600_000, `${flag} 3600`);
      for (const [text, ms] of [
        ['1.5', 1500],
        ['250ms', 250],
        ['90s', 90_000],
        ['2m', 120_000],
        ['1h', 3_600_000],
        ['1d', 86_400_000],
      ] as const) {
        assert.equal(fromFlags(flag, text)[field], ms, `${flag} ${text}`);
        assert.equal(fromConfig(`${key}: ${text}`)[field], ms, `${key}: ${text}`);
      }
      assert.throws(() => fromFlags(flag, '0'), UsageError);
      assert.throws(
        () => fromConfig(`${key}: soon`),
        (error: Error) => error instanceof UsageError && error.message.includes(key),
      );
    });
  }
});

// Every `serve` flag that takes a size, and its key under `limits`.
const SIZE_PAIRS = [
  ['--max-body', 'maxBody', 'maxBodyBytes'],
  ['--max-message-size', 'maxMessageSize', 'maxMessageBytes'],
] as const;

describe('serve: a size flag and its config key read a value the same way', () => {
  for (const [flag, key, field] of SIZE_PAIRS) {
    it(`${flag} and limits.${key}: k/m and KiB/MiB count in 1024s, KB/MB in 1000s, a bare number is bytes`, () => {
      for (const [text, bytes] of [
        ['65536', 65_536],
        ['512k', 524_288],
        ['4m', 4_194_304],
        ['4M', 4_194_304],
        ['8MiB', 8_388_608],
        ['512KB', 512_000],
        ['1.5MB', 1_500_000],
        ['2 KiB', 2048],
      ] as const) {
        assert.equal(fromFlags(flag, text)[field], bytes, `${flag} ${text}`);
        assert.equal(fromConfig(`limits: { ${key}: "${text}" }`)[field], bytes, `limits.${key}: ${text}`);
      }
      assert.equal(fromConfig(`limits: { ${key}: 65536 }`)[field], 65_536);
      assert.throws(() => fromFlags(flag, 'huge'), /must be a size such as 512k, 4m, 8MiB or 512KB, got "huge"/);
      assert.throws(
        () => fromConfig(`limits: { ${key}: 4q }`),
        (error: Error) => error.message.includes(`limits.${key}`),
      );
    });
  }
});

describe('the bridge and probe read durations and sizes with the same grammar as serve', () => {
  const bridge = (...flags: string[]) => {
    const command = parseCommand(['http://127.0.0.1:1/mcp', ...flags]);
    assert.equal(command.kind, 'bridge');
    return command.kind === 'bridge' ? command : assert.fail();
  };

  it('SECONDS flags: a bare number is seconds, and a unit may follow', () => {
    assert.equal(bridge('--timeout', '1500ms').timeoutMs, 1500);
    assert.equal(bridge('--request-timeout', '5m').requestTimeoutMs, 300_000);
    assert.equal(bridge('--exit-grace', '2').exitGraceMs, 2000);
    assert.equal(bridge('--keepalive', '90s').keepAlive, 90_000);
    assert.equal(bridge('--keepalive', '1.5').keepAlive, 1500);
  });

  it('--max-message-size takes the size grammar of serve, 1 KiB at least', () => {
    assert.equal(bridge('--max-message-size', '4m').maxMessageBytes, 4_194_304);
    assert.equal(bridge('--max-message-size', '512KB').maxMessageBytes, 512_000);
    assert.equal(bridge('--max-message-size', '16MiB').maxMessageBytes, 16_777_216);
    assert.throws(() => bridge('--max-message-size', '512'), /--max-message-size must be a size of at least 1KiB/);
  });

  it('probe --idle: a bare number stays minutes (as documented); days are understood', () => {
    const probe = (idle: string) => {
      const command = parseCommand(['probe', 'http://127.0.0.1:1/mcp', `--idle=${idle}`]);
      return command.kind === 'probe' ? command.idle?.maxMs : undefined;
    };
    assert.equal(probe('30'), 1_800_000);
    assert.equal(probe('2h'), 7_200_000);
    assert.equal(probe('1d'), 86_400_000);
  });

  it('demo --interval: a bare number stays milliseconds, and 0 is allowed', () => {
    const demo = (interval: string) => {
      const command = parseCommand(['demo', '--interval', interval]);
      return command.kind === 'demo' ? command.intervalMs : undefined;
    };
    assert.equal(demo('0'), 0);
    assert.equal(demo('10'), 10);
    assert.equal(demo('1s'), 1000);
  });
});

describe('the value parsers', () => {
  it('durations: the number grammar, units, and what is refused', () => {
    assert.equal(parseDuration('x', '.5'), 500);
    assert.equal(parseDuration('x', '2.'), 2000);
    assert.equal(parseDuration('x', '1e3ms'), 1000);
    assert.equal(parseDuration('x', ' 7d '), 604_800_000);
    assert.equal(parseDuration('x', '30', { bare: 'm' }), 1_800_000);
    for (const text of ['', '-1', '0', '1w', '1e', 'Infinity', '0x10', '1e400', 'constructor', '1 2']) {
      assert.throws(
        () => parseDuration('--x', text),
        /--x must be a duration such as 30s, 10m, 24h or 7d \(a bare number is seconds\)/,
        text,
      );
    }
    assert.equal(parseDuration('x', '0', { zero: true }), 0);
    assert.throws(() => parseSeconds('--t', 'soon'), /--t must be a positive number of seconds, got "soon"/);
  });

  it('sizes: minimum, rounding, unknown units', () => {
    assert.equal(parseSize('x', '1.5k'), 1536);
    assert.equal(parseSize('x', '1g'), 1024 ** 3);
    assert.equal(parseSize('x', '1GB'), 1000 ** 3);
    assert.equal(parseSize('x', '1b'), 1);
    for (const text of ['0', '-1k', '4q', 'constructor', '1e400', 'm'])
      assert.throws(() => parseSize('--s', text), /--s must be a size/, text);
    assert.throws(() => parseSize('--s', '1000', { min: 1024 }), /--s must be a size of at least 1KiB/);
  });

  it('counts, choices and URLs', () => {
    assert.equal(parseCount('--n', '0', { min: 0, max: 65535 }), 0);
    assert.throws(() => parseCount('--n', '1.5', { min: 1 }), /--n must be an integer from 1 upward, got "1.5"/);
    assert.throws(() => parseCount('--n', '', { min: 0 }), /--n must be an integer from 0 upward/);
    assert.throws(
      () => parseCount('--p', '65536', { min: 1, max: 65535, what: 'a port number' }),
      /--p must be a port number from 1 to 65535/,
    );
    assert.equal(parseChoice('--c', 'b', ['a', 'b']), 'b');
    assert.throws(() => parseChoice('--c', 'z', ['a', 'b']), /--c must be one of a, b, got "z"/);
    assert.equal(parseUrl('https://mcp.example.com/mcp?x=1').host, 'mcp.example.com');
    assert.throws(
      () => parseUrl('https://user:secret@mcp.example.com/mcp'),
      (error: Error) => !error.message.includes('secret'),
    );
  });
});
