import { describeBox } from './ec2-box/describe-box';
import { DEBIAN_12_ARM64 } from './ec2-box/box-variants';

/**
 * The EC2 gateway booted whole on Debian 12 arm64, the gateway's default architecture (Graviton), under
 * qemu-user emulation on this x86_64 machine: every scenario of ec2-box/describe-box.ts.
 */
describeBox(DEBIAN_12_ARM64);
