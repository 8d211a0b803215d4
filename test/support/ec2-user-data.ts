import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GatewayConfig } from '../../lib/config';
import { USERDATA_DIR } from '../../lib/ec2-stack';
import { CfnValue, DeployedApp, DeploymentPlace } from './deployed-app';
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

/**
 * The user-data of shard 1's instance, resolved by the model of the app as CloudFormation deploys it
 * (test/support/deployed-app.ts): its nested stack's parameters from the parent, physical names as
 * CloudFormation makes them (a bucket's in lower case).
 */
export function synthesizeEc2UserData(config: GatewayConfig, place: DeploymentPlace): SynthesizedEc2UserData {
  const gateway = buildGatewayApp(config);
  const assembly = gateway.app.synth();
  // The instance of shard 1: its group, launch template and camera list are in the shard's nested stack.
  const shard = gateway.ec2Gateway.shards[0];
  const nestedStackId = gateway.ec2Gateway.resolve((shard.nestedStackResource as CfnElement).logicalId);
  const deployed = new DeployedApp(assembly.directory, place)
    .stack(gateway.ec2Gateway.stackName)
    .nested(nestedStackId);
  const template = Template.fromStack(shard);

  const launchTemplates = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
  const userData = (launchTemplates[0].Properties as { LaunchTemplateData: { UserData: CfnValue } })
    .LaunchTemplateData.UserData as { 'Fn::Base64': CfnValue };
  const script = deployed.resolve(userData['Fn::Base64']);
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
  const list = parameters.find((p) => deployed.resolve(p.Name) === settings.KVS_CAMERA_LIST_PARAMETER);
  if (!list) throw new Error(`no parameter ${settings.KVS_CAMERA_LIST_PARAMETER} in the template`);

  return {
    script,
    settings,
    asset: { bucket, key, folder },
    cameraList: { name: settings.KVS_CAMERA_LIST_PARAMETER, value: deployed.resolve(list.Value) },
  };
}
