import * as fs from 'node:fs';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { DeployedApp, DeployedRole, PolicyDocument, PolicyStatement } from './deployed-app';

/**
 * Judges the AWS requests the stand-ins answered against the IAM policies of the synthesized templates,
 * with a real policy evaluator (@cloud-copilot/iam-simulate): the identity policies of the role that
 * signed each request, and the KMS key policy when a key is used on its behalf. Nothing here knows which
 * requests the gateway makes: the stand-ins record them (one JSON line each, `AwsRequestRecord`), so a new
 * request is judged as soon as a test makes it.
 */

/** What IAM authorizes for one request: an action on a resource, with the request's condition keys. */
export interface Authorization {
  readonly action: string;
  /**
   * The resource's ARN. A KMS key used on the caller's behalf by a service may be named by what it
   * encrypts: `kms-key-of:<KVS stream ARN>` (the stream's key, from the template).
   */
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/** One request a stand-in answered (or refused as IAM would), as it appends it to its record file. */
export interface AwsRequestRecord {
  /** The access key id that signed it: the test says whose it is. */
  readonly accessKeyId: string;
  readonly service: string;
  readonly operation: string;
  readonly authorizations: readonly Authorization[];
  /** `denied` when the stand-in refused it with AccessDenied on the test's say-so (IAM not caught up yet). */
  readonly outcome?: 'answered' | 'denied';
  /** Which deploy's policies were in force (the box test deploys camera changes). */
  readonly generation?: number;
}

/** Who signs with a key: a role of the deployment, or a policy the project documents (the operator's). */
export type RequestPrincipal =
  | { readonly role: DeployedRole }
  | { readonly policy: { readonly name: string; readonly arn: string; readonly document: PolicyDocument } };

export interface PermissionFinding {
  readonly principal: string;
  readonly request: string;
  readonly action: string;
  readonly resource: string;
  /** What the evaluator decided, or why the request could not be judged. */
  readonly decision: string;
}

export interface PermissionReport {
  /** Requests whose outcome the policies contradict: answered but denied, or refused though wholly allowed. */
  readonly findings: PermissionFinding[];
  /** Every (principal, action, resource pattern) the policies allow and no request used, as text. */
  readonly unused: string[];
  /** How many authorizations were judged. */
  readonly judged: number;
}

/** Reads a stand-in's record file (one JSON object a line); none yet is an empty list. */
export function readRequestRecords(file: string): AwsRequestRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AwsRequestRecord);
}

/**
 * The key policy of `alias/aws/ssm`, the AWS managed key SSM encrypts SecureStrings with by default:
 * AWS writes it, it is the same in every account, and it lets every principal of the account use the
 * key through SSM (the KMS developer guide, "AWS managed keys": kms:ViaService and kms:CallerAccount).
 */
function awsManagedKeyPolicy(account: string, region: string, service: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': account,
            'kms:ViaService': `${service}.${region}.amazonaws.com`,
          },
        },
      },
    ],
  };
}

/**
 * The ARN the stand-ins give an AWS managed key (`aws/ssm`): a key ARN, as KMS authorizes against the
 * key and not its alias; a real one ends in the key's uuid.
 */
export function awsManagedKeyArn(account: string, region: string, alias: string): string {
  return `arn:aws:kms:${region}:${account}:key/aws-managed-${alias.replace('/', '-')}`;
}

interface Grant {
  readonly principal: string;
  readonly policy: string;
  readonly statement: PolicyStatement;
  readonly action: string;
  readonly resource: string;
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : [value].flat();
}

/** IAM's wildcard match (`*` any run, `?` one character), case-insensitive for actions. */
function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, ignoreCase ? 'i' : '').test(value);
}

export class PermissionCheck {
  private readonly keyPolicies: Map<string, PolicyDocument>;

  constructor(
    readonly deployment: DeployedApp,
    /** Whose each access key is. */
    private readonly principals: ReadonlyMap<string, RequestPrincipal>,
  ) {
    this.keyPolicies = deployment.keyPolicies();
    for (const principal of principals.values()) {
      if ('role' in principal && principal.role.unreadablePolicies.length) {
        throw new Error(
          `${this.principalName(principal)} has managed policies the check cannot read: ${principal.role.unreadablePolicies}`,
        );
      }
    }
  }

  async judge(records: readonly AwsRequestRecord[]): Promise<PermissionReport> {
    const findings: PermissionFinding[] = [];
    const used = new Set<string>();
    let judged = 0;
    for (const record of records) {
      const principal = this.principals.get(record.accessKeyId);
      const request = `${record.service} ${record.operation}`;
      if (!principal) {
        findings.push({
          principal: `access key ${record.accessKeyId}`,
          request,
          action: record.authorizations[0]?.action ?? '?',
          resource: record.authorizations[0]?.resource ?? '?',
          decision: 'signed with a key the test did not name a principal for',
        });
        continue;
      }
      // AWS answers a request only when it allows every authorization in it, and refuses the whole request
      // when it denies one (GetParameters and a name the role may not read).
      let deniedHere = 0;
      for (const authorization of record.authorizations) {
        judged++;
        const { decision, allowStatements } = await this.evaluate(principal, authorization);
        const allowed = decision === 'Allowed';
        if (!allowed) deniedHere++;
        if (!allowed && record.outcome !== 'denied') {
          findings.push({
            principal: this.principalName(principal),
            request,
            action: authorization.action,
            resource: this.resolveResource(authorization.resource),
            decision,
          });
        }
        if (!allowed) continue;
        for (const grant of this.grants(principal)) {
          if (!allowStatements.includes(JSON.stringify(grant.statement))) continue;
          if (!wildcardMatch(grant.action, authorization.action, true)) continue;
          if (!wildcardMatch(grant.resource, this.resolveResource(authorization.resource))) continue;
          used.add(this.grantKey(grant));
        }
      }
      if (record.outcome === 'denied' && deniedHere === 0) {
        findings.push({
          principal: this.principalName(principal),
          request,
          action: record.authorizations.map((a) => a.action).join(', '),
          resource: record.authorizations.map((a) => this.resolveResource(a.resource)).join(', '),
          decision: 'refused by the stand-in, but the policies allow all of it',
        });
      }
    }
    const unused = [...this.principals.values()]
      .filter((principal, index, all) => all.indexOf(principal) === index)
      .flatMap((principal) => this.grants(principal))
      .filter((grant) => !used.has(this.grantKey(grant)))
      .map((grant) => `${grant.principal}: ${grant.action} on ${grant.resource}`);
    return { findings, unused: [...new Set(unused)], judged };
  }

