import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GatewayConfig } from '../../lib/config';
import { deployedGatewayParameterName, siteStackName, STACK_IDS } from '../../lib/site-names';
import type { DeployedApp, PolicyDocument } from './deployed-app';
import type { RequestPrincipal } from './permission-check';

/**
 * The least-privilege policy docs/operator-policy.json gives the person who runs `kvs-gateway`, filled in
 * for one config and deployment as docs/cameras.md tells the reader to: the CLI runs with an operator's
 * credentials, never a gateway role, so its requests are judged against this policy.
 */
export const OPERATOR_POLICY_FILE = path.join(__dirname, '..', '..', 'docs', 'operator-policy.json');

export function operatorPolicy(config: GatewayConfig, deployment: DeployedApp): RequestPrincipal {
  const { account, region } = deployment.place;
  const streamKey = deployment.stack('StreamStack');
  const keyLogicalId = streamKey.logicalIdsOf('AWS::KMS::Key')[0];
  const fill = (text: string) =>
    text
      .replaceAll('<region>', region)
      .replaceAll('<account>', account)
      .replaceAll('<parameter-prefix>', config.parameterPrefix)
      .replaceAll('<deployed-gateway-parameter>', deployedGatewayParameterName(config.site))
      // The gateway the reader deployed: the README's is the EC2 one.
      .replaceAll('<gateway-stack>', siteStackName(config.site, STACK_IDS.ec2Gateway))
      .replaceAll('<stream-key-arn>', streamKey.attribute(keyLogicalId, 'Arn'));
  const document = JSON.parse(fs.readFileSync(OPERATOR_POLICY_FILE, 'utf8')) as PolicyDocument;
  const statements = document.Statement.map((statement) => {
    const resources = [statement.Resource ?? []]
      .flat()
      // One line per stream, as the page asks the reader to write them.
      .flatMap((resource) =>
        resource.includes('<stream-name>')
          ? config.cameras.map((camera) => resource.replaceAll('<stream-name>', camera.streamName))
          : [resource],
      )
      .map(fill);
    return JSON.parse(fill(JSON.stringify({ ...statement, Resource: resources })));
  });
  return {
    policy: {
      name: 'docs/operator-policy.json',
      arn: `arn:aws:iam::${account}:user/operator`,
      document: { ...document, Statement: statements },
    },
  };
}

/**
 * The statements of the video commands (`status`, `clip`, `view --from`): the quick start does not run
 * them (they need video in KVS and a gateway's logs), the video commands' test does, and checks that
 * each of these is used there.
 */
export const VIDEO_COMMAND_STATEMENTS = [
  'StatusClipPlayback',
  'StatusDeployedGateway',
  'StatusGatewayLogGroups',
  'StatusGatewayLogQuery',
  'StatusShardAlarms',
  'StatusMetrics',
];

/** The actions of those statements, to tell their grants apart in a permission report. */
export function videoCommandActions(): string[] {
  const document = JSON.parse(fs.readFileSync(OPERATOR_POLICY_FILE, 'utf8')) as PolicyDocument;
  return document.Statement.filter((statement) =>
    VIDEO_COMMAND_STATEMENTS.includes(String(statement.Sid)),
  ).flatMap((statement) => [statement.Action ?? []].flat());
}
