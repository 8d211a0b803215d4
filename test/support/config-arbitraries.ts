import fc from 'fast-check';
import { GATEWAY_CONFIG_SCHEMA } from '../../lib/config';
import { sampleConfigJson } from './gateway-app';

/**
 * fast-check arbitraries for bad input: configs with wrong types and nulls at every path of the
 * config's schema (read from lib/config.ts, so a field added there is covered here without a change),
 * huge and tiny numbers, odd Unicode, and camera URLs with a password planted in any string or key.
 */

/** What a planted password contains, and what no output may ever contain: letters and digits only. */
export const MARKER = 'Pl4ntedSecret';

export type JsonKind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

export interface SchemaField {
  /** Keys and `[]` for "any item of this list". */
  readonly path: readonly (string | '[]')[];
  /** The JSON kinds the field accepts; undefined when the schema does not say (then anything is checked loosely). */
  readonly kinds?: ReadonlySet<JsonKind>;
}

interface Def {
  readonly type: string;
  readonly shape?: Record<string, { def: Def }>;
  readonly element?: { def: Def };
  readonly innerType?: { def: Def };
  readonly in?: { def: Def };
  readonly options?: readonly { def: Def }[];
  readonly values?: readonly unknown[];
}

function kindsOf(def: Def): Set<JsonKind> | undefined {
  switch (def.type) {
    case 'string':
    case 'enum':
    case 'number':
    case 'boolean':
    case 'array':
    case 'object':
      return new Set([def.type === 'enum' ? 'string' : (def.type as JsonKind)]);
    case 'record':
      return new Set(['object']);
    case 'tuple':
      return new Set(['array']);
    case 'null':
      return new Set(['null']);
    case 'literal':
      return new Set((def.values ?? []).map(kindOfValue));
    case 'nullable':
      return kindsOf(def.innerType!.def)?.add('null');
    case 'union': {
      const each = (def.options ?? []).map((option) => kindsOf(unwrap(option.def)));
      return each.every((kinds) => kinds !== undefined)
        ? new Set(each.flatMap((kinds) => [...kinds!]))
        : undefined;
    }
    default:
      return undefined;
  }
}

function unwrap(def: Def): Def {
  const inner =
    def.type === 'pipe'
      ? def.in
      : ['optional', 'default', 'prefault'].includes(def.type)
        ? def.innerType
        : undefined;
  return inner ? unwrap(inner.def) : def;
}

export function kindOfValue(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonKind;
}

/** Every field of the config's schema, lists and objects included (the root excluded). */
export function schemaFields(): SchemaField[] {
  const fields: SchemaField[] = [];
  const walk = (def: Def, path: (string | '[]')[]) => {
    const plain = unwrap(def);
    if (path.length > 0) fields.push({ path, kinds: kindsOf(plain) });
    for (const [key, child] of Object.entries(plain.shape ?? {})) walk(child.def, [...path, key]);
    if (plain.element) walk(plain.element.def, [...path, '[]']);
  };
  walk(GATEWAY_CONFIG_SCHEMA.def as unknown as Def, []);
  return fields;
}

// ---- Values ----

/** Characters that break things: controls, bidi overrides, zero-width, separators, quotes, non-BMP, lone surrogates. */
const ODD_CHARACTERS = [
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\n',
  '\r',
  '\t',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u200b',
  '\u200e',
  '\u202e',
  '\u2066',
  '\u2028',
  '\ufeff',
  '\ufffd',
  '\ud83d\ude00',
  '\ud800',
  '\udc00',
  '"',
  "'",
  '\\',
  '`',
  '$',
  '%',
  '@',
  ':',
  '/',
  '.',
  '-',
  '_',
  ' ',
  'é',
  'ß',
  'İ',
  'ﬁ',
  '中',
  '𝟘',
  'Ⅻ',
  '٣',
];

export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.array(fc.constantFrom(...ODD_CHARACTERS), { maxLength: 6 }).map((parts) => parts.join('')),
  fc.constantFrom(
    '',
    ' ',
    'a'.repeat(300),
    '-',
    '--',
    '-h',
    'null',
    'true',
    '0',
    'NaN',
    '__proto__',
    'constructor',
  ),
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/), fc.constantFrom(...ODD_CHARACTERS))
    .map(([a, b]) => a + b),
);

