import { closest, distance } from 'fastest-levenshtein';
import { show } from './shown-value';
import list from './ec2-instance-types.json';

/**
 * The EC2 instance types the gateway can run on (Linux), by family with the family's CPU architecture:
 * an offline copy of the EC2 API's model or of the AWS Price List, so that a typo fails at synth with a
 * "did you mean" instead of at deploy. `npm run ec2-instance-types` (Price List) and
 * `npm run ec2-instance-types:offline` (the model) refresh it: scripts/update-ec2-instance-types.ts.
 */

export type InstanceArchitecture = 'arm64' | 'x86_64';

export interface Ec2InstanceFamily {
  readonly architecture: InstanceArchitecture;
  /** The sizes after the ".", smallest first. */
  readonly sizes: readonly string[];
}

export interface Ec2InstanceTypeList {
  /** The day the list was read from the Price List (YYYY-MM-DD). */
  readonly readOn: string;
  /** Where the list came from, in words. */
  readonly source: string;
  readonly families: Readonly<Record<string, Ec2InstanceFamily>>;
}

export const EC2_INSTANCE_TYPES = list as Ec2InstanceTypeList;

const ALL_TYPES: readonly string[] = Object.entries(EC2_INSTANCE_TYPES.families).flatMap(
  ([family, { sizes }]) => sizes.map((size) => `${family}.${size}`),
);

function familyOf(instanceType: string): Ec2InstanceFamily | undefined {
  const dot = instanceType.indexOf('.');
  const family = dot > 0 ? instanceType.slice(0, dot) : undefined;
  return family !== undefined && Object.hasOwn(EC2_INSTANCE_TYPES.families, family)
    ? EC2_INSTANCE_TYPES.families[family]
    : undefined;
}

/** The CPU architecture of an instance type EC2 offers, or undefined when it offers no such type. */
export function instanceTypeArchitecture(instanceType: string): InstanceArchitecture | undefined {
  const family = familyOf(instanceType);
  return family?.sizes.includes(instanceType.slice(instanceType.indexOf('.') + 1))
    ? family.architecture
    : undefined;
}

/** Why EC2 offers no such instance type, with the nearest one it offers; undefined when it offers it. */
export function instanceTypeProblem(instanceType: string): string | undefined {
  if (instanceTypeArchitecture(instanceType) !== undefined) return undefined;
  const hint = nearestInstanceType(instanceType);
  const family = familyOf(instanceType.trim().toLowerCase());
  const familyName = instanceType.trim().toLowerCase().split('.')[0];
  const sizes = family && !hint ? `: ${familyName} comes in ${family.sizes.join(', ')}` : '';
  const example =
    !hint && !family ? ': the EC2 gateway runs on e.g. t4g.small (arm64) or t3.small (x86_64)' : '';
  return (
    `${show(instanceType)} is not an EC2 instance type${hint ? ` (did you mean "${hint}"?)` : ''}${sizes}${example}` +
    ` (lib/ec2-instance-types.json of ${EC2_INSTANCE_TYPES.readOn}; for a newer type run "npm run ec2-instance-types")`
  );
}

/** The instance type a typo most likely meant, when one is near enough to be a useful hint. */
function nearestInstanceType(typed: string): string | undefined {
  const normalized = typed
    .trim()
    .toLowerCase()
    .replace(/[\s_,]+/g, '.');
  if (normalized.length === 0 || normalized.length > 40) return undefined;
  if (instanceTypeArchitecture(normalized)) return normalized;
  const candidate = closest(normalized, ALL_TYPES as string[]);
  return distance(normalized, candidate) <= Math.max(2, Math.floor(candidate.length / 5))
    ? candidate
    : undefined;
}
