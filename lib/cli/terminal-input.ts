import { CliError } from './aws-errors';

/** What the CLI reads from: process.stdin, or a stand-in in tests. */
export interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * Reads a secret. On a terminal: a prompt with echo off (raw mode), Backspace edits, Ctrl-C cancels.
 * Otherwise (a pipe, for scripts): all of stdin, which must be one line; the trailing newline is dropped.
 */
export async function readSecret(
  input: InputStream,
  prompt: string,
  writePrompt: (text: string) => void,
): Promise<string> {
  return input.isTTY && input.setRawMode
    ? readSecretFromTerminal(input, prompt, writePrompt)
    : readSecretFromPipe(input);
}

function readSecretFromTerminal(
  input: InputStream,
  prompt: string,
  writePrompt: (text: string) => void,
): Promise<string> {
  // Echo goes off before the prompt appears, so that nothing typed after it is ever echoed.
  input.setRawMode?.(true);
  writePrompt(prompt);
  return new Promise((resolve, reject) => {
    let secret: string[] = [];
    const finish = (error?: CliError) => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
      writePrompt('\n');
      if (error) reject(error);
      else resolve(secret.join(''));
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === CTRL_C) return finish(new CliError('cancelled', 130));
        if (char === '\r' || char === '\n' || char === CTRL_D) return finish();
        if (BACKSPACE.has(char)) secret = secret.slice(0, -1);
        else if (char >= ' ') secret.push(char);
      }
    };
    // A terminal that closes before Enter (a dropped SSH session) stores nothing, and says so.
    const onEnd = () =>
      finish(new CliError('the terminal closed before the password was entered: nothing stored'));
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
}

async function readSecretFromPipe(input: InputStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (/[\r\n]/.test(text)) {
    throw new CliError('stdin has more than one line: pipe only the password, e.g. printf %s "$PASSWORD" |');
  }
  return text;
}

/** Asks a yes/no question on the terminal; anything but y or yes is no. */
export async function confirm(
  input: InputStream,
  question: string,
  writePrompt: (text: string) => void,
): Promise<boolean> {
  writePrompt(`${question} [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let line = '';
    const finish = (answer: string) => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.pause();
      resolve(answer);
    };
    const onData = (chunk: Buffer | string) => {
      line += chunk.toString();
      const end = line.search(/[\r\n]/);
      if (end >= 0) finish(line.slice(0, end));
    };
    const onEnd = () => finish(line);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
  return /^\s*y(es)?\s*$/i.test(answer);
}
