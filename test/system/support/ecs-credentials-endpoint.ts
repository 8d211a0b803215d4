import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** One set of credentials the stand-in handed out. */
export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly expiration: string;
}

/**
 * A stand-in of the ECS task credential endpoint (http://169.254.170.2 + the task's
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI): answers the relative URI of its task with fresh temporary
 * credentials, as the real endpoint's JSON, and anything else with 404 as ECS does. It listens on a free
 * port of the task network's host end; TaskNetwork sends the task's 169.254.170.2:80 there.
 */
export class EcsCredentialsEndpoint {
  readonly relativeUri = `/v2/credentials/${randomUUID()}`;
  readonly issued: IssuedCredentials[] = [];
  /** Secret parts of every answer: no container may log them. */
  readonly secrets: string[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(address: string, validitySeconds = 6 * 3600): Promise<EcsCredentialsEndpoint> {
    const server = http.createServer();
    const endpoint = new EcsCredentialsEndpoint(server);
    server.on('request', (request, response) => endpoint.answer(request, response, validitySeconds));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, resolve);
    });
    return endpoint;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse, validitySeconds: number) {
    if (request.method !== 'GET' || request.url !== this.relativeUri) {
      response.writeHead(404).end();
      return;
    }
    const credentials = {
      RoleArn: 'arn:aws:iam::111111111111:role/FargateGatewayStack-TaskRole',
      AccessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      SecretAccessKey: randomBytes(30).toString('base64'),
      Token: randomBytes(120).toString('base64'),
      Expiration: new Date(Date.now() + validitySeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    this.issued.push({ accessKeyId: credentials.AccessKeyId, expiration: credentials.Expiration });
    this.secrets.push(credentials.SecretAccessKey, credentials.Token);
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(credentials));
  }

  stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }
}
