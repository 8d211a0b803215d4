import fc from 'fast-check';
import { fieldName } from '../lib/config-problems';
import {
  GatewayConfigError,
  gatewayConfigFromFile,
  validateGatewayConfig,
  type GatewayConfig,
} from '../lib/config';
import {
  badConfig,
  kindOfValue,
  MARKER,
  plantedSecret,
  schemaFields,
  valueAt,
  type BadConfig,
} from './support/config-arbitraries';

/**
 * The config loader under thousands of generated inputs: wrong types and nulls at every path of the
 * schema, huge and tiny numbers, odd Unicode, a password planted in any string or key, and the file's
 * text mangled (encodings, number literals, comments, repeated keys, cut short). Each input either
 * loads, or fails with one GatewayConfigError whose every problem names its field (or, for the file
 * itself, where in it), never anything else, and nothing printed holds the planted password or a
 * character that would drive the terminal.
 */

/** Inputs tried per property; printed, so that the figure can be quoted. */
const RUNS = { object: 3000, text: 1500 };
let tried = 0;
afterAll(() => console.log(`config properties: ${tried} generated inputs tried`));

/** A problem names a field (`cameras[2].name`, `["odd key"]`) or, for the file itself, says where. */
const FIELD =
  /^(config|[A-Za-z_$][\w$-]*|\["(?:[^"\\]|\\.)*"\])(\[\d+\]|\.[A-Za-z_$][\w$-]*|\["(?:[^"\\]|\\.)*"\])*: \S/;
const FILE_SENTENCES =
  /^(is not valid JSON at line \d+, column \d+: |is empty: |holds only comments: |is saved as UTF-|is not UTF-8: byte 0x)/;
/** What a terminal would act on: controls but the line break, C1, bidi overrides, separators, lone surrogates. */
const UNSAFE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type Outcome = { readonly config: GatewayConfig } | { readonly error: GatewayConfigError };

function outcomeOf(load: () => GatewayConfig): Outcome {
  tried++;
  try {
    return { config: load() };
  } catch (error) {
    if (error instanceof GatewayConfigError) return { error };
    throw error; // anything else is the failure this test is for
  }
}

/**
 * What is wrong with the outcome of any input, whatever it was (nothing, when all is well). Plain
 * checks collected into one assertion: thousands of jest matchers would take most of the run.
 */
function violations(outcome: Outcome): string[] {
  if ('config' in outcome) {
    return JSON.stringify(outcome.config).includes(MARKER)
      ? ['the accepted config holds the planted password']
      : [];
  }
  const { problems, message } = outcome.error;
  return [
    ...(problems.length === 0 ? ['no problem listed'] : []),
    ...(message.includes(MARKER) ? [`the planted password is in: ${message}`] : []),
    ...(UNSAFE.test(message) ? [`an unsafe character is in: ${JSON.stringify(message)}`] : []),
    ...(new Set(problems).size !== problems.length ? [`a problem is listed twice: ${message}`] : []),
    ...problems.flatMap((problem) => [
      ...(FIELD.test(problem) || FILE_SENTENCES.test(problem) ? [] : [`names no field: ${problem}`]),
      ...(problem.length >= 2000 ? [`is ${problem.length} characters long: ${problem.slice(0, 100)}`] : []),
    ]),
  ];
}

/** The fields whose value the mutations left as a wrong JSON kind: each must be named by a problem. */
function wronglyTyped({ raw, mutations }: BadConfig): string[] {
  return mutations.flatMap(({ mutation, path }) => {
    if (mutation.kind !== 'set' || !mutation.field.kinds) return [];
    if (valueAt(raw, path) !== mutation.value) return []; // replaced by a later mutation
    return mutation.field.kinds.has(kindOfValue(mutation.value)) ? [] : [fieldName(path)];
  });
}

/** Whether a problem is about a field: the field, something in it, or what holds it (a list given as an object). */
function isAbout(problem: string, field: string): boolean {
  const named = problem.slice(0, problem.indexOf(': '));
  const within = (inner: string, outer: string) =>
    inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return within(named, field) || within(field, named);
}

