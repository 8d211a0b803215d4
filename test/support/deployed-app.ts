import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A synthesized cloud assembly as CloudFormation would deploy it in one account and region: every
 * stack (nested ones included, with their names and the parameters their parents pass), and any value
 * of any template resolved the way CloudFormation resolves it (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split, Fn::ImportValue, Fn::GetStackOutput, nested stack outputs). Physical names
 * CloudFormation would generate are `<logical id>-<stack name>`: made-up but stable, so every user of
 * this model (the box's user-data, the permission check) sees the same names.
 *
 * It reads the templates, not the CDK constructs: what is judged is what `cdk deploy` uploads.
 */

export interface DeploymentPlace {
  readonly account: string;
  readonly region: string;
}

type Json = Record<string, unknown>;
export type CfnValue = unknown;

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly Metadata?: Json;
  readonly DependsOn?: string | string[];
}

interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: CfnValue; Export?: { Name: CfnValue } }>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
}

export class DeployedStack {
  readonly arn: string;
  readonly children: DeployedStack[] = [];

  constructor(
    readonly app: DeployedApp,
    /** The stack's name as CloudFormation knows it (nested stacks: `<parent>-<logical id>-STANDIN`). */
    readonly name: string,
    /** The artifact id (top-level) or the template file name (nested). */
    readonly id: string,
    readonly template: CfnTemplate,
    readonly parent?: { readonly stack: DeployedStack; readonly logicalId: string },
  ) {
    const { region, account } = app.place;
    // The stack id the CloudFormation stand-in names stacks by (aws-stand-ins/cloudformation.py).
    this.arn = `arn:aws:cloudformation:${region}:${account}:stack/${name}/stand-in-stack-id`;
  }

  get resources(): Record<string, CfnResource> {
    return this.template.Resources ?? {};
  }