  /** Every (action, resource) an Allow statement of the principal's policies names. */
  private grants(principal: RequestPrincipal): Grant[] {
    const name = this.principalName(principal);
    const policies = 'role' in principal ? principal.role.policies : [principal.policy];
    return policies.flatMap((policy) =>
      policy.document.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) =>
        asList(statement.Action).flatMap((action) =>
          asList(statement.Resource).map((resource) => ({
            principal: name,
            policy: policy.name,
            statement,
            action,
            resource,
          })),
        ),
      ),
    );
  }

  private grantKey(grant: Grant): string {
    return `${grant.principal}|${grant.policy}|${grant.action}|${grant.resource}`;
  }

  private principalName(principal: RequestPrincipal): string {
    return 'role' in principal
      ? `role ${principal.role.stack.name}/${principal.role.logicalId}`
      : principal.policy.name;
  }

  /** `kms-key-of:<stream ARN>` becomes the stream's key ARN as the template sets it. */
  private resolveResource(resource: string): string {
    const stream = /^kms-key-of:(arn:aws:kinesisvideo:[^:]+:[^:]+:stream\/([^/]+)\/.*)$/.exec(resource);
    if (!stream) return resource;
    const found = this.deployment
      .resourcesOf('AWS::KinesisVideo::Stream')
      .find((s) => s.properties.Name === stream[2]);
    if (!found) throw new Error(`no stream ${stream[2]} in the deployment (${resource})`);
    return String(found.properties.KmsKeyId);
  }

  private keyPolicyFor(keyArn: string): PolicyDocument | undefined {
    const { account, region } = this.deployment.place;
    const managed = /^arn:aws:kms:[^:]+:[^:]+:key\/aws-managed-aws-([a-z]+)$/.exec(keyArn);
    if (managed) return awsManagedKeyPolicy(account, region, managed[1]);
    return this.keyPolicies.get(keyArn);
  }

  private async evaluate(
    principal: RequestPrincipal,
    authorization: Authorization,
  ): Promise<{ decision: string; allowStatements: string[] }> {
    const { account } = this.deployment.place;
    const resource = this.resolveResource(authorization.resource);
    const isKms = authorization.action.startsWith('kms:');
    const keyPolicy = isKms ? this.keyPolicyFor(resource) : undefined;
    if (isKms && !keyPolicy) {
      return {
        decision: `no key policy for ${resource}: the key is not in the deployment`,
        allowStatements: [],
      };
    }
    const caller =
      'role' in principal
        ? `arn:aws:sts::${account}:assumed-role/${principal.role.name}/stand-in-session`
        : principal.policy.arn;
    const policies = 'role' in principal ? principal.role.policies : [principal.policy];
    // The evaluator's validated run drops kms:EncryptionContext:* keys from the request (its list of
    // keys for the KMS actions has none), so a condition on them would be judged as if absent.
    if (/kms:EncryptionContext:/i.test(JSON.stringify([policies, keyPolicy]))) {
      return {
        decision: 'not evaluable: a policy conditions on kms:EncryptionContext, which the evaluator drops',
        allowStatements: [],
      };
    }
    const simulation: Simulation = {
      request: {
        principal: caller,
        action: authorization.action,
        resource: { resource, accountId: account },
        contextVariables: { ...(authorization.context ?? {}) },
      },
      identityPolicies: policies.map((policy) => ({ name: policy.name, policy: policy.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(keyPolicy ? { resourcePolicy: keyPolicy } : {}),
    };
    const result = await runSimulation(simulation, { simulationMode: 'Strict' });
    if (result.resultType === 'error') {
      return { decision: `not evaluable: ${JSON.stringify(result.errors)}`, allowStatements: [] };
    }
    if (result.resultType === 'wildcard' && resource === '*') {
      // An action whose resource types are all optional (cloudwatch:GetMetricData without datasets):
      // IAM authorizes the request on "*", which every one of the action's resource types must allow.
      const statements = result.results.flatMap((one) =>
        (one.analysis?.identityAnalysis?.allowStatements ?? []).map((statement) =>
          JSON.stringify(statement.statement),
        ),
      );
      return { decision: result.overallResult, allowStatements: statements };
    }
    if (result.resultType !== 'single') {
      return { decision: `not one resource: ${result.resultType}`, allowStatements: [] };
    }
    const analysis = result.result.analysis;
    // As JSON: the evaluator hands back its own copies of the statements.
    const allowStatements = (analysis?.identityAnalysis?.allowStatements ?? []).map((statement) =>
      JSON.stringify(statement.statement),
    );
    return { decision: analysis?.result ?? 'no analysis', allowStatements };
  }
}

/** One line per finding, for a failing test's message. */
export function describeFindings(findings: readonly PermissionFinding[]): string[] {
  return findings.map(
    (f) => `${f.principal}: ${f.request} needs ${f.action} on ${f.resource}: ${f.decision}`,
  );
}
