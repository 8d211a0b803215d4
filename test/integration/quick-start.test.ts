import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ACCOUNT,
  KNOWN_ACCESS_KEY,
  KNOWN_SECRET_KEY,
  OPERATOR_KEYS,
  startAwsStandIn,
  startSilentEndpoint,
  type AwsStandIn,
} from '../support/cli-aws-stand-ins';
import { AwsStandIn as PythonStandIn, AwsStandInState } from '../support/aws-stand-ins';
import { KvsApiStandIn } from '../support/kvs-api-stand-in';
import { putMedia, recordVideo } from '../support/recorded-video';
import { validateGatewayConfig } from '../../lib/config';
import { parseConfigText } from '../../lib/config-text';
import { synthesizedTemplates } from '../support/cloud-assembly';
import { DeployedApp } from '../support/deployed-app';
import { buildPartialGatewayApp } from '../support/gateway-app';
import { operatorPolicy, videoCommandActions } from '../support/operator-policy';
import { describeFindings, PermissionCheck } from '../support/permission-check';
import { installCli, runInstalledCli, type CliRun, type InstalledCli } from '../support/installed-cli';

/**
 * The README's quick start, walked as a newcomer walks it, for every step that needs no AWS
 * account: its config example written as it is, synthesized; then each `npx kvs-gateway` command it
 * shows, run through the installed command against the local stand-ins of SSM, STS, KVS and the
 * Price List API (the SDK's endpoint variables point there), with the account and region from an
 * AWS profile as step 2 sets up. Then the same commands against an endpoint that
 * accepts and never answers: each ends by itself with a sentence naming that endpoint.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const PASSWORD = 'quick-start:p@ss';
/** The runner's own limit; a command that needs it has hung (the test then fails on `signal`). */
const KILL_AFTER_MS = 120_000;

jest.setTimeout(600_000);

/** The README's code blocks of one language, in order, un-indented. */
function readmeBlocks(language: string): string[] {
  return [...README.matchAll(/^( *)```(\S*)\n([\s\S]*?)^ *```$/gm)]
    .filter((match) => match[2] === language)
    .map((match) => match[3].replace(new RegExp(`^${match[1]}`, 'gm'), ''));
}

/** The README's `npx kvs-gateway ...` commands, in order, as argument lists. */
function readmeCliCommands(): string[][] {
  return readmeBlocks('sh')
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('npx kvs-gateway '))
    .map((line) => line.split(/\s+/).slice(2));
}

let dir: string;
let cli: InstalledCli;
let aws: AwsStandIn;
let kvs: KvsApiStandIn;
let ssm: PythonStandIn;
/** The SSM stand-in's state: the parameters the commands wrote, the requests they made. */
let ssmState: AwsStandInState;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-quick-start-'));
  cli = installCli();
  aws = await startAwsStandIn();
  ssmState = new AwsStandInState(path.join(dir, 'ssm'));
  ssmState.setAccount(ACCOUNT);
  ssmState.acceptKeys(OPERATOR_KEYS);
  ssm = await PythonStandIn.start('ssm', ssmState);
  // No stream until the test deploys.
  kvs = await KvsApiStandIn.start({ region: 'us-east-1', account: ACCOUNT, mode: 'missing' });
  // Step 2: a profile with its region and keys, as "aws configure --profile my-profile" writes them.
  const profile = /export AWS_PROFILE=(\S+)/.exec(README)![1];
  fs.mkdirSync(path.join(dir, '.aws'));
  fs.writeFileSync(path.join(dir, '.aws', 'config'), `[profile ${profile}]\nregion = us-east-1\n`);
  fs.writeFileSync(
    path.join(dir, '.aws', 'credentials'),
    `[${profile}]\naws_access_key_id = ${KNOWN_ACCESS_KEY}\naws_secret_access_key = ${KNOWN_SECRET_KEY}\n`,
  );
  // Step 3: the config example exactly as the README shows it.
  fs.writeFileSync(path.join(dir, 'gateway.config.json'), readmeBlocks('jsonc')[0]);
});

