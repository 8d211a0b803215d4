// Writes gateway.config.schema.json from the config's schema (lib/config.ts), the one source of its rules.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_SCHEMA_FILE, gatewayConfigJsonSchema } from '../lib/config';

const file = path.join(__dirname, '..', CONFIG_SCHEMA_FILE);
fs.writeFileSync(file, `${JSON.stringify(gatewayConfigJsonSchema(), null, 2)}\n`);
console.log(`wrote ${CONFIG_SCHEMA_FILE}`);
