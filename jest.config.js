/**
 * Unit tests are fast and pure; integration tests start GStreamer, RTSP servers and browsers; system
 * tests assemble the whole gateway (booted in a box, the image built and its task run).
 */
const tsJest = { '^.+\\.ts$': 'ts-jest' };

module.exports = {
  // The longest test files first (the arm64 box under emulation), so that parallel workers end together.
  testSequencer: '<rootDir>/scripts/jest-test-sequencer.js',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/integration/', '<rootDir>/test/system/'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      displayName: 'system',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/system/**/*.test.ts'],
    },
  ],
};