  /** The logical ids of the resources of a type. */
  logicalIdsOf(type: string): string[] {
    return Object.entries(this.resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId]) => logicalId);
  }

  resolve(value: CfnValue): string {
    const resolved = this.resolveAny(value);
    if (typeof resolved !== 'string') throw new Error(`${this.name}: ${JSON.stringify(value)} is a list`);
    return resolved;
  }

  /** Resolves a value that may be a list (a policy's Resource): always a list of strings. */
  resolveList(value: CfnValue): string[] {
    if (value === undefined) return [];
    const resolved = Array.isArray(value) ? value.map((v) => this.resolveAny(v)) : this.resolveAny(value);
    return [resolved].flat(2) as string[];
  }

  /** Resolves every intrinsic inside a JSON document (a policy): strings stay strings, lists stay lists. */
  resolveDocument<T>(document: CfnValue): T {
    const walk = (value: CfnValue): unknown => {
      if (Array.isArray(value)) return value.map(walk);
      if (value && typeof value === 'object') {
        const keys = Object.keys(value);
        if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')))
          return this.resolveAny(value);
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
      }
      return value;
    };
    return walk(document) as T;
  }

  /** What `Ref` of a resource or parameter gives. */
  ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.app.place.region,
      'AWS::AccountId': this.app.place.account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.name,
      'AWS::StackId': this.arn,
      'AWS::NoValue': '',
    };
    if (pseudo[name] !== undefined) return pseudo[name];
    const parameter = this.template.Parameters?.[name];
    if (parameter) return this.parameterValue(name, parameter.Default);
    const resource = this.resources[name];
    if (!resource)
      throw new Error(`${this.name}: Ref to ${name}, which is neither a resource nor a parameter`);
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        return props.RoleName ? this.resolve(props.RoleName) : this.physicalName(name, 64);
      case 'AWS::SSM::Parameter':
        return props.Name ? this.resolve(props.Name) : this.physicalName(name);
      case 'AWS::Logs::LogGroup':
        return props.LogGroupName ? this.resolve(props.LogGroupName) : this.physicalName(name, 512);
      case 'AWS::KMS::Key':
        return `standin-${this.physicalName(name)}`.toLowerCase();
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${this.app.place.region}:${this.app.place.account}:${this.physicalName(name)}`;
      case 'AWS::CloudFormation::Stack':
        return this.nested(name).arn;
      case 'AWS::KinesisVideo::Stream':
        return this.attribute(name, 'Arn');
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${this.app.place.account}:policy/${this.physicalName(name)}`;
      default:
        return this.physicalName(name);
    }
  }

  /** What `Fn::GetAtt` of a resource gives. */
  attribute(logicalId: string, attribute: string): string {
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`${this.name}: GetAtt of ${logicalId}, which is not a resource`);
    const { region, account } = this.app.place;
    if (resource.Type === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.')) {
      return this.nested(logicalId).output(attribute.slice('Outputs.'.length));
    }
    const key = `${resource.Type} ${attribute}`;
    switch (key) {
      case 'AWS::IAM::Role Arn':
        return `arn:aws:iam::${account}:role/${this.ref(logicalId)}`;
      case 'AWS::KMS::Key Arn':
        return `arn:aws:kms:${region}:${account}:key/${this.ref(logicalId)}`;
      case 'AWS::Logs::LogGroup Arn':
        return `arn:aws:logs:${region}:${account}:log-group:${this.ref(logicalId)}:*`;
      case 'AWS::SNS::Topic TopicArn':
        return this.ref(logicalId);
      case 'AWS::ECS::Cluster Arn':
        return `arn:aws:ecs:${region}:${account}:cluster/${this.ref(logicalId)}`;
      case 'AWS::KinesisVideo::Stream Arn': {
        const name = this.resolve(resource.Properties?.Name);
        return `arn:aws:kinesisvideo:${region}:${account}:stream/${name}/1700000000000`;
      }
      default:
        // A made-up value: an ARN built from it matches no policy, so a check that depends on it fails
        // rather than passing by accident (add the attribute above when that happens).
        return `${logicalId}.${attribute}-${this.name}`;
    }
  }

  /** A stack output's value. */
  output(name: string): string {
    const output = this.template.Outputs?.[name];
    if (!output) throw new Error(`${this.name} has no output ${name}`);
    return this.resolve(output.Value);
  }

  /** The nested stack a resource of this stack deploys. */
  nested(logicalId: string): DeployedStack {
    const child = this.children.find((stack) => stack.parent?.logicalId === logicalId);
    if (!child) throw new Error(`${this.name}: ${logicalId} is not a nested stack`);
    return child;
  }

  private parameterValue(name: string, fallback: unknown): string {
    if (this.parent) {
      const nestedResource = this.parent.stack.resources[this.parent.logicalId];
      const given = (nestedResource.Properties?.Parameters as Json | undefined)?.[name];
      if (given !== undefined) return this.parent.stack.resolve(given);
    }
    if (fallback !== undefined) return String(fallback);
    throw new Error(`${this.name}: parameter ${name} has no value`);
  }

  private physicalName(logicalId: string, limit = 128): string {
    return `${logicalId}-${this.name}`.slice(0, limit);
  }

  private resolveAny(value: CfnValue): string | string[] {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    const object = value as Json;
    if ('Ref' in object) return this.ref(object.Ref as string);
    if ('Fn::GetAtt' in object) {
      const target = object['Fn::GetAtt'];
      const [logicalId, attribute] = Array.isArray(target)
        ? (target as string[])
        : (target as string).split(/\.(.*)/);
      return this.attribute(logicalId, attribute);
    }
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, CfnValue[]];
      return this.resolveList(parts).join(separator);
    }
    if ('Fn::Select' in object) {
      const [index, list] = object['Fn::Select'] as [number | string, CfnValue];
      return this.resolveList(list)[Number(index)];
    }
    if ('Fn::Split' in object) {
      const [separator, text] = object['Fn::Split'] as [string, CfnValue];
      return this.resolve(text).split(separator);
    }
    if ('Fn::Sub' in object) {
      const sub = object['Fn::Sub'];
      const [text, variables] = Array.isArray(sub) ? (sub as [string, Json]) : [sub as string, {}];
      return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        if (name in variables) return this.resolve(variables[name]);
        const [logicalId, attribute] = name.split(/\.(.*)/);
        return attribute ? this.attribute(logicalId, attribute) : this.ref(name);
      });
    }
    if ('Fn::ImportValue' in object) return this.app.exported(this.resolve(object['Fn::ImportValue']));
    if ('Fn::GetStackOutput' in object) {
      const { StackName, OutputName } = object['Fn::GetStackOutput'] as Json;
      return this.app.stack(this.resolve(StackName)).output(this.resolve(OutputName));
    }
    throw new Error(`${this.name}: the stand-in deployment cannot resolve ${JSON.stringify(value)}`);
  }
}

