import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, CfnElement, CfnOutput, Duration, Lazy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { cameraList } from './camera-list';
import { CpuArchitecture, cameraUrlParameterName, GatewayConfig } from './config';
import { createGatewayLogGroup } from './gateway-log-group';
import { GatewayMonitoring } from './gateway-monitoring';
import { NetworkStack } from './network-stack';
import { StreamStack } from './stream-stack';

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
const ADVANCED_PARAMETER_BYTES = 8192;

export interface Ec2GatewayStackProps extends StackProps {
  readonly config: GatewayConfig;
  readonly network: NetworkStack;
  readonly streams: StreamStack;
}

/** Canonical's public SSM parameter for the current Ubuntu 24.04 LTS image of an architecture. */
export function ubuntuImageParameter(architecture: CpuArchitecture): string {
  const arch = architecture === 'arm64' ? 'arm64' : 'amd64';
  return `/aws/service/canonical/ubuntu/server/24.04/stable/current/${arch}/hvm/ebs-gp3/ami-id`;
}

/**
 * The EC2 gateway: one Ubuntu instance in an Auto Scaling group of one (replaced when it dies) that
 * installs GStreamer, builds kvssink and runs one systemd unit per camera. The camera set is live
 * configuration: a String parameter the instance's reconciler reads every 30 s, so adding a camera
 * changes that parameter and nothing else.
 */
export class Ec2GatewayStack extends Stack {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly cameraListParameter: ssm.StringParameter;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: Ec2GatewayStackProps) {
    super(scope, id, props);
    const { config, network, streams } = props;

    const cameraListJson = JSON.stringify(cameraList(config));
    const cameraListBytes = Buffer.byteLength(cameraListJson);
    if (cameraListBytes > ADVANCED_PARAMETER_BYTES) {
      throw new Error(
        `cameras: the camera list is ${cameraListBytes} bytes, more than an SSM parameter holds (${ADVANCED_PARAMETER_BYTES}); split the cameras over several gateways`,
      );
    }
    const cameraListParameterName = `/kvs-gateway/${this.stackName}/camera-list`;
    this.cameraListParameter = new ssm.StringParameter(this, 'CameraList', {
      parameterName: cameraListParameterName,
      description: 'The EC2 gateway camera list (names, streams, URL parameter names; never a URL)',
      stringValue: cameraListJson,
      tier:
        cameraListBytes > STANDARD_PARAMETER_BYTES ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
    });

    this.logGroup = createGatewayLogGroup(this, {
      keyDescription: 'Encrypts the KVS EC2 gateway logs',
      retentionDays: config.monitoring.logRetentionDays,
    });
    const role = this.createRole(config, streams, cameraListParameterName);

    const gatewayFiles = new s3assets.Asset(this, 'GatewayFiles', { path: USERDATA_DIR });
    // Exactly this asset object: nothing else in the CDK's staging bucket.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [gatewayFiles.bucket.arnForObjects(gatewayFiles.s3ObjectKey)],
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

    const signalResource = Lazy.string({
      produce: () => this.getLogicalId(this.autoScalingGroup.node.defaultChild as CfnElement),
    });
    userData.addCommands(
      ...userDataSettings({
        AWS_REGION: Aws.REGION,
        KVS_STACK_NAME: this.stackName,
        KVS_SIGNAL_RESOURCE: signalResource,
        KVS_GATEWAY_FILES_URL: gatewayFiles.s3ObjectUrl,
        KVS_PRODUCER_SDK_TAG: config.ec2.producerSdkTag,
        KVS_CAMERA_LIST_PARAMETER: cameraListParameterName,
        KVS_LOG_GROUP: this.logGroup.logGroupName,
      }),
      // The signed AWS requests come before the bootstrap: it uses them before anything is downloaded.
      ...USERDATA_SCRIPTS.map((script) => fs.readFileSync(path.join(USERDATA_DIR, script), 'utf8')),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['cloudformation:SignalResource'], resources: [this.stackId] }),
    );

    this.acknowledgeFindings(role);

    new GatewayMonitoring(this, 'Monitoring', {
      cameraStreams: streams.cameraStreams,
      monitoring: config.monitoring,
      gateway: { kind: 'ec2', autoScalingGroup: this.autoScalingGroup },
      logGroups: [this.logGroup],
    });

    new CfnOutput(this, 'AutoScalingGroupName', {
      description: 'The gateway Auto Scaling group (one instance)',
      value: this.autoScalingGroup.autoScalingGroupName,
    });
    new CfnOutput(this, 'SessionCommand', {
      description:
        'Opens a shell on the gateway through SSM Session Manager (needs the session-manager-plugin)',
      value: [
        'aws ssm start-session --region',
        Aws.REGION,
        '--target "$(aws autoscaling describe-auto-scaling-groups --region',
        Aws.REGION,
        '--auto-scaling-group-names',
        this.autoScalingGroup.autoScalingGroupName,
        `--query 'AutoScalingGroups[0].Instances[?LifecycleState==\`InService\`].InstanceId | [0]' --output text)"`,
      ].join(' '),
    });
    new CfnOutput(this, 'LogGroupName', {
      description: 'The gateway units, reconciler, credential refresher and install log',
      value: this.logGroup.logGroupName,
    });
    new CfnOutput(this, 'CameraListParameter', {
      description: 'The camera list the gateway reconciles every 30 s',
      value: this.cameraListParameter.parameterName,
    });
  }

  private createRole(config: GatewayConfig, streams: StreamStack, cameraListParameterName: string): iam.Role {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'The KVS EC2 gateway: streams, its camera parameters, logs, Session Manager',
    });
    streams.grantProducer(role);
    // The camera list, and each camera's URL: the run script decrypts it (GetParameter), the
    // reconciler reads only its version (GetParameters, no decryption).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter', 'ssm:GetParameters'],
        resources: [
          parameterArn(this, cameraListParameterName),
          ...config.cameras.map((camera) =>
            parameterArn(this, cameraUrlParameterName(config.parameterPrefix, camera.name)),
          ),
        ],
      }),
    );
    // The group's ARN ends in ':*' (its log streams): Fluent Bit creates one stream per instance and
    // unit at run time, so the streams' names cannot be listed here.
    this.logGroup.grantWrite(role);
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

  private acknowledgeFindings(role: iam.Role): void {
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
    );
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions::AwsSolutions-AS3',
      reason:
        "The group holds one gateway instance; its launches and replacements are in the group's activity history, CloudTrail and the stack events, and the gateway is alerted on per camera (no frames arriving), which covers a replacement and every other outage without a second notification channel.",
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
