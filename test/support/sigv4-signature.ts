import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';

/** The signer's hash interface (SHA-256, or HMAC-SHA-256 with a secret) over Node's crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data);
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

/** What a SigV4 check found wrong, as the AWS error code a service answers with. */
export type SignatureProblem = 'MissingAuthenticationToken' | 'UnknownAccessKey' | 'SignatureDoesNotMatch';

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

/**
 * Checks a request's SigV4 signature as AWS does: recomputes it with the known secret over the
 * headers the request says it signed, its path, query and body (the SDK's own signer, not a copy).
 */
export async function checkSignature(
  request: IncomingMessage,
  body: string,
  known: { accessKeyId: string; secretAccessKey: string },
): Promise<SignatureProblem | undefined> {
  const match = AUTHORIZATION.exec(String(request.headers.authorization ?? ''));
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!match || !/^\d{8}T\d{6}Z$/.test(amzDate)) return 'MissingAuthenticationToken';
  const [, accessKeyId, , region, service, signedHeaders, signature] = match;
  if (accessKeyId !== known.accessKeyId) return 'UnknownAccessKey';

  const url = new URL(request.url ?? '/', 'http://stand-in');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) headers[name] = String(request.headers[name] ?? '');
  // applyChecksum off: the signer must not add a payload header the client did not sign.
  const signer = new SignatureV4({
    credentials: known,
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: 'stand-in',
      path: url.pathname,
      query,
      headers,
      body,
    },
    {
      signingDate: new Date(
        amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
      ),
      signingRegion: region,
      signingService: service,
    },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  return expected === signature ? undefined : 'SignatureDoesNotMatch';
}
