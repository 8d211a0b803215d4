import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { type AwsRequestRecord, readRequestRecords } from './permission-check';
import { SYSTEM_PYTHON } from './test-camera';

/**
 * Starts the project's AWS stand-ins (test/support/aws-stand-ins/*.py): small servers speaking the real
 * protocols (IMDSv2, S3 objects, SSM JSON 1.1, CloudFormation SignalResource, CloudWatch Logs, ECR's and ECR
 * Public's login tokens) that check SigV4 signatures with botocore. Tests read and write their state folder,
 * never their insides.
 */

export type AwsStandInService = 'imds' | 's3' | 'ssm' | 'cloudformation' | 'logs' | 'ecr';

const STAND_INS_DIR = path.join(__dirname, 'aws-stand-ins');

/** The instance role's keys the IMDS stand-in hands out and the others accept (made up, never real). */
export const STAND_IN_CREDENTIALS = {
  AccessKeyId: 'ASIASTANDINKEY000001',
  SecretAccessKey: 'standInSecret/Key+0123456789abcdefghijklmn',
  Token: 'StandInSessionToken/Qm9ndXMgdG9rZW4=+0123456789abcdefghijklmnopqrstuvwxyz',
};

export interface StoredParameter {
  readonly Type: 'String' | 'SecureString';
  readonly Value: string;
  readonly Version: number;
  /** The KMS key's ARN, when PutParameter named one (else the AWS managed aws/ssm). */
  readonly KeyId?: string;
  /** Epoch seconds, when PutParameter wrote it. */
  readonly LastModifiedDate?: number;
}

export interface LogEvent {
  readonly group: string;
  readonly stream: string;
  readonly timestamp: number;
  readonly message: string;
}

export interface StandInIam {
  /** Counts the deploys: the records carry it. */
  readonly generation: number;
  readonly deniedParameters: string[];
}

/** The state folder the stand-ins share: what AWS "holds" (parameters, objects) and what they recorded. */
export class AwsStandInState {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.write('credentials.json', STAND_IN_CREDENTIALS);
  }

  /** The account in the ARNs the stand-ins record (123456789012 unless set). */
  setAccount(account: string): void {
    this.write('account.json', { account });
  }

  /**
   * Plays IAM that does not allow these parameter names yet (a deploy's policy change not in force):
   * an SSM call naming one fails whole with AccessDeniedException. An empty list allows them again.
   */
  denyParameters(names: string[]): void {
    this.setIam({ ...this.iam(), deniedParameters: names });
  }

  /**
   * Which deploy's IAM policies are in force (every request is recorded with it, to be judged against
   * that deploy's templates) and the parameter names IAM does not allow yet, changed in one write.
   */
  setIam(iam: StandInIam): void {
    this.write('iam.json', iam);
  }

  iam(): StandInIam {
    return this.read<StandInIam>('iam.json') ?? { generation: 0, deniedParameters: [] };
  }

  /** Keys the stand-ins accept besides the role's (an operator's, for the requests the CLI makes). */
  acceptKeys(keys: { AccessKeyId: string; SecretAccessKey: string; Token?: string }[]): void {
    this.write('other-credentials.json', keys);
  }

  /** The log groups that exist (a stack creates its own): CloudWatch Logs takes events only into these. */
  setLogGroups(names: string[]): void {
    this.write('log-groups.json', names);
  }

  /** Every event the CloudWatch Logs stand-in took, in arrival order. */
  logEvents(): LogEvent[] {
    return this.records<LogEvent>('log-events.jsonl');
  }

  /** Every AWS request the stand-ins answered or refused, with what IAM authorizes for it. */
  requestRecords(): AwsRequestRecord[] {
    return readRequestRecords(path.join(this.dir, 'aws-requests.jsonl'));
  }

  setParameters(parameters: Record<string, StoredParameter>): void {
    this.write('ssm-parameters.json', parameters);
  }

  parameters(): Record<string, StoredParameter> {
    return this.read('ssm-parameters.json') ?? {};
  }

  /** Sets one parameter, its version one more than before (as PutParameter with overwrite does). */
  putParameter(name: string, value: string, type: StoredParameter['Type'] = 'SecureString'): void {
    const parameters = this.parameters();
    const Version = (parameters[name]?.Version ?? 0) + 1;
    this.setParameters({ ...parameters, [name]: { Type: type, Value: value, Version } });
  }

  /** The next `calls` SSM calls fail with ThrottlingException, a transient error the callers retry. */
  throttleSsm(calls: number): void {
    this.write('ssm-throttle.json', { remaining: calls });
  }

  deleteParameter(name: string): void {
    const parameters = this.parameters();
    delete parameters[name];
    this.setParameters(parameters);
  }

  setInstance(instance: { instanceId: string; roleName: string; region: string }): void {
    this.write('instance.json', instance);
  }

  putObject(bucket: string, key: string, body: Buffer): void {
    const file = path.join(this.dir, 's3', bucket, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
  }

  /** The lines a stand-in appended to one of its records (signals.jsonl, ssm-calls.jsonl, ...). */
  records<T = Record<string, unknown>>(name: string): T[] {
    const file = path.join(this.dir, name);
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as T);
  }

  /** kvssink's credential file line for the stand-in keys, valid for 6 hours. */
  credentialFileLine(): string {
    const expiration = new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const c = STAND_IN_CREDENTIALS;
    return `CREDENTIALS ${c.AccessKeyId} ${expiration} ${c.SecretAccessKey} ${c.Token}\n`;
  }

  private write(name: string, value: unknown): void {
    const temporary = path.join(this.dir, `.${name}.${process.pid}`);
    fs.writeFileSync(temporary, JSON.stringify(value));
    fs.renameSync(temporary, path.join(this.dir, name));
  }

  private read<T>(name: string): T | undefined {
    const file = path.join(this.dir, name);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;
  }
}

