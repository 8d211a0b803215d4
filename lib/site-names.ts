/**
 * Every name a site's deployment claims in an account and region. Without a site the names are the
 * project's historic ones; with `"site": "plant-2"` each one carries the site, so that two configs
 * deploy side by side. Names a user spells out in the config (a camera's `streamName`, `parameterPrefix`)
 * are taken as written.
 */

/** The construct ids the user types (`cdk deploy Ec2GatewayStack`); the CloudFormation names add the site. */
export const STACK_IDS = {
  network: 'NetworkStack',
  streams: 'StreamStack',
  ec2Gateway: 'Ec2GatewayStack',
  fargateGateway: 'FargateGatewayStack',
} as const;

export type StackId = (typeof STACK_IDS)[keyof typeof STACK_IDS];

/**
 * Letters, digits and "-", starting with a letter (CloudFormation stack names). At most 32 characters: the
 * nested stacks' names (parent name, logical id, a random suffix) must stay within 128.
 */
export const SITE_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,31}$/;

/** The CloudFormation stack name of one of the site's stacks. */
export function siteStackName(site: string | undefined, stackId: StackId): string {
  return site ? `${site}-${stackId}` : stackId;
}

/**
 * The SSM path under which the site keeps its parameters. Sites live under `/kvs-gateway/sites/`, apart
 * from the site-less names, so that no site's path is ever inside another's (`GetParametersByPath`).
 */
export function siteParameterRoot(site: string | undefined): string {
  return site ? `/kvs-gateway/sites/${site}` : '/kvs-gateway';
}

/** Where each camera's RTSP URL is kept (a SecureString per camera) unless the config says otherwise. */
export function defaultParameterPrefix(site: string | undefined): string {
  return `${siteParameterRoot(site)}/cameras`;
}

/**
 * The one parameter both gateway stacks of a site create under the same name: CloudFormation refuses
 * to create it twice, so the second gateway's deployment fails before any of its cameras can stream.
 */
export function deployedGatewayParameterName(site: string | undefined): string {
  return `${siteParameterRoot(site)}/deployed-gateway`;
}

/**
 * A shard's camera list (lib/camera-list.ts): one per shard, so no list outgrows a parameter. An EC2
 * instance reconciles its cameras from it; a Fargate task takes its cameras' recording schedules from it.
 */
export function cameraListParameterName(
  site: string | undefined,
  shard: number,
  gateway: 'ec2' | 'fargate' = 'ec2',
): string {
  return `${siteParameterRoot(site)}/${gateway}-gateway/shard-${shard}/camera-list`;
}

/** A camera's KVS stream unless it names one: stream names are account-wide, so a site's carry the site. */
export function defaultStreamName(site: string | undefined, cameraName: string): string {
  return site ? `${site}-${cameraName}` : cameraName;
}
