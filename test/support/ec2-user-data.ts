import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GatewayConfig } from '../../lib/config';
import { USERDATA_DIR } from '../../lib/ec2-stack';
import { buildGatewayApp } from './gateway-app';

/**
 * The EC2 gateway's user-data exactly as the stack synthesizes it, with its CloudFormation
 * references resolved as CloudFormation would in one account and region, and what the user-data
 * points at: the gateway-files asset (to serve from an S3 stand-in) and the camera-list parameter (to
 * serve from an SSM stand-in). Read from the synthesized template, not rebuilt, so a change to the
 * stack (a new setting, another layout of the launch templates) reaches the box test by itself.
 */
export interface SynthesizedEc2UserData {
  /** The user-data script, `#!/bin/bash` first, as EC2 hands it to cloud-init. */
  readonly script: string;
  /** The shell settings at its top (`NAME='value'`), resolved. */
  readonly settings: Record<string, string>;
  /** The gateway-files asset: where the user-data looks for it, and the folder CDK zips into it. */
  readonly asset: { readonly bucket: string; readonly key: string; readonly folder: string };
  /** The camera-list parameter the stack writes, as SSM holds it. */
  readonly cameraList: { readonly name: string; readonly value: string };
}

export interface DeploymentPlace {
  readonly account: string;
  readonly region: string;
}

type CfnValue = string | number | { [key: string]: unknown } | CfnValue[];

export function synthesizeEc2UserData(config: GatewayConfig, place: DeploymentPlace): SynthesizedEc2UserData {
  const gateway = buildGatewayApp(config);
  const assembly = gateway.app.synth();
  // The instance of shard 1: its group, launch template and camera list are in the shard's nested
  // stack, whose name CloudFormation makes from the parent's, the nested stack's logical id and a suffix.
  const shard = gateway.ec2Gateway.shards[0];
  const template = Template.fromStack(shard);
  const nestedStackId = gateway.ec2Gateway.resolve((shard.nestedStackResource as CfnElement).logicalId);
  const resolve = resolver(`${gateway.ec2Gateway.stackName}-${nestedStackId}-BOX`, place);

  const launchTemplates = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
  const userData = (launchTemplates[0].Properties as { LaunchTemplateData: { UserData: CfnValue } })
    .LaunchTemplateData.UserData as { 'Fn::Base64': CfnValue };
  const script = resolve(userData['Fn::Base64']);
  const settings = Object.fromEntries(
    [...script.matchAll(/^([A-Z0-9_]+)='([^']*)'$/gm)].map(([, name, value]) => [name, value]),
  );

  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(settings.KVS_GATEWAY_FILES_URL) ?? [];
  // CDK stages the folder into the cloud assembly as asset.<hash>, and uploads it zipped as <hash>.zip.
  const staged = path.join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
  const folder = fs.existsSync(staged) ? staged : USERDATA_DIR;

  const parameters = Object.values(template.findResources('AWS::SSM::Parameter')).map(
    (resource) => resource.Properties as { Name: CfnValue; Value: CfnValue },
  );
  const list = parameters.find((p) => resolve(p.Name) === settings.KVS_CAMERA_LIST_PARAMETER);
  if (!list) throw new Error(`no parameter ${settings.KVS_CAMERA_LIST_PARAMETER} in the template`);

  return {
    script,
    settings,
    asset: { bucket, key, folder },
    cameraList: { name: settings.KVS_CAMERA_LIST_PARAMETER, value: resolve(list.Value) },
  };
}

/** Resolves Ref, Fn::Sub and Fn::Join; a resource's Ref becomes "<logical id>-<stack>" (a physical name). */
function resolver(stackName: string, place: DeploymentPlace): (value: CfnValue) => string {
  const pseudo: Record<string, string> = {
    'AWS::Region': place.region,
    'AWS::AccountId': place.account,
    'AWS::StackName': stackName,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackId': `arn:aws:cloudformation:${place.region}:${place.account}:stack/${stackName}/box`,
  };
  const ref = (name: string) => pseudo[name] ?? `${name}-${stackName}`;
  const resolve = (value: CfnValue): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    if (Array.isArray(value)) throw new Error(`unexpected list ${JSON.stringify(value)}`);
    if ('Ref' in value) return ref(value.Ref as string);
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, CfnValue[]];
      return parts.map(resolve).join(separator);
    }
    if ('Fn::Sub' in value) {
      return (value['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => ref(name));
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  };
  return resolve;
}