export interface AwsStandInOptions {
  readonly address?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Run inside this network namespace (`ip netns exec`), e.g. IMDS on 169.254.169.254 in a box's namespace. */
  readonly netns?: string;
}

export class AwsStandIn {
  private stderr = '';

  private constructor(
    readonly service: AwsStandInService,
    private readonly process: ChildProcess,
    readonly address: string,
    readonly port: number,
  ) {
    process.stderr?.on(
      'data',
      (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)),
    );
  }

  static start(
    service: AwsStandInService,
    state: AwsStandInState,
    options: AwsStandInOptions = {},
  ): Promise<AwsStandIn> {
    const address = options.address ?? '127.0.0.1';
    const command = [SYSTEM_PYTHON, path.join(STAND_INS_DIR, `${service}.py`)];
    command.push('--address', address, '--port', String(options.port ?? 0), '--state', state.dir);
    const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, ...command] : command;
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${service} stand-in did not start: ${stderr}`)),
        20000,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${service} stand-in exited with ${code}: ${stderr}`));
      });
      readline.createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        const standIn = new AwsStandIn(service, child, address, (JSON.parse(line) as { port: number }).port);
        standIn.stderr = stderr;
        resolve(standIn);
      });
    });
  }

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  /** What the server logged (one line per request), for a failing test's message. */
  get log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}

export interface SsmStandIn {
  readonly standIn: AwsStandIn;
  readonly state: AwsStandInState;
}

/** One SSM stand-in for a test file (started before its tests, stopped after them). */
export function useSsmStandIn(): SsmStandIn {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-ssm-'));
  const shared = { state: new AwsStandInState(dir) } as { standIn: AwsStandIn; state: AwsStandInState };
  beforeAll(async () => {
    shared.standIn = await AwsStandIn.start('ssm', shared.state);
  });
  afterAll(async () => {
    await shared.standIn?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return shared;
}
