/**
 * How an error message shows a value someone typed (a config value or key, a command-line argument):
 * the one place that echoes input. A URL's password becomes ****; control characters, bidirectional
 * overrides and lone surrogates are escaped, so that an echoed value can neither drive the terminal
 * nor disguise the message around it; a long string is cut; a list or an object is named, not
 * printed (it may hold anything, a password included).
 */

export const REDACTED_PASSWORD = '****';

/** Characters of a string shown; a longer string is cut and its length said. */
const MAX_SHOWN_CHARACTERS = 80;

/**
 * What a terminal would act on, or what would disguise the text around it: control characters (C0,
 * C1), bidirectional overrides, zero-width and line separators, lone surrogates.
 */
const UNSAFE_IN_TERMINAL =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function show(value: unknown): string {
  if (typeof value === 'string') return showString(value);
  if (typeof value === 'number') {
    return Number.isFinite(value) ? String(value) : 'a number too large to hold (over 1.8e308)';
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** A path or a name shown in a sentence as it is, but with a URL's password hidden and unsafe characters escaped. */
export function showUnquoted(text: string): string {
  return escapeUnsafe(redactRtspUrl(text));
}

function escapeUnsafe(text: string): string {
  return text.replace(
    UNSAFE_IN_TERMINAL,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function showString(text: string): string {
  const redacted = redactRtspUrl(text);
  const characters = [...redacted];
  const cut = characters.length > MAX_SHOWN_CHARACTERS;
  const shown = escapeUnsafe(
    JSON.stringify(cut ? characters.slice(0, MAX_SHOWN_CHARACTERS).join('') : redacted),
  );
  return cut ? `${shown.slice(0, -1)}…" (${characters.length} characters)` : shown;
}

/** A scheme and "//" (rtsp://, https://), wherever it is in a text; one "/" as in a path made of a URL. */
const SCHEME = /[a-z][a-z0-9+.-]*:\/\/?/i;

/**
 * Whether a text holds a URL with a user and password: a scheme, then, before the text's last "@", a
 * ":". A password may hold "/", "@" or spaces when it was never percent-encoded, so the userinfo is
 * taken to run to the last "@", as `redactRtspUrl` hides it.
 */
export function holdsUrlCredentials(text: string): boolean {
  return redactRtspUrl(text) !== text;
}

/**
 * Replaces the password of a URL in a text with `****`, keeping the user, host and path. Everything
 * from the scheme up to the last "@" counts as userinfo, so a password that was never
 * percent-encoded is hidden whole too.
 */
export function redactRtspUrl(text: string): string {
  const scheme = SCHEME.exec(text);
  if (!scheme) return text;
  const start = scheme.index + scheme[0].length;
  const at = text.lastIndexOf('@');
  if (at < start) return text;
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon > at) return text;
  return `${text.slice(0, colon + 1)}${REDACTED_PASSWORD}${text.slice(at)}`;
}
