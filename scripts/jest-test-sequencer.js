/**
 * The order `npm test` starts its test files in: the longest first, so that the whole suite ends soonest
 * on a few workers. The arm64 box (under qemu-user emulation) takes longest, then the arm64 image and
 * task, the other boxes and the x86_64 image and task, then the integration tests, then the unit tests;
 * within each group jest's own order (slowest of the last run first, else the largest file).
 */
const Sequencer = require('@jest/test-sequencer').default;

const LONGEST_FIRST = [
  /\/test\/system\/ec2-box-.*arm64/,
  /\/test\/system\/.*arm64/,
  /\/test\/system\/ec2-box-/,
  /\/test\/system\/fargate-/,
  /\/test\/(system|integration)\//,
];

function rank(test) {
  const index = LONGEST_FIRST.findIndex((pattern) => pattern.test(test.path));
  return index === -1 ? LONGEST_FIRST.length : index;
}

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    // Array.prototype.sort is stable: jest's order holds within a group.
    return [...super.sort(tests)].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongestFirstSequencer;