/** An IAM role of the deployment, with every policy attached to it as CloudFormation creates them. */
export interface DeployedRole {
  readonly stack: DeployedStack;
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The role's identity policies, resolved: inline (Policies), AWS::IAM::Policy and AWS::IAM::ManagedPolicy. */
  readonly policies: { readonly name: string; readonly document: PolicyDocument }[];
  /** Managed policies attached by ARN that are not in the deployment (AWS managed ones): unknown here. */
  readonly unreadablePolicies: string[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly Resource?: string | string[];
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: PolicyStatement[];
}

export class DeployedApp {
  readonly stacks: DeployedStack[] = [];

  constructor(
    /** The cloud assembly folder (`cdk.out`, or a test's synth folder). */
    readonly assemblyDir: string,
    readonly place: DeploymentPlace,
  ) {
    const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; properties?: { templateFile: string; stackName?: string } }>;
    };
    for (const [id, artifact] of Object.entries(manifest.artifacts)) {
      if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties) continue;
      const stack = new DeployedStack(
        this,
        artifact.properties.stackName ?? id,
        id,
        this.readTemplate(artifact.properties.templateFile),
      );
      this.addWithNested(stack);
    }
  }

  /** A stack by its CloudFormation name (top-level stacks: the CDK stack name). */
  stack(name: string): DeployedStack {
    const stack = this.stacks.find((s) => s.name === name || s.id === name);
    if (!stack) throw new Error(`no stack ${name} in ${this.assemblyDir}`);
    return stack;
  }

  /** The value of an export (Fn::ImportValue). */
  exported(name: string): string {
    for (const stack of this.stacks) {
      for (const output of Object.values(stack.template.Outputs ?? {})) {
        if (output.Export && stack.resolve(output.Export.Name) === name) return stack.resolve(output.Value);
      }
    }
    throw new Error(`no stack exports ${name}`);
  }

  /** Every role of the deployment with its policies. */
  roles(): DeployedRole[] {
    const roles: DeployedRole[] = [];
    for (const stack of this.stacks) {
      for (const logicalId of stack.logicalIdsOf('AWS::IAM::Role')) {
        const name = stack.ref(logicalId);
        const properties = stack.resources[logicalId].Properties ?? {};
        const inline = (
          (properties.Policies as { PolicyName: CfnValue; PolicyDocument: CfnValue }[]) ?? []
        ).map((policy) => ({
          name: stack.resolve(policy.PolicyName),
          document: stack.resolveDocument<PolicyDocument>(policy.PolicyDocument),
        }));
        const managedArns = stack.resolveList(properties.ManagedPolicyArns);
        roles.push({
          unreadablePolicies: managedArns.filter((arn) => !this.managedPolicyByArn(arn)),
          stack,
          logicalId,
          name,
          arn: stack.attribute(logicalId, 'Arn'),
          policies: [
            ...inline,
            ...this.attachedPolicies(name),
            ...managedArns.flatMap((arn) => this.managedPolicyByArn(arn) ?? []),
          ],
        });
      }
    }
    return roles;
  }

  role(arnOrName: string): DeployedRole {
    const role = this.roles().find((r) => r.arn === arnOrName || r.name === arnOrName);
    if (!role) throw new Error(`no role ${arnOrName} in the deployment`);
    return role;
  }

  /** Key policies of the deployment's KMS keys, by key ARN. */
  keyPolicies(): Map<string, PolicyDocument> {
    const policies = new Map<string, PolicyDocument>();
    for (const stack of this.stacks) {
      for (const logicalId of stack.logicalIdsOf('AWS::KMS::Key')) {
        const keyPolicy = stack.resources[logicalId].Properties?.KeyPolicy;
        policies.set(stack.attribute(logicalId, 'Arn'), stack.resolveDocument<PolicyDocument>(keyPolicy));
      }
    }
    return policies;
  }

  /** The resolved properties of every resource of a type, with the stack that holds it. */
  resourcesOf(type: string): { stack: DeployedStack; logicalId: string; properties: Json }[] {
    return this.stacks.flatMap((stack) =>
      stack.logicalIdsOf(type).map((logicalId) => ({
        stack,
        logicalId,
        properties: stack.resolveDocument<Json>(stack.resources[logicalId].Properties ?? {}),
      })),
    );
  }

  private attachedPolicies(roleName: string): DeployedRole['policies'] {
    const attached: { name: string; document: PolicyDocument }[] = [];
    for (const stack of this.stacks) {
      for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
        for (const logicalId of stack.logicalIdsOf(type)) {
          const properties = stack.resources[logicalId].Properties ?? {};
          if (!stack.resolveList(properties.Roles).includes(roleName)) continue;
          attached.push({
            name: `${stack.name}/${logicalId}`,
            document: stack.resolveDocument<PolicyDocument>(properties.PolicyDocument),
          });
        }
      }
    }
    return attached;
  }

  private managedPolicyByArn(arn: string): { name: string; document: PolicyDocument } | undefined {
    for (const stack of this.stacks) {
      for (const logicalId of stack.logicalIdsOf('AWS::IAM::ManagedPolicy')) {
        if (stack.ref(logicalId) !== arn) continue;
        const properties = stack.resources[logicalId].Properties ?? {};
        return {
          name: `${stack.name}/${logicalId}`,
          document: stack.resolveDocument<PolicyDocument>(properties.PolicyDocument),
        };
      }
    }
    return undefined;
  }

  private readTemplate(file: string): CfnTemplate {
    return JSON.parse(fs.readFileSync(path.join(this.assemblyDir, file), 'utf8')) as CfnTemplate;
  }

  /** The template file of a nested stack: its asset metadata, else the file its TemplateURL's object is made from. */
  private nestedTemplateFile(stack: DeployedStack, logicalId: string): string {
    const resource = stack.resources[logicalId];
    const fromMetadata = resource.Metadata?.['aws:asset:path'] as string | undefined;
    if (fromMetadata) return fromMetadata;
    const objectKey = stack.resolve(resource.Properties?.TemplateURL).split('/').pop();
    for (const manifest of fs.readdirSync(this.assemblyDir).filter((f) => f.endsWith('.assets.json'))) {
      const assets = JSON.parse(fs.readFileSync(path.join(this.assemblyDir, manifest), 'utf8')) as {
        files?: Record<
          string,
          { source: { path: string }; destinations: Record<string, { objectKey: string }> }
        >;
      };
      for (const asset of Object.values(assets.files ?? {})) {
        if (Object.values(asset.destinations).some((d) => d.objectKey === objectKey))
          return asset.source.path;
      }
    }
    throw new Error(`${stack.name}/${logicalId}: no template file for the nested stack's ${objectKey}`);
  }

  private addWithNested(stack: DeployedStack): void {
    this.stacks.push(stack);
    for (const logicalId of stack.logicalIdsOf('AWS::CloudFormation::Stack')) {
      const file = this.nestedTemplateFile(stack, logicalId);
      const child = new DeployedStack(
        this,
        `${stack.name}-${logicalId}-STANDIN`,
        file,
        this.readTemplate(file),
        {
          stack,
          logicalId,
        },
      );
      stack.children.push(child);
      this.addWithNested(child);
    }
  }
}
