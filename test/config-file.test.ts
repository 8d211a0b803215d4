import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configFileName, GatewayConfigError, loadGatewayConfig } from '../lib/config';

/**
 * A config file as people save it (encodings, numbers, an empty file), and how every message names it.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-config-file-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const CONFIG =
  '{ "cameras": [{ "name": "front-door" }], "monitoring": { "alarmEmail": "josé@example.com" } }';

function save(bytes: Buffer | string, name = 'gateway.config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function problemsOf(file: string): readonly string[] {
  try {
    loadGatewayConfig(file);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('encodings', () => {
  test('UTF-8, with or without the byte-order mark Windows editors write, is read as written', () => {
    const plain = loadGatewayConfig(save(Buffer.from(CONFIG, 'utf8'), 'plain.json'));
    const withMark = loadGatewayConfig(
      save(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CONFIG, 'utf8')]), 'bom.json'),
    );
    expect(plain.monitoring.alarmEmail).toBe('josé@example.com');
    expect(withMark).toEqual(plain);
  });

  const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(CONFIG, 'utf16le')]);
  const utf16be = Buffer.from(utf16le).swap16();
  test.each([
    ['UTF-16 LE with its mark (PowerShell 5 ">")', utf16le, 'UTF-16 LE'],
    ['UTF-16 BE with its mark', utf16be, 'UTF-16 BE'],
    ['UTF-16 LE without a mark', Buffer.from(CONFIG, 'utf16le'), 'UTF-16 LE'],
    ['UTF-32 LE', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from('{}')]), 'UTF-32 LE'],
  ])('%s: one sentence naming it and the encoding to save in', (_what, bytes, encoding) => {
    expect(problemsOf(save(bytes))).toEqual([
      `is saved as ${encoding}, which the config is not read in: save it as UTF-8 (in PowerShell 5: Set-Content -Encoding utf8, or Out-File -Encoding utf8)`,
    ]);
  });

  test('Windows-1252 (not UTF-8) is refused where it stops being UTF-8, not read with a replacement character', () => {
    expect(problemsOf(save(Buffer.from(CONFIG, 'latin1')))).toEqual([
      'is not UTF-8: byte 0xE9 at line 1, column 76 is not a UTF-8 character (a Windows-1252 or Latin-1 file?): save it as UTF-8 (in PowerShell 5: Set-Content -Encoding utf8, or Out-File -Encoding utf8)',
    ]);
  });

  test.each([
    ['an overlong "/"', [0xc0, 0xaf]],
    ['a UTF-16 surrogate in UTF-8', [0xed, 0xa0, 0x80]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a character cut short at the end', [0xe2, 0x82]],
  ])('%s is not UTF-8 either', (_what, bytes) => {
    const file = save(
      Buffer.concat([Buffer.from('{ "cameras": [{ "name": "a" }] } //'), Buffer.from(bytes)]),
    );
    expect(problemsOf(file)).toEqual([
      expect.stringMatching(/^is not UTF-8: byte 0x.. at line 1, column 36 /),
    ]);
  });
});

describe('numbers JavaScript cannot hold as written', () => {
  test.each([
    [
      '1e400',
      'cameras[0].retentionHours: 1e400 is too large a number to hold (the largest is about 1.8e308): write the value you mean',
    ],
    [
      '-1E400',
      'cameras[0].retentionHours: -1E400 is too large a number to hold (the largest is about 1.8e308): write the value you mean',
    ],
    [
      '1e-400',
      'cameras[0].retentionHours: 1e-400 is too small a number to tell from 0: write 0, or the value you mean',
    ],
  ])('%s is named as written, once', (literal, problem) => {
    expect(problemsOf(save(`{ "cameras": [{ "name": "a", "retentionHours": ${literal} }] }`))).toEqual([
      problem,
    ]);
  });

  test('0, 0.0 and 0e5 are zero as written', () => {
    expect(
      loadGatewayConfig(save('{ "cameras": [{ "name": "a", "retentionHours": 0e5 }] }')).cameras[0]
        .retentionHours,
    ).toBe(0);
  });
});

describe('an empty file', () => {
  test.each([
    ['empty', '', 'is empty'],
    ['blank lines', '\n  \n', 'is empty'],
    ['only comments', '// my cameras\n/* to do */\n', 'holds only comments'],
  ])('%s: its own sentence', (_what, text, start) => {
    expect(problemsOf(save(text))).toEqual([
      `${start}: a config lists at least its cameras, e.g. { "cameras": [{ "name": "front-door" }] } (docs/config.md)`,
    ]);
  });
});

test('a "__proto__" key is an unknown key, not the object\'s prototype', () => {
  expect(problemsOf(save('{ "cameras": [{ "name": "a", "__proto__": { "retentionHours": 0 } }] }'))).toEqual([
    expect.stringMatching(/^cameras\[0\]\.__proto__: unknown key; allowed: name, streamName/),
  ]);
});

describe('the file is named the same way in every message', () => {
  test('relative to the folder the command runs in; absolute when outside it', () => {
    expect(configFileName(path.join(dir, 'site2.json'), dir)).toBe('site2.json');
    expect(configFileName('configs/site2.json', dir)).toBe(path.join('configs', 'site2.json'));
    expect(configFileName(path.join(dir, 'site2.json'), path.join(dir, 'elsewhere'))).toBe(
      path.join(dir, 'site2.json'),
    );
  });

  test('a missing file: the name once, without the absolute path of the error beside it', () => {
    const missing = path.join(dir, 'missing.json');
    expect(() => loadGatewayConfig(missing, dir)).toThrow(
      new GatewayConfigError('missing.json', [
        'cannot be read: there is no such file (choose one with --config <file>, or -c config=<file> for cdk)',
      ]),
    );
    expect(() => loadGatewayConfig(dir, dir)).toThrow(/cannot be read: it is a folder, not a file/);
  });
});
