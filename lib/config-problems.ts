import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { show } from './shown-value';

/**
 * Turns the schema library's issues into the config's problem sentences: each names its field the
 * way a reader writes it (`cameras[2].name`) and says what to do. The schema gives the sentences
 * that are particular to a field; this file gives the general ones and the "did you mean" hints.
 */

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/** The sentence for an issue that the field's schema left to the general wording. */
export function generalSentence(issue: RawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    switch (issue.expected) {
      case 'object':
        return 'must be an object';
      case 'array':
        return `must be a list, got ${show(issue.input)}`;
      case 'boolean':
        return `must be true or false, got ${show(issue.input)}`;
      case 'string':
        return `must be a string, got ${show(issue.input)}`;
      default:
        return `must be a ${issue.expected}, got ${show(issue.input)}`;
    }
  }
  if (issue.code === 'invalid_value') {
    return `${show(issue.input)} is not one of ${issue.values.map(show).join(', ')}`;
  }
  return undefined;
}

/** A key written as it is: the config's keys, and typos of them. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** A field as a reader writes it (`cameras[2].name`); a key that is not plain is quoted like a value. */
export function fieldName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'config';
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = String(segment);
      if (!PLAIN_KEY.test(key)) return `[${show(key)}]`;
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

/**
 * One sentence per problem. Unknown keys come first: a misspelt key is often the cause of the
 * problems after it ("nmae: unknown key" explains "name: is required"). Fields in `reported` already
 * have their sentence (a password in them, a number that cannot be read): the schema's is left out.
 */
export function problemSentences(
  issues: readonly Issue[],
  schema: z.ZodType,
  reported: ReadonlySet<string> = new Set(),
): string[] {
  const unknownKeys = issues.filter((issue) => issue.code === 'unrecognized_keys');
  const others = issues.filter(
    (issue) => issue.code !== 'unrecognized_keys' && !reported.has(fieldName(issue.path)),
  );
  // A set: one value can fail two checks with the same sentence (1e29 is neither a safe integer nor at most the maximum).
  const sentences = [
    ...unknownKeys.flatMap((issue) => {
      const allowed = objectKeysAt(schema, issue.path);
      return issue.keys
        .filter((key) => !reported.has(fieldName([...issue.path, key])))
        .map((key) => {
          const hint = nearEnough(key, allowed);
          return `${fieldName([...issue.path, key])}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`;
        });
    }),
    ...others.map((issue) => `${fieldName(issue.path)}: ${issue.message}`),
  ];
  return [...new Set(sentences)];
}

/** The allowed key nearest to a typo, when it is near enough to be a useful hint. */
function nearEnough(key: string, allowed: readonly string[]): string | undefined {
  if (allowed.length === 0) return undefined;
  const byLowerCase = new Map(allowed.map((name) => [name.toLowerCase(), name]));
  const candidate = byLowerCase.get(closest(key.toLowerCase(), [...byLowerCase.keys()]))!;
  const edits = distance(key.toLowerCase(), candidate.toLowerCase());
  return edits <= Math.max(2, Math.floor(candidate.length / 3)) ? candidate : undefined;
}

/** The parts of a schema definition the key lookup walks through. */
interface WalkableDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly options?: readonly z.ZodType[];
}

/** The keys of the object schema at `path` (through lists, defaults, optionals and transforms). */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: WalkableDef | undefined = unwrap(schema);
  for (const segment of path) {
    const next: z.ZodType | undefined =
      node?.type === 'array' ? node.element : node?.shape?.[String(segment)];
    node = next ? unwrap(next) : undefined;
  }
  return node?.shape ? Object.keys(node.shape) : [];
}

function unwrap(schema: z.ZodType): WalkableDef {
  let def = schema.def as WalkableDef;
  for (;;) {
    // A union's keys are those of its object option ("always" or a schedule).
    const inner =
      def.type === 'pipe'
        ? def.in
        : def.type === 'union'
          ? def.options?.find((option) => unwrap(option).shape)
          : def.innerType;
    if (!inner) return def;
    def = inner.def as WalkableDef;
  }
}
