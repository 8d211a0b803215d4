import * as path from 'node:path';
import { loadGatewayConfig, validateGatewayConfig } from '../lib/config';

describe('gateway config', () => {
  test('the sample gateway.config.json loads', () => {
    const config = loadGatewayConfig(path.join(__dirname, '..', 'gateway.config.json'));

    expect(config.cameras.map((c) => c.name)).toEqual(['front-door', 'loading-dock', 'lobby']);
    expect(config.ec2.amiId).toBeUndefined();
    expect(config.monitoring.alarmEmail).toBeUndefined();
  });

  test('ec2.amiId and monitoring.alarmEmail are optional, but checked when given', () => {
    expect(() =>
      validateGatewayConfig({
        cameras: [{ name: 'a' }],
        ec2: { amiId: 'ami-1' },
        monitoring: { alarmEmail: 'x' },
      }),
    ).toThrow(
      /ec2\.amiId: "ami-1" is not an AMI id[\s\S]*monitoring\.alarmEmail: "x" is not an email address/,
    );
  });
});
