import { describeBox } from './ec2-box/describe-box';
import { DEBIAN_12_AMD64 } from './ec2-box/box-variants';

/** The EC2 gateway booted whole on Debian 12 x86_64: every scenario of ec2-box/describe-box.ts. */
describeBox(DEBIAN_12_AMD64);
