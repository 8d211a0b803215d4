import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Aws,
  CfnElement,
  CfnOutput,
  Duration,
  Lazy,
  NestedStack,
  Stack,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { CpuArchitecture, cameraUrlParameterName, GatewayConfig } from './config';
import { ShardAlarms } from './gateway-monitoring';
import { NetworkStack } from './network-stack';
import { Shard, shardCameraListJson } from './shards';
import { cameraListParameterName } from './site-names';
import { CameraStream, StreamStack, streamArnAcknowledgements } from './stream-stack';

/** What runs on the instance: the install script, units, reconciler, refresher and run script. */
export const USERDATA_DIR = path.join(__dirname, '..', 'userdata');

/** The user-data's scripts, in order, after the deployment's settings. */
export const USERDATA_SCRIPTS = ['aws-request.sh', 'bootstrap.sh'];

/**
 * How long CloudFormation waits for the install's signal. Measured: the plugin builds in about a
 * minute on 2 cores; the packages and Fluent Bit take a few more; the rest is margin for
 * slow mirrors and for apt waiting on Ubuntu's first-boot unattended upgrades.
 */
export const INSTALL_TIMEOUT = Duration.minutes(25);

/** Standard-tier SSM parameters hold 4 KB; advanced ones 8 KB (and cost a little each month). */
const STANDARD_PARAMETER_BYTES = 4096;

/** Tags on each shard's group and instances: how an operator (or the session command) finds a shard. */
export const GATEWAY_TAG = 'kvs-gateway:gateway';
export const SHARD_TAG = 'kvs-gateway:shard';

/** Canonical's public SSM parameter for the current Ubuntu 24.04 LTS image of an architecture. */
export function ubuntuImageParameter(architecture: CpuArchitecture): string {
  const arch = architecture === 'arm64' ? 'arm64' : 'amd64';
  return `/aws/service/canonical/ubuntu/server/24.04/stable/current/${arch}/hvm/ebs-gp3/ami-id`;
}

export interface Ec2GatewayShardProps {
  readonly shard: Shard<CameraStream>;
  readonly config: GatewayConfig;
  readonly network: NetworkStack;
  readonly streams: StreamStack;
  readonly logGroup: logs.ILogGroup;
  /** The userdata/ folder, uploaded once for every shard. */
  readonly gatewayFiles: s3assets.Asset;
  readonly alarmTopic: sns.ITopic;
  /** The compute stack's name: it begins alarm names and tags the shard's instance. */
  readonly gatewayStackName: string;
}

/**
 * One shard of the EC2 gateway, in a nested stack of its own: one Ubuntu instance in an Auto Scaling
 * group of one (replaced when it dies) that installs GStreamer, builds kvssink and runs one systemd
 * unit per camera of the shard. Its camera set is live configuration: a String parameter the
 * instance's reconciler reads every 30 s, so adding a camera to the shard changes that parameter (and
 * the shard's role and alarms) and nothing else: not its launch template, not another shard.
 */
export class Ec2GatewayShard extends NestedStack {
  /** The shard number of its cameras (`cameras[].shard`). */
  readonly shardId: number;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly cameraListParameter: ssm.StringParameter;
  readonly alarms: ShardAlarms;

