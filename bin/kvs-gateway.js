#!/usr/bin/env node
// The npm bin entry: runs the TypeScript CLI in this process through tsx (no build step, no child process).
'use strict';
require('tsx/cjs/api').require('./kvs-gateway.ts', __filename);
