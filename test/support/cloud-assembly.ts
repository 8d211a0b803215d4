import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The templates of a synthesized cloud assembly as CloudFormation receives them: each top-level stack's
 * template and every nested stack's template (a file asset `cdk deploy` uploads), with the figures
 * CloudFormation limits.
 */

/** CloudFormation's quotas per template (the 1 MB is for a template read from S3, as cdk deploy does). */
export const CLOUDFORMATION_LIMITS = { resources: 500, bytes: 1_000_000, outputs: 200, parameters: 200 };

type Json = Record<string, unknown>;

export interface SynthesizedTemplate {
  /** The template's file name in the cloud assembly. */
  readonly file: string;
  /** The id of the top-level stack it belongs to (`Ec2GatewayStack`): the stack the user deploys. */
  readonly stackId: string;
  readonly nested: boolean;
  readonly template: Json;
  /** The file's size, as uploaded. */
  readonly bytes: number;
  readonly resources: number;
  readonly outputs: number;
  readonly parameters: number;
}

export function synthesizedTemplates(outdir: string): SynthesizedTemplate[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string }>;
  };
  const stackIds = Object.entries(manifest.artifacts)
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id]) => id);
  return fs
    .readdirSync(outdir)
    .filter((file) => file.endsWith('.template.json'))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(path.join(outdir, file), 'utf8');
      const template = JSON.parse(text) as Json;
      const nested = file.endsWith('.nested.template.json');
      const stackId = nested
        ? stackIds.filter((id) => file.startsWith(id)).sort((a, b) => b.length - a.length)[0]
        : file.replace(/\.template\.json$/, '');
      const count = (key: string) => Object.keys((template[key] as Json | undefined) ?? {}).length;
      return {
        file,
        stackId,
        nested,
        template,
        bytes: Buffer.byteLength(text),
        resources: count('Resources'),
        outputs: count('Outputs'),
        parameters: count('Parameters'),
      };
    });
}

/** What of a template is over CloudFormation's limits, in words; empty when it fits. */
export function limitProblems(template: SynthesizedTemplate): string[] {
  const over = (what: keyof typeof CLOUDFORMATION_LIMITS, value: number) =>
    value > CLOUDFORMATION_LIMITS[what]
      ? [`${template.file}: ${value} ${what}, more than ${CLOUDFORMATION_LIMITS[what]}`]
      : [];
  return [
    ...over('resources', template.resources),
    ...over('bytes', template.bytes),
    ...over('outputs', template.outputs),
    ...over('parameters', template.parameters),
  ];
}

/** Templates, the most resources, bytes and outputs in one, per top-level stack. */
export function figuresByStack(templates: readonly SynthesizedTemplate[]) {
  const stackIds = [...new Set(templates.map((t) => t.stackId))];
  return stackIds.map((stackId) => {
    const own = templates.filter((t) => t.stackId === stackId);
    return {
      stackId,
      templates: own.length,
      resources: own.reduce((sum, t) => sum + t.resources, 0),
      maxResources: Math.max(...own.map((t) => t.resources)),
      maxBytes: Math.max(...own.map((t) => t.bytes)),
      maxOutputs: Math.max(...own.map((t) => t.outputs)),
      maxParameters: Math.max(...own.map((t) => t.parameters)),
    };
  });
}