afterAll(async () => {
  cli?.remove();
  await aws?.close();
  await kvs?.stop();
  await ssm?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function userEnv(endpoints: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_PROFILE: /export AWS_PROFILE=(\S+)/.exec(README)![1],
    AWS_EC2_METADATA_DISABLED: 'true',
    ...endpoints,
  };
}

const standIns = () => ({
  AWS_ENDPOINT_URL_SSM: ssm.url,
  AWS_ENDPOINT_URL_STS: aws.endpoint,
  AWS_ENDPOINT_URL_KINESIS_VIDEO: kvs.controlPlaneUri,
  AWS_ENDPOINT_URL_PRICING: aws.endpoint,
});

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runInstalledCli(cli, args, { cwd: dir, env, stdin: `${PASSWORD}\n`, killAfterMs: KILL_AFTER_MS });
}

function expectNoPassword(result: CliRun): void {
  expect(`${result.stdout}${result.stderr}`).not.toContain('p@ss');
}

/**
 * What the deployed gateway does for a camera: 3 s of its video uploaded with PutMedia, ending now (a live
 * view needs a fragment from the last 30 s), signed with the gateway's keys, not the operator's.
 */
async function filmedJustNow(stream: string, codec: 'h264' | 'h265'): Promise<void> {
  const file = path.join(dir, `${stream}.mkv`);
  if (!fs.existsSync(file)) await recordVideo(file, { seconds: 3, codec });
  expect(await putMedia(kvs, stream, file, new Date(Date.now() - 3000))).toBe(3);
}

