import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  ParameterType,
  PutParameterCommand,
  type Parameter,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { cameraUrlParameterName, kvsStreamNameProblem, type GatewayConfig } from '../config';
import { buildRtspUrl, checkCameraUrl, RtspUrlError } from '../rtsp-url';
import { redactRtspUrl, showUnquoted } from '../shown-value';
import { awsCall, CliError } from './aws-errors';

/**
 * The camera URL parameters in SSM: add (SecureString under the AWS managed key aws/ssm, the one key
 * every gateway role can decrypt through SSM), list side by side with the config, remove. Nothing
 * returned from here holds a password.
 */

export interface CameraParameterContext {
  readonly config: GatewayConfig;
  readonly ssm: SSMClient;
  readonly region: string;
}

/** Throws a CliError when `name` cannot name a camera (the config's own rule, shared). */
export function checkCameraName(name: string): void {
  const problem = kvsStreamNameProblem(name);
  if (problem) throw new CliError(`camera name ${problem}`, 2);
}

export interface AddCameraRequest {
  readonly name: string;
  /** The camera URL without credentials. */
  readonly url: string;
  readonly user?: string;
  readonly password?: string;
  readonly overwrite: boolean;
}

export interface AddCameraResult {
  readonly camera: string;
  readonly parameterName: string;
  readonly url: string;
  readonly version: number;
  readonly overwritten: boolean;
  readonly inConfig: boolean;
}

export async function addCameraParameter(
  context: CameraParameterContext,
  request: AddCameraRequest,
): Promise<AddCameraResult> {
  checkCameraName(request.name);
  let url: string;
  try {
    url = buildRtspUrl({ url: request.url, user: request.user, password: request.password });
  } catch (error) {
    if (error instanceof RtspUrlError) throw new CliError(error.message);
    throw error;
  }
  const parameterName = cameraUrlParameterName(context.config.parameterPrefix, request.name);
  const output = await awsCall(
    { action: 'ssm:PutParameter', resource: `parameter ${parameterName}`, region: context.region },
    () =>
      context.ssm.send(
        new PutParameterCommand({
          Name: parameterName,
          Description: `RTSP URL of camera ${request.name} (written by kvs-gateway cameras add)`,
          Value: url,
          Type: ParameterType.SECURE_STRING,
          Overwrite: request.overwrite,
        }),
      ),
    {
      ParameterAlreadyExists: `camera "${request.name}" already has a URL in ${parameterName}: pass --overwrite to replace it (to rotate the password)`,
      ParameterPatternMismatchException: `${parameterName} is not a valid parameter name: check parameterPrefix in the config`,
      ParameterLimitExceeded: `your account has reached its SSM parameter limit in ${context.region}: remove unused parameters`,
    },
  );
  return {
    camera: request.name,
    parameterName,
    url: redactRtspUrl(url),
    version: output.Version ?? 0,
    overwritten: request.overwrite && (output.Version ?? 1) > 1,
    inConfig: context.config.cameras.some((camera) => camera.name === request.name),
  };
}

export interface CameraListEntry {
  readonly camera: string;
  readonly parameterName: string;
  readonly inConfig: boolean;
  readonly inSsm: boolean;
  /** The KVS stream name from the config, when the camera is in it. */
  readonly streamName?: string;
  /** With the password redacted. */
  readonly url?: string;
  readonly parameterType?: string;
  readonly lastModified?: string;
  /** What is wrong with the stored value, when something is. */
  readonly problem?: string;
}

export interface CameraListing {
  readonly parameterPrefix: string;
  readonly region: string;
  readonly cameras: readonly CameraListEntry[];
}

/** Reads every parameter under the prefix (decrypted, then redacted) and lines them up with the config. */
export async function listCameraParameters(context: CameraParameterContext): Promise<CameraListing> {
  const prefix = context.config.parameterPrefix;
  const parameters = await readCameraParameters(context);
  const names = new Set([...context.config.cameras.map((camera) => camera.name), ...parameters.keys()]);
  const cameras = [...names].sort().map((name): CameraListEntry => {
    const camera = context.config.cameras.find((c) => c.name === name);
    const parameter = parameters.get(name);
    return {
      camera: name,
      parameterName: cameraUrlParameterName(prefix, name),
      inConfig: camera !== undefined,
      inSsm: parameter !== undefined,
      ...(camera ? { streamName: camera.streamName } : {}),
      ...(parameter ? describeParameter(parameter) : {}),
    };
  });
  return { parameterPrefix: prefix, region: context.region, cameras };
}

function describeParameter(
  parameter: Parameter,
): Pick<CameraListEntry, 'url' | 'parameterType' | 'lastModified' | 'problem'> {
  const value = parameter.Value ?? '';
  let problem: string | undefined;
  if (parameter.Type !== ParameterType.SECURE_STRING) {
    problem = `stored as ${parameter.Type}, not SecureString: store it again with "cameras add --overwrite"`;
  } else {
    try {
      checkCameraUrl(value.replace(/^([a-z]+:\/\/)[^/?#]*@/i, '$1'));
    } catch {
      problem =
        'the stored value is not an rtsp:// or rtsps:// URL: store it again with "cameras add --overwrite"';
    }
  }
  return {
    url: showUnquoted(value),
    ...(parameter.Type ? { parameterType: parameter.Type } : {}),
    ...(parameter.LastModifiedDate ? { lastModified: parameter.LastModifiedDate.toISOString() } : {}),
    ...(problem ? { problem } : {}),
  };
}

/** The camera URL parameters directly under the prefix, by camera name. */
export async function readCameraParameters(context: CameraParameterContext): Promise<Map<string, Parameter>> {
  const prefix = context.config.parameterPrefix;
  const parameters = new Map<string, Parameter>();
  let nextToken: string | undefined;
  do {
    const page = await awsCall(
      { action: 'ssm:GetParametersByPath', resource: `parameters under ${prefix}`, region: context.region },
      () =>
        context.ssm.send(
          new GetParametersByPathCommand({
            Path: prefix,
            Recursive: false,
            WithDecryption: true,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        ),
    );
    for (const parameter of page.Parameters ?? []) {
      if (parameter.Name?.startsWith(`${prefix}/`)) {
        parameters.set(parameter.Name.slice(prefix.length + 1), parameter);
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return parameters;
}

export interface RemoveCameraResult {
  readonly camera: string;
  readonly parameterName: string;
  readonly stillInConfig: boolean;
}

export async function removeCameraParameter(
  context: CameraParameterContext,
  name: string,
): Promise<RemoveCameraResult> {
  checkCameraName(name);
  const parameterName = cameraUrlParameterName(context.config.parameterPrefix, name);
  await awsCall(
    { action: 'ssm:DeleteParameter', resource: `parameter ${parameterName}`, region: context.region },
    () => context.ssm.send(new DeleteParameterCommand({ Name: parameterName })),
    {
      ParameterNotFound: `camera "${name}" has no URL parameter ${parameterName} in ${context.region}: nothing to remove (see "kvs-gateway cameras list")`,
    },
  );
  return {
    camera: name,
    parameterName,
    stillInConfig: context.config.cameras.some((camera) => camera.name === name),
  };
}
