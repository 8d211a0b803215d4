import { CfnResource, NestedStack, Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

export interface ProducerGuardProps {
  /** The same name in both gateway stacks of a site (`deployedGatewayParameterName`). */
  readonly parameterName: string;
}

/**
 * Two gateways of one site would run every camera twice, two producers on each KVS stream (KVS throttles
 * or interleaves the second, and video is lost). Both gateway stacks create this parameter under the
 * same name; CloudFormation cannot create a parameter whose name exists, so deploying the second
 * gateway fails on this resource and rolls back. Every shard waits for it (`guard`), so the failure
 * comes before any instance or task of the second gateway starts. The parameter goes with its stack:
 * once the first gateway is destroyed, the other may be deployed.
 */
export class ProducerGuard extends Construct {
  readonly parameter: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: ProducerGuardProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.parameter = new ssm.StringParameter(this, 'DeployedGateway', {
      parameterName: props.parameterName,
      description:
        "The one gateway stack that streams this site's cameras. A deployment that fails because this parameter already exists means the other gateway is deployed: destroy it first (cdk destroy <its stack>).",
      stringValue: stack.stackName,
    });
  }

  /** Makes a shard (and so every instance or task in it) wait until this gateway holds the site. */
  guard(shard: NestedStack): void {
    shard.nestedStackResource!.addResourceDependency(this.parameter.node.defaultChild as CfnResource);
  }
}
