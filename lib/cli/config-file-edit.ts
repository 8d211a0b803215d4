import * as fs from 'node:fs';
import * as path from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';

/**
 * Adds a camera to the config file as a person would: one line after the last camera, in the style of
 * the lines around it, every other byte of the file (comments, formatting, the other cameras) kept.
 */

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The config text with `entry` appended to its "cameras" list. */
export function withCameraAppended(text: string, entry: Readonly<Record<string, string | number>>): string {
  const cameras = findNodeAtLocation(
    parseTree(text, [], { allowTrailingComma: true, disallowComments: false }) ?? {
      type: 'null',
      offset: 0,
      length: 0,
    },
    ['cameras'],
  );
  const last = cameras?.type === 'array' ? cameras.children?.at(-1) : undefined;
  if (!last) throw new Error('the config has no "cameras" list to add to');
  const entryText = `{ ${Object.entries(entry)
    .map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`)
    .join(', ')} }`;
  const end = last.offset + last.length;
  const newline = text.indexOf('\n', end);
  const lineEnd = newline < 0 ? text.length : text[newline - 1] === '\r' ? newline - 1 : newline;
  // The last camera ends its line (perhaps with a comma and a comment): the new one gets a line of its own.
  const rest = /^\s*(,)?\s*(\/\/.*|\/\*.*\*\/\s*)?$/.exec(text.slice(end, lineEnd));
  if (!rest) return `${text.slice(0, end)}, ${entryText}${text.slice(end)}`;
  const lineStart = text.lastIndexOf('\n', last.offset) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart, last.offset))![0];
  const eol = text[lineEnd] === '\r' ? '\r\n' : '\n';
  const hadComma = rest[1] !== undefined;
  return (
    `${text.slice(0, end)}${hadComma ? '' : ','}${text.slice(end, lineEnd)}` +
    `${eol}${indent}${entryText}${hadComma ? ',' : ''}${text.slice(lineEnd)}`
  );
}

/** Appends a camera to a config file in place (atomically: a reader never sees half a file). */
export function appendCameraToConfigFile(
  file: string,
  entry: Readonly<Record<string, string | number>>,
): void {
  const bytes = fs.readFileSync(file);
  const bom = bytes.subarray(0, 3).equals(UTF8_BOM);
  const text = bytes.subarray(bom ? 3 : 0).toString('utf8');
  const updated = Buffer.concat([
    bom ? UTF8_BOM : Buffer.alloc(0),
    Buffer.from(withCameraAppended(text, entry), 'utf8'),
  ]);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, updated, { mode: fs.statSync(file).mode });
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}
