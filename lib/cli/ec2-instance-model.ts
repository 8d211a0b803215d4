import { _InstanceType } from '@aws-sdk/client-ec2';
import type { Ec2InstanceFamily } from '../ec2-instance-types';
import { instanceFamilies } from './price-list';

/**
 * The instance types of the EC2 API's own model (the `InstanceType` enum of @aws-sdk/client-ec2, a dev
 * dependency from the npm registry), for `npm run ec2-instance-types -- --offline`: a list that needs no
 * AWS credentials. The model names every type the API accepts, so it may hold a type a region no longer
 * sells; the Price List refresh (`npm run ec2-instance-types`) narrows it to what is sold.
 */

/** macOS only: the gateway runs Ubuntu. */
const NOT_LINUX_FAMILY = /^mac/;

/** Arm families whose names do not follow the Graviton rule below: NVIDIA Grace. */
const OTHER_ARM64_FAMILY = /^a1$|-gb\d+$/;

/**
 * AWS's naming: a Graviton (arm64) family has a "g" among the attributes after its generation
 * (t4g, c7gn, x2gd, is4gen, i8ge), and a1; every other family is x86_64 (g5 and g4dn are GPU families).
 */
export function architectureByName(family: string): 'arm64' | 'x86_64' {
  if (OTHER_ARM64_FAMILY.test(family)) return 'arm64';
  const attributes = /^[a-z]+\d+([a-z-]*)$/.exec(family)?.[1] ?? '';
  return attributes.includes('g') ? 'arm64' : 'x86_64';
}

export function ec2InstanceTypesFromModel(
  types: readonly string[] = Object.values(_InstanceType),
): Record<string, Ec2InstanceFamily> {
  const architectures = new Map<string, Map<string, 'arm64' | 'x86_64'>>();
  for (const type of types) {
    const [family, size] = type.split('.');
    if (!family || !size || NOT_LINUX_FAMILY.test(family)) continue;
    const sizes = architectures.get(family) ?? new Map<string, 'arm64' | 'x86_64'>();
    sizes.set(size, architectureByName(family));
    architectures.set(family, sizes);
  }
  return instanceFamilies(architectures, "the EC2 API's model");
}
