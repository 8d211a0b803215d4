import * as fs from 'node:fs';
import * as path from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import {
  configFileName,
  gatewayConfigFromFile,
  GatewayConfigError,
  MAX_SHARD,
  type GatewayConfig,
} from '../config';
import { shardForNewCamera, type NewCameraShard } from '../shards';
import { CliError } from './aws-errors';

/**
 * `kvs-gateway cameras add` for a camera the config does not list yet: its shard (lib/shards.ts), the
 * config with it checked whole, then the camera added to the file as a person would: one line after
 * the last camera, in the style of the lines around it, every other byte of the file (comments,
 * formatting, the other cameras) kept.
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

/**
 * The shard of a camera the config does not list yet (undefined when it lists it: its shard is the
 * config's). The config with the camera added is checked whole before anything is stored, so that a
 * name the config would refuse (one like another camera's) is said before the prompt.
 */
export function placeNewCamera(
  config: GatewayConfig,
  name: string,
  shard: number | undefined,
  file: string,
  cwd: string,
): NewCameraShard | undefined {
  const listed = config.cameras.find((camera) => camera.name === name);
  if (listed) {
    if (shard !== undefined && shard !== listed.shard) {
      throw new CliError(
        `--shard ${shard}: camera "${name}" is in shard ${listed.shard} in the config; moving a camera to another shard is an edit of the config you make (docs/operations-and-cost.md#shards)`,
        2,
      );
    }
    return undefined;
  }
  const withCamera = (entry: Record<string, string | number>) => {
    try {
      const text = withCameraAppended(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''), entry);
      return gatewayConfigFromFile(Buffer.from(text, 'utf8'), configFileName(file, cwd));
    } catch (error) {
      if (error instanceof GatewayConfigError) {
        const own = error.problems.filter((problem) =>
          problem.startsWith(`cameras[${config.cameras.length}]`),
        );
        throw new CliError(
          `camera "${name}" cannot be added to the config: ${(own.length > 0 ? own : error.problems).join('; ')}`,
          2,
        );
      }
      throw new CliError(
        `camera "${name}" cannot be added to ${configFileName(file, cwd)}: ${(error as Error).message}`,
      );
    }
  };
  if (shard !== undefined) {
    withCamera({ name, shard });
    return { shard, passedOver: [] };
  }
  const added = withCamera({ name }).cameras.at(-1)!;
  const placement = shardForNewCamera(config, added);
  if (!placement) {
    throw new CliError(
      `every shard (1 to ${MAX_SHARD}) is taken and full: give the camera a shard with --shard <n>`,
    );
  }
  withCamera({ name, shard: placement.shard });
  return placement;
}

/** What the CLI prints once the camera is in the config. */
export function addedSentence(name: string, configName: string, placement: NewCameraShard): string {
  const passed = placement.passedOver.map((p) => `shard ${p.shard} has no room for it on ${p.gateway}`);
  const why =
    passed.length > 0 ? ` (${passed.slice(0, 3).join('; ')}${passed.length > 3 ? '; ...' : ''})` : '';
  return `Added camera "${name}" to ${configName} in shard ${placement.shard}${why}: deploy to start ingesting it.`;
}
