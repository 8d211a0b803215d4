import { describeBox } from './ec2-box/describe-box';
import { DEBIAN_13_AMD64 } from './ec2-box/box-variants';

/**
 * The EC2 gateway booted whole on Debian 13 x86_64 (systemd 257, GStreamer 1.26, Python 3.13, curl 8.14:
 * newer than Ubuntu 24.04 on each, as Debian 12 is older): every scenario of ec2-box/describe-box.ts.
 */
describeBox(DEBIAN_13_AMD64);
