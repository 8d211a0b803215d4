import * as fs from 'node:fs';
import * as path from 'node:path';
import { PricingClient } from '@aws-sdk/client-pricing';
import { version as ec2ModelVersion } from '@aws-sdk/client-ec2/package.json';
import { CliError } from '../lib/cli/aws-errors';
import { ec2InstanceTypesFromModel } from '../lib/cli/ec2-instance-model';
import { ec2InstanceTypesFromPriceList } from '../lib/cli/price-list';
import type { Ec2InstanceFamily, Ec2InstanceTypeList } from '../lib/ec2-instance-types';
import { KVS_REGIONS } from '../lib/prices';

/**
 * npm run ec2-instance-types: rewrites lib/ec2-instance-types.json, the instance types the config
 * accepts, from the AWS Price List (pricing:GetProducts, with your AWS credentials: AWS_PROFILE or the
 * default chain), in every region Kinesis Video Streams serves. Commit the result.
 * npm run ec2-instance-types:offline: from the EC2 API's model in @aws-sdk/client-ec2 instead, with
 * no AWS call (every type the API knows; the architecture from AWS's naming).
 */
async function main(): Promise<void> {
  const offline = process.argv.includes('--offline');
  let families: Record<string, Ec2InstanceFamily>;
  let source: string;
  if (offline) {
    families = ec2InstanceTypesFromModel();
    source = `The InstanceType enum of the EC2 API's model (@aws-sdk/client-ec2 ${ec2ModelVersion}), macOS families left out; each family's architecture from AWS's naming (a "g" after the generation, and a1: Graviton, arm64). "npm run ec2-instance-types" reads the on-demand Linux types of the Price List instead, in every Kinesis Video Streams region.`;
  } else {
    const pricing = new PricingClient({ region: 'us-east-1' });
    families = await ec2InstanceTypesFromPriceList(pricing, Object.keys(KVS_REGIONS), (region, types) =>
      console.error(`${region}: ${types} instance types`),
    );
    source =
      "The on-demand Linux instance types of the AWS Price List (AmazonEC2, GetProducts) in every Kinesis Video Streams region; each family's architecture from its physicalProcessor (AWS Graviton: arm64).";
  }
  const list: Ec2InstanceTypeList = { readOn: new Date().toISOString().slice(0, 10), source, families };
  const file = path.join(__dirname, '..', 'lib', 'ec2-instance-types.json');
  fs.writeFileSync(file, `${JSON.stringify(list, null, 2)}\n`);
  console.error(`wrote ${Object.keys(families).length} families to ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof CliError ? error.message : error);
  process.exitCode = 1;
});
