import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

/**
 * Reads the text of a config file as JSON with comments (JSONC, what VS Code's settings use):
 * `//` and `/* *\/` comments and trailing commas are allowed, so a documented example copies as it
 * is. A key given twice in one object is a problem, not "the last one wins": a repeated
 * `retentionHours` once silently turned 72 into 0, which keeps no video.
 */

export interface ConfigText {
  /** The parsed value; undefined when the text is not JSON at all. */
  readonly value: unknown;
  /** Syntax errors and repeated keys, each a sentence naming where it is. */
  readonly problems: readonly string[];
}

export function parseConfigText(text: string): ConfigText {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || tree === undefined) {
    // The first error is the one to fix: the ones after it are usually its echoes.
    const first = errors[0];
    const where = first ? ` at ${lineAndColumn(text, first.offset)}` : '';
    const what = first ? `: ${syntaxErrorSentence(first)}` : ': the file is empty';
    return { value: undefined, problems: [`is not valid JSON${where}${what}`] };
  }
  return { value: getNodeValue(tree), problems: repeatedKeys(tree, '', text) };
}

function repeatedKeys(node: Node, field: string, text: string): string[] {
  if (node.type === 'array') {
    return (node.children ?? []).flatMap((child, i) => repeatedKeys(child, `${field}[${i}]`, text));
  }
  if (node.type !== 'object') return [];
  const problems: string[] = [];
  const seen = new Map<string, Node>();
  for (const property of node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    const key = String(keyNode?.value);
    const path = field === '' ? key : `${field}.${key}`;
    const earlier = seen.get(key);
    if (earlier) {
      problems.push(
        `${path}: given twice (${lineAndColumn(text, earlier.offset)} and ${lineAndColumn(text, keyNode.offset)}); ` +
          'JSON would keep only the last one: remove one of them',
      );
    } else {
      seen.set(key, keyNode);
    }
    if (valueNode) problems.push(...repeatedKeys(valueNode, path, text));
  }
  return problems;
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
