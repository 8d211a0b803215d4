import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnElement } from 'aws-cdk-lib';
import { GatewayConfig } from '../../lib/config';
import { USERDATA_DIR } from '../../lib/ec2-stack';
import { DeployedApp, type DeployedRole, type DeploymentPlace } from './deployed-app';
import { buildPartialGatewayApp } from './gateway-app';

/**
 * The EC2 gateway's user-data exactly as the stack synthesizes it, with its CloudFormation
 * references resolved as CloudFormation would in one account and region (test/support/deployed-app.ts), and what the user-data
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
  /** The whole app as deployed there: the permission check judges the instance's requests against it. */
  readonly deployment: DeployedApp;
  /** Shard 1's instance role, whose credentials the instance's requests are signed with. */
  readonly instanceRole: DeployedRole;
}

export function synthesizeEc2UserData(config: GatewayConfig, place: DeploymentPlace): SynthesizedEc2UserData {
  // The EC2 gateway only: a box's cameras need not fit a Fargate task too.
  const gateway = buildPartialGatewayApp(config);
  if (!gateway.ec2Gateway) throw new Error(`the EC2 gateway is left out: ${JSON.stringify(gateway.leftOut)}`);
  const ec2Gateway = gateway.ec2Gateway;
  const assembly = gateway.app.synth();
  const deployment = new DeployedApp(assembly.directory, place);
  // The instance of shard 1: its group, launch template and camera list are in the shard's nested stack.
  const nestedStackId = ec2Gateway.resolve(
    (ec2Gateway.shards[0].nestedStackResource as CfnElement).logicalId,
  );
  const shard = deployment.stack(ec2Gateway.stackName).nested(nestedStackId);

  const [launchTemplate] = shard.logicalIdsOf('AWS::EC2::LaunchTemplate');
  const launchTemplateData = shard.resources[launchTemplate].Properties?.LaunchTemplateData as {
    UserData: { 'Fn::Base64': unknown };
  };
  const script = shard.resolve(launchTemplateData.UserData['Fn::Base64']);
  const settings = Object.fromEntries(
    [...script.matchAll(/^([A-Z0-9_]+)='([^']*)'$/gm)].map(([, name, value]) => [name, value]),
  );

  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(settings.KVS_GATEWAY_FILES_URL) ?? [];
  // CDK stages the folder into the cloud assembly as asset.<hash>, and uploads it zipped as <hash>.zip.
  const staged = path.join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
  const folder = fs.existsSync(staged) ? staged : USERDATA_DIR;

  const list = shard
    .logicalIdsOf('AWS::SSM::Parameter')
    .map((logicalId) => shard.resources[logicalId].Properties as { Name: unknown; Value: unknown })
    .find((p) => shard.resolve(p.Name) === settings.KVS_CAMERA_LIST_PARAMETER);
  if (!list) throw new Error(`no parameter ${settings.KVS_CAMERA_LIST_PARAMETER} in the template`);
  const [roleId] = shard.logicalIdsOf('AWS::IAM::Role');

  return {
    script,
    settings,
    asset: { bucket, key, folder },
    cameraList: { name: settings.KVS_CAMERA_LIST_PARAMETER, value: shard.resolve(list.Value) },
    deployment,
    instanceRole: deployment.roles().find((role) => role.stack === shard && role.logicalId === roleId)!,
  };
}
