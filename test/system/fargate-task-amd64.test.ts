import { describeFargateTask } from './fargate-task/describe-fargate-task';

/** The Fargate image built for x86_64 and one task of an x86_64 task definition run. */
describeFargateTask({ name: 'amd64', architecture: 'amd64', slowdown: 1 });
