/**
 * Camera RTSP URLs: the one place that builds a URL with credentials in it and the one place that
 * hides them again for display. Every line the CLI prints goes through `redactRtspUrl`.
 */

export const REDACTED_PASSWORD = '****';

const RTSP_URL = /^(rtsps?):\/\/([^/?#\s]+)([/?#]\S*)?$/i;

export class RtspUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtspUrlError';
  }
}

/** Checks a camera URL as given on the command line: rtsp:// or rtsps://, a host, and no credentials. */
export function checkCameraUrl(url: string): void {
  const match = RTSP_URL.exec(url);
  if (!match) {
    throw new RtspUrlError(
      `--url "${redactRtspUrl(url)}": must look like rtsp://host:554/path (rtsp:// or rtsps://, then a host)`,
    );
  }
  if (match[2].includes('@')) {
    throw new RtspUrlError(
      `--url "${redactRtspUrl(url)}": leave the user and password out of the URL (they would stay in your shell history); ` +
        'give the user with --user and type the password at the prompt',
    );
  }
  const port = /:(\d*)$/.exec(match[2].replace(/^\[[^\]]*\]/, ''));
  if (port && (port[1] === '' || Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    throw new RtspUrlError(`--url "${url}": the port must be a number from 1 to 65535`);
  }
}

export interface RtspUrlParts {
  /** A camera URL without credentials, e.g. rtsp://192.0.2.10:554/stream1. */
  readonly url: string;
  readonly user?: string;
  readonly password?: string;
}

/**
 * Puts the user and password into the URL's userinfo, percent-encoded (RFC 3986) so that `@ : / %`
 * and non-ASCII characters in a password survive: rtspsrc decodes them again.
 */
export function buildRtspUrl({ url, user, password }: RtspUrlParts): string {
  checkCameraUrl(url);
  if (user === undefined) {
    if (password !== undefined) throw new RtspUrlError('a password needs a user: give --user');
    return url;
  }
  if (user === '') throw new RtspUrlError('--user: must not be empty');
  const [, scheme, rest] = /^([^:]+):\/\/(.*)$/s.exec(url) as RegExpExecArray;
  const userinfo =
    password === undefined
      ? encodeURIComponent(user)
      : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `${scheme}://${userinfo}@${rest}`;
}

/**
 * Replaces the password in a URL with `****`, keeping the user, host and path. Everything up to the
 * last "@" counts as userinfo, so a password that was never percent-encoded is hidden whole too.
 */
export function redactRtspUrl(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url);
  if (!match) return url;
  const [, schemePart, rest] = match;
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return url;
  return `${schemePart}${userinfo.slice(0, colon)}:${REDACTED_PASSWORD}${rest.slice(at)}`;
}
