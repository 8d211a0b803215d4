import { describeFargateTask } from './fargate-task/describe-fargate-task';

/**
 * The Fargate image built for arm64 (the gateway's default: Graviton) and one task of an arm64 task
 * definition run, both under qemu-user emulation on this x86_64 machine.
 */
describeFargateTask({ name: 'arm64', architecture: 'arm64', slowdown: 4 });