  constructor(scope: Construct, id: string, props: Ec2GatewayShardProps) {
    super(scope, id, {
      description: `KVS cloud gateway on EC2, shard ${props.shard.id}: ${props.shard.members.length} camera(s)`,
    });
    this.shardId = props.shard.id;
    const { config, network, shard } = props;

    const cameraListJson = shardCameraListJson(
      config,
      shard.members.map((member) => member.camera),
    );
    const cameraListParameterNameOfShard = cameraListParameterName(config.site, shard.id);
    this.cameraListParameter = new ssm.StringParameter(this, 'CameraList', {
      parameterName: cameraListParameterNameOfShard,
      description: `The camera list of EC2 gateway shard ${shard.id} (names, streams, URL parameter names; never a URL)`,
      stringValue: cameraListJson,
      tier:
        Buffer.byteLength(cameraListJson) > STANDARD_PARAMETER_BYTES
          ? ssm.ParameterTier.ADVANCED
          : ssm.ParameterTier.STANDARD,
    });

    const role = this.createRole(props, cameraListParameterNameOfShard);
    // The list names a new camera only once the role may read its URL parameter. IAM still applies a
    // policy seconds after CloudFormation reports it, and a removed camera's parameter is taken from the
    // role before the list drops it: the reconciler leaves a camera it may not read as it is.
    this.cameraListParameter.node.addDependency(role);
    // Exactly this asset object: nothing else in the CDK's staging bucket.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.gatewayFiles.bucket.arnForObjects(props.gatewayFiles.s3ObjectKey)],
      }),
    );

    const userData = ec2.UserData.forLinux();
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(config.ec2.instanceType),
      machineImage: config.ec2.amiId
        ? pinnedImage(config.ec2.amiId)
        : // Resolved by EC2 when an instance launches, not at deploy time: a new Ubuntu image never
          // replaces a running gateway by itself; the next launched instance picks it up.
          ec2.MachineImage.resolveSsmParameterAtLaunch(ubuntuImageParameter(config.ec2.architecture)),
      userData,
      role,
      securityGroup: network.gatewaySecurityGroup,
      associatePublicIpAddress: network.assignPublicIp,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/sda1',
          volume: ec2.BlockDeviceVolume.ebs(config.ec2.rootVolumeGiB, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Gateway', {
      vpc: network.vpc,
      vpcSubnets: network.gatewaySubnets,
      launchTemplate,
      minCapacity: 1,
      // Room for the replacement during a rolling update: the new instance installs and signals
      // while the old one keeps streaming; only then is the old one terminated.
      maxCapacity: 2,
      signals: autoscaling.Signals.waitForAll({ timeout: INSTALL_TIMEOUT }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: 1 }),
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: INSTALL_TIMEOUT }),
    });
    // The instance reads its camera list at boot: it exists before the group launches anything.
    this.autoScalingGroup.node.addDependency(this.cameraListParameter);
    Tags.of(this.autoScalingGroup).add(GATEWAY_TAG, props.gatewayStackName);
    Tags.of(this.autoScalingGroup).add(SHARD_TAG, String(shard.id));

    const signalResource = Lazy.string({
      produce: () => this.getLogicalId(this.autoScalingGroup.node.defaultChild as CfnElement),
    });
    // These names are the user-data's interface (userdata/bootstrap.sh checks each): keep them stable.
    userData.addCommands(
      ...userDataSettings({
        AWS_REGION: Aws.REGION,
        KVS_STACK_NAME: this.stackName,
        KVS_SIGNAL_RESOURCE: signalResource,
        KVS_GATEWAY_FILES_URL: props.gatewayFiles.s3ObjectUrl,
        KVS_PRODUCER_SDK_TAG: config.ec2.producerSdkTag,
        KVS_CAMERA_LIST_PARAMETER: cameraListParameterNameOfShard,
        KVS_LOG_GROUP: props.logGroup.logGroupName,
        KVS_FLUENT_BIT_KEY_FINGERPRINT: config.ec2.fluentBitKeyFingerprint,
      }),
      // The signed AWS requests come before the bootstrap: it uses them before anything is downloaded.
      ...USERDATA_SCRIPTS.map((script) => fs.readFileSync(path.join(USERDATA_DIR, script), 'utf8')),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['cloudformation:SignalResource'], resources: [this.stackId] }),
    );

    this.acknowledgeFindings(role, shard);

    this.alarms = new ShardAlarms(this, 'Alarms', {
      shard: shard.id,
      cameraStreams: shard.members,
      compute: { kind: 'ec2', autoScalingGroup: this.autoScalingGroup },
      namePrefix: props.gatewayStackName,
      alarmTopic: props.alarmTopic,
      noFramesMinutes: config.monitoring.noFramesMinutes,
    });

    new CfnOutput(this, 'AutoScalingGroupName', {
      description: `The Auto Scaling group (one instance) of shard ${shard.id}`,
      value: this.autoScalingGroup.autoScalingGroupName,
    });
    new CfnOutput(this, 'CameraListParameter', {
      description: `The camera list shard ${shard.id}'s instance reconciles every 30 s`,
      value: cameraListParameterNameOfShard,
    });
  }

  private createRole(props: Ec2GatewayShardProps, cameraListParameter: string): iam.Role {
    const { config, streams, shard } = props;
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `The KVS EC2 gateway, shard ${shard.id}: its streams, its camera parameters, logs, Session Manager`,
    });
    streams.grantProducer(role, shard.members);
    // Each camera's URL: its run script decrypts it (GetParameter). The reconciler reads the camera list
    // and only the versions of the URLs (GetParameters, no decryption). Nothing else reads them.
    const urlParameters = shard.members.map((member) =>
      parameterArn(this, cameraUrlParameterName(config.parameterPrefix, member.camera.name)),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: urlParameters }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameters'],
        resources: [parameterArn(this, cameraListParameter), ...urlParameters],
      }),
    );
    // The group's ARN ends in ':*' (its log streams): Fluent Bit creates one stream per instance and
    // unit at run time, so the streams' names cannot be listed here.
    props.logGroup.grantWrite(role);
    // Session Manager only (not AmazonSSMManagedInstanceCore, which also allows ssm:GetParameter on
    // every parameter of the account).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:UpdateInstanceInformation'],
        resources: [this.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        resources: ['*'],
      }),
    );
    return role;
  }

  private acknowledgeFindings(role: iam.Role, shard: Shard<CameraStream>): void {
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          "Session Manager's channel actions (ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel, OpenDataChannel) support no resource-level permission: the service authorization reference lists no resource type for them.",
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason:
          "ssm:UpdateInstanceInformation is the SSM agent registering its own instance, whose id exists only after the Auto Scaling group launches it; the ARN is limited to this account's instances in this region.",
      },
      ...streamArnAcknowledgements(shard.members),
    );
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions::AwsSolutions-AS3',
      reason:
        "The group holds one gateway instance; its launches and replacements are in the group's activity history, CloudTrail and the stack events, and the gateway is alerted on per camera (no frames arriving) and per shard (instance status check), which covers a replacement and every other outage without a second notification channel.",
    });
  }
}

/** An AMI id from the config, the same in every region the stack deploys to. */
function pinnedImage(amiId: string): ec2.IMachineImage {
  return {
    getImage: () => ({
      imageId: amiId,
      osType: ec2.OperatingSystemType.LINUX,
      userData: ec2.UserData.forLinux(),
    }),
  };
}

function parameterArn(stack: Stack, parameterName: string): string {
  return stack.formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: parameterName.replace(/^\//, ''),
  });
}

/** Shell assignments for the top of the user-data; every value is a name or id without quotes. */
function userDataSettings(settings: Record<string, string>): string[] {
  return Object.entries(settings).map(([name, value]) => `${name}='${value}'`);
}
