import { GatewayConfig } from '../../lib/config';
import { configWith } from './gateway-app';

export interface FleetOptions {
  /** Cameras per shard, in config order: camera i is in shard floor(i / camerasPerShard) + 1. */
  readonly camerasPerShard?: number;
  /** The length of every camera name (`camera-0001` padded with "x"), to size the templates' worst case. */
  readonly nameLength?: number;
  readonly site?: string;
}

/** A config of `count` cameras in shards that fit both gateways' defaults (4 a shard). */
export function fleetConfig(count: number, options: FleetOptions = {}): GatewayConfig {
  const { camerasPerShard = 4, nameLength = 0, site } = options;
  const cameras = Array.from({ length: count }, (_, i) => {
    const name = `camera-${String(i + 1).padStart(4, '0')}`;
    return {
      name: nameLength > name.length ? `${'x'.repeat(nameLength - name.length - 1)}-${name}` : name,
      shard: Math.floor(i / camerasPerShard) + 1,
    };
  });
  return configWith({ cameras, ...(site ? { site } : {}) });
}