test('the generators cover every field of the schema', () => {
  const fields = schemaFields().map((field) => field.path.join('.'));
  expect(fields).toEqual(
    expect.arrayContaining(['cameras.[].name', 'ec2.instanceType', 'fargate.cpu', 'network.subnetIds.[]']),
  );
  expect(fields.length).toBeGreaterThanOrEqual(35);
});

test('any config document: it loads, or every problem names its field; a wrong type is never accepted', () => {
  fc.assert(
    fc.property(badConfig(), (bad) => {
      const outcome = outcomeOf(() => validateGatewayConfig(bad.raw, 'gateway.config.json'));
      const problems = 'error' in outcome ? outcome.error.problems : [];
      const wrong = [
        ...violations(outcome),
        ...wronglyTyped(bad)
          .filter((field) => !problems.some((problem) => isAbout(problem, field)))
          .map((field) => `${field} has a value of the wrong type, but no problem names it`),
        ...('config' in outcome && JSON.stringify(bad.raw).includes(MARKER)
          ? ['a planted password was accepted']
          : []),
      ];
      expect(wrong).toEqual([]);
    }),
    { numRuns: RUNS.object },
  );
});

/** Ways a file's text goes wrong as people save and edit it. */
const textChange = fc.oneof(
  fc.constant((text: string) => Buffer.from(text, 'utf8')),
  fc.constant((text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])),
  fc.constant((text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])),
  fc.constant((text: string) => Buffer.from(text, 'utf16le')),
  fc.constant((text: string) => Buffer.from(text, 'latin1')),
  fc.nat().map((n) => (text: string) => Buffer.from(text.slice(0, n % (text.length + 1)), 'utf8')),
  fc
    .constantFrom(
      '1e400',
      '-1e400',
      '1e-400',
      '0e0',
      '123456789012345678901234567890',
      '1.0000000000000001',
      '-0',
    )
    .map(
      (literal) => (text: string) =>
        Buffer.from(text.replace(/(?<=: )-?\d+(\.\d+)?(?=[,}\]])/, literal), 'utf8'),
    ),
  fc.constant((text: string) => Buffer.from(`// comment\n${text.replace(/,/, ', /* note */')}\n`, 'utf8')),
  fc.constant((text: string) => Buffer.from(text.replace(/^\{/, '{ "cameras": [], '), 'utf8')),
  fc
    .constantFrom(
      '',
      '   \n',
      '// only a comment',
      'null',
      '[]',
      '"text"',
      '{',
      '}',
      '{"cameras": [{"name": "a"}]}}',
    )
    .map((whole) => () => Buffer.from(whole, 'utf8')),
);

test('any config file: encodings, number literals, comments, repeated keys, text cut short', () => {
  fc.assert(
    fc.property(badConfig(), textChange, (bad, change) => {
      const bytes = change(JSON.stringify(bad.raw, null, 1));
      expect(violations(outcomeOf(() => gatewayConfigFromFile(bytes, 'gateway.config.json')))).toEqual([]);
    }),
    { numRuns: RUNS.text },
  );
});

test('a planted password in any string field of a valid config is refused, and never repeated', () => {
  const strings = schemaFields().filter((field) => field.kinds?.has('string'));
  fc.assert(
    fc.property(fc.constantFrom(...strings), plantedSecret, (field, secret) => {
      const raw: Record<string, unknown> = { cameras: [{ name: 'front-door' }] };
      const path = field.path.map((segment) => (segment === '[]' ? 0 : segment));
      let parent = raw as Record<PropertyKey, unknown>;
      path.slice(0, -1).forEach((key, i) => {
        parent[key] ??= typeof path[i + 1] === 'number' ? [] : {};
        parent = parent[key] as Record<PropertyKey, unknown>;
      });
      parent[path[path.length - 1]] = secret;
      const outcome = outcomeOf(() => validateGatewayConfig(raw));
      expect(['error' in outcome, ...violations(outcome)]).toEqual([true]);
    }),
    { numRuns: 300 },
  );
});