/** A camera URL with a password holding the marker, "/", "@", ":", spaces or non-ASCII, percent-encoded or not. */
export const plantedSecret: fc.Arbitrary<string> = fc
  .record({
    scheme: fc.constantFrom('rtsp', 'rtsps', 'RTSP', 'http', 'https'),
    user: fc.stringMatching(/^[a-z]{1,8}$/),
    before: fc.array(fc.constantFrom('/', '@', ':', ' ', '%', 'é', '€', '#', '?', 'x'), { maxLength: 3 }),
    after: fc.array(fc.constantFrom('/', '@', ':', ' ', '%', 'é', '€', '#', '?', 'x'), { maxLength: 3 }),
    encoded: fc.boolean(),
    host: fc.constantFrom('192.0.2.10', '[2001:db8::10]', 'cam.example', '192.0.2.10:554'),
    path: fc.constantFrom('', '/stream1', '/Streaming/Channels/101', '/live?x=1'),
    around: fc.tuple(fc.constantFrom('', 'see ', 'url: ', 'x'), fc.constantFrom('', ' ok', '"')),
  })
  .map(({ scheme, user, before, after, encoded, host, path, around }) => {
    const password = `${before.join('')}${MARKER}${after.join('')}`;
    const userinfo = `${user}:${encoded ? encodeURIComponent(password) : password}`;
    return `${around[0]}${scheme}://${userinfo}@${host}${path}${around[1]}`;
  });

const number: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -5, max: 300 }),
  fc.constantFrom(0, -0, 0.5, -1, 1.5, 1e21, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 53 + 2, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, bad ones weighted in. */
export function anyValue(depth = 2): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    { weight: 2, arbitrary: oddString },
    { weight: 2, arbitrary: plantedSecret },
    { weight: 2, arbitrary: number },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 2, arbitrary: fc.constant(null) },
  );
  if (depth === 0) return leaf;
  return fc.oneof(
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(anyValue(depth - 1), { maxLength: 3 }) },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.oneof(oddString, plantedSecret), anyValue(depth - 1), { maxKeys: 3 }),
    },
  );
}

// ---- Configs ----

export type Mutation =
  | { readonly kind: 'set'; readonly field: SchemaField; readonly index: number; readonly value: unknown }
  | { readonly kind: 'delete'; readonly field: SchemaField; readonly index: number }
  | {
      readonly kind: 'unknown key';
      readonly field: SchemaField;
      readonly index: number;
      readonly key: string;
      readonly value: unknown;
    };

/** A mutated config and what was done to it. */
export interface BadConfig {
  readonly raw: unknown;
  readonly mutations: readonly { readonly mutation: Mutation; readonly path: readonly PropertyKey[] }[];
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Valid starting points: the sample, the smallest config, an existing VPC. */
const BASES: readonly Record<string, unknown>[] = [
  clone(sampleConfigJson),
  { cameras: [{ name: 'front-door' }] },
  {
    cameras: [{ name: 'a', shard: 2 }, { name: 'b' }],
    network: {
      mode: 'existing',
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a'],
      subnetIds: ['subnet-0123456789abcdef0'],
    },
    ec2: { architecture: 'x86_64', instanceType: 'c7i.metal-24xl' },
  },
];

/** The concrete path of a schema field in a document ("[]" becomes an index), creating the objects on the way. */
function apply(document: Record<string, unknown>, mutation: Mutation): readonly PropertyKey[] | undefined {
  const path = mutation.field.path.map((segment) => (segment === '[]' ? mutation.index : segment));
  let parent: unknown = document;
  for (const segment of path.slice(0, -1)) {
    const container = parent as Record<PropertyKey, unknown>;
    if (container[segment as string] === undefined && typeof segment === 'string') container[segment] = {};
    parent = container[segment as string];
    if (typeof parent !== 'object' || parent === null) return undefined;
  }
  const last = path[path.length - 1];
  if (Array.isArray(parent) && typeof last === 'number' && last > parent.length) return undefined;
  const container = parent as Record<PropertyKey, unknown>;
  if (mutation.kind === 'set') container[last as string] = mutation.value;
  else if (mutation.kind === 'delete') delete container[last as string];
  else {
    const target = container[last as string];
    if (typeof target !== 'object' || target === null || Array.isArray(target)) return undefined;
    Object.defineProperty(target, mutation.key, {
      value: mutation.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return [...path, mutation.key];
  }
  return path;
}

export function badConfig(): fc.Arbitrary<BadConfig> {
  const fields = schemaFields();
  const objects = fields.filter((field) => field.kinds?.has('object'));
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('set' as const),
        field: fc.constantFrom(...fields),
        index: fc.nat(3),
        value: anyValue(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('delete' as const),
        field: fc.constantFrom(...fields),
        index: fc.nat(3),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('unknown key' as const),
        field: fc.constantFrom(...objects),
        index: fc.nat(3),
        key: fc.oneof(oddString, plantedSecret),
        value: anyValue(1),
      }),
    },
  );
  return fc
    .tuple(fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([base, changes]) => {
      const raw = clone(base);
      const mutations = changes.flatMap((change) => {
        const path = apply(raw, change);
        return path ? [{ mutation: change, path }] : [];
      });
      return { raw, mutations };
    });
}

/** The value at a path of a document, or undefined. */
export function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let value = document;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment as string];
  }
  return value;
}
