import { show } from './shown-value';

/**
 * Camera RTSP URLs: the one place that builds a URL with credentials in it. Every line the CLI prints
 * shows URLs through `show` or `redactRtspUrl` (lib/shown-value.ts), which hide the password again.
 */

const RTSP_URL = /^(rtsps?):\/\/([^/?#\s]+)([/?#]\S*)?$/i;

export class RtspUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtspUrlError';
  }
}

/** Checks a camera URL as given on the command line: rtsp:// or rtsps://, a host, and no credentials. */
export function checkCameraUrl(url: string): void {
  // Any "@", not only one in the host part: a password with a "/" in it ends the host part early
  // (rtsp://admin:pa/ss@host/...), and would be stored in front of the real credentials.
  if (url.includes('@')) {
    throw new RtspUrlError(
      `--url ${show(url)}: leave the user and password out of the URL (they would stay in your shell history); ` +
        'give the user with --user and type the password at the prompt (a path with an "@" in it: write it as %40)',
    );
  }
  const match = RTSP_URL.exec(url);
  if (!match) {
    throw new RtspUrlError(
      `--url ${show(url)}: must look like rtsp://host:554/path (rtsp:// or rtsps://, then a host, no spaces)`,
    );
  }
  const port = /:(\d*)$/.exec(match[2].replace(/^\[[^\]]*\]/, ''));
  if (port && (port[1] === '' || Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    throw new RtspUrlError(`--url ${show(url)}: the port must be a number from 1 to 65535`);
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
