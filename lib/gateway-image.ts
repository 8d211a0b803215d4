import * as path from 'node:path';
import { ContainerImageBuild } from '@cdklabs/deploy-time-build';
import { CfnElement, Fn, IgnoreMode, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { CpuArchitecture, FargateConfig, SourcePins } from './config';
import { pinText } from './kvssink-cache';

/** The project root: the image's build context, narrowed by its `.dockerignore`. */
export const CONTAINER_BUILD_CONTEXT = path.join(__dirname, '..');
export const DOCKERFILE = 'container/Dockerfile';

/** Images the repository keeps: every deploy that changes the image pushes one under a new tag. */
const IMAGES_KEPT = 5;

export interface GatewayImageProps {
  readonly architecture: CpuArchitecture;
  /** What kvssink is built from (the Dockerfile's build arguments). */
  readonly pins: SourcePins;
  readonly build: FargateConfig['imageBuild'];
  /** The build's logs: kept as long as the gateway's, encrypted with its key. */
  readonly logRetentionDays: number;
  readonly logKey: kms.IKey;
}

/** The Dockerfile's build arguments: the pins, as build-kvssink.sh takes them. */
export function imageBuildArgs(pins: SourcePins): Record<string, string> {
  return {
    PRODUCER_SDK_PIN: pinText(pins.producerSdk),
    PRODUCER_C_PIN: pinText(pins.producerC),
    PIC_PIN: pinText(pins.pic),
  };
}

/**
 * The Fargate gateway's container image, from container/Dockerfile. By default it is built in the
 * account while the stack deploys (`@cdklabs/deploy-time-build`: the build context goes up as an S3
 * asset, a CodeBuild project of the image's own architecture runs `docker buildx build` on it and pushes
 * to an ECR repository of the stack), so the deploying machine needs only Node.js and an x86 laptop never
 * emulates an arm64 compile. With `fargate.imageBuild: "local"` the CDK builds it with Docker (or the
 * engine CDK_DOCKER names) on the deploying machine, as a CDK image asset.
 */
export class GatewayImage extends Construct {
  readonly containerImage: ecs.ContainerImage;
  /** The in-account build, when the image is built in CodeBuild. */
  readonly build?: ContainerImageBuild;

  constructor(scope: Construct, id: string, props: GatewayImageProps) {
    super(scope, id);
    const source = {
      directory: CONTAINER_BUILD_CONTEXT,
      file: DOCKERFILE,
      ignoreMode: IgnoreMode.DOCKER,
      platform:
        props.architecture === 'arm64' ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
      buildArgs: imageBuildArgs(props.pins),
    };
    if (props.build === 'local') {
      this.containerImage = ecs.ContainerImage.fromDockerImageAsset(
        new ecrAssets.DockerImageAsset(this, 'Asset', source),
      );
      return;
    }
    const repository = new ecr.Repository(this, 'Repository', {
      imageScanOnPush: true,
      // Each build pushes a new random tag, so no tag is ever moved.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      lifecycleRules: [
        {
          maxImageCount: IMAGES_KEPT,
          description: 'The newest images: the running one and a few to go back to',
        },
      ],
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
    });
    this.build = new ContainerImageBuild(this, 'Build', { ...source, repository });
    this.containerImage = this.build.toEcsDockerImageCode();
    const { project, handler } = deployTimeBuildResources(Stack.of(this));
    // CodeBuild writes to /aws/codebuild/<project> and would make that group itself, unencrypted and kept
    // forever; made here, it has the gateway's retention and key and goes with the stack.
    const buildLogs = new logs.LogGroup(this, 'BuildLogs', {
      logGroupName: Fn.join('', ['/aws/codebuild/', project.projectName]),
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.build.node.addDependency(buildLogs);
    // The same for the custom resource's function: the CDK made its group kept for two years, unencrypted.
    const handlerLogs = handler.node.findChild('LogGroup').node.defaultChild as logs.CfnLogGroup;
    handlerLogs.retentionInDays = props.logRetentionDays;
    handlerLogs.kmsKeyId = props.logKey.keyArn;
    handlerLogs.applyRemovalPolicy(RemovalPolicy.DESTROY);
    acknowledgeDeployTimeBuild(project, handler);
  }
}

/**
 * The CodeBuild project and the custom resource's function that `ContainerImageBuild` makes once per stack
 * (as singletons at the stack's top, not under the construct). Fails the synth if a new version of the
 * library made them otherwise, rather than leave its findings unacknowledged.
 */
function deployTimeBuildResources(stack: Stack): { project: codebuild.Project; handler: lambda.Function } {
  const find = <T extends IConstruct>(prefix: string, type: abstract new (...args: never[]) => T): T => {
    const found = stack.node.children.filter(
      (child) => child.node.id.startsWith(prefix) && child instanceof type,
    );
    if (found.length !== 1)
      throw new Error(`expected one ${prefix}* of @cdklabs/deploy-time-build in ${stack.stackName}`);
    return found[0] as T;
  };
  return {
    project: find('ContainerImageBuild', codebuild.Project),
    handler: find('DeployTimeBuildCustomResourceHandler', lambda.Function),
  };
}

function acknowledgeDeployTimeBuild(project: codebuild.Project, handler: lambda.Function): void {
  const projectId = Stack.of(project).getLogicalId(project.node.defaultChild as CfnElement);
  Validations.of(project).acknowledge(
    {
      id: 'AwsSolutions::AwsSolutions-CB4',
      reason:
        "The build has no artifacts: its one output, the image, is pushed to the stack's ECR repository (encrypted at rest by ECR), and its logs go to a log group encrypted with the gateway's log key; a customer key on the project would protect nothing more.",
    },
    {
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly]',
      reason:
        "Read-only pulls from ECR Public, where the Dockerfile's base image comes from (public.ecr.aws/docker/library/ubuntu): an authenticated pull is not held to the anonymous rate limit that a shared CodeBuild address soon reaches.",
    },
    {
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        "ecr:GetAuthorizationToken (the docker login to the stack's repository) has no resource-level permissions.",
    },
    {
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${projectId}>:*]`,
      reason: "The log streams of the project's own log group, which CodeBuild names per build.",
    },
    {
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${projectId}>-*]`,
      reason:
        "CodeBuild's default grant for the project's own test report groups (named after the project); the build makes none.",
    },
    ...[
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
    ].map((finding) => ({
      id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`,
      reason:
        "The CDK's read grant on its bootstrap asset bucket, where the image's build context (the Dockerfile and the files it copies) is uploaded: the build downloads it from there.",
    })),
  );
  Validations.of(handler).acknowledge(
    {
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        "@cdklabs/deploy-time-build's own bundled handler, built and tested by its authors for nodejs22.x (a supported Lambda runtime): it only starts the image's CodeBuild build during a deploy.",
    },
    {
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "The function's own logs only (logs:CreateLogGroup, CreateLogStream, PutLogEvents); its one other permission is codebuild:StartBuild on the image's project.",
    },
  );
}