/** The HLS session URL a command printed, after checking that the stand-in serves its playlist. */
async function liveSessionUrl(output: string): Promise<string> {
  const url = new RegExp(
    `${escape(kvs.controlPlaneUri)}/hls/v1/getHLSMasterPlaylist\\.m3u8\\?SessionToken=\\w+`,
  ).exec(output)?.[0];
  expect([url, output]).toEqual([expect.any(String), output]);
  const playlist = await fetch(url!);
  expect([playlist.status, await playlist.text()]).toEqual([200, expect.stringMatching(/^#EXTM3U/)]);
  return url!;
}

test("the README's config example synthesizes through npm run synth -- -c config=<file>, review passing", async () => {
  const config = path.join(dir, 'gateway.config.json');
  const { stdout } = await promisify(execFile)('npm', ['run', 'synth', '--', '-c', `config=${config}`], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const outdir = path.join(ROOT, 'cdk.out');

  expect(stdout).toContain('no unacknowledged finding');
  // The streams are in StreamStack's nested stacks (a stack holds 500 resources).
  const streams = synthesizedTemplates(outdir)
    .filter((template) => template.stackId === 'StreamStack')
    .flatMap((template) =>
      Object.values(
        template.template.Resources as Record<
          string,
          { Type: string; Properties: { Name: string; DataRetentionInHours: number } }
        >,
      ),
    )
    .filter((resource) => resource.Type === 'AWS::KinesisVideo::Stream')
    .map((resource) => [resource.Properties.Name, resource.Properties.DataRetentionInHours]);
  expect(streams).toEqual(
    expect.arrayContaining([
      ['front-door', 72],
      ['loading-dock', 24],
    ]),
  );
});

test('every kvs-gateway command of the quick start succeeds against the stand-ins, as the README says', async () => {
  const commands = readmeCliCommands();
  const env = userEnv(standIns());
  aws.products.set('AmazonEC2', [ec2Product('t4g.small', '0.0168000000')]);
  const results = new Map<string, CliRun>();
  for (const args of commands.filter((command) => command[0] !== 'view')) {
    const result = await run(args, env);
    results.set(args.join(' '), result);
    expect([args.join(' '), result.signal, result.exitCode, result.stderr]).toEqual([
      args.join(' '),
      null,
      0,
      '',
    ]);
    expectNoPassword(result);
  }
  const get = (prefix: string) => [...results].find(([args]) => args.startsWith(prefix))![1];

  expect(get('--version').stdout).toMatch(/^kvs-gateway \d+\.\d+\.\d+/);
  expect(ssmState.parameters()['/kvs-gateway/cameras/front-door']).toMatchObject({
    Type: 'SecureString',
    Value: 'rtsp://viewer:quick-start%3Ap%40ss@192.0.2.10:554/stream1',
  });
  expect(get('cameras list').stdout).toMatch(
    /^front-door\s+yes\s+yes\s+rtsp:\/\/viewer:\*\*\*\*@192\.0\.2\.10:554\/stream1$/m,
  );
  // Before the first deploy: everything OK but the streams, which do not exist yet.
  const doctor = get('doctor').stdout;
  expect(doctor).toMatch(/^OK\s+region\s+us-east-1 \(from profile "my-profile"\)$/m);
  expect(doctor).toMatch(new RegExp(`^OK\\s+credentials\\s+arn:aws:iam::${ACCOUNT}:user/newcomer`, 'm'));
  expect(doctor).toMatch(/^WARN\s+stream front-door\s+does not exist yet in us-east-1/m);
  expect(doctor).not.toMatch(/^FAIL/m);
  const cost = get('cost').stdout;
  expect(cost).toContain(
    'EC2 gateway (t4g.small, arm64), 2 camera(s) in 1 shard(s), one instance each, us-east-1:',
  );
  expect(cost).toContain('from the AWS Price List API (ec2PerHour)');
  expect(aws.requests).toEqual(expect.arrayContaining(['sts GetCallerIdentity', 'pricing GetProducts']));
});

test('after the deploy, view --out writes a working player page and doctor is all OK', async () => {
  const env = userEnv(standIns());
  await kvs.setMode('normal');
  await kvs.setStreamSettings({
    'front-door': { retentionHours: 72, mediaType: 'video/h264' },
    'loading-dock': { retentionHours: 24, mediaType: 'video/h265' },
  });
  await filmedJustNow('front-door', 'h264');

  const view = await run(['view', 'front-door', '--out', 'front-door.html'], env);
  const doctor = await run(['doctor'], env);

  expect([view.signal, view.exitCode, view.stderr]).toEqual([null, 0, '']);
  const url = await liveSessionUrl(view.stdout);
  expect((await kvs.state()).streams['front-door'].hlsSessions).toBe(1);
  const page = path.join(dir, 'front-door.html');
  expect(fs.statSync(page).mode & 0o777).toBe(0o600);
  const html = fs.readFileSync(page, 'utf8');
  expect(html).toContain(url);
  expect(html).toMatch(/Hls\.isSupported/);
  expect(html.length).toBeGreaterThan(100_000); // hls.js inlined: the page works offline
  expect(doctor.exitCode).toBe(0);
  expect(doctor.stdout).toMatch(/^OK\s+stream loading-dock\s+ACTIVE, keeps 24 h of video, video\/h265$/m);
});

test('the other commands of docs/cameras.md work through the installed command too', async () => {
  const env = userEnv(standIns());
  await filmedJustNow('loading-dock', 'h265');
  const url = await run(['view', 'loading-dock', '--expires', '2h'], env);
  const rotated = await run(
    [
      'cameras',
      'add',
      'loading-dock',
      '--url',
      'rtsp://192.0.2.11:554/stream1',
      '--user',
      'viewer',
      '--overwrite',
    ],
    env,
  );
  const removed = await run(['cameras', 'remove', 'loading-dock', '--yes'], env);
  const help = await run(['cameras', 'remove', '--help'], env);

  expect(url.exitCode).toBe(0);
  await liveSessionUrl(url.stdout);
  expect((await kvs.state()).streams['loading-dock'].hlsSessions).toBe(1);
  expect(url.stderr).toContain('H.265'); // the browser warning for an H.265 stream
  expect([rotated.exitCode, rotated.stdout]).toEqual([0, expect.stringContaining('Replaced the URL')]);
  expect([removed.exitCode, removed.stdout]).toEqual([
    0,
    expect.stringContaining('Removed /kvs-gateway/cameras/loading-dock'),
  ]);
  expect(removed.stderr).toContain('is still in the config');
  expect(ssmState.parameters()).not.toHaveProperty(['/kvs-gateway/cameras/loading-dock']);
  expect([help.exitCode, help.stdout]).toEqual([
    0,
    expect.stringContaining('Usage: kvs-gateway cameras remove'),
  ]);
  for (const result of [url, rotated, removed]) expectNoPassword(result);
});

test('keys AWS rejects fail doctor at the credentials, naming the profile', async () => {
  // Every service refuses a key it does not know (the others know the operator's and the gateway's only).
  await kvs.rejectKeys(['AKIAREVOKEDEXAMPLE00']);
  fs.writeFileSync(
    path.join(dir, '.aws', 'credentials'),
    fs
      .readFileSync(path.join(dir, '.aws', 'credentials'), 'utf8')
      .replace(KNOWN_ACCESS_KEY, 'AKIAREVOKEDEXAMPLE00'),
  );
  try {
    const doctor = await run(['doctor'], userEnv(standIns()));
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toMatch(
      /^FAIL\s+credentials\s+AWS did not accept your credentials \(profile "my-profile" \(AWS_PROFILE\)\) \(InvalidClientTokenId\)/m,
    );
  } finally {
    await kvs.rejectKeys([]);
    fs.writeFileSync(
      path.join(dir, '.aws', 'credentials'),
      fs
        .readFileSync(path.join(dir, '.aws', 'credentials'), 'utf8')
        .replace('AKIAREVOKEDEXAMPLE00', KNOWN_ACCESS_KEY),
    );
  }
});

test('every AWS request of the commands above is allowed by docs/operator-policy.json, which allows nothing more', async () => {
  // The operator's policy filled in for the README's config, deployed where the profile points.
  const config = validateGatewayConfig(parseConfigText(readmeBlocks('jsonc')[0]).value);
  const assembly = buildPartialGatewayApp(config).app.synth().directory;
  const deployment = new DeployedApp(assembly, { account: ACCOUNT, region: 'us-east-1' });
  const check = new PermissionCheck(
    deployment,
    new Map([[KNOWN_ACCESS_KEY, operatorPolicy(config, deployment)]]),
  );
  // The gateway's uploads are signed with its own keys: the operator's requests only.
  const records = [
    ...aws.requestRecords,
    ...ssmState.requestRecords(),
    ...(await kvs.requestRecords()),
  ].filter((record) => record.accessKeyId === KNOWN_ACCESS_KEY);
  const report = await check.judge(records);
  console.log(`quick start: ${records.length} requests, ${report.judged} authorizations judged`);
  expect(describeFindings(report.findings)).toEqual([]);
  // The video commands' statements are used by their own test (camera-status.test.ts and the others).
  const videoActions = videoCommandActions();
  expect(
    report.unused.filter((grant) => !videoActions.some((action) => grant.includes(`: ${action} on `))),
  ).toEqual([]);
});

describe('an endpoint that accepts and never answers', () => {
  let silent: { endpoint: string; close(): Promise<void> };
  beforeAll(async () => {
    silent = await startSilentEndpoint();
  });
  afterAll(() => silent?.close());

  test('every command ends by itself with a sentence naming the endpoint', async () => {
    const hang = (variable: string) => userEnv({ ...standIns(), [variable]: silent.endpoint });
    const [list, doctor, cost, view] = await Promise.all([
      run(['cameras', 'list'], hang('AWS_ENDPOINT_URL_SSM')),
      run(['doctor'], hang('AWS_ENDPOINT_URL_STS')),
      run(['cost'], hang('AWS_ENDPOINT_URL_PRICING')),
      run(['view', 'front-door', '--out', 'hang.html'], hang('AWS_ENDPOINT_URL_KINESIS_VIDEO')),
    ]);
    const noAnswer = `no answer from ${silent.endpoint} (timed out after 10000 ms) after 2 attempt(s)`;

    for (const [name, result] of Object.entries({ list, doctor, cost, view })) {
      console.log(
        `${name} against the silent endpoint: exit ${result.exitCode} after ${result.milliseconds} ms`,
      );
      expect([name, result.signal]).toEqual([name, null]);
    }
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toContain(`kvs-gateway cameras list: ${noAnswer}, during ssm:GetParametersByPath`);
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toMatch(
      new RegExp(`^FAIL\\s+credentials\\s+${escape(noAnswer)}, during sts:GetCallerIdentity`, 'm'),
    );
    // The estimate still comes, from the built-in table, and says why.
    expect(cost.exitCode).toBe(0);
    expect(cost.stdout).toContain(`not the AWS Price List API: ${noAnswer}, during pricing:GetProducts`);
    expect(view.exitCode).toBe(1);
    expect(view.stderr).toContain(`${noAnswer}, during kinesisvideo:DescribeStream`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function ec2Product(instanceType: string, usd: string): string {
  return JSON.stringify({
    product: {
      sku: 'QS1',
      productFamily: 'Compute Instance',
      attributes: {
        instanceType,
        regionCode: 'us-east-1',
        operatingSystem: 'Linux',
        tenancy: 'Shared',
        preInstalledSw: 'NA',
        capacitystatus: 'Used',
        licenseModel: 'No License required',
        usagetype: `USE1-BoxUsage:${instanceType}`,
      },
    },
    terms: {
      OnDemand: {
        'QS1.JRTCKXETXF': {
          priceDimensions: {
            'QS1.JRTCKXETXF.6YS6EN2CT7': {
              unit: 'Hrs',
              beginRange: '0',
              endRange: 'Inf',
              pricePerUnit: { USD: usd },
            },
          },
        },
      },
    },
  });
}
