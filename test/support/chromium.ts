import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, as the player pages are tested in (GATEWAY-FACTS: it plays H.264 through
 * Media Source Extensions, not H.265).
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, env });
}
