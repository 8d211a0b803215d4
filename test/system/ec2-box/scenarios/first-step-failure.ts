import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

/** The gateway files are missing from S3: the first step that needs AWS fails, before any package. */
export function firstStepFailure(env: BoxEnvironment): void {
  test('a step that fails before anything is installed signals FAILURE naming the step', async () => {
    const { aws, userData } = env;
    const objectFile = path.join(aws.dir, 's3', userData.asset.bucket, userData.asset.key);
    const object = fs.readFileSync(objectFile);
    fs.rmSync(objectFile);
    const failing = await env.newBox('failing-box');
    try {
      await failing.boot();
      const signal = await waitFor('a FAILURE signal', env.ms(120_000), () =>
        env.signals().find((s) => s.Status === 'FAILURE'),
      );
      expect(signal).toEqual({
        StackName: userData.settings.KVS_STACK_NAME,
        LogicalResourceId: userData.settings.KVS_SIGNAL_RESOURCE,
        UniqueId: `${env.instance.instanceId}-download-the-gateway-files`,
        Status: 'FAILURE',
      });
      const log = failing.readFile('var/log/cloud-init-output.log');
      expect(log).toContain('S3 GetObject');
      expect(log).toContain('NoSuchKey');
      expect(log).toContain('FAILED at step "download the gateway files"');
      // Signalled with no AWS tool on the box: the FAILURE came from curl alone.
      expect(
        ['usr/bin/aws', 'usr/local/bin/aws'].filter((file) => fs.existsSync(path.join(failing.root, file))),
      ).toEqual([]);
    } finally {
      await failing.shutdown();
      fs.writeFileSync(objectFile, object);
      fs.rmSync(path.join(aws.dir, 'signals.jsonl'), { force: true });
    }
  });
}
