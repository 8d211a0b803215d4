import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

/**
 * Reads the text of a config file as JSON with comments (JSONC, what VS Code's settings use):
 * `//` and `/* *\/` comments and trailing commas are allowed, so a documented example copies as it
 * is. What plain JSON readers do silently is a problem here, naming where it is:
 *  - a key given twice in one object ("the last one wins": a repeated `retentionHours` once
 *    silently turned 72 into 0, which keeps no video);
 *  - a number JavaScript cannot hold as written (`1e400` becomes Infinity, `1e-400` becomes 0);
 * and a key named `__proto__` is an ordinary (unknown) key, not the object's prototype.
 */

/** A problem of the text; `path` is the field it is about, when it is about one. */
export interface TextProblem {
  readonly path?: readonly PropertyKey[];
  readonly message: string;
}

export interface ConfigText {
  /** The parsed value; undefined when the text is not JSON at all. */
  readonly value: unknown;
  readonly problems: readonly TextProblem[];
}

const AT_LEAST =
  'a config lists at least its cameras, e.g. { "cameras": [{ "name": "front-door" }] } (docs/config.md)';

export function parseConfigText(text: string): ConfigText {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (tree === undefined && withoutComments(text).trim() === '') {
    const what = text.trim() === '' ? 'is empty' : 'holds only comments';
    return { value: undefined, problems: [{ message: `${what}: ${AT_LEAST}` }] };
  }
  if (errors.length > 0 || tree === undefined) {
    // The first error is the one to fix: the ones after it are usually its echoes.
    const first = errors[0];
    const where = first ? ` at ${lineAndColumn(text, first.offset)}` : '';
    const what = first ? `: ${syntaxErrorSentence(first)}` : '';
    return { value: undefined, problems: [{ message: `is not valid JSON${where}${what}` }] };
  }
  const problems: TextProblem[] = [];
  return { value: valueOf(tree, [], text, problems), problems };
}

function valueOf(node: Node, path: PropertyKey[], text: string, problems: TextProblem[]): unknown {
  if (node.type === 'array') {
    return (node.children ?? []).map((child, i) => valueOf(child, [...path, i], text, problems));
  }
  if (node.type === 'number') {
    const problem = numberProblem(text.slice(node.offset, node.offset + node.length), node.value as number);
    if (problem) problems.push({ path, message: problem });
    return node.value;
  }
  if (node.type !== 'object') return node.value;
  const fields: Record<string, unknown> = {};
  const seen = new Map<string, Node>();
  for (const property of node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    const key = String(keyNode?.value);
    const earlier = seen.get(key);
    if (earlier) {
      problems.push({
        path: [...path, key],
        message:
          `given twice (${lineAndColumn(text, earlier.offset)} and ${lineAndColumn(text, keyNode.offset)}); ` +
          'JSON would keep only the last one: remove one of them',
      });
    } else {
      seen.set(key, keyNode);
    }
    const value = valueNode ? valueOf(valueNode, [...path, key], text, problems) : undefined;
    // defineProperty, not assignment: `"__proto__": {...}` must stay a key (and be reported as unknown).
    Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

/** Why a number literal does not mean what it says once read, or undefined when it does. */
function numberProblem(literal: string, value: number): string | undefined {
  const shown = literal.length <= 24 ? literal : `a number of ${literal.length} characters`;
  if (!Number.isFinite(value)) {
    return `${shown} is too large a number to hold (the largest is about 1.8e308): write the value you mean`;
  }
  const mantissa = literal.split(/e/i)[0];
  if (value === 0 && /[1-9]/.test(mantissa)) {
    return `${shown} is too small a number to tell from 0: write 0, or the value you mean`;
  }
  return undefined;
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function syntaxErrorSentence(error: ParseError): string {
  // "CloseBraceExpected" -> "close brace expected"
  return printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
