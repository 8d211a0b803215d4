/**
 * The bytes of a config file as people save them. UTF-8 is the config's encoding, with or without the
 * byte-order mark many Windows editors write. Anything else is named in one sentence with the
 * encoding to save in, rather than read wrongly: a UTF-16 file (what PowerShell 5's `>` and
 * `Out-File` write) would otherwise be "invalid symbol at line 1, column 1", and a Windows-1252 file
 * read as UTF-8 silently turns "josé@example.com" into "jos\uFFFD@example.com".
 */

export type DecodedConfigFile = { readonly text: string } | { readonly problem: string };

const SAVE_AS_UTF8 =
  'save it as UTF-8 (in PowerShell 5: Set-Content -Encoding utf8, or Out-File -Encoding utf8)';

const BYTE_ORDER_MARKS: readonly { readonly bytes: readonly number[]; readonly encoding: string }[] = [
  // UTF-32 first: its little-endian mark begins with UTF-16's.
  { bytes: [0xff, 0xfe, 0x00, 0x00], encoding: 'UTF-32 LE' },
  { bytes: [0x00, 0x00, 0xfe, 0xff], encoding: 'UTF-32 BE' },
  { bytes: [0xff, 0xfe], encoding: 'UTF-16 LE' },
  { bytes: [0xfe, 0xff], encoding: 'UTF-16 BE' },
];

export function decodeConfigFile(bytes: Uint8Array): DecodedConfigFile {
  const mark = BYTE_ORDER_MARKS.find((bom) => bom.bytes.every((byte, i) => bytes[i] === byte));
  const encoding = mark?.encoding ?? utf16WithoutMark(bytes);
  if (encoding)
    return { problem: `is saved as ${encoding}, which the config is not read in: ${SAVE_AS_UTF8}` };
  const utf8 = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const invalid = firstInvalidUtf8Byte(utf8);
  if (invalid === undefined) return { text: Buffer.from(utf8).toString('utf8') };
  const before = Buffer.from(utf8.subarray(0, invalid)).toString('utf8').split('\n');
  const byte = utf8[invalid].toString(16).toUpperCase().padStart(2, '0');
  return {
    problem:
      `is not UTF-8: byte 0x${byte} at line ${before.length}, column ${before[before.length - 1].length + 1} ` +
      `is not a UTF-8 character (a Windows-1252 or Latin-1 file?): ${SAVE_AS_UTF8}`,
  };
}

/** JSON starts with ASCII: UTF-16 without a mark has a zero byte beside each of its first characters. */
function utf16WithoutMark(bytes: Uint8Array): string | undefined {
  if (bytes.length < 4) return undefined;
  const pairs = Math.min(16, Math.floor(bytes.length / 2));
  let zeroFirst = 0;
  let zeroSecond = 0;
  for (let i = 0; i < pairs; i++) {
    if (bytes[2 * i] === 0 && bytes[2 * i + 1] !== 0) zeroFirst++;
    if (bytes[2 * i] !== 0 && bytes[2 * i + 1] === 0) zeroSecond++;
  }
  if (zeroSecond === pairs) return 'UTF-16 LE';
  if (zeroFirst === pairs) return 'UTF-16 BE';
  return undefined;
}

/**
 * Well-formed UTF-8 (RFC 3629, table 3-7 of the Unicode standard): by lead byte, the character's length
 * and the range of its first continuation byte (no overlong forms, no surrogates, nothing above U+10FFFF).
 */
const UTF8_LEAD_BYTES: readonly (readonly [
  from: number,
  to: number,
  length: number,
  low: number,
  high: number,
])[] = [
  [0xc2, 0xdf, 2, 0x80, 0xbf],
  [0xe0, 0xe0, 3, 0xa0, 0xbf],
  [0xe1, 0xec, 3, 0x80, 0xbf],
  [0xed, 0xed, 3, 0x80, 0x9f],
  [0xee, 0xef, 3, 0x80, 0xbf],
  [0xf0, 0xf0, 4, 0x90, 0xbf],
  [0xf1, 0xf3, 4, 0x80, 0xbf],
  [0xf4, 0xf4, 4, 0x80, 0x8f],
];

/** The offset of the first byte that does not begin or continue a well-formed UTF-8 character. */
function firstInvalidUtf8Byte(bytes: Uint8Array): number | undefined {
  for (let i = 0; i < bytes.length;) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const lead = UTF8_LEAD_BYTES.find(([from, to]) => bytes[i] >= from && bytes[i] <= to);
    if (!lead) return i;
    const [, , length, low, high] = lead;
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return undefined;
}
