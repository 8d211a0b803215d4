import * as fs from 'node:fs';
import * as path from 'node:path';
import { PricingClient } from '@aws-sdk/client-pricing';
import { CliError } from '../lib/cli/aws-errors';
import { ec2InstanceTypesFromPriceList } from '../lib/cli/price-list';
import type { Ec2InstanceTypeList } from '../lib/ec2-instance-types';
import { KVS_REGIONS } from '../lib/prices';

/**
 * npm run ec2-instance-types: rewrites lib/ec2-instance-types.json, the instance types the config
 * accepts, from the AWS Price List (pricing:GetProducts, with your AWS credentials: AWS_PROFILE or the
 * default chain), in every region Kinesis Video Streams serves. Commit the result.
 */
async function main(): Promise<void> {
  const pricing = new PricingClient({ region: 'us-east-1' });
  const families = await ec2InstanceTypesFromPriceList(pricing, Object.keys(KVS_REGIONS), (region, types) =>
    console.error(`${region}: ${types} instance types`),
  );
  const list: Ec2InstanceTypeList = {
    readOn: new Date().toISOString().slice(0, 10),
    source:
      "The on-demand Linux instance types of the AWS Price List (AmazonEC2, GetProducts) in every Kinesis Video Streams region; each family's architecture from its physicalProcessor (AWS Graviton: arm64).",
    families,
  };
  const file = path.join(__dirname, '..', 'lib', 'ec2-instance-types.json');
  fs.writeFileSync(file, `${JSON.stringify(list, null, 2)}\n`);
  console.error(`wrote ${Object.keys(families).length} families to ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof CliError ? error.message : error);
  process.exitCode = 1;
});
